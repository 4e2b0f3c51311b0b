"""One preprocessing path: what training feeds the network is what the Predictor serves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from classifier.predictor import Predictor
from classifier.preprocessing import normalise
from classifier.tta import VIEWS
from training.cache import build_image_cache
from training.data import load_dataset
from training.tta import tta_view_logits

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "classifier" / "default_model"


def test_training_batches_equal_the_predictor_input_tensor(tiny_ham_dir):
    predictor = Predictor.from_artifact(DEFAULT_MODEL, device="cpu", backend="torch")
    card = predictor.card
    samples = load_dataset(tiny_ham_dir).in_split("val")[:4]
    cached = build_image_cache(
        samples,
        preprocessing=card.preprocess_config,
        size=card.input_size,
        interpolation=card.interpolation,
        progress=False,
    )
    training_batch = torch.from_numpy(normalise(cached, card.data_config))  # as training/loop.py
    served = np.stack([predictor.prepare(str(s.path)).model_input for s in samples])
    assert training_batch.shape == (4, 3, card.input_size, card.input_size)
    assert np.array_equal(training_batch.numpy(), served)

    # and the scored logits are those the Predictor computes from that tensor
    train_logits = tta_view_logits(
        predictor.model, cached, card.data_config, device=torch.device("cpu")
    )
    prepared = [predictor.prepare(str(s.path)) for s in samples]
    served_logits = np.stack(
        [logits for logits, _ in predictor.view_logits(prepared, views=VIEWS, features=False)]
    )
    assert np.allclose(train_logits, served_logits, atol=1e-4)


def test_normalisation_maps_the_pixel_range_onto_the_cards_mean_and_std():
    from classifier.preprocessing import DataConfig

    config = DataConfig(input_size=2, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    pixels = np.array([[[0, 255, 0], [255, 0, 255]]] * 2, dtype=np.uint8)  # (2, 2, 3)
    single = normalise(pixels, config)
    assert single.shape == (3, 2, 2) and single.dtype == np.float32
    assert set(np.unique(single)) == {-1.0, 1.0}
    assert np.array_equal(normalise(pixels[None], config)[0], single)
