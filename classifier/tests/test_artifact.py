import json
import shutil

import pytest
import torch

from classifier.artifact import load_artifact, read_card, save_artifact, sha256_of
from classifier.errors import ArtifactError
from classifier.factory import create_model
from classifier.labels import HAM7, THREE
from classifier.model_card import CARD_FILE, ONNX_FILE, WEIGHTS_FILE, ModelCard
from classifier.preprocessing import PreprocessConfig


@pytest.fixture()
def artifact_copy(untrained_artifact, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(untrained_artifact, target)
    return target


def test_round_trip_gives_the_same_network_and_card(tmp_path):
    model = create_model(num_classes=3, pretrained=False).eval()
    card = ModelCard.for_model(
        "tf_efficientnet_lite0",
        THREE,
        preprocessing=PreprocessConfig(hair_removal=True, bilateral_d=5),
        temperature=1.7,
        metrics={"balanced_accuracy": 0.61},
        training={"train_images": 6309},
    )
    saved = save_artifact(model, card, tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        CARD_FILE,
        ONNX_FILE,
        WEIGHTS_FILE,
    ]
    assert saved.weights_sha256 == sha256_of(tmp_path / "a" / WEIGHTS_FILE)
    assert saved.model_id.startswith("tf_efficientnet_lite0-") and saved.created_at

    loaded, loaded_card = load_artifact(tmp_path / "a")
    assert loaded_card.to_dict() == saved.to_dict()
    assert loaded_card.preprocess_config == PreprocessConfig(hair_removal=True, bilateral_d=5)
    assert loaded_card.temperature == 1.7 and loaded_card.classes == list(THREE)
    assert not loaded.training
    batch = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        assert torch.equal(model(batch), loaded(batch))


def test_card_json_has_the_agreed_keys(untrained_artifact):
    data = json.loads((untrained_artifact / CARD_FILE).read_text())
    assert {
        "format_version", "model_id", "arch", "classes", "input_size", "mean", "std",
        "interpolation", "preprocessing", "temperature", "uncertainty", "metrics",
        "training", "created_at", "weights_sha256",
    } <= set(data)  # fmt: skip
    assert data["uncertainty"] == {"confidence_threshold": 0.6, "entropy_threshold": 0.9}
    assert data["classes"] == list(HAM7) and data["input_size"] == 224


def test_corrupt_weights_fail_the_hash_check(artifact_copy):
    weights = artifact_copy / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupt or was replaced"):
        load_artifact(artifact_copy)


def test_truncated_weights_with_a_matching_hash_are_still_reported(artifact_copy):
    weights = artifact_copy / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:1000])
    card = json.loads((artifact_copy / CARD_FILE).read_text())
    card["weights_sha256"] = sha256_of(weights)
    (artifact_copy / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match="cannot read"):
        load_artifact(artifact_copy)


def test_weights_that_do_not_fit_the_card_are_rejected(artifact_copy):
    card = json.loads((artifact_copy / CARD_FILE).read_text())
    card["classes"] = ["a", "b", "c"]  # the weights have a 7-class head
    (artifact_copy / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match=r"shape mismatch.*classifier"):
        load_artifact(artifact_copy)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("arch"), "lacks required keys: arch"),
        (lambda d: d.update(temperature=0), "temperature must be positive"),
        (lambda d: d.update(format_version=99), "newer than this code"),
        (lambda d: d.update(preprocessing={"sharpen": 1}), "Unknown preprocessing"),
        (lambda d: d.update(arch="no_such_net"), "Unknown architecture"),
        (lambda d: d.update(weights_sha256=""), "no weights_sha256"),
    ],
)
def test_bad_cards_give_clear_errors(artifact_copy, edit, message):
    card = json.loads((artifact_copy / CARD_FILE).read_text())
    edit(card)
    (artifact_copy / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ArtifactError, match=message):
        load_artifact(artifact_copy)


def test_missing_pieces_give_clear_errors(artifact_copy, tmp_path):
    with pytest.raises(ArtifactError, match="not a directory"):
        load_artifact(tmp_path / "nowhere")
    (artifact_copy / CARD_FILE).write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        read_card(artifact_copy)
    (artifact_copy / CARD_FILE).unlink()
    with pytest.raises(ArtifactError, match="has no card.json"):
        load_artifact(artifact_copy)


def test_saving_a_head_that_disagrees_with_the_card_writes_nothing(tmp_path):
    model = create_model(num_classes=7, pretrained=False)
    card = ModelCard.for_model("tf_efficientnet_lite0", THREE)
    with pytest.raises(ArtifactError, match="outputs 7 classes"):
        save_artifact(model, card, tmp_path / "bad")
    assert not any((tmp_path / "bad").iterdir())


def test_unknown_card_keys_are_ignored_for_forward_compatibility(artifact_copy):
    card = json.loads((artifact_copy / CARD_FILE).read_text())
    card["calibration_set"] = "val"
    (artifact_copy / CARD_FILE).write_text(json.dumps(card))
    assert read_card(artifact_copy).arch == "tf_efficientnet_lite0"
