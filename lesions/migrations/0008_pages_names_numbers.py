"""Family and given names as separate fields (the single name is split, nothing is lost),
and stable lesion numbers per patient (existing lesions numbered in the order the patient
page listed them: first noted, then creation)."""

from django.db import migrations, models


def split_names(apps, schema_editor):
    Patient = apps.get_model("lesions", "Patient")
    for patient in Patient.objects.only("pk", "name").iterator():
        full_name = " ".join(patient.name.split())
        if "," in full_name:
            family, given = (part.strip() for part in full_name.split(",", 1))
        else:
            given, _, family = full_name.rpartition(" ")
        Patient.objects.filter(pk=patient.pk).update(family_name=family, given_names=given)
    check_now(schema_editor)


def check_now(schema_editor):
    # The updates leave deferred foreign-key checks pending; PostgreSQL refuses to ALTER a
    # table with pending checks in the same transaction, so run them now.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def join_names(apps, schema_editor):
    Patient = apps.get_model("lesions", "Patient")
    for patient in Patient.objects.only("pk", "family_name", "given_names").iterator():
        name = f"{patient.given_names} {patient.family_name}".strip()
        Patient.objects.filter(pk=patient.pk).update(name=name)
    check_now(schema_editor)


def number_lesions(apps, schema_editor):
    Patient = apps.get_model("lesions", "Patient")
    Lesion = apps.get_model("lesions", "Lesion")
    for patient in Patient.objects.only("pk").iterator():
        pks = Lesion.objects.filter(patient=patient).order_by("first_noted_on", "pk")
        last = 0
        for last, pk in enumerate(pks.values_list("pk", flat=True), start=1):
            Lesion.objects.filter(pk=pk).update(number=last)
        Patient.objects.filter(pk=patient.pk).update(last_lesion_number=last)
    check_now(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("lesions", "0007_api_device_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="family_name",
            field=models.CharField(default="", max_length=200, verbose_name="family name"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="patient",
            name="given_names",
            field=models.CharField(blank=True, max_length=200, verbose_name="given names"),
        ),
        migrations.AddField(
            model_name="patient",
            name="last_lesion_number",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="lesion",
            name="number",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(split_names, join_names),
        migrations.RunPython(number_lesions, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="patient", name="lesions_pat_clinic__b5674b_idx"),
        migrations.RemoveField(model_name="patient", name="name"),
        migrations.AlterField(
            model_name="lesion",
            name="number",
            field=models.PositiveIntegerField(editable=False),
        ),
        migrations.AlterModelOptions(
            name="patient",
            options={
                "ordering": ["family_name", "given_names", "pk"],
                "permissions": [
                    ("review_all_clinics", "Can review the records of every clinic in the admin")
                ],
            },
        ),
        migrations.AlterModelOptions(
            name="lesion",
            options={"ordering": ["patient", "number"]},
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["clinic", "family_name"], name="patient_clinic_family_idx"),
        ),
        migrations.AddConstraint(
            model_name="lesion",
            constraint=models.UniqueConstraint(
                fields=("patient", "number"),
                name="lesion_number_unique_per_patient",
                violation_error_message="This patient already has a lesion with this number.",
            ),
        ),
    ]
