"""The style swatch sheet (``docs/styles.png``): one row per shipped style, so a reader can judge whether the texture
looks like its exemplar: the exemplar (its centre, at the resolution the style was trained on), the style at strength
1 on flat mid-grey (0.5: the texture alone), and on a fixed BSD100 crop restored by ``sr4``; beside them the style's
name, scale and its two fidelity figures after sr4 on BSD100 from ``weights/manifest.json`` (Gram ratio and
sliced-Wasserstein ratio, ``eval-style --manifest``; lower is closer). The last row: the restored crop without a
style, two fine textures meeting on a soft mask, and the bi-scale grid of the seed's last slide (coarse styles a, b
x fine textures 1, 2)."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from ..degrade.observe import observe
from ..errors import RetexError
from ..imaging.io import read_image, to_codes
from ..imaging.resize import imresize
from ..manifest import read_manifest
from ..paths import BENCHMARK_DIR, STYLES_DIR
from ..pipeline import process
from ..styles import list_styles, load_style
from ..stylize import StyleSlot
from ..tasks import get_task
from ..train.style import prepare_exemplar
from ..weights import default_path, load_restoration
from .evaluate_style import exemplar_path

PHOTO = 2  # the third BSD100 image (sorted), its centre: sky, foliage and an edge
TILE = 160
HEADER = 22
GAP = 6
TEXT_WIDTH = 3 * TILE
COLUMNS = ("exemplar", "on mid-grey (0.5)", "on a BSD100 crop after sr4")


def _pil(x: torch.Tensor) -> Image.Image:
    return Image.fromarray(to_codes(x[0].permute(1, 2, 0), 8).astype("uint8"))


def _centre(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return x[..., (h - size) // 2 : (h - size) // 2 + size, (w - size) // 2 : (w - size) // 2 + size]


def _photo(data: Path) -> torch.Tensor:
    """The fixed crop: sr4 from a bicubic-downscaled copy of the BSD100 image's centre, TILE x TILE."""
    task = get_task("sr4")
    net = load_restoration(default_path(task), task)
    paths = sorted((data / "BSD100" / "HR").glob("*.png"))
    if len(paths) <= PHOTO:
        raise RetexError(f"BSD100 not found in {data} (the sheet uses ../shared/data/benchmark)")
    clean = _centre(torch.from_numpy(read_image(paths[PHOTO]).rgb), TILE * 2)
    obs = observe(task, clean, torch.Generator().manual_seed(0))
    return _centre(process(obs.image, (task, net), []), TILE)


def _exemplar(name: str, info: dict, scale: str) -> tuple[torch.Tensor, str]:
    """The exemplar's centre at the resolution the style was trained on, or the shipped thumbnail without it."""
    try:
        path = exemplar_path(info)
        if path.is_file():
            ex = prepare_exemplar(torch.from_numpy(read_image(path).rgb), scale)
            if min(ex.shape[-2:]) < TILE:
                ex = imresize(ex, TILE / min(ex.shape[-2:])).clamp(0, 1)
            return _centre(ex, TILE), "exemplar"
    except RetexError:
        pass
    thumb = torch.from_numpy(read_image(STYLES_DIR / f"{name}.png").rgb)
    return imresize(thumb, TILE / min(thumb.shape[-2:])).clamp(0, 1)[..., :TILE, :TILE], "thumbnail (exemplar absent)"


def _figures(manifest: dict, name: str) -> list[str]:
    ev = manifest.get("styles", {}).get(name, {}).get("eval", {}).get("sr4", {}).get("BSD100")
    if not ev:
        return ["not measured (eval-style --manifest)"]
    swd = ev.get("swd_ratio")
    return [
        f"Gram ratio {ev['gram_ratio']:.3f}",
        f"SWD ratio {swd:.3f}" if swd is not None else "SWD ratio: not measured",
        f"(after sr4, BSD100, {ev['images']} images)",
    ]


def make_sheet(output: Path, data: Path = BENCHMARK_DIR) -> Path:
    styles = [s for s in list_styles() if s["builtin"]]
    if not styles:
        raise RetexError("no styles installed")
    photo = _photo(data)
    grey = torch.full((1, 3, TILE, TILE), 0.5)
    manifest = read_manifest()
    big = ImageFont.load_default(size=18)
    small = ImageFont.load_default(size=14)
    nets = {}
    rows = []
    for s in styles:
        net, info = load_style(s["name"])
        nets[s["name"]] = net
        ex, what = _exemplar(s["name"], info, s["scale"])
        tiles = [_pil(ex)] + [_pil(process(c, None, [StyleSlot(net, 1.0)])) for c in (grey, photo)]
        rows.append((s["name"], s["scale"], what, tiles))
    extras = [("restored (sr4), no style", _pil(photo))]
    fine = [s["name"] for s in styles if s["scale"] == "fine"][:2]
    coarse = [s["name"] for s in styles if s["scale"] == "coarse"][:2]
    ramp = torch.linspace(0, 1, TILE).view(1, 1, 1, TILE).expand(1, 1, TILE, TILE)
    if len(fine) == 2:
        left, right = (1 - ramp * 2).clamp(0, 1), (ramp * 2 - 1).clamp(0, 1)
        slots = [StyleSlot(nets[fine[0]], 1.0, left), StyleSlot(nets[fine[1]], 1.0, right)]
        extras.append((f"{fine[0]} | {fine[1]}", _pil(process(photo, None, slots))))
    for a in coarse:
        for t in fine:
            extras.append(
                (f"{a} + {t}", _pil(process(photo, None, [StyleSlot(nets[a], 1.0), StyleSlot(nets[t], 1.0)])))
            )
    width = max(3 * TILE + TEXT_WIDTH, len(extras) * TILE) + GAP * 6
    row_h = TILE + GAP
    height = HEADER + len(rows) * row_h + HEADER + TILE + GAP
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for c, title in enumerate(COLUMNS):
        draw.text((c * (TILE + GAP) + 3, 3), title, fill="black", font=small)
    for r, (name, scale, what, tiles) in enumerate(rows):
        y = HEADER + r * row_h
        for c, img in enumerate(tiles):
            sheet.paste(img, (c * (TILE + GAP), y))
        x = 3 * (TILE + GAP) + GAP
        draw.text((x, y + 8), f"{name} ({scale})", fill="black", font=big)
        lines = _figures(manifest, name) + ([what] if what != "exemplar" else [])
        for i, line in enumerate(lines):
            draw.text((x, y + 36 + 20 * i), line, fill="black", font=small)
    y = HEADER + len(rows) * row_h
    tiny = ImageFont.load_default(size=12)
    for c, (title, img) in enumerate(extras):
        draw.text((c * (TILE + GAP) + 2, y + 4), title, fill="black", font=tiny)
        sheet.paste(img, (c * (TILE + GAP), y + HEADER))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(output, optimize=True)
    return output
