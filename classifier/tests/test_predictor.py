import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from classifier.artifact import read_card
from classifier.errors import ImageError
from classifier.labels import HAM7
from classifier.predictor import Predictor


def test_probabilities_sum_to_one_in_card_order(predictor, sample_images):
    prediction = predictor.predict(sample_images[0], heatmap=False)
    assert list(prediction.probabilities) == list(HAM7)
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-9)
    assert prediction.label == max(prediction.probabilities, key=prediction.probabilities.get)
    assert prediction.confidence == pytest.approx(prediction.probabilities[prediction.label])
    assert 0.0 <= prediction.entropy <= 1.0
    assert prediction.model_id == "untrained-tf_efficientnet_lite0-seed0"
    assert prediction.heatmap is None and prediction.heatmap_raw is None


def test_tta_runs_eight_views_and_reports_their_spread(predictor, sample_images):
    with_tta = predictor.predict(sample_images[1], heatmap=False)
    without = predictor.predict(sample_images[1], tta=False, heatmap=False)
    assert with_tta.tta_views == 8 and without.tta_views == 1
    assert any(s > 0 for s in with_tta.tta_spread.values())
    assert all(s == 0 for s in without.tta_spread.values())
    assert with_tta.probabilities != without.probabilities


def test_heatmap_is_an_overlay_at_image_size(predictor, sample_images):
    prediction = predictor.predict(sample_images[2])
    assert isinstance(prediction.heatmap, Image.Image) and prediction.heatmap.mode == "RGB"
    assert prediction.heatmap.size == (256, 256)
    raw = prediction.heatmap_raw
    assert raw.shape == (256, 256) and raw.min() == 0.0 and raw.max() == pytest.approx(1.0)


def test_batch_matches_single_predictions(predictor, sample_images):
    batch = predictor.predict_batch(sample_images[:2])
    for path, from_batch in zip(sample_images[:2], batch, strict=True):
        single = predictor.predict(path, heatmap=False)
        for code in HAM7:
            assert from_batch.probabilities[code] == pytest.approx(
                single.probabilities[code], abs=1e-5
            )


def test_parallel_batch_keeps_order_and_results(predictor, sample_images):
    images = sample_images[:4]
    serial = predictor.predict_batch(images, tta=False)
    parallel = predictor.predict_batch(images, tta=False, workers=3)
    assert len(parallel) == len(images)
    for a, b in zip(parallel, serial, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)


def test_to_dict_is_json_safe_and_has_no_images(predictor, sample_images):
    import json

    data = predictor.predict(sample_images[3]).to_dict()
    json.dumps(data)
    assert "heatmap" not in data and "heatmap_raw" not in data
    assert {"label", "probabilities", "uncertain", "risk_level", "model_id"} <= set(data)


def test_uniform_probabilities_are_flagged_uncertain(
    lite0_model, untrained_artifact, sample_images
):
    model = copy.deepcopy(lite0_model)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()  # every logit 0: exactly uniform
    uniform = Predictor(model, read_card(untrained_artifact), device="cpu")
    prediction = uniform.predict(sample_images[0], heatmap=False)
    assert all(p == pytest.approx(1 / 7) for p in prediction.probabilities.values())
    assert prediction.uncertain and prediction.entropy == pytest.approx(1.0)
    assert "could not classify this image confidently" in prediction.uncertainty_message


def test_thresholds_can_be_overridden(lite0_model, untrained_artifact, sample_images):
    card = read_card(untrained_artifact)
    strict = Predictor(copy.deepcopy(lite0_model), card, device="cpu", confidence_threshold=0.0,
                       entropy_threshold=1.0)  # fmt: skip
    assert strict.card.confidence_threshold == 0.0
    assert card.confidence_threshold == 0.6  # the original card is untouched
    assert not strict.predict(sample_images[0], heatmap=False).uncertain


def test_temperature_from_the_card_softens_probabilities(
    lite0_model, untrained_artifact, sample_images
):
    card = read_card(untrained_artifact)
    hot_card = copy.deepcopy(card)
    hot_card.temperature = 3.0
    base = Predictor(copy.deepcopy(lite0_model), card, device="cpu")
    hot = Predictor(copy.deepcopy(lite0_model), hot_card, device="cpu")
    a = base.predict(sample_images[4], heatmap=False)
    b = hot.predict(sample_images[4], heatmap=False)
    assert b.label == a.label and b.confidence < a.confidence


def test_concurrent_calls_give_the_same_results(predictor, sample_images):
    images = sample_images[:4]
    expected = [predictor.predict(p, tta=False, heatmap=False).probabilities for p in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda p: predictor.predict(p, tta=False), images * 2))
    for i, result in enumerate(results):
        for code, p in expected[i % 4].items():
            assert result.probabilities[code] == pytest.approx(p, abs=1e-6)


def test_accepts_arrays_bytes_and_pil(predictor, sample_images):
    path = sample_images[5]
    reference = predictor.predict(path, tta=False, heatmap=False).probabilities
    from classifier.preprocessing import load_rgb

    for image in (load_rgb(path), path.read_bytes(), Image.open(path)):
        got = predictor.predict(image, tta=False, heatmap=False).probabilities
        assert got == pytest.approx(reference)


def test_bad_input_raises_image_error(predictor, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not really a jpeg")
    with pytest.raises(ImageError, match="notes.jpg"):
        predictor.predict(bad)
    with pytest.raises(ImageError):
        predictor.predict(np.zeros((64, 64), np.uint8))


def test_torch_device_is_chosen_automatically(untrained_artifact):
    auto = Predictor.from_artifact(untrained_artifact, backend="torch")
    assert auto.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert auto.backend_name == "torch" and auto.model is not None


def test_unknown_backend_is_a_clear_error(untrained_artifact):
    from classifier.errors import EngineError

    with pytest.raises(EngineError, match="Unknown backend"):
        Predictor.from_artifact(untrained_artifact, backend="tensorrt")


def test_the_card_decides_which_tta_views_are_served(untrained_artifact, sample_images, tmp_path):
    import shutil

    from classifier.artifact import write_card

    copy = tmp_path / "two-views"
    shutil.copytree(untrained_artifact, copy)
    card = read_card(copy)
    card.tta_views = ["identity", "rot180"]
    write_card(card, copy)
    served = Predictor.from_artifact(copy, device="cpu", backend="torch")
    result = served.predict(sample_images[0], heatmap=True)
    [(view_probs, _)] = served.view_outputs(
        [served.prepare(sample_images[0])], views=("identity", "rot180"), features=False
    )
    assert result.tta_views == 2 and result.heatmap is not None
    expected = dict(zip(served.classes, view_probs.mean(axis=0), strict=True))
    assert result.probabilities == pytest.approx(expected, abs=1e-6)


def test_a_card_with_unknown_tta_views_is_refused(untrained_artifact, tmp_path):
    import json
    import shutil

    from classifier.errors import ArtifactError

    copy = tmp_path / "bad-views"
    shutil.copytree(untrained_artifact, copy)
    data = json.loads((copy / "card.json").read_text())
    data["tta_views"] = ["identity", "spin"]
    (copy / "card.json").write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="tta_views"):
        read_card(copy)
