from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from lesions import selectors, services
from lesions.api.base import PRIVATE_FILE, ClinicalAPIView, ClinicalGenericView
from lesions.api.errors import error_responses, on_field
from lesions.api.filters import LesionImageFilter
from lesions.api.serializers.images import (
    ImageUploadSerializer,
    LesionImageSerializer,
    UploadedImageSerializer,
)
from lesions.api.throttles import UploadThrottle
from lesions.models import LesionImage
from lesions.views.streaming import stream_image

TAGS = ["images"]


class LesionImageListView(ClinicalGenericView, generics.ListAPIView):
    serializer_class = LesionImageSerializer
    filterset_class = LesionImageFilter
    ordering_fields = ("captured_on", "created_at")
    ordering = ("captured_on", "created_at", "id")
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadThrottle]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LesionImage.objects.none()
        lesion = selectors.get_lesion_for(self.request.user, self.kwargs["lesion_pk"])
        return lesion.images.all()

    @extend_schema(
        summary="List a lesion's images",
        responses={200: LesionImageSerializer(many=True), **error_responses(400, 403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        summary="Upload an image of a lesion",
        description=(
            "Multipart. The image is checked, cleaned (EXIF orientation applied, metadata "
            "removed) and stored by the same service as the web form, and an analysis is "
            "queued with it: the answer's `analysis` has its `id` and `status_url` to poll "
            "(`Location` is the stored image). Refused "
            "uploads (not an image, too large, the same image twice, a future date) store "
            "nothing. Throttled per user."
        ),
        request={"multipart/form-data": ImageUploadSerializer},
        responses={201: UploadedImageSerializer, **error_responses(400, 403, 404, 413, 429)},
        tags=TAGS,
    )
    def post(self, request: Request, lesion_pk: int) -> Response:
        lesion = selectors.get_lesion_for(request.user, lesion_pk)
        upload = ImageUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            image = services.add_lesion_image(
                lesion=lesion,
                uploaded_file=upload.validated_data["file"],
                captured_on=upload.validated_data["captured_on"],
                modality=upload.validated_data["modality"],
                uploaded_by=request.user,
            )
        except ValidationError as exc:
            raise on_field(exc, "file") from exc
        location = reverse("api:image-detail", kwargs={"image_pk": image.pk})
        return Response(
            UploadedImageSerializer(image).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


class LesionImageDetailView(ClinicalGenericView, generics.RetrieveDestroyAPIView):
    serializer_class = LesionImageSerializer

    def get_object(self) -> LesionImage:
        return selectors.get_image_for(self.request.user, self.kwargs["image_pk"])

    @extend_schema(
        summary="Read an image's details",
        responses={200: LesionImageSerializer, **error_responses(403, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return self.retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Delete an image (its analyses and heatmaps go with it)",
        responses={204: None, **error_responses(403, 404)},
        tags=TAGS,
    )
    def delete(self, request: Request, *args, **kwargs) -> Response:
        return self.destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: LesionImage) -> None:
        services.delete_lesion_image(image=instance, deleted_by=self.request.user)


class LesionImageFileView(ClinicalAPIView):
    @extend_schema(
        summary="Download an image",
        description="The stored (cleaned) bytes; `?size=thumbnail` for a small JPEG copy.",
        parameters=[
            OpenApiParameter("size", str, enum=["full", "thumbnail"], required=False),
        ],
        responses={
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            **error_responses(403, 404),
        },
        tags=TAGS,
    )
    def get(self, request: Request, image_pk: int) -> FileResponse:
        image = selectors.get_image_for(request.user, image_pk)
        if request.query_params.get("size") == "thumbnail" and image.thumbnail:
            return stream_image(image, thumbnail=True, cache_control=PRIVATE_FILE)
        services.record_view(actor=request.user, target=image)  # the full image is audited
        return stream_image(image, cache_control=PRIVATE_FILE)
