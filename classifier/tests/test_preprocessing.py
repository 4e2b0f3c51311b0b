import io
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from classifier.errors import ImageError
from classifier.factory import model_data_config
from classifier.preprocessing import (
    PreprocessConfig,
    apply_clahe,
    find_border_crop,
    load_rgb,
    preprocess_image,
    preprocess_with_crop,
    remove_hair,
    shades_of_gray,
    to_model_input,
)


def _jpeg_bytes(rgb: np.ndarray, **save_kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=95, **save_kwargs)
    return buffer.getvalue()


# --- the pipeline on real images ----------------------------------------------


def test_border_removal_finds_and_removes_a_synthetic_black_frame(ham_images):
    for path in ham_images[:4]:
        rgb = load_rgb(path)
        framed = cv2.copyMakeBorder(rgb, 30, 18, 25, 40, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        top, bottom, left, right = find_border_crop(framed)
        # The frame is gone (a few px of the image's own dark edge may go with it) ...
        assert 30 <= top <= 33 and 25 <= left <= 28
        assert framed.shape[0] - 21 <= bottom <= framed.shape[0] - 18
        assert framed.shape[1] - 43 <= right <= framed.shape[1] - 40
        # ... and no black row or column survives the crop.
        cropped = preprocess_image(framed, replace(PreprocessConfig.none(), remove_border=True))
        grey = cv2.cvtColor(cropped, cv2.COLOR_RGB2GRAY)
        assert (grey <= 20).mean(axis=1).max() < 0.98
        assert (grey <= 20).mean(axis=0).max() < 0.98


def test_border_removal_keeps_an_image_without_a_frame(ham_images):
    rgb = load_rgb(ham_images[0])
    assert find_border_crop(rgb)[0] <= 3


def test_border_removal_never_crops_a_mostly_dark_image_to_a_sliver():
    dark = np.zeros((200, 200, 3), np.uint8)
    dark[90:110, 90:110] = 200  # a small bright spot in a black image
    assert find_border_crop(dark) == (0, 200, 0, 200)


@pytest.mark.parametrize(
    "config",
    [
        PreprocessConfig(),
        PreprocessConfig(hair_removal=True),
        PreprocessConfig.none(),
        PreprocessConfig(clahe=False, bilateral=False),
    ],
)
def test_pipeline_keeps_size_and_dtype(ham_images, config):
    rgb = load_rgb(ham_images[1])
    out = preprocess_image(rgb, config)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    assert out.flags["C_CONTIGUOUS"]


def test_all_steps_off_returns_the_image_unchanged(ham_images):
    rgb = load_rgb(ham_images[2])
    assert np.array_equal(preprocess_image(rgb, PreprocessConfig.none()), rgb)


def test_each_step_changes_the_image(ham_images):
    rgb = load_rgb(ham_images[3])
    base = PreprocessConfig.none()
    for step in ({"clahe": True}, {"brightness": 1.05}, {"bilateral": True}):
        changed = preprocess_image(rgb, replace(base, **step))
        assert not np.array_equal(changed, rgb), step


def test_clahe_equalises_lightness_and_keeps_hue(ham_images):
    rgb = load_rgb(ham_images[4])
    out = apply_clahe(rgb)
    lab_in = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(int)
    lab_out = cv2.cvtColor(out, cv2.COLOR_RGB2LAB).astype(int)
    assert lab_out[..., 0].std() > lab_in[..., 0].std()  # more contrast
    assert np.abs(lab_out[..., 1:] - lab_in[..., 1:]).mean() < 2.0  # colour barely moves


def test_large_images_are_shrunk_before_filtering(ham_images):
    big = cv2.resize(load_rgb(ham_images[0]), (1200, 900))
    out, geometry = preprocess_with_crop(big, PreprocessConfig())
    assert max(out.shape[:2]) == 512 and out.shape == geometry.shape


def test_hair_removal_erases_thin_dark_lines(ham_images):
    rgb = load_rgb(ham_images[5])
    hairy = rgb.copy()
    for offset in range(20, 240, 40):
        cv2.line(hairy, (offset, 0), (offset + 60, 255), (10, 10, 10), 2)
    line_mask = np.all(hairy == 10, axis=2)
    cleaned = remove_hair(hairy)
    before = np.abs(hairy.astype(int) - rgb)[line_mask].mean()
    after = np.abs(cleaned.astype(int) - rgb)[line_mask].mean()
    assert after < 0.5 * before


def test_config_round_trip_and_unknown_keys():
    config = PreprocessConfig(clahe_clip=3.0, hair_removal=True)
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    assert PreprocessConfig.from_dict({}) == PreprocessConfig()
    with pytest.raises(ValueError, match="sharpen"):
        PreprocessConfig.from_dict({"sharpen": True})


# --- colour constancy (Shades of Gray) -----------------------------------------

CAST_GAINS = [(1.3, 1.0, 0.7), (0.7, 1.0, 1.3)]  # a warm and a cold light


def _cast(rgb: np.ndarray, gains) -> np.ndarray:
    return np.clip(rgb * np.asarray(gains), 0, 255).astype(np.uint8)


def _channel_means(rgb: np.ndarray) -> np.ndarray:
    return rgb.reshape(-1, 3).astype(np.float64).mean(axis=0)


@pytest.mark.parametrize("gains", CAST_GAINS)
def test_shades_of_gray_removes_most_of_a_colour_cast(ham_images, gains):
    for path in ham_images:
        rgb = load_rgb(path)
        cast = _cast(rgb, gains)
        before = np.abs(_channel_means(cast) - _channel_means(rgb)).mean()
        corrected = shades_of_gray(cast, power=6)
        after = np.abs(_channel_means(corrected) - _channel_means(shades_of_gray(rgb))).mean()
        assert before > 20, path.name  # the cast is strong ...
        assert after < before / 4, (path.name, before, after)  # ... and mostly gone
        assert corrected.dtype == np.uint8 and corrected.shape == rgb.shape


def test_shades_of_gray_leaves_neutral_grey_alone():
    flat = np.full((64, 64, 3), 128, np.uint8)
    ramp = np.repeat(np.linspace(10, 245, 64).astype(np.uint8)[None, :, None], 64, 0)
    for grey in (flat, np.repeat(ramp, 3, axis=2)):
        corrected = shades_of_gray(grey, power=6)
        assert np.abs(corrected.astype(int) - grey).max() <= 1


def test_shades_of_gray_returns_a_black_image_unchanged():
    black = np.zeros((40, 40, 3), np.uint8)
    with np.errstate(all="raise"):  # no division by a zero illuminant on the way
        corrected = shades_of_gray(black, power=6)
    assert np.array_equal(corrected, black) and corrected is not black


def test_colour_constancy_runs_in_the_pipeline_when_switched_on(ham_images):
    cast = _cast(load_rgb(ham_images[1]), CAST_GAINS[0])
    on = preprocess_image(cast, PreprocessConfig(color_constancy=True))
    off = preprocess_image(cast, PreprocessConfig(color_constancy=False))
    assert not np.array_equal(on, off)
    # Without the other steps, the pipeline's result is exactly the function's, at its power.
    only = replace(PreprocessConfig.none(), color_constancy=True, color_constancy_power=3)
    assert np.array_equal(preprocess_image(cast, only), shades_of_gray(cast, power=3))
    assert not np.array_equal(shades_of_gray(cast, power=3), shades_of_gray(cast, power=6))


def test_an_older_card_without_colour_constancy_loads_with_it_off():
    # The preprocessing block of a card written before the setting existed.
    older = {
        "bilateral": True,
        "bilateral_d": 9,
        "bilateral_sigma_color": 75,
        "bilateral_sigma_space": 75,
        "brightness": 1.05,
        "clahe": True,
        "clahe_clip": 2.0,
        "clahe_grid": 8,
        "hair_removal": False,
        "max_side": 512,
        "remove_border": True,
    }
    config = PreprocessConfig.from_dict(older)
    assert config.color_constancy is False
    assert config == PreprocessConfig()
    assert PreprocessConfig.from_dict(config.to_dict()) == config
    assert PreprocessConfig.from_dict({**older, "color_constancy": True}).color_constancy


# --- to the network ------------------------------------------------------------


def test_model_input_is_resized_not_cropped_and_normalised(ham_images):
    rgb = load_rgb(ham_images[0])
    tensor = to_model_input(rgb, model_data_config("tf_efficientnet_lite0"))
    assert tensor.shape == (3, 224, 224) and tensor.dtype == torch.float32
    assert float(tensor.min()) >= -1.0 and float(tensor.max()) <= 1.0  # mean = std = 0.5
    white = to_model_input(
        np.full((300, 200, 3), 255, np.uint8), model_data_config("efficientnet_b5")
    )
    assert white.shape == (3, 456, 456)
    expected = (1.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    assert np.allclose(white[:, 0, 0].numpy(), expected, atol=1e-5)


def test_model_input_rejects_wrong_arrays():
    with pytest.raises(ImageError, match="uint8"):
        to_model_input(
            np.zeros((10, 10, 3), np.float32), model_data_config("tf_efficientnet_lite0")
        )
    with pytest.raises(ImageError, match="RGB array"):
        preprocess_image(np.zeros((10, 10), np.uint8), PreprocessConfig())


# --- loading --------------------------------------------------------------------


def test_load_rgb_accepts_path_bytes_file_and_pil(ham_images):
    path = ham_images[0]
    from_path = load_rgb(path)
    assert from_path.dtype == np.uint8 and from_path.shape == (256, 256, 3)
    assert np.array_equal(load_rgb(str(path)), from_path)
    assert np.array_equal(load_rgb(path.read_bytes()), from_path)
    with path.open("rb") as handle:
        assert np.array_equal(load_rgb(handle), from_path)
    assert np.array_equal(load_rgb(Image.open(path)), from_path)


def test_load_rgb_applies_exif_orientation():
    rgb = np.zeros((60, 100, 3), np.uint8)
    rgb[:, :50] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    loaded = load_rgb(_jpeg_bytes(rgb, exif=exif.tobytes()))
    assert loaded.shape == (100, 60, 3)
    assert loaded[:50].mean() > 200 and loaded[50:].mean() < 50  # white half now on top


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "I;16"])
def test_load_rgb_converts_any_mode_to_rgb(mode):
    image = Image.new("RGB", (64, 48), (200, 120, 40))
    if mode == "I;16":
        image = Image.fromarray(np.full((48, 64), 40000, np.uint16))
    else:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF" if mode in ("I;16", "CMYK") else "PNG")
    rgb = load_rgb(buffer.getvalue())
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"this is not an image", "not an image"),
        (None, "cannot decode"),  # truncated JPEG, filled in below
    ],
)
def test_load_rgb_raises_readable_errors(payload, message):
    if payload is None:
        payload = _jpeg_bytes(np.random.default_rng(0).integers(0, 255, (300, 300, 3), np.uint8))
        payload = payload[: len(payload) // 2]
    with pytest.raises(ImageError, match=message):
        load_rgb(payload)


def test_load_rgb_missing_and_tiny_files(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        load_rgb(tmp_path / "missing.jpg")
    with pytest.raises(ImageError, match="not a file"):
        load_rgb(tmp_path)
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 8)).save(tiny)
    with pytest.raises(ImageError, match="at least 32 px"):
        load_rgb(tiny)
