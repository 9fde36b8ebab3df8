"""Perceptual and texture (normalized Gram matrix) losses on VGG-16 features.

Gram matrix of a C x H x W feature map F: G = F F^T / (C H W), so its size does not depend on the image size and
layers of different widths weigh alike (Johnson et al.'s normalization). Texture loss = sum over layers of the
squared Frobenius distance between Gram matrices; perceptual loss = mean squared feature difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch

from ..nets.vgg import VGG16Features


@dataclass(frozen=True)
class LossLayers:
    """VGG-16 layer sets, numbered as in ``backend.nets.vgg`` (convolutions 1..13, after their ReLU)."""

    texture: tuple[int, ...] = (2, 5, 9)  # relu1_2, relu3_1, relu4_2: the seed's {2, 5, 9}
    perceptual: tuple[int, ...] = (7,)  # relu3_3: the seed's {7}

    @property
    def all(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.texture) | set(self.perceptual)))


def gram(features: torch.Tensor) -> torch.Tensor:
    """N x C x H x W -> N x C x C normalized Gram matrices (computed in float32)."""
    n, c, h, w = features.shape
    f = features.float().reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def texture_loss(grams: dict[int, torch.Tensor], targets: dict[int, torch.Tensor]) -> torch.Tensor:
    """Per-image sum over layers of ||G - G_target||_F^2; targets are C x C (one exemplar) or N x C x C."""
    total: torch.Tensor | float = 0.0
    for layer, g in grams.items():
        total = total + (g - targets[layer]).pow(2).sum(dim=(-2, -1))
    return cast(torch.Tensor, total)  # a tensor once one layer is added


def perceptual_loss(feats: dict[int, torch.Tensor], targets: dict[int, torch.Tensor]) -> torch.Tensor:
    """Per-image mean over layers of the mean squared feature difference."""
    total: torch.Tensor | float = 0.0
    for layer, t in targets.items():
        total = total + (feats[layer].float() - t.float()).pow(2).mean(dim=(1, 2, 3))
    return cast(torch.Tensor, total) / len(targets)  # a tensor once one layer is added


class StyleLosses:
    """Texture loss to one exemplar and perceptual loss to a content image, sharing one VGG pass per image."""

    def __init__(self, vgg: VGG16Features, layers: LossLayers, exemplar: torch.Tensor) -> None:
        self.vgg, self.layers = vgg, layers
        with torch.no_grad():
            feats = vgg(exemplar, layers.texture)
            self.target = {k: gram(v).mean(0) for k, v in feats.items()}

    def texture(self, feats: dict[int, torch.Tensor]) -> torch.Tensor:
        """Per-image texture loss of already computed features (``vgg(z, layers.all)``)."""
        return texture_loss({k: gram(feats[k]) for k in self.layers.texture}, self.target)

    def __call__(self, z: torch.Tensor, content: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(texture loss, perceptual loss) per image of ``z``; the perceptual term is 0 without ``content``."""
        feats = self.vgg(z, self.layers.all)
        tex = self.texture(feats)
        if content is None:
            return tex, torch.zeros_like(tex)
        with torch.no_grad():
            ref = self.vgg(content, self.layers.perceptual)
        return tex, perceptual_loss({k: feats[k] for k in self.layers.perceptual}, ref)
