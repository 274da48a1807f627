"""The cart-camera low-resolution augmentation (recipe v3) and the fine-tune start
(--init-from)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cartsense_training.augment import (
    CartAugmentConfig,
    TrainTransform,
    cart_augment,
    low_resolution,
)
from cartsense_training.data import load_image_bgr, read_split
from cartsense_training.model import build_model
from cartsense_training.preprocessing import Preprocessing, resize_and_crop
from cartsense_training.train import (
    V3_AUGMENT,
    TrainConfig,
    build_data,
    init_model_weights,
    model_config,
    parse_args,
)

# Only the resolution loss itself: no blur, noise or JPEG at the small size.
PLAIN = CartAugmentConfig(p_low_res=1.0, p_low_res_blur=0.0, p_low_res_noise=0.0)


def _crop(mini: Path, index: int = 0, size: int = 160) -> np.ndarray:
    return resize_and_crop(load_image_bgr(read_split(mini / "train-core.txt")[index].path), size)


def _detail(image: np.ndarray) -> np.ndarray:
    """The fine detail of the grey image: itself minus its Gaussian blur (sigma 2 px)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float64)
    return grey - cv2.GaussianBlur(grey, (0, 0), 2.0)


def _detail_kept(original: np.ndarray, degraded: np.ndarray) -> float:
    """How much of the original's fine detail is still in the degraded image: the projection
    of its detail onto the original's (1 = all of it, 0 = none).

    Not the plain high-frequency energy: INTER_AREA upsampling (the cart's rule) of a very
    small image gives blocks with hard edges, which have high-frequency energy of their own
    (measured: more than the 160 px original on some photos) but none of the original detail.
    """
    a, b = _detail(original).ravel(), _detail(degraded).ravel()
    return float(np.dot(a, b) / np.dot(a, a))


def test_low_resolution_removes_fine_detail_the_more_the_smaller(mini: Path) -> None:
    for index in range(3):
        image = _crop(mini, index)
        assert _detail_kept(image, image) == pytest.approx(1.0)
        kept = []
        for side in ((20.0, 24.0), (45.0, 50.0), (90.0, 110.0)):
            out = low_resolution(image, replace(PLAIN, low_res_side_px=side),
                                 np.random.default_rng(0))
            assert out.shape == image.shape and out.dtype == np.uint8
            kept.append(_detail_kept(image, out))
            # The coarse content stays: the mean colour hardly moves.
            assert np.abs(out.mean(axis=(0, 1)) - image.mean(axis=(0, 1))).max() < 4.0
        # Measured on the mini photos: about 0.1, 0.4 and 0.7 of the detail is kept.
        assert kept[0] < 0.2 and kept[0] < kept[1] < kept[2] < 0.85


def test_low_resolution_is_deterministic_for_a_seed(mini: Path) -> None:
    image = _crop(mini)
    cfg = CartAugmentConfig(p_low_res=1.0, p_low_res_blur=1.0, p_low_res_noise=1.0)
    a = low_resolution(image, cfg, np.random.default_rng(7), jpeg_quality=55)
    b = low_resolution(image, cfg, np.random.default_rng(7), jpeg_quality=55)
    c = low_resolution(image, cfg, np.random.default_rng(8), jpeg_quality=55)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_low_resolution_scales_with_a_smaller_training_size(mini: Path) -> None:
    """At a training size of half the reference (progressive resizing, smoke), the same range
    loses about the same fraction of the crop's detail."""
    image = _crop(mini)
    half = cv2.resize(image, (80, 80), interpolation=cv2.INTER_AREA)
    cfg = replace(PLAIN, low_res_side_px=(40.0, 40.0))  # 20 px at 80
    kept_full = _detail_kept(image, low_resolution(image, cfg, np.random.default_rng(3)))
    kept_half = _detail_kept(half, low_resolution(half, cfg, np.random.default_rng(3)))
    assert kept_half < 0.5
    assert abs(kept_half - kept_full) < 0.15


def test_cart_augment_applies_it_on_top_of_the_same_draws(mini: Path) -> None:
    """p_low_res only adds draws after the colour step, so with motion blur and JPEG off the
    same seed gives the same geometry, occlusion and colour, then less detail."""
    image = load_image_bgr(read_split(mini / "train-core.txt")[0].path)
    base = CartAugmentConfig(p_motion_blur=0.0, p_jpeg=0.0, p_occlude_hand=0.0)
    low = replace(base, p_low_res=1.0, p_low_res_blur=0.0, p_low_res_noise=0.0)
    for seed in range(4):
        sharp = cart_augment(image, 160, base, np.random.default_rng(seed))
        blurred = cart_augment(image, 160, low, np.random.default_rng(seed))
        assert _detail_kept(sharp, blurred) < 0.85
        assert np.abs(blurred.astype(int) - sharp.astype(int)).mean() < 25
    # p_low_res 0 (recipes v1, v2) draws nothing extra: same as a config without the field set.
    a = cart_augment(image, 96, CartAugmentConfig(), np.random.default_rng(1))
    b = cart_augment(image, 96, CartAugmentConfig(p_low_res=0.0, low_res_side_px=(5.0, 6.0)),
                     np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)


def test_train_transform_upsamples_with_the_carts_interpolation(mini: Path) -> None:
    cfg = CartAugmentConfig(**V3_AUGMENT)
    area = TrainTransform(Preprocessing(input_size=64), cfg)
    linear = TrainTransform(Preprocessing(input_size=64, interpolation="linear"), cfg)
    assert area.cfg.low_res_interpolation == "area"
    assert linear.cfg.low_res_interpolation == "linear"
    image = load_image_bgr(read_split(mini / "train-core.txt")[0].path)
    first = area(image, np.random.default_rng([1, 0, 2]))
    np.testing.assert_array_equal(first, area(image, np.random.default_rng([1, 0, 2])))


def test_recipe_v3_fine_tunes_a_checkpoint(mini: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--recipe", "v3"])  # v3 without --init-from is an error
    checkpoint = tmp_path / "start.pt"
    cfg, _ = parse_args(["--recipe", "v3", "--init-from", str(checkpoint), "--data", str(mini),
                         "--out", str(tmp_path / "run"), "--lr", "3e-4"])
    assert cfg.init_from == str(checkpoint.resolve()) and cfg.lr == pytest.approx(3e-4)
    assert cfg.augment["p_low_res"] == V3_AUGMENT["p_low_res"] > 0
    assert cfg.low_res_epochs == 0  # fine-tuning runs at the shipped input size
    assert parse_args(["--smoke"])[0].init_from == ""

    small = TrainConfig(data_root=str(mini), input_size=64, num_workers=0, low_res_epochs=0)
    data = build_data(small)
    torch.manual_seed(0)
    source = build_model(model_config(small, data, pretrained=False))
    torch.save({"model": source.state_dict()}, checkpoint)
    torch.manual_seed(1)
    target = build_model(model_config(small, data, pretrained=False))
    assert not torch.equal(target.embed.weight, source.embed.weight)
    init_model_weights(checkpoint, target)
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value), name


def test_model_card_states_the_fine_tune_and_the_resolution_loss() -> None:
    from cartsense_training.bundle import _augment_note, _fine_tune_note

    v2 = {"fresh_augmentation": True, "input_size": 160, "augment": {"p_color": 0.5}}
    assert "resolution" not in _augment_note(v2) and _fine_tune_note(v2, 10.0) == []
    v3 = {**v2, "augment": dict(V3_AUGMENT), "init_from": "runs/v2/checkpoint.pt"}
    note = _augment_note(v3)
    assert "resolution loss (recipe v3) with p 0.5" in note and "20-110 px" in note
    assert "low_res" not in note.split("resolution loss")[0]  # not listed as a colour override
    (line,) = _fine_tune_note(v3, 31.5)
    assert "`runs/v2/checkpoint.pt`" in line and "31.5 min" in line


def test_model_card_names_the_extra_training_splits() -> None:
    from cartsense_training.bundle import _extra_splits_note

    assert _extra_splits_note({}) == [] and _extra_splits_note({"extra_train_splits": []}) == []
    record = {"path": "/tmp/crops/crops.txt", "images": 611, "repeat": 8,
              "sha256": "0123456789abcdef" * 4, "provenance": "crops.jsonl checked"}
    (line,) = _extra_splits_note({"extra_train_splits": [record]})
    assert "`/tmp/crops/crops.txt`" in line and "611 images x 8" in line
    assert "0123456789ab" in line and "crops.jsonl checked" in line
