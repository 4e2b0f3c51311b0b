"""Exports are verified by their outputs on seeded inputs, never by a re-export's bytes."""

import shutil

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from classifier.artifact import read_card  # noqa: E402
from classifier.errors import ArtifactError  # noqa: E402
from classifier.export import usable_export  # noqa: E402
from classifier.export_check import check_behaviour, deviation, reference_inputs  # noqa: E402
from classifier.model_card import INT8_ONNX_FILE, ONNX_FILE  # noqa: E402
from classifier.predictor import Predictor  # noqa: E402
from classifier.tests.conftest import REPO_ROOT  # noqa: E402

DEFAULT_MODEL = REPO_ROOT / "classifier" / "default_model"


def scale_head_weights(path, factor: float) -> None:
    """Rewrite the export with its classifier weights scaled: a small, real change."""
    model = onnx.load(str(path))
    head = max(
        (t for t in model.graph.initializer if "classifier" in t.name and len(t.dims) == 2),
        key=lambda t: np.prod(t.dims),
    )
    values = onnx.numpy_helper.to_array(head)
    head.CopyFrom(onnx.numpy_helper.from_array((values * factor).astype(values.dtype), head.name))
    onnx.save(model, str(path))


def test_reference_inputs_are_the_same_array_on_every_machine():
    inputs = reference_inputs(192, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert inputs.shape == (4, 3, 192, 192) and inputs.dtype == np.float32
    assert np.array_equal(inputs, reference_inputs(192, (0.5,) * 3, (0.5,) * 3))
    # Seeded PCG64 and float32 arithmetic: these figures hold on any x86-64 CPU
    assert float(inputs.astype(np.float64).sum()) == pytest.approx(1561.8633566, abs=1e-4)
    assert float(inputs[0, 0, 0, 0]) == pytest.approx(-0.2103713, abs=1e-6)
    assert inputs.min() >= -1.0 and inputs.max() <= 1.0


def test_an_export_with_other_bytes_but_the_same_outputs_is_served(untrained_artifact, tmp_path):
    copy = tmp_path / "rewritten"
    shutil.copytree(untrained_artifact, copy)
    model = onnx.load(str(copy / ONNX_FILE))
    model.producer_version += "-another-machine"  # other bytes, same network
    onnx.save(model, str(copy / ONNX_FILE))
    card = read_card(copy)
    assert usable_export(copy, card) == copy / ONNX_FILE
    assert Predictor.from_artifact(copy, device="cpu", backend="onnx").backend_name == "onnx"


def test_an_export_with_a_changed_weight_is_refused(untrained_artifact, tmp_path):
    copy = tmp_path / "perturbed"
    shutil.copytree(untrained_artifact, copy)
    scale_head_weights(copy / ONNX_FILE, 1.05)
    card = read_card(copy)
    with pytest.raises(ArtifactError, match="does not reproduce the card's reference outputs"):
        usable_export(copy, card)
    with pytest.raises(ArtifactError, match="model.onnx is corrupt or was replaced"):
        Predictor.from_artifact(copy, device="cpu", backend="onnx")


def test_the_default_models_exports_reproduce_their_references_on_this_cpu():
    """bin/setup made model.onnx here; model.int8.onnx is committed. Both must behave."""
    card = read_card(DEFAULT_MODEL)
    size, mean, std = card.input_size, card.mean, card.std
    fp32 = deviation(DEFAULT_MODEL / ONNX_FILE, card.onnx["reference"], size, mean, std)
    assert fp32 <= card.onnx["reference"]["atol"]
    int8 = deviation(DEFAULT_MODEL / INT8_ONNX_FILE, card.onnx_int8["reference"], size, mean, std)
    assert int8 <= card.onnx_int8["reference"]["atol"]
    # The int8 file is not the fp32 one: against the fp32 reference it is out of tolerance
    assert (
        deviation(DEFAULT_MODEL / INT8_ONNX_FILE, card.onnx["reference"], size, mean, std)
        > card.onnx["reference"]["atol"]
    )


def test_a_perturbed_int8_export_is_refused(tmp_path):
    card = read_card(DEFAULT_MODEL)
    copy = tmp_path / INT8_ONNX_FILE
    shutil.copyfile(DEFAULT_MODEL / INT8_ONNX_FILE, copy)
    scale_head_weights(copy, 1.5)
    with pytest.raises(ArtifactError, match="largest logit deviation"):
        check_behaviour(copy, card.onnx_int8["reference"], card.input_size, card.mean, card.std)
