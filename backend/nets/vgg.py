"""VGG-16 convolution layers (ImageNet weights, torchvision layout) as a frozen feature extractor for the style
losses. Defined here so nothing needs torchvision.

Layer numbering: convolution layers are counted 1..13 (conv1_1 = 1, conv1_2 = 2, conv2_1 = 3, ... conv5_3 = 13) and
layer ``l`` means the output of the ReLU after convolution ``l``. The seed's texture set {2, 5, 9} is therefore
relu1_2, relu3_1, relu4_2 and its perceptual layer 7 is relu3_3.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..paths import WEIGHTS_DIR

VGG_PATH = WEIGHTS_DIR / "vgg16_features.safetensors"
WIDTHS = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
POOL_AFTER = {2, 4, 7, 10}  # 2x2 max-pool after conv1_2, conv2_2, conv3_3, conv4_3
TORCHVISION_INDEX = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)  # conv l is features[TORCHVISION_INDEX[l-1]]
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


class VGG16Features(nn.Module):
    """``forward(x, layers)`` gives ``{l: relu_l(x)}`` for RGB ``x`` on [0, 1], stopping at the deepest layer asked."""

    mean: torch.Tensor  # buffers
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        ins = (3, *WIDTHS[:-1])
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1) for i, o in zip(ins, WIDTHS, strict=True))
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor, layers: tuple[int, ...]) -> dict[int, torch.Tensor]:
        h = (x - self.mean) / self.std
        out: dict[int, torch.Tensor] = {}
        for number, conv in enumerate(self.convs[: max(layers)], start=1):
            h = F.relu(conv(h))
            if number in layers:
                out[number] = h
            if number in POOL_AFTER:
                h = F.max_pool2d(h, 2)
        return out


def load_vgg(path: Path = VGG_PATH, device: str | torch.device = "cpu") -> VGG16Features:
    """The frozen feature extractor in float32 on ``device`` (weights stored as float16 safetensors)."""
    from ..weights import read_tensors

    tensors, _ = read_tensors(path)
    net = VGG16Features()
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return net.to(device).eval()
