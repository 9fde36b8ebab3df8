"""Training images held in memory as uint8 tensors, served as random augmented crops; content made from them kept
in a pool and served many times."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import RetexError
from ..imaging.io import list_images


def load_rgb_u8(path: Path) -> torch.Tensor:
    """3 x H x W uint8."""
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


class PatchSampler:
    """Random crops with random flips and 90-degree rotations (the 8 symmetries of the square)."""

    def __init__(
        self,
        folders: list[Path],
        patch: int,
        seed: int = 0,
        images: Sequence[torch.Tensor] = (),
        count: int = 0,
    ) -> None:
        """Crops of the images in ``folders`` (``count`` > 0: that many of them, drawn at random: decoding all of
        them is seconds of a short run) plus ``images`` (3 x H x W uint8 tensors)."""
        self.gen = torch.Generator().manual_seed(seed)
        paths = [p for f in folders for p in list_images(f)]
        if not paths and not images:
            raise RetexError(f"no training images in {', '.join(map(str, folders))}")
        if 0 < count < len(paths):
            paths = [paths[int(i)] for i in torch.randperm(len(paths), generator=self.gen)[:count]]
        self.images = [im for im in [*map(load_rgb_u8, paths), *images] if min(im.shape[1:]) >= patch]
        if not self.images:
            raise RetexError(f"no training image is at least {patch}x{patch}")
        self.patch = patch

    def _rand(self, hi: int) -> int:
        return int(torch.randint(0, hi, (1,), generator=self.gen))

    def batch(self, n: int) -> torch.Tensor:
        """N x 3 x P x P float on [0, 1]."""
        p, out = self.patch, []
        for _ in range(n):
            im = self.images[self._rand(len(self.images))]
            y, x = self._rand(im.shape[1] - p + 1), self._rand(im.shape[2] - p + 1)
            crop = im[:, y : y + p, x : x + p]
            if self._rand(2):
                crop = crop.flip(-1)
            crop = torch.rot90(crop, self._rand(4), dims=(-2, -1))
            out.append(crop)
        return torch.stack(out).float() / 255


def symmetry(batch: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One random symmetry of the square (flip, then 0-3 quarter turns) for a whole N x C x H x W batch."""
    if int(torch.randint(0, 2, (1,), generator=gen)):
        batch = batch.flip(-1)
    return torch.rot90(batch, int(torch.randint(0, 4, (1,), generator=gen)), dims=(-2, -1))


class ContentPool:
    """Content made once and served many times: making it (a restoration network on every new crop) cost more than
    the learning step that used it. One chunk is made anew every ``refresh`` batches served, oldest first, so a run
    left going still sees new content."""

    def __init__(self, make: Callable[[], torch.Tensor], chunks: int, refresh: int, gen: torch.Generator) -> None:
        """``make()`` -> one chunk, N x 3 x P x P on [0, 1]; the pool holds ``chunks`` of them."""
        self.make, self.refresh, self.gen = make, refresh, gen
        self.chunks = [make() for _ in range(chunks)]
        self.served = self.oldest = 0

    def batch(self, n: int, patch: int) -> torch.Tensor:
        """N x 3 x patch x patch: random crops of random pool items (patch at most the pool's crop size), each with a
        random symmetry."""
        self.served += 1
        if self.refresh and self.served % self.refresh == 0:
            self.chunks[self.oldest] = self.make()
            self.oldest = (self.oldest + 1) % len(self.chunks)
        items = torch.cat(self.chunks)
        size = items.shape[-1]
        out = []
        for i in torch.randint(0, len(items), (n,), generator=self.gen).tolist():
            y, x = (int(v) for v in torch.randint(0, size - patch + 1, (2,), generator=self.gen))
            out.append(symmetry(items[i : i + 1, :, y : y + patch, x : x + patch], self.gen))
        return torch.cat(out)
