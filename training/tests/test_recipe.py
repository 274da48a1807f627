"""Recipe v2: fresh augmentation every epoch through DataLoader workers, progressive resizing,
discriminative learning rates, and the v1 recipe kept reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cartsense_training.model import build_model
from cartsense_training.train import (
    TrainConfig,
    build_data,
    build_optimizer,
    check_config,
    epoch_input_size,
    model_config,
    v1_config,
)


def _sample_in_epoch(loader, epoch: int, size: int | None = None) -> torch.Tensor:
    """The first image of dataset index 0 as a worker process produces it in `epoch`."""
    dataset = loader.dataset
    dataset.set_epoch(epoch)
    if size is not None:
        dataset.transform.input_size = size
    for images, _, _ in loader:
        return images[0]
    raise AssertionError("empty loader")


def _ordered_loader(cfg: TrainConfig):
    data = build_data(cfg)
    loader = data.train_loader
    # Same dataset and worker settings, but no shuffling, so batch 0 starts with index 0.
    return torch.utils.data.DataLoader(
        loader.dataset, batch_size=2, shuffle=False, num_workers=loader.num_workers,
        persistent_workers=loader.persistent_workers)


def test_workers_draw_a_new_augmentation_every_epoch(mini: Path) -> None:
    cfg = TrainConfig(data_root=str(mini), input_size=64, num_workers=1)
    loader = _ordered_loader(cfg)
    first, second = _sample_in_epoch(loader, 0), _sample_in_epoch(loader, 1)
    assert not torch.equal(first, second)
    torch.testing.assert_close(_sample_in_epoch(loader, 0), first)  # and still seeded


def test_v1_recipe_reproduces_one_augmentation_for_all_epochs(mini: Path) -> None:
    cfg = v1_config(data_root=str(mini), input_size=64, num_workers=1)
    loader = _ordered_loader(cfg)
    assert loader.persistent_workers
    torch.testing.assert_close(_sample_in_epoch(loader, 0), _sample_in_epoch(loader, 1))


def test_progressive_resizing_reaches_the_workers(mini: Path) -> None:
    cfg = TrainConfig(data_root=str(mini), input_size=96, low_res_epochs=1, low_res_size=64,
                      num_workers=1)
    assert [epoch_input_size(cfg, e) for e in range(3)] == [64, 96, 96]
    loader = _ordered_loader(cfg)
    assert _sample_in_epoch(loader, 0, 64).shape == (3, 64, 64)
    assert _sample_in_epoch(loader, 1, 96).shape == (3, 96, 96)


def test_progressive_resizing_needs_multiples_of_32() -> None:
    check_config(TrainConfig(input_size=160, low_res_size=128, low_res_epochs=2))
    with pytest.raises(ValueError, match="multiples of 32"):
        check_config(TrainConfig(input_size=160, low_res_size=120, low_res_epochs=2))


def test_discriminative_learning_rates(mini: Path) -> None:
    cfg = TrainConfig(data_root=str(mini), input_size=64, num_workers=0, frozen_blocks=4,
                      early_blocks=6, lr=1e-3, trunk_lr_mult=0.5, early_blocks_lr_mult=0.2)
    data = build_data(cfg)
    model = build_model(model_config(cfg, data, pretrained=False))
    optimizer, _ = build_optimizer(cfg, model, steps_per_epoch=10)
    trunk, heads, early = optimizer.param_groups
    assert trunk["initial_lr"] == pytest.approx(5e-4)
    assert heads["initial_lr"] == pytest.approx(1e-3)
    assert early["initial_lr"] == pytest.approx(1e-4)
    early_ids = {id(p) for block in model.backbone._blocks[4:6] for p in block.parameters()}
    assert {id(p) for p in early["params"]} == early_ids
    grouped = sum(len(g["params"]) for g in optimizer.param_groups)
    assert grouped == len(model.trainable_parameters())
    # v1: blocks 0-5 frozen, so no early group.
    v1 = v1_config(data_root=str(mini), input_size=64, num_workers=0)
    v1_model = build_model(model_config(v1, data, pretrained=False))
    assert len(build_optimizer(v1, v1_model, 10)[0].param_groups) == 2
