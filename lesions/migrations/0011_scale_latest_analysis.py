"""Scale: each image's newest analysis kept as a flag, with the worklist's partial indexes;
the patient list's order index and trigram indexes for its search."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

# Substring search of names and record numbers (``icontains``, which PostgreSQL runs as
# UPPER(column) LIKE UPPER('%word%')) reads these instead of every patient of the clinic.
TRIGRAM_COLUMNS = ("family_name", "given_names", "medical_record_number")


def flag_latest_analyses(apps, schema_editor):
    """Flag each image's newest analysis (newest created, as the pages always chose it)."""
    Analysis = apps.get_model("lesions", "Analysis")
    newest = (
        Analysis.objects.filter(image=OuterRef("image"))
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )
    Analysis.objects.filter(pk=Subquery(newest)).update(is_latest=True)


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite (a laptop) has no trigram index; its search scans, as before
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS patient_{column}_trgm_idx ON lesions_patient "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS patient_{column}_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("classifier", "0002_model_store"),
        ("lesions", "0010_worker_backend"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="patient",
            name="patient_clinic_family_idx",
        ),
        migrations.AddField(
            model_name="analysis",
            name="is_latest",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(flag_latest_analyses, migrations.RunPython.noop),
        TrigramExtension(),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
        migrations.AddIndex(
            model_name="analysis",
            index=models.Index(
                models.Case(
                    models.When(result_state="high", then=models.Value(0)),
                    models.When(result_state="inconclusive", then=models.Value(1)),
                    models.When(result_state="moderate", then=models.Value(2)),
                    models.When(result_state="not_assessable", then=models.Value(3)),
                    default=models.Value(4),
                    output_field=models.IntegerField(),
                ),
                models.OrderBy(models.F("finished_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("is_latest", True), ("status", "done")),
                name="analysis_latest_done_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="analysis",
            index=models.Index(
                models.OrderBy(models.F("finished_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("is_latest", True), ("status", "failed")),
                name="analysis_latest_failed_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="lesion",
            index=models.Index(
                models.OrderBy(models.F("evolving_since"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                condition=models.Q(("evolving", True), ("status", "monitoring")),
                name="lesion_evolving_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="lesion",
            index=models.Index(
                condition=models.Q(("next_review_on__isnull", False), ("status", "monitoring")),
                fields=["next_review_on", "id"],
                name="lesion_due_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(
                fields=["clinic", "family_name", "given_names", "id"],
                name="patient_clinic_name_order_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="analysis",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_latest", True)),
                fields=("image",),
                name="analysis_one_latest_per_image",
            ),
        ),
    ]
