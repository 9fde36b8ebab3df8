"""``python -m backend bench compare``: the visual comparison sheets ``docs/compare-*.png``, so a reader sees the
quality instead of only reading it. Each crop is cut from a benchmark image degraded exactly as ``eval`` degrades
it (same seed per set and image), then restored, and textured, through ``pipeline.process``. ``compare-real.png``
puts Retex beside Real-ESRGAN on crops of the 20 real low-quality RealSRSet images (no ground truth: judged by eye).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..degrade.observe import DegradeParams, observe
from ..errors import RetexError
from ..imaging.io import list_images, read_image, to_codes
from ..imaging.resize import imresize
from ..pipeline import process
from ..styles import list_styles, load_style
from ..stylize import StyleSlot
from ..tasks import Task, get_task
from ..weights import default_path, load_restoration
from .peers import make_peers

SR_IMAGES = ("Set5/butterfly.png", "Set14/zebra.png", "Set14/baboon.png")  # edges, stripes, fur
DENOISE_IMAGES = ("CBSD68/119082.png", "CBSD68/253027.png")
STYLE_IMAGE = "Set14/monarch.png"
FINE, COARSE = ("straw", "grass"), ("starry-night", "the-scream")  # preferred; else the first of each scale
CROP = 128  # ground-truth pixels per SR crop (shown at 2x)
LABEL = 16
DATA_HINT = "set RETEX_SHARED (the folder holding data/benchmark) or pass --data"
REAL_SET = "RealSRSet/LR"
REAL_CROP = 48  # low-resolution pixels per RealSRSet crop (192 output pixels, shown at 1x)
REAL_MARGIN = 8  # context the peers read around the crop, so its edges are not the network's borders
REAL_PEERS = ("Real-ESRGAN compact x4", "RealESRGAN_x4plus")


def _pil(x: torch.Tensor, zoom: int = 1) -> Image.Image:
    img = Image.fromarray(to_codes(x[0].permute(1, 2, 0), 8))
    return img.resize((img.width * zoom, img.height * zoom), Image.Resampling.NEAREST) if zoom > 1 else img


def _observe(data: Path, rel: str, task: Task, params: DegradeParams | None = None):
    """The clean image and its degradation, seeded as ``evaluate_set`` seeds it (set name and index in the set)."""
    set_name = rel.split("/")[0]
    path = data / set_name / "HR" / rel.split("/", 1)[1]
    if not path.is_file():
        raise RetexError(f"{path} not found: {DATA_HINT}")
    clean = torch.from_numpy(read_image(path).rgb)
    h, w = clean.shape[-2:]
    clean = clean[..., : h - h % task.scale, : w - w % task.scale]
    index = list_images(path.parent).index(path)
    gen = torch.Generator().manual_seed(zlib.crc32(f"{set_name}/{index}".encode()))
    return clean, observe(task, clean, gen, params or DegradeParams())


def _sheet(rows: list[list[Image.Image]], titles: list[str], names: list[str], output: Path) -> Path:
    w, h = rows[0][0].size
    sheet = Image.new("RGB", (len(titles) * w, len(rows) * (h + LABEL)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            top = r * (h + LABEL)
            sheet.paste(img, (c * w, top + LABEL))
            draw.text((c * w + 3, top + 2), f"{titles[c]}: {names[r]}" if c == 0 else titles[c], fill="black")
    output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output)
    return output


def compare_sr(data: Path, output: Path) -> Path:
    task = get_task("sr4")
    net = load_restoration(default_path(task), task)
    rows = []
    for rel in SR_IMAGES:
        clean, obs = _observe(data, rel, task)
        h, w = obs.image.shape[-2:]
        side = CROP // 4
        region = ((w - side) // 2, (h - side) // 2, side, side)  # low-resolution pixels; only this is restored
        x, y = region[0] * 4, region[1] * 4
        ours = process(obs.image, (task, net), [], region=region)
        bicubic = imresize(obs.image, 4.0).clamp(0, 1)[..., y : y + CROP, x : x + CROP]
        rows.append([_pil(img, 2) for img in (bicubic, ours, clean[..., y : y + CROP, x : x + CROP])])
    return _sheet(rows, ["bicubic", "Retex sr4", "ground truth"], list(SR_IMAGES), output)


def compare_denoise(data: Path, output: Path, sigma: float = 25.0) -> Path:
    task = get_task("denoise")
    net = load_restoration(default_path(task), task)
    rows = []
    for rel in DENOISE_IMAGES:
        clean, obs = _observe(data, rel, task, DegradeParams(sigma=sigma / 255))  # noise drawn over the whole image
        h, w = clean.shape[-2:]
        side = 2 * CROP
        x, y = (w - side) // 2, (h - side) // 2
        noisy = obs.image.clamp(0, 1)
        ours = process(noisy, (task, net), [], region=(x, y, side, side))
        rows.append(
            [
                _pil(img)
                for img in (noisy[..., y : y + side, x : x + side], ours, clean[..., y : y + side, x : x + side])
            ]
        )
    return _sheet(rows, [f"noisy sigma={sigma:g}", "Retex denoise", "clean"], list(DENOISE_IMAGES), output)


def _pick(preferred: tuple[str, ...], scale: str) -> str:
    names = [s["name"] for s in list_styles() if s["builtin"] and s["scale"] == scale]
    if not names:
        raise RetexError(f"no shipped {scale} style: restore them with `git checkout -- weights/`")
    return next((n for n in preferred if n in names), names[0])


def compare_style(data: Path, output: Path) -> Path:
    task = get_task("sr4")
    net = load_restoration(default_path(task), task)
    fine_name, coarse_name = _pick(FINE, "fine"), _pick(COARSE, "coarse")
    fine, coarse = load_style(fine_name)[0], load_style(coarse_name)[0]
    _, obs = _observe(data, STYLE_IMAGE, task)
    h, w = obs.image.shape[-2:]
    side = 2 * CROP // 4
    region = ((w - side) // 2, (h - side) // 2, side, side)  # a preview-sized region of the low-resolution input
    columns = [
        ("restored (sr4)", []),
        (f"+ {fine_name} (fine)", [StyleSlot(fine, 1.0)]),
        (f"+ {coarse_name} (coarse)", [StyleSlot(coarse, 1.0)]),
        ("+ both (bi-scale)", [StyleSlot(coarse, 1.0), StyleSlot(fine, 1.0)]),
    ]
    row = [_pil(process(obs.image, (task, net), slots, region=region)) for _, slots in columns]
    return _sheet([row], [t for t, _ in columns], [STYLE_IMAGE], output)


def compare_real(data: Path, output: Path, say: Callable[[str], None] = print) -> Path | None:
    """bicubic | Retex photo-sr4 | the Real-ESRGAN peers on a centre crop of each RealSRSet image; a missing photo
    model skips the sheet and a missing peer its column, each with one line."""
    task = get_task("photo-sr4")
    weights = default_path(task)
    if not weights.is_file():
        say(f"compare-real.png skipped: {weights} not found")
        return None
    paths = list_images(data / REAL_SET) if (data / REAL_SET).is_dir() else []
    if not paths:
        raise RetexError(f"no images in {data / REAL_SET}: {DATA_HINT}")
    net = load_restoration(weights, task)
    peers = make_peers(4, torch.get_num_threads(), say)
    columns = [p for p in REAL_PEERS if p in peers]
    rows = []
    for path in paths:
        image = torch.from_numpy(read_image(path).rgb)
        h, w = image.shape[-2:]
        side = min(REAL_CROP, h, w)
        x, y = (w - side) // 2, (h - side) // 2
        ours = process(image, (task, net), [], region=(x, y, side, side))
        bicubic = imresize(image, 4.0).clamp(0, 1)[..., 4 * y : 4 * (y + side), 4 * x : 4 * (x + side)]
        x0, y0 = max(x - REAL_MARGIN, 0), max(y - REAL_MARGIN, 0)
        x1, y1 = min(x + side + REAL_MARGIN, w), min(y + side + REAL_MARGIN, h)
        context = image[0, :, y0:y1, x0:x1].permute(1, 2, 0).numpy()
        row = [bicubic, ours]
        for name in columns:
            out = peers[name][1](context, 0.0)[4 * (y - y0) : 4 * (y - y0 + side), 4 * (x - x0) : 4 * (x - x0 + side)]
            row.append(torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1)[None])
        rows.append([_pil(img) for img in row])
    titles = ["bicubic x4", "Retex photo-sr4", *columns]
    return _sheet(rows, titles, [p.name for p in paths], output)


def write_sheets(output_dir: Path, data: Path) -> list[Path]:
    if not data.is_dir():
        raise RetexError(f"{data} not found: {DATA_HINT}")
    sheets = [
        compare_sr(data, output_dir / "compare-sr.png"),
        compare_denoise(data, output_dir / "compare-denoise.png"),
        compare_style(data, output_dir / "compare-style.png"),
        compare_real(data, output_dir / "compare-real.png"),
    ]
    return [s for s in sheets if s is not None]
