from __future__ import annotations

from pathlib import Path

import numpy as np

from cartsense_training.augment import (
    CartAugmentConfig,
    TrainTransform,
    cart_augment,
    occlude_with_hand,
)
from cartsense_training.data import load_image_bgr, read_split
from cartsense_training.preprocessing import Preprocessing


def _image(mini: Path) -> np.ndarray:
    return load_image_bgr(read_split(mini / "train-core.txt")[0].path)


def test_same_seed_same_image_other_seed_other_image(mini: Path) -> None:
    image = _image(mini)
    occluder = lambda rng: image[::-1].copy()  # noqa: E731
    cfg = CartAugmentConfig()
    a = cart_augment(image, 96, cfg, np.random.default_rng(5), occluder)
    b = cart_augment(image, 96, cfg, np.random.default_rng(5), occluder)
    c = cart_augment(image, 96, cfg, np.random.default_rng(6), occluder)
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 1.0


def test_every_augmentation_fires_and_stays_in_range(mini: Path) -> None:
    image = _image(mini)
    always = CartAugmentConfig(p_occlude_item=1, p_occlude_hand=1, p_motion_blur=1, p_glare=1,
                               p_color=1, p_jpeg=1)
    out = cart_augment(image, 64, always, np.random.default_rng(0), lambda rng: image)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    hand = occlude_with_hand(np.zeros((64, 64, 3), np.uint8), always, np.random.default_rng(1))
    covered = (hand.sum(axis=2) > 0).mean()
    assert 0.02 < covered < 0.7  # a hand covers part of the crop, not all of it


def test_train_transform_is_deterministic_per_sample(mini: Path) -> None:
    entries = read_split(mini / "train-core.txt")
    transform = TrainTransform(Preprocessing(input_size=64), CartAugmentConfig(),
                               [str(e.path) for e in entries[:5]])
    image = load_image_bgr(entries[0].path)
    first = transform(image, np.random.default_rng([1, 0, 3]))
    again = transform(image, np.random.default_rng([1, 0, 3]))
    assert first.shape == (3, 64, 64) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
