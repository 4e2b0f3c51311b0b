import numpy as np
import pytest
import timm
import torch
from PIL import Image

from classifier.cam import (
    cam_from_features,
    class_weights,
    gradcam_backward,
    normalise_map,
    overlay_heatmap,
    png_bytes,
    supports_fast_cam,
    upsample_map,
)
from classifier.preprocessing import load_rgb, normalise, preprocess_image, resize_square


def _input(predictor, path):
    rgb = preprocess_image(load_rgb(path), predictor.preprocess_config)
    return torch.from_numpy(normalise(resize_square(rgb, 224), predictor.data_config))[None]


@pytest.mark.parametrize("class_index", [0, 4])
def test_cam_from_the_feature_map_equals_backward_gradcam(
    lite0_model, predictor, sample_images, class_index
):
    batch = torch.cat([_input(predictor, p) for p in sample_images[:2]])
    reference = gradcam_backward(lite0_model, batch, class_index)
    with torch.inference_mode():
        features = lite0_model.forward_features(batch).numpy()
    fast = cam_from_features(features, class_weights(lite0_model)[class_index])
    assert fast.shape == reference.shape == (2, 7, 7)
    for fast_map, reference_map in zip(fast, reference, strict=True):
        assert reference_map.max() > 0  # a real map, not two zero arrays agreeing
        # Same up to the 1/(h*w) factor, so equal after normalisation.
        np.testing.assert_allclose(fast_map / (7 * 7), reference_map, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(normalise_map(fast_map), normalise_map(reference_map), atol=1e-4)
    assert not any(p.grad is not None for p in lite0_model.parameters())


def test_fast_cam_applies_only_to_pooled_linear_heads(lite0_model):
    assert supports_fast_cam(lite0_model)
    convnext = timm.create_model("convnext_atto", pretrained=False, num_classes=3)
    assert not supports_fast_cam(convnext)  # LayerNorm between pooling and the linear layer


def test_maps_are_normalised_and_overlaid_at_image_size(sample_rgb):
    heat = upsample_map(np.array([[0.0, 1.0], [2.0, 4.0]]), *sample_rgb.shape[:2])
    assert heat.shape == sample_rgb.shape[:2]
    assert heat.min() == 0.0 and heat.max() == pytest.approx(1.0)
    overlay = overlay_heatmap(sample_rgb, heat)
    assert isinstance(overlay, Image.Image) and overlay.mode == "RGB"
    assert overlay.size == (sample_rgb.shape[1], sample_rgb.shape[0])
    assert png_bytes(overlay).startswith(b"\x89PNG")
    assert not normalise_map(np.full((3, 3), 5.0)).any()
