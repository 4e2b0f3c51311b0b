import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from classifier.artifact import read_card, save_artifact, write_card
from classifier.errors import ArtifactError  # noqa: E402
from classifier.export import add_export
from classifier.model_card import CARD_FILE, ONNX_FILE, ModelCard
from classifier.onnx_backend import export_onnx  # noqa: E402
from classifier.predictor import Predictor  # noqa: E402
from classifier.tests.conftest import REPO_ROOT  # noqa: E402


@pytest.fixture(scope="module")
def onnx_predictor(untrained_artifact):
    return Predictor.from_artifact(untrained_artifact, device="cpu", backend="onnx", threads=1)


def test_artifacts_carry_a_current_onnx_export(untrained_artifact):
    card = json.loads((untrained_artifact / CARD_FILE).read_text())
    assert (untrained_artifact / ONNX_FILE).is_file()
    assert card["onnx"]["weights_sha256"] == card["weights_sha256"]
    assert card["onnx"]["fast_cam"] is True
    assert card["onnx"]["head_weight_key"] == "classifier.weight"


def test_onnx_matches_pytorch_within_1e_4(predictor, onnx_predictor, sample_images):
    assert onnx_predictor.backend_name == "onnx" and onnx_predictor.model is None
    for path in sample_images[:3]:
        prepared = [predictor.prepare(path)]
        torch_probs, torch_features = predictor.view_outputs(
            prepared, views=("identity", "rot90"), features=True
        )[0]
        onnx_probs, onnx_features = onnx_predictor.view_outputs(
            prepared, views=("identity", "rot90"), features=True
        )[0]
        np.testing.assert_allclose(onnx_probs, torch_probs, atol=1e-4)
        np.testing.assert_allclose(onnx_features, torch_features, atol=1e-3)


def test_onnx_predictions_and_heatmaps_match(predictor, onnx_predictor, sample_images):
    a = predictor.predict(sample_images[4])
    b = onnx_predictor.predict(sample_images[4])
    assert a.label == b.label
    for code, p in a.probabilities.items():
        assert b.probabilities[code] == pytest.approx(p, abs=1e-4)
    np.testing.assert_allclose(a.heatmap_raw, b.heatmap_raw, atol=1e-3)


def test_auto_backend_serves_the_export_without_importing_torch(untrained_artifact, sample_images):
    script = (
        "import sys\n"
        "from classifier.predictor import Predictor\n"
        f"p = Predictor.from_artifact({str(untrained_artifact)!r})\n"
        f"r = p.predict({str(sample_images[0])!r})\n"
        "assert r.heatmap is not None and abs(sum(r.probabilities.values()) - 1) < 1e-6\n"
        "print(p.backend_name, 'torch' in sys.modules)\n"
    )
    env_free_of_gpu = {"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=300, env=env_free_of_gpu,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["onnx", "False"]


def test_stale_or_missing_export_falls_back_to_torch(untrained_artifact, tmp_path):
    copy = tmp_path / "stale"
    shutil.copytree(untrained_artifact, copy)
    card = json.loads((copy / CARD_FILE).read_text())
    card["onnx"]["weights_sha256"] = "0" * 64  # exported from other weights
    (copy / CARD_FILE).write_text(json.dumps(card))
    assert Predictor.from_artifact(copy, device="cpu").backend_name == "torch"
    (copy / ONNX_FILE).unlink()
    assert Predictor.from_artifact(copy, device="cpu").backend_name == "torch"
    # Asked for explicitly, ONNX is exported in-process from the torch model instead.
    explicit = Predictor.from_artifact(copy, device="cpu", backend="onnx")
    assert explicit.backend_name == "onnx" and explicit.model is not None


def test_corrupt_export_is_reported(untrained_artifact, tmp_path):
    copy = tmp_path / "corrupt"
    shutil.copytree(untrained_artifact, copy)
    data = bytearray((copy / ONNX_FILE).read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # a run of weights zeroed
    (copy / ONNX_FILE).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="model.onnx is corrupt"):
        Predictor.from_artifact(copy, device="cpu", backend="onnx")


def test_add_export_to_an_artifact_saved_without_one(lite0_model, tmp_path):
    card = ModelCard.for_model("tf_efficientnet_lite0", [f"c{i}" for i in range(7)])
    save_artifact(lite0_model, card, tmp_path / "plain", export_onnx=False)
    assert not (tmp_path / "plain" / ONNX_FILE).exists()
    entry = add_export(tmp_path / "plain")
    assert (tmp_path / "plain" / ONNX_FILE).is_file() and entry["fast_cam"]
    served = Predictor.from_artifact(tmp_path / "plain", device="cpu", backend="onnx")
    assert served.model is None


def test_export_leaves_the_source_model_untouched(lite0_model, tmp_path):
    before = {k: v.clone() for k, v in lite0_model.state_dict().items()}
    data = export_onnx(lite0_model, 224, tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").read_bytes() == data
    assert not lite0_model.training
    for key, value in lite0_model.state_dict().items():
        assert (value == before[key]).all(), key


def test_a_re_export_is_accepted_by_its_outputs_whatever_its_bytes(untrained_artifact, tmp_path):
    """bin/setup rebuilds the committed default's export: on another CPU its bytes differ."""
    copy = tmp_path / "recorded"
    shutil.copytree(untrained_artifact, copy)
    recorded = read_card(copy).onnx
    (copy / ONNX_FILE).unlink()
    assert add_export(copy) == recorded
    assert Predictor.from_artifact(copy, device="cpu").backend_name == "onnx"
    card = read_card(copy)
    card.onnx["sha256"] = "0" * 64  # as if exported on a machine whose bytes differ
    write_card(card, copy)
    assert add_export(copy) == card.onnx  # checked by its outputs; the card is left alone
    assert Predictor.from_artifact(copy, device="cpu").backend_name == "onnx"


def test_a_re_export_that_computes_something_else_is_refused(untrained_artifact, tmp_path):
    copy = tmp_path / "recorded"
    shutil.copytree(untrained_artifact, copy)
    card = read_card(copy)
    card.onnx["sha256"] = "0" * 64
    card.onnx["reference"]["logits"][0][0] += 0.01  # the weights no longer give these
    write_card(card, copy)
    with pytest.raises(ArtifactError, match="does not reproduce the card's reference outputs"):
        add_export(copy)


def test_an_old_card_without_reference_outputs_still_needs_the_same_bytes(
    untrained_artifact, tmp_path
):
    copy = tmp_path / "old"
    shutil.copytree(untrained_artifact, copy)
    card = read_card(copy)
    card.onnx["sha256"] = "0" * 64
    del card.onnx["reference"]
    write_card(card, copy)
    with pytest.raises(ArtifactError, match="no reference outputs"):
        add_export(copy)
    with pytest.raises(ArtifactError, match="no reference outputs"):
        Predictor.from_artifact(copy, device="cpu", backend="onnx")


def test_export_has_constant_padding_for_the_int8_quantizer(lite0_model):
    """timm's TF-"same" padding exported as Shape/Ceil arithmetic is mis-sized by the int8
    quantizer; the export pads by constants instead (same numbers at the exported size)."""
    import onnx

    graph = onnx.load_from_string(export_onnx(lite0_model, 160)).graph
    assert not [node for node in graph.node if node.op_type in ("Shape", "Ceil")]
