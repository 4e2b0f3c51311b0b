from django.db import migrations, models


def derive_states(apps, schema_editor):
    """Existing results get the state the new rule gives them: uncertain is inconclusive."""
    Analysis = apps.get_model("lesions", "Analysis")
    done = Analysis.objects.filter(status="done", result_state="")
    done.filter(uncertain=True).update(result_state="inconclusive")
    for level in ("high", "moderate", "low"):
        done.filter(uncertain=False, risk_level=level).update(result_state=level)


class Migration(migrations.Migration):

    dependencies = [
        ("lesions", "0003_lesion_confirmed_diagnosis"),
    ]

    operations = [
        migrations.AddField(
            model_name="analysis",
            name="result_state",
            field=models.CharField(
                blank=True,
                choices=[
                    ("not_assessable", "Not assessable"),
                    ("inconclusive", "Inconclusive"),
                    ("high", "High risk"),
                    ("moderate", "Moderate risk"),
                    ("low", "Low risk"),
                ],
                db_index=True,
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="analysis",
            name="state_reason",
            field=models.TextField(
                blank=True,
                help_text=(
                    "Why the result is not assessable or inconclusive, in words for the "
                    "clinician."
                ),
            ),
        ),
        migrations.RunPython(derive_states, migrations.RunPython.noop),
    ]
