"""Sliced-Wasserstein distance (SWD) between VGG-16 feature distributions: the second fidelity measure beside the
Gram ratio (Heitz et al., "A Sliced Wasserstein Loss for Neural Texture Synthesis", CVPR 2021).

A layer's feature map (N x C x H x W) is read as a set of C-dimensional samples, one per pixel (the N images pooled).
Both sets are projected on the same ``PROJECTIONS`` random unit directions, each projection is sorted, and the
sorted values are compared quantile by quantile: when the two sets differ in size, the second is read at the
quantiles (i + 0.5) / n of the first's n samples (linear interpolation), so equal sizes compare sample by sample.
The layer's distance is the mean squared difference over projections and quantiles; the SWD is the mean over the
texture loss's layers (``LossLayers.texture``: relu1_2, relu3_1, relu4_2). Unlike the Gram matrix it sees the whole
marginal distribution along each direction (histograms, sparsity), not only second moments.

Deterministic: the directions of layer ``l`` come from ``torch.Generator().manual_seed(SEED + l)``, the same for every
image and style, so a ratio of two SWDs compares like with like. A layer with more than ``SAMPLES`` pixels is read on
a fixed seeded subset of ``SAMPLES`` of them (sorting every pixel of relu1_2 on a 481 x 321 image costs 0.7 s per
style on one core; 16,384 samples estimate the quantiles to well under the differences measured between styles).
A tool: the runtime never imports it.
"""

from __future__ import annotations

import torch

PROJECTIONS = 64  # random directions per layer
SAMPLES = 16384  # pixels per layer at most (a seeded subset beyond that)
SEED = 0


def directions(channels: int, count: int = PROJECTIONS, seed: int = SEED) -> torch.Tensor:
    """C x count random unit vectors (columns), the same for the same arguments."""
    d = torch.randn(channels, count, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (d / d.norm(dim=0, keepdim=True)).float()


def samples(features: torch.Tensor, limit: int | None = SAMPLES, seed: int = SEED) -> torch.Tensor:
    """N x C x H x W feature maps -> (N H W) x C samples in float32, at most ``limit`` (a seeded subset)."""
    n, c, h, w = features.shape
    x = features.float().permute(0, 2, 3, 1).reshape(n * h * w, c)
    if limit is not None and x.shape[0] > limit:
        pick = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[:limit]
        x = x[pick]
    return x


def sorted_projections(x: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """n x C samples -> P x n: each projection's values, sorted."""
    return (x.float() @ dirs).T.sort(dim=1).values


def at_quantiles(sorted_values: torch.Tensor, n: int) -> torch.Tensor:
    """P x m sorted values read at the quantiles (i + 0.5) / n, i < n (linear interpolation): P x n. The identity
    when m == n."""
    m = sorted_values.shape[1]
    if m == n:
        return sorted_values
    pos = ((torch.arange(n, dtype=torch.float64) + 0.5) * m / n - 0.5).clamp(0, m - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=m - 1)
    t = (pos - lo).float()
    return sorted_values[:, lo] * (1 - t) + sorted_values[:, hi] * t


def sorted_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean squared difference of two P x n / P x m sorted projections, ``b`` read at ``a``'s quantiles."""
    return float((a - at_quantiles(b, a.shape[1])).pow(2).mean())


def swd(x: torch.Tensor, y: torch.Tensor, count: int = PROJECTIONS, seed: int = SEED) -> float:
    """SWD between two sample sets (n x C, m x C): symmetric in the order of each set's samples."""
    dirs = directions(x.shape[1], count, seed)
    return sorted_distance(sorted_projections(x, dirs), sorted_projections(y, dirs))


class SlicedWasserstein:
    """SWD to one target over several layers: ``profile`` a feature dict once, then compare profiles; the target's
    profile is ``profile(target_features)``."""

    def __init__(self, widths: dict[int, int], count: int = PROJECTIONS, limit: int | None = SAMPLES) -> None:
        self.limit = limit
        self.dirs = {layer: directions(c, count, SEED + layer) for layer, c in widths.items()}

    def profile(self, feats: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        """{layer: P x n sorted projections} of ``{layer: N x C x H x W}`` features."""
        return {
            layer: sorted_projections(samples(feats[layer], self.limit, SEED + layer), d)
            for layer, d in self.dirs.items()
        }

    def distance(self, a: dict[int, torch.Tensor], b: dict[int, torch.Tensor]) -> float:
        """Mean over the layers of the sorted-projection distance between two profiles."""
        return sum(sorted_distance(a[layer], b[layer]) for layer in self.dirs) / len(self.dirs)
