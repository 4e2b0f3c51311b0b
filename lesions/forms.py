"""Forms check what a person typed; the services check everything again before writing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from lesions.body_sites import site_position
from lesions.models import (
    Lesion,
    LesionImage,
    ManagementDecision,
    Modality,
    Patient,
    ReviewBasis,
    ReviewDiagnosis,
)
from lesions.models.validators import validate_not_in_future
from lesions.services.lesions import LESION_EDITABLE_FIELDS
from lesions.services.patients import PATIENT_EDITABLE_FIELDS
from lesions.services.reviews import check_reason_given


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict[str, Any]:
        # The browser's date picker then offers no future dates; the server still checks.
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].setdefault("max", timezone.localdate().isoformat())
        return context


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = PATIENT_EDITABLE_FIELDS
        widgets = {
            "date_of_birth": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }


class LesionForm(forms.ModelForm):
    """Edits every lesion field, including where it sits on the body map.

    The position is placed on the map (or with the keyboard) and travels in hidden fields;
    without them, choosing the body site and view is enough: the lesion goes to the middle
    of that site on the figure (lesions.body_sites).
    """

    class Meta:
        model = Lesion
        fields = LESION_EDITABLE_FIELDS
        widgets = {
            "first_noted_on": DateInput(),
            "map_x": forms.HiddenInput(),
            "map_y": forms.HiddenInput(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["map_x"].required = False
        self.fields["map_y"].required = False
        self.fields["body_site"].help_text = "Or click the body map."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        unplaced = data.get("map_x") is None or data.get("map_y") is None
        if unplaced and data.get("body_site") and data.get("body_view"):
            data["map_x"], data["map_y"] = site_position(data["body_site"], data["body_view"])
        return data


class NewLesionForm(LesionForm):
    """What a click on the body map fills in: view, x, y and a guess of the body site."""

    class Meta(LesionForm.Meta):
        # A new lesion is being monitored.
        fields = tuple(name for name in LESION_EDITABLE_FIELDS if name != "status")


class ImageUploadForm(forms.Form):
    file = forms.FileField(
        label="Image (JPEG or PNG, at most 20 MB)",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )
    captured_on = forms.DateField(
        label="Captured on",
        initial=timezone.localdate,
        widget=DateInput(),
        validators=[validate_not_in_future],
    )
    modality = forms.ChoiceField(choices=Modality.choices, initial=Modality.DERMOSCOPIC)


class CompareForm(forms.Form):
    """Which two images of the lesion to show side by side (ids from the lesion's timeline)."""

    before = forms.TypedChoiceField(coerce=int, label="Earlier image")
    after = forms.TypedChoiceField(coerce=int, label="Later image")

    def __init__(self, *args: Any, images: Iterable[LesionImage] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (image.pk, f"{image.captured_on:%d %b %Y} · {image.get_modality_display()}")
            for image in images
        ]
        self.fields["before"].choices = choices
        self.fields["after"].choices = choices


def add_service_errors(
    form: forms.BaseForm, error: ValidationError, *, default_field: str | None = None
) -> None:
    """Show a service's ValidationError on the form, each message beside its field if shown."""
    if not hasattr(error, "error_dict"):
        form.add_error(default_field, error)
        return
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else default_field
        if field == NON_FIELD_ERRORS:
            target = default_field
        form.add_error(target, messages)


REVIEW_NOTE_HELP = (
    "Required when you agree with a High or Moderate result but choose Monitor or Discharge: "
    "say why."
)


class ReviewForm(forms.Form):
    """Sign-off of one result: agree with the model, or record another diagnosis.

    Nothing that states a clinical decision is chosen in advance: the reading, the basis
    and the management decision start empty and must each be chosen.
    """

    agrees_with_model = forms.TypedChoiceField(
        label="Your reading",
        choices=[("yes", "Agree with the model"), ("no", "Another diagnosis")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    diagnosis = forms.ChoiceField(
        label="Diagnosis (when not agreeing)",
        choices=[("", "—"), *ReviewDiagnosis.choices],
        required=False,
    )
    diagnosis_other = forms.CharField(label="Other diagnosis", max_length=200, required=False)
    basis = forms.ChoiceField(choices=[("", "Choose the basis"), *ReviewBasis.choices])
    management = forms.ChoiceField(
        label="Management decision",
        choices=[("", "Choose a decision"), *ManagementDecision.choices],
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=REVIEW_NOTE_HELP,
    )

    def __init__(
        self, *args: Any, prefix_id: str = "", result_state: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.result_state = result_state
        if prefix_id:  # several forms on one page need distinct element ids
            self.auto_id = f"review-{prefix_id}-%s"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("agrees_with_model") is False and not data.get("diagnosis"):
            self.add_error("diagnosis", "Choose the diagnosis, or agree with the model.")
        try:  # the service checks this again; here it shows beside the note
            check_reason_given(
                result_state=self.result_state,
                agrees_with_model=data.get("agrees_with_model"),
                management=data.get("management", ""),
                note=data.get("note", ""),
            )
        except ValidationError as error:
            add_service_errors(self, error)
        return data


class NextReviewForm(forms.Form):
    next_review_on = forms.DateField(
        label="Next review",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave empty for no further review.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The date picker offers no past days; clean_next_review_on refuses them anyway.
        self.fields["next_review_on"].widget.attrs["min"] = timezone.localdate().isoformat()

    def clean_next_review_on(self) -> Any:
        day = self.cleaned_data.get("next_review_on")
        if day is not None and day < timezone.localdate():
            raise ValidationError("The next review cannot be in the past.", code="in_past")
        return day
