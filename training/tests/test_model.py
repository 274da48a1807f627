from __future__ import annotations

import torch

from cartsense_training.model import CosineHead, ModelConfig, build_model


def test_embedding_shape_and_unit_norm() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(input_size=64, num_fine=7, num_coarse=3, pretrained=False))
    model.eval()
    with torch.no_grad():
        emb, fine, coarse = model(torch.randn(2, 3, 64, 64))
    assert emb.shape == (2, 128) and fine.shape == (2, 7) and coarse.shape == (2, 3)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))
    # Logits are scaled cosines: within +-scale.
    assert fine.abs().max() <= model.cfg.fine_scale + 1e-4


def test_margin_only_lowers_the_target_logit() -> None:
    head = CosineHead(4, 3, scale=10.0, margin=0.25)
    emb = torch.nn.functional.normalize(torch.randn(2, 4), dim=1)
    target = torch.tensor([0, 2])
    plain, with_margin = head(emb), head(emb, target)
    diff = plain - with_margin
    torch.testing.assert_close(diff[0], torch.tensor([2.5, 0.0, 0.0]))
    torch.testing.assert_close(diff[1], torch.tensor([0.0, 0.0, 2.5]))


def test_frozen_blocks_get_no_gradient_and_keep_bn_statistics() -> None:
    model = build_model(ModelConfig(input_size=64, num_fine=5, num_coarse=2, frozen_blocks=3,
                                    pretrained=False)).train()
    stem_bn = model.backbone._bn0
    before = stem_bn.running_mean.clone()
    _, fine, coarse = model(torch.randn(4, 3, 64, 64), torch.tensor([0, 1, 2, 3]))
    (fine.sum() + coarse.sum()).backward()
    assert model.backbone._conv_stem.weight.grad is None
    assert model.backbone._blocks[2]._depthwise_conv.weight.grad is None
    assert model.backbone._blocks[3]._depthwise_conv.weight.grad is not None
    torch.testing.assert_close(stem_bn.running_mean, before)


def test_pretrained_weights_load_from_site_packages() -> None:
    from cartsense_training.model import pretrained_weights_path

    path = pretrained_weights_path()
    assert "site-packages" in path and path.endswith(".pth")
    model = build_model(ModelConfig(input_size=64, pretrained=True))
    state = torch.load(path, map_location="cpu")
    torch.testing.assert_close(model.backbone._conv_stem.weight, state["_conv_stem.weight"])
