"""The report's quality sections: the restoration models on the classic sets beside the field's published numbers,
and the styles."""

from __future__ import annotations

from pathlib import Path

from .. import plots
from ..anchors import BICUBIC_X4_Y, DENOISE_CBSD68_S25, FIELD_PROTOCOL, FIELD_X4_PSNR, SEED_X4_GAINS
from ..evaluate import DEFAULT_SETS
from ..quality import STYLE_TASKS
from .fmt import duration, num

SETS = ("Set5", "Set14", "BSD100")
OURS_PROTOCOL = "Y (BT.601), border = scale, MATLAB bicubic LR, 8-bit output"


def not_measured(q: dict) -> list[str]:
    """What a run cut short (killed, interrupted) lacks, against the protocol of ``bench quality``."""
    out = []
    for task, sets in DEFAULT_SETS.items():
        done = q["models"].get(task, {}).get("sets", {})
        out += [f"{task} on {s}" for s in sets.split(",") if s not in done]
    for task in STYLE_TASKS:
        if not any(task in st.get("eval", {}) for st in q["styles"].values()):
            out.append(f"styles after {task}")
    return out


def quality_sections(q: dict, folder: Path, rel) -> list[str]:
    models = q["models"]
    lines = ["## Quality", ""]
    status = []
    if q.get("limit"):
        status.append(f"a smoke run on the first {q['limit']} images of each set, not the full protocol")
    if not q.get("complete"):
        status.append(f"an incomplete run (not measured: {'; '.join(q.get('missing') or not_measured(q))})")
    if q.get("differs_from_manifest"):
        status.append(f"differs from weights/manifest.json at: {'; '.join(q['differs_from_manifest'])}")
    lines += [
        f"From `{q['_file']}` (commit {q.get('commit')}, {duration(q['seconds'])} on "
        f"{q['machine']['cpu']}, {q['machine']['torch_threads']} threads)"
        + (": " + "; ".join(status) + "." if status else ".")
        + (
            " Every score it holds equals the one in weights/manifest.json."
            if not q.get("limit") and q.get("differs_from_manifest") == []
            else ""
        ),
        "",
        "Protocol (code: `backend/bench/evaluate.py`, restated in [`weights/README.md`](../weights/README.md)): "
        + OURS_PROTOCOL
        + "; RGB PSNR on the same crop; every degradation seeded per set and image.",
        "",
    ]
    if "sr4" in models:
        lines += _fig5(models["sr4"])
        png = plots.psnr_vs_params(q, folder / "psnr-vs-params.png")
        lines += [f"![×4 PSNR gain over bicubic against parameters]({rel(png)})", ""]
    for name in ("sr2", "sr4"):
        if name in models:
            lines += _sr_absolute(name, models[name])
    if "denoise" in models:
        lines += _denoise(models["denoise"])
    if "deblur" in models:
        lines += _simple(models["deblur"], "Deblurring", "blurred input")
    if "inpaint" in models:
        lines += _inpaint(models["inpaint"])
    if q["styles"]:
        lines += _styles(q)
        png = plots.gram_ratios(q, folder / "gram-ratio.png")
        lines += [f"![Gram ratio per style and task]({rel(png)})", ""]
    else:
        lines += ["### Styles", "", "No style scores in this report yet (see above for what the run lacks).", ""]
    return lines


def _fig5(sr4: dict) -> list[str]:
    sets = sr4["sets"]
    lines = [
        "### Super-resolution ×4: gain over bicubic, in the layout of the seed's Figure 5",
        "",
        "PSNR gain (dB) over the bicubic upsample. Ours is measured twice, on the Y channel (the field's protocol) and",
        "on RGB, each against bicubic scored the same way; the seed's slides do not state theirs. DIV2K is not among",
        "our benchmark sets. The published networks' gains are their Y-channel PSNR minus bicubic's published",
        f"{' / '.join(f'{v:.2f}' for v in BICUBIC_X4_Y.values())} dB (Set5 / Set14 / BSD100); bicubic measured here"
        " scores "
        + " / ".join(num(sets[s]["baseline_psnr_y"]) if s in sets else "–" for s in SETS)
        + " dB (Y) and "
        + " / ".join(num(sets[s]["baseline_psnr_rgb"]) if s in sets else "–" for s in SETS)
        + " dB (RGB).",
        "",
        "| model | params | DIV2K | Set5 | Set14 | BSD100 | PSNR protocol | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for channel, key in (("Y", "psnr_y"), ("RGB", "psnr_rgb")):
        gains = " | ".join(num(sets[s][key] - sets[s][f"baseline_{key}"], "+.2f") if s in sets else "–" for s in SETS)
        protocol = OURS_PROTOCOL if channel == "Y" else OURS_PROTOCOL.replace("Y (BT.601)", "RGB")
        lines.append(f"| **Retex sr4** ({channel}) | {sr4['params']:,} | – | {gains} | {protocol} | measured here |")
    for a in SEED_X4_GAINS:
        cells = " | ".join(num(a.scores.get(s), "+.2f") for s in ("DIV2K", *SETS))
        lines.append(f"| {a.name} | {a.params_note} | {cells} | {a.protocol} | {a.source} |")
    for a in FIELD_X4_PSNR:
        cells = " | ".join(num(a.scores[s] - BICUBIC_X4_Y[s], "+.2f") if s in a.scores else "–" for s in SETS)
        lines.append(f"| {a.name} | {a.params_note} | – | {cells} | {a.protocol} | {a.source} |")
    return lines + [""]


def _sr_absolute(name: str, m: dict) -> list[str]:
    scale = m["degradation"]["scale"]
    lines = [
        f"### Super-resolution ×{scale}: absolute scores",
        "",
        f"`{name}`: {m['params']:,} parameters, {m['macs_per_pixel']:,} multiply-accumulates per output pixel.",
        "",
        "| set | images | PSNR-Y | SSIM-Y | PSNR-RGB | bicubic PSNR-Y | bicubic SSIM-Y | bicubic PSNR-RGB | gain Y "
        "| gain RGB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for set_name, s in m["sets"].items():
        lines.append(
            f"| {set_name} | {s['images']} | {s['psnr_y']:.2f} | {s['ssim_y']:.4f} | {s['psnr_rgb']:.2f} "
            f"| {s['baseline_psnr_y']:.2f} | {s['baseline_ssim_y']:.4f} | {s['baseline_psnr_rgb']:.2f} "
            f"| {s['psnr_y'] - s['baseline_psnr_y']:+.2f} | {s['psnr_rgb'] - s['baseline_psnr_rgb']:+.2f} |"
        )
    if scale == 4:
        lines += ["", f"Published ×4 networks, PSNR-Y ({FIELD_PROTOCOL}):", ""]
        lines += ["| model | params | Set5 | Set14 | BSD100 |", "|---|---|---|---|---|"]
        lines.append("| bicubic (published) | – | " + " | ".join(f"{v:.2f}" for v in BICUBIC_X4_Y.values()) + " |")
        for a in FIELD_X4_PSNR:
            lines.append(f"| {a.name} | {a.params_note} | " + " | ".join(num(a.scores.get(s)) for s in SETS) + " |")
    else:
        lines += [
            "",
            f"The notes hold no published ×{scale} numbers to compare with (peers-and-anchors.md §3.1 is ×4).",
        ]
    return lines + [""]


def _denoise(m: dict) -> list[str]:
    sigma = m["degradation"]["sigma"]
    lines = [
        f"### Denoising (Gaussian σ={sigma:g}, unclipped)",
        "",
        f"`denoise`: {m['params']:,} parameters, {m['macs_per_pixel']:,} MACs per pixel; one blind network for",
        "σ up to 50. Published numbers are RGB PSNR (the field's protocol for colour denoising).",
        "",
        "| model | params | set | images | PSNR-RGB | PSNR-Y | SSIM-Y | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for set_name, s in m["sets"].items():
        lines.append(
            f"| noisy input | – | {set_name} | {s['images']} | {s['baseline_psnr_rgb']:.2f} "
            f"| {s['baseline_psnr_y']:.2f} | {s['baseline_ssim_y']:.4f} | measured here |"
        )
        lines.append(
            f"| **Retex denoise** | {m['params']:,} | {set_name} | {s['images']} | {s['psnr_rgb']:.2f} "
            f"| {s['psnr_y']:.2f} | {s['ssim_y']:.4f} | measured here |"
        )
    if sigma == 25:
        for a in DENOISE_CBSD68_S25:
            lines.append(
                f"| {a.name} | {a.params_note} | CBSD68 | 68 | {a.scores['CBSD68']:.2f} | – | – | {a.source} |"
            )
    return lines + [""]


def _simple(m: dict, title: str, baseline: str) -> list[str]:
    d = ", ".join(f"{k} {v:g}" for k, v in m["degradation"].items())
    lines = [
        f"### {title} ({d})",
        "",
        f"`{m['task']}`: {m['params']:,} parameters, {m['macs_per_pixel']:,} MACs per pixel. The notes hold no",
        "published numbers for this degradation; the baseline is the degraded input itself.",
        "",
        f"| set | images | PSNR-Y | SSIM-Y | PSNR-RGB | {baseline} PSNR-Y | {baseline} SSIM-Y | {baseline} PSNR-RGB "
        "| gain Y |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for set_name, s in m["sets"].items():
        lines.append(
            f"| {set_name} | {s['images']} | {s['psnr_y']:.2f} | {s['ssim_y']:.4f} | {s['psnr_rgb']:.2f} "
            f"| {s['baseline_psnr_y']:.2f} | {s['baseline_ssim_y']:.4f} | {s['baseline_psnr_rgb']:.2f} "
            f"| {s['psnr_y'] - s['baseline_psnr_y']:+.2f} |"
        )
    return lines + [""]


def _inpaint(m: dict) -> list[str]:
    lines = [
        "### Inpainting (random strokes and blobs, 5–30 % of each image)",
        "",
        f"`inpaint`: {m['params']:,} parameters, {m['macs_per_pixel']:,} MACs per pixel. Hole PSNR is over the",
        "filled pixels only (RGB); OpenCV's Telea (radius 3) fills the same masks as a classical baseline.",
        "",
        "| set | images | hole fraction | hole PSNR Retex | hole PSNR Telea | PSNR-Y (whole image) | SSIM-Y |"
        " input with holes PSNR-Y |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for set_name, s in m["sets"].items():
        lines.append(
            f"| {set_name} | {s['images']} | {s['hole_fraction']:.3f} | {s['hole_psnr_rgb']:.2f} "
            f"| {s['telea_hole_psnr_rgb']:.2f} | {s['psnr_y']:.2f} | {s['ssim_y']:.4f} | {s['baseline_psnr_y']:.2f} |"
        )
    return lines + [""]


def _styles(q: dict) -> list[str]:
    tasks = ("sr4", "denoise", "deblur")
    lines = [
        "### Styles",
        "",
        "Each style at strength 1 over the whole image, after the task's restoration, on BSD100 (protocol:",
        "`backend/bench/evaluate_style.py`). Gram ratio = texture loss to the exemplar of the styled result over",
        "that of the restored result (below 1: closer to the exemplar's texture); perceptual ratio = distance to",
        "the clean image, styled over restored (what the texture costs in content); R² = linearity of the residual's",
        "standard deviation in the strength (0, 0.5, 1, 2). SWD ratio = the same ratio for the sliced-Wasserstein",
        "distance between the VGG-16 feature distributions of the image and of the exemplar (relu1_2, relu3_1,",
        "relu4_2; 64 seeded projections per layer, sorted and matched by quantiles: `backend/bench/texture_stats.py`),",
        "a second fidelity measure that sees the features' histograms, not only their second moments; lower is closer.",
        "",
        "| style | scale | params | MACs/px | Gram ratio after sr4 / denoise / deblur "
        "| SWD ratio after sr4 / denoise / deblur | images | perceptual ratio sr4 | residual std at strength 1 (R²) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in sorted(q["styles"].items(), key=lambda kv: (kv[1]["scale"], kv[0])):
        ev = {t: s.get("eval", {}).get(t, {}).get("BSD100") for t in tasks}
        grams = " / ".join(num(ev[t]["gram_ratio"] if ev[t] else None, ".3f") for t in tasks)
        swds = " / ".join(num((ev[t] or {}).get("swd_ratio"), ".3f") for t in tasks)
        images = " / ".join(str(ev[t]["images"]) if ev[t] else "–" for t in tasks)
        sr4 = ev["sr4"] or {}
        std = sr4.get("residual_std", {}).get("1.0")
        lines.append(
            f"| {name} | {s['scale']} | {s['params']:,} | {s['macs_per_pixel']:,} | {grams} | {swds} | {images} "
            f"| {num(sr4.get('perc_ratio'), '.3f')} | {num(std, '.4f')} ({num(sr4.get('std_linearity_r2'), '.4f')}) |"
        )
    return lines + [""]
