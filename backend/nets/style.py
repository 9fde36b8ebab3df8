"""A style network: a tiny CNN that turns the restored image into a zero-mean texture residual for one style.

It sees the *restored* image (so one network serves every restoration task) plus deterministic noise, folds pixels
into channels, and ends in a fixed band filter: a high-pass (sigma < 4 px) for a fine texture; for a coarse,
painting-like style of version 2 a low-pass (sigma 1 px) at full resolution, the convolutions on a 4x4 fold (colour
shifts and brush strokes pass; version 1, the first library's G4-G16 band on a 4x downsampled grid, still loads).
The raw residual it returns is then normalized over the image by ``backend.stylize`` (zero mean, standard deviation
= strength x ``nominal``).

The noise is a hash of absolute pixel coordinates, not a random draw: the same pixel gets the same texture whether
the image is processed whole, tile by tile or as a cropped preview, and runs are reproducible. A fine style learned
today also sees smooth noise (``runtime.noise``), for structure wider than what its convolutions see.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..imaging.filters import band_pass
from ..runtime.noise import NOISE_CELL, style_noise
from ..runtime.noise import coordinate_noise as numpy_noise

SCALES = ("fine", "coarse")
BANDS = {"fine": (0.0, 4.0), "coarse": (4.0, 16.0)}  # residual band (sigma_lo, sigma_hi) per scale, full-res px
# Version 2 of a coarse style: an open band (the mean is removed over the image by ``backend.stylize``) at full
# resolution, low-passed at sigma 1 px (without it the Gram loss drove the residual to pixel speckle; a style may
# record a wider one, ``low_pass``: starry-night's 1.2 keeps its grain from swamping its strokes), the
# convolutions on a 4x4 pixel fold: a painting's colour shifts, strokes and their edges pass (docs/design.md).
# Version 1 (the seed's 4x working grid and G4-G16 band) still loads and runs as before.
OPEN_BAND = (1.0, math.inf)
DOWN = {1: {"fine": 1, "coarse": 4}, 2: {"coarse": 1}}  # working resolution 1/down per version and scale
VERSIONS = (1, 2)


@dataclass(frozen=True)
class StyleConfig:
    """Everything that fixes the shape of a style network (stored next to its weights)."""

    scale: str = "fine"
    width: int = 32
    blocks: int = 4  # 3x3 convolutions between head and tail
    noise: int = 4  # noise channels fed with the image
    fold: int = 2  # pixel fold: convolutions run at 1/fold of the working resolution
    version: int = 1  # 1: the residual bands of BANDS; 2 (coarse only): the open band OPEN_BAND
    low_pass: float = OPEN_BAND[0]  # version 2: the residual's low-pass sigma, full-resolution px
    smooth_noise: int = 0  # noise channels drawn on a grid of ``noise_cell`` px (``runtime.noise.smooth_noise``)
    noise_cell: int = NOISE_CELL

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}")
        if self.version not in VERSIONS or (self.version == 2 and self.scale != "coarse"):
            raise ValueError(f"version must be one of {VERSIONS} (2 for a coarse style only)")
        if not 0.5 <= self.low_pass <= 4.0 or (self.version == 1 and self.low_pass != OPEN_BAND[0]):
            raise ValueError("low_pass must be within 0.5-4 px (a style of version 2 only)")
        if self.smooth_noise < 0 or self.noise_cell < 2:
            raise ValueError("smooth_noise must be >= 0 and noise_cell >= 2")

    @classmethod
    def new(cls, scale: str) -> StyleConfig:
        """The shape a style is trained with today: coarse styles are of version 2 (48,553 parameters); fine ones
        see 2 channels of smooth noise besides the white (pebbles learned in 150 s: Gram ratio 0.49 against 0.72
        without, docs/design.md)."""
        if scale == "coarse":
            return cls(scale=scale, width=24, noise=2, fold=4, version=2)
        return cls(scale=scale, smooth_noise=2)

    @property
    def down(self) -> int:
        """Working resolution 1/down: a coarse style sees further for the same cost."""
        return DOWN[self.version][self.scale]

    @property
    def band(self) -> tuple[float, float]:
        """(sigma_lo, sigma_hi) of the residual's band, in full-resolution pixels (sigma_hi inf: a low-pass)."""
        return (self.low_pass, OPEN_BAND[1]) if self.version == 2 else BANDS[self.scale]

    @property
    def multiple(self) -> int:
        return self.down * self.fold

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> StyleConfig:
        kinds = {"scale": str, "low_pass": float}
        kwargs: dict[str, Any] = {k: kinds.get(k, int)(v) for k, v in d.items()}
        return cls(**kwargs)


def coordinate_noise(
    channels: int, h: int, w: int, origin: tuple[int, int], device: torch.device, seed: int = 0
) -> torch.Tensor:
    """1 x C x h x w uniform noise on [-1, 1], a hash (lowbias32) of (seed, channel, row, column) from ``origin``;
    seed 0 is the original hash exactly, another seed another (equally deterministic) variation of the texture. The
    hash is ``runtime.noise``'s, so both runtimes and training draw the very same noise."""
    return torch.from_numpy(numpy_noise(channels, h, w, origin, seed)).to(device)


class StyleNet(nn.Module):
    def __init__(self, config: StyleConfig) -> None:
        super().__init__()
        self.config = config
        c, f2 = config.width, config.fold**2
        self.head = nn.Conv2d((3 + config.noise + config.smooth_noise) * f2, c, 3, padding=1)
        self.body = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in range(config.blocks))
        self.tail = nn.Conv2d(c, 3 * f2, 3, padding=1)
        # strength 1 gives a residual of this standard deviation (log-parametrized: always positive)
        self.log_nominal = nn.Parameter(torch.tensor(-3.0))

    @property
    def nominal(self) -> float:
        return float(self.log_nominal.detach().exp())

    @property
    def halo(self) -> int:
        """Input pixels of context each output pixel depends on (receptive field + upsampling + band filter)."""
        cfg = self.config
        convs = cfg.blocks + 2
        lo, hi = cfg.band
        return (convs + 1) * cfg.fold * cfg.down + 3 * math.ceil(hi if math.isfinite(hi) else lo) + cfg.down

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def macs_per_pixel(self) -> int:
        """Multiply-accumulates per output pixel (convolutions only)."""
        per_site = sum(m.weight.numel() for m in (self.head, *self.body, self.tail))
        return per_site // (self.config.fold * self.config.down) ** 2

    def forward(self, image: torch.Tensor, origin: tuple[int, int] = (0, 0), seed: int = 0) -> torch.Tensor:
        """Raw (un-normalized) band-limited residual for an N x 3 x H x W restored image on [0, 1] whose sides are
        multiples of ``config.multiple``; ``origin`` = the image's top-left pixel in the full picture (on the
        working grid), ``seed`` the texture's variation."""
        cfg = self.config
        h, w = image.shape[-2] // cfg.down, image.shape[-1] // cfg.down
        o = (origin[0] // cfg.down, origin[1] // cfg.down)
        noise = style_noise(cfg, h, w, o, seed)
        return self.residual(image, torch.from_numpy(noise).to(image.device))

    def residual(self, image: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``forward`` with its noise given (1 x noise x H/down x W/down): the part an ONNX graph holds, the
        integer hash of the noise staying in one place, ``runtime.noise``."""
        cfg = self.config
        n, _, h, w = image.shape
        x = F.avg_pool2d(image, cfg.down) if cfg.down > 1 else image
        x = torch.cat([x * 2 - 1, noise.to(x.dtype).expand(n, -1, -1, -1)], dim=1)
        h_ = F.relu(self.head(F.pixel_unshuffle(x, cfg.fold)))
        for conv in self.body:
            h_ = h_ + F.relu(conv(h_))
        r = F.pixel_shuffle(self.tail(h_), cfg.fold)
        if cfg.down > 1:
            r = F.interpolate(r, size=(h, w), mode="bilinear", align_corners=False)
        lo, hi = cfg.band
        return band_pass(r.float(), lo, hi)
