from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from lesions.api.base import link_for
from lesions.models import LesionImage, Modality


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An uploaded image",
            value={
                "id": 57,
                "lesion": 31,
                "captured_on": "2026-03-02",
                "modality": "dermoscopic",
                "width": 1024,
                "height": 768,
                "content_type": "image/jpeg",
                "byte_size": 183004,
                "created_at": "2026-03-02T10:00:00Z",
                "file_url": "/api/v1/images/57/file/",
                "thumbnail_url": "/api/v1/images/57/file/?size=thumbnail",
                "analyses_url": "/api/v1/images/57/analyses/",
            },
            response_only=True,
        )
    ]
)
class LesionImageSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField(help_text="The image bytes (authenticated).")
    thumbnail_url = serializers.SerializerMethodField(help_text="A small JPEG copy.")
    analyses_url = serializers.SerializerMethodField()

    class Meta:
        model = LesionImage
        fields = (
            "id",
            "lesion",
            "captured_on",
            "modality",
            "width",
            "height",
            "content_type",
            "byte_size",
            "created_at",
            "file_url",
            "thumbnail_url",
            "analyses_url",
        )
        read_only_fields = fields

    def get_file_url(self, image: LesionImage) -> str:
        return self._file_link(image.pk)

    def get_thumbnail_url(self, image: LesionImage) -> str:
        return self._file_link(image.pk) + "?size=thumbnail"

    def get_analyses_url(self, image: LesionImage) -> str:
        return self._analyses_link(image.pk)

    # Once per serializer: the rows of a list share them.
    @cached_property
    def _file_link(self) -> Callable[[int], str]:
        return link_for("api:image-file", "image_pk")

    @cached_property
    def _analyses_link(self) -> Callable[[int], str]:
        return link_for("api:image-analyses", "image_pk")


class ImageUploadSerializer(serializers.Serializer):
    """Multipart upload. The file is checked by the same service as the web form's upload."""

    file = serializers.FileField(
        help_text="JPEG or PNG, at most 20 MB. EXIF orientation is applied, GPS stripped."
    )
    captured_on = serializers.DateField(
        default=timezone.localdate, help_text="Defaults to today; never in the future."
    )
    modality = serializers.ChoiceField(choices=Modality.choices, default=Modality.DERMOSCOPIC)


class QueuedAnalysisSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="`queued` right after an upload.")
    status_url = serializers.CharField(help_text="Poll it (with `If-None-Match`) until done.")


class UploadedImageSerializer(LesionImageSerializer):
    """The stored image and the analysis queued with it."""

    analysis = serializers.SerializerMethodField()

    class Meta(LesionImageSerializer.Meta):
        fields = (*LesionImageSerializer.Meta.fields, "analysis")
        read_only_fields = fields

    @extend_schema_field(QueuedAnalysisSerializer)
    def get_analysis(self, image: LesionImage) -> dict:
        analysis = image.analyses.order_by("-created_at", "-pk").first()
        url = reverse("api:analysis-detail", kwargs={"analysis_pk": analysis.pk})
        return {"id": analysis.pk, "status": analysis.status, "status_url": url}
