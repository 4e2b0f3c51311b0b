import pytest

from classifier.ensemble import EnsemblePredictor
from classifier.errors import ArtifactError
from classifier.labels import THREE
from classifier.predictor import Predictor
from classifier.testing import build_untrained_artifact


@pytest.fixture(scope="module")
def second_artifact(tmp_path_factory):
    return build_untrained_artifact(tmp_path_factory.mktemp("second"), seed=1)


def test_ensemble_averages_calibrated_probabilities(
    untrained_artifact, second_artifact, sample_images
):
    first = Predictor.from_artifact(untrained_artifact, device="cpu", backend="torch")
    second = Predictor.from_artifact(second_artifact, device="cpu", backend="onnx")
    ensemble = EnsemblePredictor([first, second])
    image = sample_images[0]
    a = first.predict(image, heatmap=False)
    b = second.predict(image, heatmap=False)
    combined = ensemble.predict(image)
    for code in combined.probabilities:
        expected = (a.probabilities[code] + b.probabilities[code]) / 2
        assert combined.probabilities[code] == pytest.approx(expected, abs=1e-6)
    assert combined.model_id == f"ensemble:{a.model_id}+{b.model_id}"
    assert combined.tta_views == 8
    assert combined.heatmap is not None and combined.heatmap.size == (256, 256)


def test_members_must_share_classes(untrained_artifact, tmp_path):
    other = build_untrained_artifact(tmp_path / "three", classes=THREE)
    with pytest.raises(ArtifactError, match="disagree on classes"):
        EnsemblePredictor.from_artifacts([untrained_artifact, other], device="cpu")
