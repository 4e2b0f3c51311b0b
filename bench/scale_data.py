"""One clinic of a given size for the scale benchmark, written with bulk inserts.

Fixtures only: rows are written as the services would leave them (each image's one analysis
flagged newest, lesions' follow-up fields filled in), but without the per-row services,
which would take hours at 120,000 analyses. Ratios as in the scale issue: 3 lesions per
patient, 2 images per lesion, one finished analysis per image (1 % failed), 15 % of the
results reviewed, 13 audit events per patient.
"""

from __future__ import annotations

import datetime
import random
from pathlib import Path

BATCH = 5000
FAMILY_NAMES = [
    "Smith", "Jones", "Garcia", "Müller", "Rossi", "Nowak", "Kowalski", "Dubois", "Silva",
    "Jansen", "Novak", "Horvat", "Nielsen", "Virtanen", "Popescu", "Ivanova", "Murphy",
    "Walsh", "Fischer", "Weber", "Schmidt", "Lopez", "Martin", "Bernard", "Moreau",
    "Lovelace", "Franklin", "Curie", "Meitner", "Noether", "Hopper", "Turing",
]  # fmt: skip
GIVEN_NAMES = [
    "Ada", "Rosalind", "Marie", "Lise", "Emmy", "Grace", "Alan", "Anna", "Jan", "Eva",
    "Piotr", "Sofia", "Luca", "Elena", "Noah", "Mia", "Liam", "Emma", "Oskar", "Ida",
]  # fmt: skip
STATES = [  # (result state, top class, share of finished results)
    ("low", "nv", 0.55),
    ("moderate", "bkl", 0.20),
    ("high", "mel", 0.08),
    ("inconclusive", "bcc", 0.12),
    ("not_assessable", "nv", 0.05),
]


def fill(patients: int, *, media_root: Path, seed: int = 0) -> dict:
    """Write the clinic; returns the ids the benchmark's URLs name and the row counts."""
    from django.db import connection

    from lesions.models import Clinic, DeviceToken, User

    rng = random.Random(seed)  # noqa: S311 (fixture data, the same for every run)
    clinic = Clinic.objects.create(name="Scale clinic")
    clinician = User.objects.create_user("scale", password="scale-not-secret-0", clinic=clinic)
    staff = User.objects.create_superuser(
        "scale-staff", password="scale-not-secret-1", clinic=clinic
    )
    _, token = DeviceToken.objects.create(user=clinician, device_name="scale bench")
    files = _write_image_files(media_root)
    patient_ids = _patients(clinic, patients, rng)
    lesion_ids = _lesions(patient_ids, rng)
    image_ids = _images(lesion_ids, clinician, files)
    analysis_ids = _analyses(image_ids, rng)
    reviews = _reviews(analysis_ids, clinician, rng)
    audit = _audit_events(clinic, clinician, patient_ids, rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    patient = patient_ids[len(patient_ids) // 2]
    from lesions.models import Lesion, Patient

    lesion = Lesion.objects.filter(patient_id=patient).order_by("number").first()
    named = Patient.objects.get(pk=patient)
    return {
        "clinician": clinician.pk,
        "staff": staff.pk,
        "token": token,
        "patient": patient,
        "lesion": lesion.pk,
        "analysis": analysis_ids[len(analysis_ids) // 2][0],
        "last_page": -(-patients // 25),
        "api_last_page": -(-patients // 100),
        "search_name": named.family_name[:5].lower(),
        "search_record": named.medical_record_number,
        "counts": {
            "patients": patients,
            "analyses": len(analysis_ids),
            "reviews": reviews,
            "audit": audit,
        },
    }


def _write_image_files(media_root: Path) -> dict[str, str]:
    from lesions.tests.images import jpeg_bytes

    names = {"file": "lesion-images/scale.jpg", "thumbnail": "lesion-thumbnails/scale.jpg"}
    for name in names.values():
        path = media_root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg_bytes((600, 450), seed=1))
    return names


def _insert(model, rows) -> list[int]:
    """Bulk-insert ``rows`` (an iterable of unsaved instances); returns their ids in order."""
    ids, batch = [], []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            ids += [saved.pk for saved in model.objects.bulk_create(batch)]
            batch = []
    if batch:
        ids += [saved.pk for saved in model.objects.bulk_create(batch)]
    return ids


def _patients(clinic, count: int, rng: random.Random) -> list[int]:
    from lesions.models import Patient

    return _insert(
        Patient,
        (
            Patient(
                clinic=clinic,
                medical_record_number=f"MRN-{n:07d}",
                family_name=rng.choice(FAMILY_NAMES) + f"-{n % 997}",
                given_names=rng.choice(GIVEN_NAMES),
                date_of_birth=datetime.date(1940 + n % 60, 1 + n % 12, 1 + n % 28),
                last_lesion_number=3,
            )
            for n in range(count)
        ),
    )


def _lesions(patient_ids: list[int], rng: random.Random) -> list[int]:
    from lesions.models import Lesion

    today = datetime.date.today()
    now = datetime.datetime.now(datetime.UTC)

    def lesion(patient_id: int, number: int) -> Lesion:
        status = rng.choices(["monitoring", "excised", "archived"], [0.9, 0.07, 0.03])[0]
        evolving = status == "monitoring" and rng.random() < 0.02
        return Lesion(
            patient_id=patient_id,
            number=number,
            label=f"lesion {number}",
            body_site="back",
            body_view="back",
            map_x=0.2 + 0.2 * number,
            map_y=0.4,
            status=status,
            first_noted_on=today - datetime.timedelta(days=800),
            evolving=evolving,
            evolving_reason="Malignant probability rose" if evolving else "",
            evolving_since=now - datetime.timedelta(days=rng.randrange(300)) if evolving else None,
            next_review_on=today + datetime.timedelta(days=rng.randrange(-60, 365))
            if status == "monitoring"
            else None,
            next_review_reason="Suggested" if status == "monitoring" else "",
        )

    return _insert(Lesion, (lesion(p, n) for p in patient_ids for n in (1, 2, 3)))


def _images(lesion_ids: list[int], uploader, files: dict[str, str]) -> list[int]:
    from lesions.models import LesionImage

    today = datetime.date.today()
    return _insert(
        LesionImage,
        (
            LesionImage(
                lesion_id=lesion_id,
                file=files["file"],
                thumbnail=files["thumbnail"],
                captured_on=today - datetime.timedelta(days=400 * visit + lesion_id % 300),
                modality="dermoscopic",
                uploaded_by=uploader,
                width=600,
                height=450,
                content_type="image/jpeg",
                byte_size=40_000,
                content_sha256=f"{lesion_id:032x}{visit:032x}",
            )
            for lesion_id in lesion_ids
            for visit in (1, 0)
        ),
    )


def _analyses(image_ids: list[int], rng: random.Random) -> list[tuple[int, str]]:
    """One analysis per image, flagged newest; returns (id, top class) of the finished ones."""
    from classifier.labels import display_name
    from lesions.models import Analysis

    now = datetime.datetime.now(datetime.UTC)
    weights = [share for *_, share in STATES]
    rows, classes = [], []
    for image_id in image_ids:
        finished = now - datetime.timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        common = {"image_id": image_id, "is_latest": True, "enqueued_at": finished}
        if rng.random() < 0.01:
            rows.append(Analysis(**common, status="failed", failure_reason="Timed out."))
            classes.append(None)
            continue
        state, top, _ = rng.choices(STATES, weights)[0]
        probabilities = {code: 0.02 for code in ("akiec", "bcc", "bkl", "df", "mel", "vasc")}
        probabilities = {**probabilities, "nv": 0.0, top: 0.88 if top != "nv" else 0.9}
        rows.append(
            Analysis(
                **common,
                status="done",
                attempts=1,
                started_at=finished,
                finished_at=finished,
                inference_ms=40,
                model_id="ham7-lite0-192-s0",
                model_sha256="ab" * 32,
                probabilities=probabilities,
                top_class=top,
                top_class_display=display_name(top),
                confidence=0.88,
                risk_level=state if state in ("low", "moderate", "high") else "",
                recommended_action="Routine follow-up",
                malignant_probability=0.9 if top == "mel" else 0.05,
                tta_views=4,
                result_state=state,
            )
        )
        classes.append(top)
    ids = _insert(Analysis, iter(rows))
    return [(pk, top) for pk, top in zip(ids, classes, strict=True) if top is not None]


def _reviews(analyses: list[tuple[int, str]], reviewer, rng: random.Random) -> int:
    from lesions.models import Review

    reviewed = rng.sample(analyses, round(0.15 * len(analyses)))
    return len(
        _insert(
            Review,
            (
                Review(
                    analysis_id=pk,
                    reviewer=reviewer,
                    agrees_with_model=True,
                    diagnosis=top,
                    basis="clinical",
                    management="monitor",
                )
                for pk, top in reviewed
            ),
        )
    )


def _audit_events(clinic, actor, patient_ids: list[int], rng: random.Random) -> int:
    from lesions.models import AuditEvent

    return len(
        _insert(
            AuditEvent,
            (
                AuditEvent(
                    actor=actor,
                    action="viewed",
                    target_type="patient",
                    target_id=patient_id,
                    target_repr=f"Patient {patient_id}",
                    clinic=clinic,
                    patient_id=patient_id,
                )
                for patient_id in patient_ids
                for _ in range(13)
            ),
        )
    )
