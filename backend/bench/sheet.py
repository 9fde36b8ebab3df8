"""The style contact sheet (``docs/styles.png``): every shipped style on a few benchmark contents after ``sr4``
restoration, then a multi-mask example (two textures meeting on a soft edge) and the bi-scale grid of the seed's last
slide (coarse styles a, b x fine textures 1, 2)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from ..degrade.observe import observe
from ..errors import RetexError
from ..imaging.io import read_image, to_codes
from ..paths import BENCHMARK_DIR
from ..pipeline import process
from ..styles import list_styles, load_style
from ..stylize import StyleSlot
from ..tasks import get_task
from ..weights import default_path, load_restoration

CONTENT = ("BSD100/HR", "Set14/HR/monarch.png", "Set14/HR/pepper.png")
TILE = 160
LABEL = 16


def _pil(x: torch.Tensor) -> Image.Image:
    return Image.fromarray(to_codes(x[0].permute(1, 2, 0), 8).astype("uint8"))


def _centre(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return x[..., (h - size) // 2 : (h - size) // 2 + size, (w - size) // 2 : (w - size) // 2 + size]


def _contents(data: Path) -> list[torch.Tensor]:
    """Restored contents (sr4 from a bicubic-downscaled copy), cropped to TILE x TILE."""
    task = get_task("sr4")
    net = load_restoration(default_path(task), task)
    first = sorted((data / "BSD100" / "HR").glob("*.png"))
    paths = [first[2] if first else None, data / CONTENT[1], data / CONTENT[2]]
    out = []
    for i, path in enumerate(paths):
        if path is None or not path.is_file():
            raise RetexError(f"benchmark image not found: {path} (the sheet uses ../shared/data/benchmark)")
        clean = _centre(read_image(path).rgb, TILE * 2)
        obs = observe(task, clean, torch.Generator().manual_seed(i))
        out.append(_centre(process(obs.image, (task, net), []), TILE))
    return out


def _label(img: Image.Image, text: str) -> Image.Image:
    canvas = Image.new("RGB", (img.width, img.height + LABEL), "white")
    canvas.paste(img, (0, LABEL))
    ImageDraw.Draw(canvas).text((3, 2), text, fill="black")
    return canvas


def make_sheet(output: Path, data: Path = BENCHMARK_DIR) -> Path:
    styles = list_styles()
    if not styles:
        raise RetexError("no styles installed")
    contents = _contents(data)
    nets = {s["name"]: load_style(s["name"])[0] for s in styles}
    columns = [("restored (sr4)", None)] + [(f"{s['name']} ({s['scale']})", s["name"]) for s in styles]
    tiles = []
    for title, name in columns:
        col = [_pil(c if name is None else process(c, None, [StyleSlot(nets[name], 1.0)])) for c in contents]
        tiles.append((title, col))
    fine = [s["name"] for s in styles if s["scale"] == "fine"][:2]
    coarse = [s["name"] for s in styles if s["scale"] == "coarse"][:2]
    base = contents[0]
    ramp = torch.linspace(0, 1, TILE).clamp(0, 1).view(1, 1, 1, TILE).expand(1, 1, TILE, TILE)
    left = (1 - ramp * 2).clamp(0, 1)
    right = (ramp * 2 - 1).clamp(0, 1)
    extras = []
    if len(fine) == 2:
        slots = [StyleSlot(nets[fine[0]], 1.0, left), StyleSlot(nets[fine[1]], 1.0, right)]
        extras.append((f"masks: {fine[0]} | {fine[1]}", _pil(process(base, None, slots))))
    for a in coarse:
        for t in fine:
            slots = [StyleSlot(nets[a], 1.0), StyleSlot(nets[t], 1.0)]
            extras.append((f"{a} + {t}", _pil(process(base, None, slots))))
    rows = len(contents) + (1 if extras else 0)
    width = max(len(tiles), len(extras)) * TILE
    sheet = Image.new("RGB", (width, rows * (TILE + LABEL)), "white")
    for c, (title, col) in enumerate(tiles):
        for r, img in enumerate(col):
            sheet.paste(_label(img, title if r == 0 else ""), (c * TILE, r * (TILE + LABEL)))
    for c, (title, img) in enumerate(extras):
        sheet.paste(_label(img, title), (c * TILE, len(contents) * (TILE + LABEL)))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output)
    return output
