from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from lesions import selectors, services
from lesions.forms import ImageUploadForm, add_service_errors

from .access import clinician_required
from .lesions import render_lesion_page
from .streaming import stream_image


@clinician_required
@require_http_methods(["POST"])
def image_upload(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    """One image per request. The page's drag-and-drop upload sends each file on its own
    (asking for JSON), so each gets its own progress and its own error."""
    lesion = selectors.get_lesion_for(request.user, lesion_pk)
    wants_json = request.headers.get("Accept") == "application/json"
    form = ImageUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            image = services.add_lesion_image(
                lesion=lesion,
                uploaded_file=form.cleaned_data["file"],
                captured_on=form.cleaned_data["captured_on"],
                modality=form.cleaned_data["modality"],
                uploaded_by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error, default_field="file")
        else:
            messages.success(request, "Image added to the lesion's timeline.")
            if wants_json:  # the page reloads once all its files are in, and shows this
                return JsonResponse(
                    {"image": image.pk, "url": f"{lesion.get_absolute_url()}#image-{image.pk}"},
                    status=201,
                )
            return redirect(lesion)
    if wants_json:
        fields = {name: [str(m) for m in errors] for name, errors in form.errors.items()}
        message = " ".join(" ".join(errors) for errors in fields.values())
        return JsonResponse(
            {"error": {"code": "invalid", "message": message, "fields": fields}}, status=400
        )
    return render_lesion_page(request, lesion, form, status=400)


@clinician_required
@require_http_methods(["GET"])
def image_file(request: HttpRequest, image_pk: int) -> FileResponse:
    """The image bytes, for signed-in clinicians of the image's clinic only.

    Media is never linked directly (MEDIA_URL would serve it to anyone with the link);
    ``?size=thumbnail`` gives the small copy the timeline shows, which is not audited.
    """
    image = selectors.get_image_for(request.user, image_pk)
    wants_thumbnail = request.GET.get("size") == "thumbnail" and bool(image.thumbnail)
    if not wants_thumbnail:
        services.record_view(actor=request.user, target=image)
    return stream_image(image, thumbnail=wants_thumbnail)


@clinician_required
@require_http_methods(["GET", "POST"])
def image_delete(request: HttpRequest, image_pk: int) -> HttpResponse:
    image = selectors.get_image_for(request.user, image_pk)
    lesion = image.lesion
    if request.method == "POST":
        services.delete_lesion_image(image=image, deleted_by=request.user)
        messages.success(request, "Image deleted.")
        return redirect(lesion)
    return render(
        request,
        "lesions/confirm_delete.html",
        {
            "object": image,
            "kind": "image",
            "image": image,
            "consequence": "The image file is removed from storage.",
            "cancel_url": lesion.get_absolute_url(),
        },
    )
