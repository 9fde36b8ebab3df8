"""What a restoration does to a photo that needs none: the editors' default task is chosen by this (a default must
never soften a clean photo; the photo model at auto leaves it unchanged). Runs ``python -m backend restore`` on the
first N clean BSD100 photos and prints, per task, the PSNR of the result against the photo and the detail kept
(Laplacian energy of the result over the photo's; 1.0 = as sharp).

    python tools/clean_detail.py [--tasks photo,denoise] [--count 12]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "benchmark" / "BSD100" / "HR"


def detail(a: np.ndarray) -> float:
    g = a.astype(np.float64).mean(axis=2)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(np.mean(lap**2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="photo,denoise")
    parser.add_argument("--count", type=int, default=12)
    args = parser.parse_args()
    photos = sorted(PHOTOS.glob("*.png"))[: args.count]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks.split(","):
            psnr, kept = [], []
            for photo in photos:
                out = Path(tmp) / f"{task}-{photo.name}"
                cmd = [sys.executable, "-m", "backend", "restore", str(photo), "-o", str(out), "--task", task]
                subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
                a = np.asarray(Image.open(photo).convert("RGB"))
                b = np.asarray(Image.open(out).convert("RGB"))
                mse = float(np.mean((a.astype(np.float64) - b) ** 2))
                psnr.append(10 * np.log10(255**2 / mse) if mse else float("inf"))
                kept.append(detail(b) / detail(a))
            print(
                f"{task}: {len(photos)} clean photos, PSNR against the photo {np.mean(psnr):.2f} dB, "
                f"detail kept {np.mean(kept):.3f} (least {np.min(kept):.3f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
