"""Training images held in memory as uint8 tensors, served as random augmented crops."""

from __future__ import annotations

from collections.abc import Sequence
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

    def __init__(self, folders: list[Path], patch: int, seed: int = 0, images: Sequence[torch.Tensor] = ()) -> None:
        """Crops of the images in ``folders`` plus ``images`` (3 x H x W uint8 tensors)."""
        paths = [p for f in folders for p in list_images(f)]
        if not paths and not images:
            raise RetexError(f"no training images in {', '.join(map(str, folders))}")
        self.images = [im for im in [*map(load_rgb_u8, paths), *images] if min(im.shape[1:]) >= patch]
        if not self.images:
            raise RetexError(f"no training image is at least {patch}x{patch}")
        self.patch = patch
        self.gen = torch.Generator().manual_seed(seed)

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
