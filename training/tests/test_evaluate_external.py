"""evaluate_model --external scores other clinics' images exactly as a worker serves them,
fits nothing, reports intervals around its figures, refuses bad folders, and --write-card
puts the figures and the domain comparison into the card, card.md and the model page."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from sklearn.metrics import roc_auc_score

from classifier.artifact import read_card, sha256_of
from classifier.predictor import Predictor
from training.metrics import operating_points

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "classifier" / "default_model"
EXTERNAL_DEV = REPO.parent / "shared" / "data" / "external-dev"
PER_CLASS = 6  # 6 melanomas and 6 nevi: enough for an AUC and its interval


def _write_external(root: Path, rows: list[dict], *, source: Path = EXTERNAL_DEV) -> Path:
    (root / "images").mkdir(parents=True)
    with open(root / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        image = source / "images" / f"{row['image_id']}.jpg"
        if image.is_file():
            shutil.copyfile(image, root / "images" / image.name)
    return root


@pytest.fixture(scope="module")
def external_rows() -> list[dict]:
    labels = EXTERNAL_DEV / "labels.csv"
    if not labels.is_file():
        pytest.skip(f"external images not found at {EXTERNAL_DEV}")
    with open(labels, newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: row["image_id"])
    return [row for dx in ("mel", "nv") for row in [r for r in rows if r["dx"] == dx][:PER_CLASS]]


@pytest.fixture
def external_dir(tmp_path, external_rows) -> Path:
    return _write_external(tmp_path / "tiny-external", external_rows)


@pytest.fixture(autouse=True)
def own_cache(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"  # served outputs are cached there: none shared


def _evaluate(**options) -> dict:
    stdout = io.StringIO()
    call_command("evaluate_model", json=True, stdout=stdout, stderr=io.StringIO(), **options)
    return json.loads(stdout.getvalue())


@pytest.mark.django_db
def test_figures_follow_from_the_per_image_results_a_worker_would_serve(settings, external_dir):
    card_before = (DEFAULT_MODEL / "card.json").read_bytes()
    report = _evaluate(external=str(external_dir), model=str(DEFAULT_MODEL), bootstrap=200)

    rows = report["per_image"]
    assert report["external"] == "tiny-external" and len(rows) == report["images"] == 12
    assert (report["melanomas"], report["nevi"]) == (PER_CLASS, PER_CLASS)
    # The worker's own path, image by image: same backend, probabilities and states.
    predictor = Predictor.from_artifact(DEFAULT_MODEL, backend=settings.DERMASCAN_INFERENCE_BACKEND)
    assert report["backend"] == predictor.backend_name
    assert report["temperature"] == read_card(DEFAULT_MODEL).temperature  # nothing refitted
    for row in rows:
        served = predictor.predict(
            external_dir / "images" / f"{row['image_id']}.jpg", heatmap=False
        )
        assert row["state"] == served.result_state
        assert row["melanoma_probability"] == pytest.approx(served.melanoma_probability, abs=1e-6)
        assert row["gate_distance"] == pytest.approx(served.ood_score, abs=1e-6)

    melanoma = np.array([row["dx"] == "mel" for row in rows])
    score = np.array([row["melanoma_probability"] for row in rows])
    states = np.array([row["state"] for row in rows])
    assert report["melanoma_auc"] == pytest.approx(roc_auc_score(melanoma, score))
    assert report["sensitivity_at_specificity_80"] == pytest.approx(
        operating_points(score, melanoma)["sensitivity_at_specificity_80"]
    )
    assert report["melanoma_high_or_moderate"] == pytest.approx(
        np.isin(states[melanoma], ["high", "moderate"]).mean()
    )
    assert report["nevus_high"] == pytest.approx((states[~melanoma] == "high").mean())
    assert report["nevus_low"] == pytest.approx((states[~melanoma] == "low").mean())
    assert report["not_assessable"] == pytest.approx((states == "not_assessable").mean())
    assert report["inconclusive"] == pytest.approx((states == "inconclusive").mean())

    intervals = report["intervals_95"]
    assert intervals.pop("method").startswith("image-level bootstrap, 200 rounds")
    assert intervals["melanoma_auc"] is not None
    for key, (low, high) in ((k, v) for k, v in intervals.items() if v is not None):
        assert low <= report[key] <= high, key
    assert (DEFAULT_MODEL / "card.json").read_bytes() == card_before


@pytest.fixture
def reference_dir(tmp_path, tiny_rows) -> Path:
    """The tiny HAM folder with its hand masks (the domain comparison checks its Otsu on them)."""
    from django.conf import settings as django_settings

    from training.tests.conftest import write_ham_dir

    root = write_ham_dir(tmp_path / "tiny_ham", tiny_rows)
    (root / "masks").mkdir()
    for row in tiny_rows:
        mask = Path(django_settings.DERMASCAN_DATA_DIR) / "masks" / f"{row['image_id']}.png"
        if mask.is_file():
            shutil.copyfile(mask, root / "masks" / mask.name)
    return root


@pytest.mark.django_db
@pytest.mark.urls("classifier.tests.urls")
def test_write_card_stores_the_figures_and_the_page_shows_them(
    settings, tmp_path, external_dir, reference_dir, django_user_model
):
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, model)
    weights = sha256_of(model / "weights.safetensors")
    report = _evaluate(
        external=str(external_dir),
        model=str(model),
        compare_domains=True,
        data=str(reference_dir),
        split="test",
        write_card=True,
        bootstrap=50,
    )
    domain = report["domain_comparison"]
    assert domain["external"] == "tiny-external" and domain["figure"] == "domain_comparison.png"
    assert domain["case_mix"]["external"]["counts"] == {"mel": PER_CLASS, "nv": PER_CLASS}
    assert {row["key"] for row in domain["figures"]} >= {"brightness", "sharpness_log10"}
    assert 0 < domain["segmentation_check"]["dice_median"] <= 1
    assert domain["reference_melanoma_vs_nevus"]["images"] == 2  # one mel, one nv in test

    card = read_card(model)
    stored = card.metrics["external"]["tiny-external"]
    assert "per_image" not in stored and stored["melanoma_auc"] == report["melanoma_auc"]
    assert card.metrics["domain_comparison"]["external"] == "tiny-external"
    assert "test" in card.metrics  # the HAM figures are kept
    assert sha256_of(model / "weights.safetensors") == weights == card.weights_sha256
    assert (model / "domain_comparison.png").read_bytes()[:4] == b"\x89PNG"
    markdown = (model / "card.md").read_text()
    assert "## Images from other clinics" in markdown and "### How the images differ" in markdown
    assert "--external" in markdown and "![domain comparison](domain_comparison.png)" in markdown

    settings.DERMASCAN_DEFAULT_MODEL = model
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="doc"))
    html = client.get(reverse("classifier:model-card")).content.decode()
    assert "Images from other clinics" in html and "tiny-external" in html
    figure = reverse("classifier:model-figure", kwargs={"name": "domain_comparison"})
    assert figure in html and client.get(figure).status_code == 200


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("no labels.csv", "no labels.csv"),
        ("no images folder", "no images/ folder"),
        ("an image missing", "1 image file(s) missing"),
        ("unknown dx", "unknown dx 'bcc'"),
        ("no dx column", "needs the columns image_id and dx"),
        ("nevi only", "needs both"),
    ],
)
def test_bad_external_folders_are_refused_with_the_reason(
    tmp_path, external_rows, breakage, message
):
    rows = [dict(row) for row in external_rows]
    if breakage == "unknown dx":
        rows[0]["dx"] = "bcc"
    if breakage == "no dx column":
        rows = [{k: v for k, v in row.items() if k != "dx"} for row in rows]
    if breakage == "nevi only":
        rows = [row for row in rows if row["dx"] == "nv"]
    root = _write_external(tmp_path / "bad", rows)
    if breakage == "no labels.csv":
        (root / "labels.csv").unlink()
    if breakage == "no images folder":
        shutil.rmtree(root / "images")
    if breakage == "an image missing":
        (root / "images" / f"{rows[-1]['image_id']}.jpg").unlink()
    with pytest.raises(CommandError, match=re.escape(message)):
        _evaluate(external=str(root), model=str(DEFAULT_MODEL))


def test_external_options_that_would_fit_or_need_a_folder_are_refused(external_dir):
    with pytest.raises(CommandError, match="evaluation only"):
        _evaluate(external=str(external_dir), model=str(DEFAULT_MODEL), refit=True)
    with pytest.raises(CommandError, match="goes with --external"):
        _evaluate(model=str(DEFAULT_MODEL), write_card=True)
    with pytest.raises(CommandError, match="drop --max-images"):
        _evaluate(
            external=str(external_dir), model=str(DEFAULT_MODEL), write_card=True, max_images=4
        )
