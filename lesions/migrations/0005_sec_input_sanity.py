"""Input sanity: plausible dates of birth, capped notes, record numbers unique ignoring case,
and the explicit cross-clinic review permission of the admin.

Record numbers that already differ only in case (e.g. "mrn-a-1" next to "MRN-A-1") are kept,
not merged or deleted: the older patient keeps the number, each later one gets the suffix
"-dup<id>" so the new constraint can be created, and the change is in the audit trail
(actor: the system) for the clinic to resolve.
"""

import django.core.validators
import django.db.models.functions.text
import lesions.models.validators
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def disambiguate_case_duplicates(apps, schema_editor):
    Patient = apps.get_model("lesions", "Patient")
    AuditEvent = apps.get_model("lesions", "AuditEvent")
    groups = (
        Patient.objects.annotate(number=Lower("medical_record_number"))
        .values("clinic_id", "number")
        .annotate(count=Count("pk"))
        .filter(count__gt=1)
    )
    for group in groups:
        same = Patient.objects.annotate(number=Lower("medical_record_number")).filter(
            clinic_id=group["clinic_id"], number=group["number"]
        )
        for patient in same.order_by("pk")[1:]:
            suffix = f"-dup{patient.pk}"
            patient.medical_record_number = patient.medical_record_number[: 64 - len(suffix)] + suffix
            patient.save(update_fields=["medical_record_number"])
            AuditEvent.objects.create(
                actor=None,
                action="changed",
                target_type="patient",
                target_id=patient.pk,
                target_repr=f"{patient.name} ({patient.medical_record_number})"[:300],
                clinic_id=patient.clinic_id,
                patient_id=patient.pk,
                changed_fields=["medical_record_number"],
            )


class Migration(migrations.Migration):

    dependencies = [
        ('lesions', '0004_analysis_result_state'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='patient',
            options={'ordering': ['name', 'pk'], 'permissions': [('review_all_clinics', 'Can review the records of every clinic in the admin')]},
        ),
        migrations.RemoveConstraint(
            model_name='patient',
            name='patient_record_number_unique_in_clinic',
        ),
        migrations.AlterField(
            model_name='patient',
            name='date_of_birth',
            field=models.DateField(validators=[lesions.models.validators.validate_date_of_birth]),
        ),
        migrations.AlterField(
            model_name='patient',
            name='notes',
            field=models.TextField(blank=True, max_length=10000, validators=[django.core.validators.MaxLengthValidator(10000)]),
        ),
        migrations.RunPython(disambiguate_case_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='patient',
            constraint=models.UniqueConstraint(models.F('clinic'), django.db.models.functions.text.Lower('medical_record_number'), name='patient_record_number_unique_in_clinic', violation_error_code='duplicate_record_number', violation_error_message='A patient with this medical record number already exists in this clinic.'),
        ),
    ]
