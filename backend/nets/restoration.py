"""The restoration network: six parallel branches, each ending in a fixed difference-of-Gaussians band-pass.

Branch k predicts a correction, keeps only the frequency band [sigma_{k}, sigma_{k+1}) of it with a DoG, and the
output is the input plus a learned linear combination of the six bands. The band edges are octaves (sigma 1, 2, 4,
8, 16 full-resolution pixels): band 0 is a high-pass (I - G1), band 5 a low-pass (G16), so the six filters add up
to the identity (see ``band_edges``). Multi-scale: a branch whose band is coarse runs on an area-downsampled copy of
the input (``down``), filters there with its sigmas divided by ``down`` and is upsampled bilinearly; a fine branch
may fold pixels into channels (``unshuffle``) so its convolutions run at a lower resolution without losing
information (for x4 super-resolution the input is a bicubic upsample, so a 4x4 fold loses nothing).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ..imaging.filters import band_pass

SIGMAS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)


def band_edges(sigmas: tuple[float, ...] = SIGMAS) -> list[tuple[float, float]]:
    """The (sigma_lo, sigma_hi) pair of each band: [(0, s1), (s1, s2), ..., (s5, inf)]."""
    cuts = (0.0, *sigmas, math.inf)
    return [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1)]


@dataclass(frozen=True)
class BranchSpec:
    """One branch: working resolution 1/down, pixel fold ``unshuffle``, ``width`` features, ``blocks`` res-blocks."""

    down: int = 1
    unshuffle: int = 1
    width: int = 32
    blocks: int = 2


@dataclass(frozen=True)
class RestorationConfig:
    """Everything that fixes the shape of a restoration network (stored next to its weights)."""

    in_channels: int = 3
    out_channels: int = 3
    sigmas: tuple[float, ...] = SIGMAS
    branches: tuple[BranchSpec, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RestorationConfig:
        return cls(
            in_channels=int(d["in_channels"]),
            out_channels=int(d["out_channels"]),
            sigmas=tuple(float(s) for s in d["sigmas"]),
            branches=tuple(BranchSpec(**b) for b in d["branches"]),
        )

    @property
    def grids(self) -> tuple[int, ...]:
        """Each branch's cell in full-resolution pixels (down x unshuffle): its crops start and end on this grid."""
        return tuple(b.down * b.unshuffle for b in self.branches)

    @property
    def multiple(self) -> int:
        """Input sides are padded to a multiple of this so every branch's pooling and folding tiles exactly."""
        return max(self.grids)


class ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class Branch(nn.Module):
    """A small CNN at its own resolution whose output is cut to one frequency band."""

    def __init__(self, spec: BranchSpec, in_ch: int, out_ch: int, band: tuple[float, float]) -> None:
        super().__init__()
        self.spec, self.band = spec, band
        u2 = spec.unshuffle**2
        self.head = nn.Conv2d(in_ch * u2, spec.width, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(spec.width) for _ in range(spec.blocks)])
        self.tail = nn.Conv2d(spec.width, out_ch * u2, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # start as the identity restoration
        assert self.tail.bias is not None  # Conv2d's default
        nn.init.zeros_(self.tail.bias)

    @property
    def halo(self) -> int:
        """Full-resolution pixels of context this branch reads on each side of an output pixel (an upper bound:
        its convolutions, its band-pass kernel, plus a cell of slack for pooling, folding and upsampling)."""
        d, u = self.spec.down, self.spec.unshuffle
        convs = 2 + 2 * self.spec.blocks
        sigma = self.band[1] if math.isfinite(self.band[1]) else self.band[0]
        gauss = math.ceil(3.0 * sigma / d) if sigma > 0 else 0
        return d * u * (convs + 1) + d * (gauss + 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d, u = self.spec.down, self.spec.unshuffle
        z = F.avg_pool2d(x, d) if d > 1 else x
        if u > 1:
            z = F.pixel_unshuffle(z, u)
        f = F.relu(self.head(z))
        r = self.tail(F.relu(self.body(f)))
        if u > 1:
            r = F.pixel_shuffle(r, u)
        r = band_pass(r, self.band[0] / d, self.band[1] / d)
        if d > 1:
            r = F.interpolate(r, scale_factor=d, mode="bilinear", align_corners=False)
        return r


class RestorationNet(nn.Module):
    """x -> x[:, :3] + sum_k w_k * band_k(branch_k(x)); input sides must be multiples of ``config.multiple``."""

    def __init__(self, config: RestorationConfig) -> None:
        super().__init__()
        if len(config.branches) != len(config.sigmas) + 1:
            raise ValueError("need one branch per band (len(sigmas) + 1)")
        self.config = config
        self.branches = nn.ModuleList(
            Branch(spec, config.in_channels, config.out_channels, band)
            for spec, band in zip(config.branches, band_edges(config.sigmas), strict=True)
        )
        self.mix = nn.Parameter(torch.ones(len(self.branches)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.config.multiple
        if x.shape[-1] % m or x.shape[-2] % m:
            raise ValueError(f"input sides must be multiples of {m}; pad first (pipeline.run_padded)")
        out = x[:, : self.config.out_channels]
        for w, branch in zip(self.mix, self.branches, strict=True):
            out = out + w * branch(x)
        return out

    @property
    def halos(self) -> list[int]:
        """Each branch's context in full-resolution pixels: the tiled run reads each branch's crop with its own."""
        return [b.halo for b in self._branches]

    @property
    def _branches(self) -> list[Branch]:
        """The branches as what they are (a ModuleList iterates as plain Modules)."""
        return [cast(Branch, b) for b in self.branches]

    def run_branches(self, crops: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each branch's band output on its own crop: the one network call of the tiled run, which the ONNX
        runtime (``backend.runtime.onnx``) provides too."""
        return [b(c) for b, c in zip(self.branches, crops, strict=True)]

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def macs_per_pixel(self) -> float:
        """Multiply-accumulates of the convolutions per full-resolution output pixel (filters and resampling,
        a few hundred MACs, are not counted)."""
        total = 0.0
        for b in self._branches:
            area = (b.spec.down * b.spec.unshuffle) ** 2
            convs = sum(m.weight.numel() for m in b.modules() if isinstance(m, nn.Conv2d))
            total += convs / area
        return total
