"""How low a zero-mean texture of an exemplar can bring ``eval-style``'s Gram ratio: the exemplar's own detail,
mirror-tiled over each evaluation photo and added as a style's residual would be (``stylize.normalize``: zero mean,
standard deviation = the amplitude), scored with ``eval-style``'s protocol (the same photos, restoration, layers and
ratio). The band is the fine styles' (sigma < 4 px) or open (the exemplar minus its mean, what a coarse style could
carry); the amplitude is in units of the exemplar's own detail in that band (``train.style.detail_std``).

An exemplar whose own detail cannot bring the ratio near a bar tells that the bar asks for more than a texture added
at strength 1 can do there: the rest of the distance is the photos' colours and shapes, which a zero-mean residual
does not change.

    python tools/texture_oracle.py EXEMPLAR [EXEMPLAR ...] [--limit 10] [--at 0.5,1,1.5,2] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.bench.evaluate_style import contents, vgg_bf16  # noqa: E402
from backend.imaging.filters import band_pass  # noqa: E402
from backend.imaging.io import list_images, read_image  # noqa: E402
from backend.nets.style import BANDS  # noqa: E402
from backend.nets.vgg import load_vgg  # noqa: E402
from backend.paths import BENCHMARK_DIR  # noqa: E402
from backend.stylize import normalize  # noqa: E402
from backend.tasks import get_task  # noqa: E402
from backend.train.losses import LossLayers, StyleLosses, gram, texture_loss  # noqa: E402
from backend.train.style import prepare_exemplar  # noqa: E402
from backend.weights import default_path, load_restoration  # noqa: E402


def mirror_tile(exemplar: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The exemplar mirrored into a seamless 2x2 block, repeated over h x w."""
    block = torch.cat([exemplar, exemplar.flip(-1)], -1)
    block = torch.cat([block, block.flip(-2)], -2)
    return block.repeat(1, 1, h // block.shape[-2] + 1, w // block.shape[-1] + 1)[..., :h, :w]


def detail(tiled: torch.Tensor, band: str) -> torch.Tensor:
    """The tiled exemplar's content in the fine styles' band, or all of it less its mean ("open")."""
    if band == "fine":
        return band_pass(tiled, *BANDS["fine"])
    return tiled - tiled.mean(dim=(2, 3), keepdim=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exemplars", nargs="+")
    parser.add_argument("--task", default="sr4")
    parser.add_argument("--limit", type=int, default=10, help="the first N BSD100 images (0: all 100)")
    parser.add_argument("--at", default="0.5,1,1.5,2", help="amplitudes, in units of the exemplar's own detail")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = get_task(args.task)
    restoration = (task, load_restoration(default_path(task), task))
    paths = list_images(BENCHMARK_DIR / "BSD100" / "HR")[: args.limit or None]
    bases = [base for _, base in contents(restoration, "BSD100", paths)]
    vgg, layers = load_vgg(), LossLayers()
    bf16 = vgg_bf16()  # as eval-style measures

    def layer_losses(losses: StyleLosses, x: torch.Tensor) -> list[float]:
        """``x``'s texture loss to the exemplar, layer by layer (their sum is the loss ``eval-style`` adds up)."""
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            feats = vgg(x, layers.texture)
        return [float(texture_loss({k: gram(feats[k])}, {k: losses.target[k]}).sum()) for k in layers.texture]

    amplitudes = [float(a) for a in args.at.split(",")]
    header = "exemplar | band | own detail (std) | " + " | ".join(f"Gram ratio at {a:g}x" for a in amplitudes)
    for path in args.exemplars:
        exemplar = prepare_exemplar(torch.from_numpy(read_image(Path(path)).rgb), "fine")
        losses = StyleLosses(vgg, layers, exemplar)
        by_layer = [sum(col) for col in zip(*(layer_losses(losses, b) for b in bases), strict=True)]
        restored = sum(by_layer)
        shares = ", ".join(f"{k} {v / restored:.2f}" for k, v in zip(layers.texture, by_layer, strict=True))
        print(f"{Path(path).stem}: the restored photos' texture loss by VGG layer: {shares}")
        print(header)
        for band in ("fine", "open"):
            own = float(detail(exemplar, band).std())
            ratios = []
            for a in amplitudes:
                added = 0.0
                for b in bases:
                    residual = normalize(detail(mirror_tile(exemplar, *b.shape[-2:]), band), None, a * own)
                    added += sum(layer_losses(losses, (b + residual).clamp(0, 1)))
                ratios.append(added / restored)
            print(f"{Path(path).stem} | {band} | {own:.3f} | " + " | ".join(f"{r:.3f}" for r in ratios), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
