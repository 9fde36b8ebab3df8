"""LPIPS (Zhang et al. CVPR 2018, VGG variant, v0.1): the perceptual distance the real-world benchmark reports.

Computed with the shipped VGG-16 (``backend.nets.vgg``, torchvision's ImageNet weights) and the linear-layer weights
from the ``lpips`` package's ``weights/v0.1/vgg.pth`` (BSD-2-Clause, github.com/richzhang/PerceptualSimilarity). The
package is never imported: it imports torchvision, which this environment does not have; its weight file is located
with ``importlib.util.find_spec`` (which runs none of its code) and read with ``torch.load(weights_only=True)``.

The reference's ScalingLayer maps an input on [-1, 1] with shift (-0.030, -0.088, -0.188) and scale (0.458, 0.448,
0.450); for ``x = 2y - 1`` that is ``(y - (1 + shift) / 2) / (scale / 2)`` = ``(y - 0.485, 0.456, 0.406) /
(0.229, 0.224, 0.225)``: exactly the ImageNet normalization ``VGG16Features`` applies to an input ``y`` on [0, 1], so
the metric is the reference one by construction (tests/backend/test_bench_real.py checks the identity).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from ..errors import RetexError
from ..nets.vgg import VGG16Features, load_vgg

LAYERS = (2, 4, 7, 10, 13)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 (the reference's five VGG slices)
SHIFT = (-0.030, -0.088, -0.188)  # the reference's ScalingLayer, for inputs on [-1, 1]
SCALE = (0.458, 0.448, 0.450)
EPS = 1e-10  # the reference's normalize_tensor epsilon


def lin_weights_path() -> Path:
    """``lpips/weights/v0.1/vgg.pth`` of the installed package, found without importing it."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        raise RetexError("LPIPS needs the lpips package's weight file: package lpips not installed")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / "v0.1" / "vgg.pth"
        if path.is_file():
            return path
    raise RetexError("LPIPS needs lpips/weights/v0.1/vgg.pth, which the installed lpips package lacks")


class LPIPS:
    """``distance(a, b)`` for N x 3 x H x W images on [0, 1]; ``features(a)`` once per reference image lets many
    candidates be compared with it at the cost of one VGG pass each."""

    def __init__(self, vgg: VGG16Features | None = None) -> None:
        state = torch.load(lin_weights_path(), map_location="cpu", weights_only=True)
        self.lins = [state[f"lin{i}.model.1.weight"].float() for i in range(len(LAYERS))]  # 1 x C x 1 x 1 each
        self.vgg = vgg or load_vgg()

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's activations, unit-normalized along the channels."""
        feats = self.vgg(x.float(), LAYERS)
        return [f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS) for f in (feats[n] for n in LAYERS)]

    @torch.no_grad()
    def distance(self, a: torch.Tensor | list[torch.Tensor], b: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
        """Per-image LPIPS (shape N): squared differences of the normalized features, weighted per channel by the
        1x1 linear layers, averaged over space, summed over layers. Either argument may be ``features(...)``."""
        fa = a if isinstance(a, list) else self.features(a)
        fb = b if isinstance(b, list) else self.features(b)
        total = torch.zeros(fa[0].shape[0])
        for x, y, w in zip(fa, fb, self.lins, strict=True):
            total += torch.nn.functional.conv2d((x - y) ** 2, w).mean(dim=(1, 2, 3))
        return total
