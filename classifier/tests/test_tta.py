import cv2
import numpy as np
import pytest
import torch

from classifier.preprocessing import normalise, preprocess_image, resize_square
from classifier.tta import INVERSE, VIEWS, apply_view, invert_view, invert_views, make_views


def test_there_are_eight_distinct_dihedral_views():
    square = np.arange(16).reshape(4, 4)
    seen = {apply_view(square, view).tobytes() for view in VIEWS}
    assert len(VIEWS) == 8 and len(seen) == 8


@pytest.mark.parametrize("view", VIEWS)
def test_invert_undoes_each_view_for_numpy_and_torch(view):
    array = np.random.default_rng(0).random((2, 3, 5, 5))
    assert np.array_equal(invert_view(apply_view(array, view), view), array)
    tensor = torch.from_numpy(array)
    assert torch.equal(invert_view(apply_view(tensor, view), view), tensor)
    assert np.array_equal(apply_view(array, view), apply_view(tensor, view).numpy())


def test_inverses_are_views_and_rotations_pair_up():
    assert set(INVERSE.values()) == set(VIEWS)
    assert INVERSE["rot90"] == "rot270" and INVERSE["antitranspose"] == "antitranspose"


def test_make_views_is_image_major():
    batch = np.random.default_rng(1).random((2, 3, 6, 6)).astype(np.float32)
    views = make_views(batch)
    assert views.shape == (16, 3, 6, 6)
    assert np.array_equal(views[0], batch[0]) and np.array_equal(views[8], batch[1])
    assert np.array_equal(views[8 + VIEWS.index("rot90")], np.rot90(batch[1], 1, axes=(1, 2)))
    assert torch.equal(make_views(torch.from_numpy(batch)), torch.from_numpy(views))


def test_back_transformed_pixel_maps_align_exactly(sample_rgb):
    # A "network" that maps each pixel to itself: after inversion all 8 maps coincide.
    image = sample_rgb.transpose(2, 0, 1)[None].astype(np.float32)
    per_view_maps = make_views(image)[:, 0]  # red channel of every view
    restored = invert_views(per_view_maps)
    assert restored.shape == (1, 8, *sample_rgb.shape[:2])
    for i in range(8):
        assert np.array_equal(restored[0, i], sample_rgb[..., 0])


def test_back_transformed_feature_maps_of_a_real_network_align(lite0_model, predictor, sample_rgb):
    # The lesion shrunk into the top-left quarter of a plain skin-coloured canvas: each
    # view sees it in a different corner, and only correct inversion brings them together.
    canvas = np.empty_like(sample_rgb)
    canvas[:] = sample_rgb[:10, :10].reshape(-1, 3).mean(axis=0).astype(np.uint8)
    canvas[:128, :128] = cv2.resize(sample_rgb, (128, 128), interpolation=cv2.INTER_AREA)
    rgb = preprocess_image(canvas, predictor.preprocess_config)
    x = normalise(resize_square(rgb, 224), predictor.data_config)
    with torch.inference_mode():
        features = lite0_model.forward_features(torch.from_numpy(make_views(x[None]))).numpy()
    energy = features.mean(axis=1)  # (8, 7, 7) where-is-something map per view

    def mean_pairwise_correlation(stack):
        corr = np.corrcoef(stack.reshape(len(stack), -1))
        return corr[~np.eye(len(stack), dtype=bool)].mean()

    restored = invert_views(energy)[0]
    assert mean_pairwise_correlation(restored) > 0.8
    assert mean_pairwise_correlation(energy) < 0.3
    row, col = np.unravel_index(restored.mean(axis=0).argmax(), (7, 7))
    assert row <= 3 and col <= 3  # the peak is where the lesion is
