"""The "Heal with texture" section of ``docs/benchmarks.md``, from ``docs/benchmarks/heal.json`` (``bench heal``)."""

from __future__ import annotations

COLUMNS = (
    ("inpaint", "plain inpainting"),
    ("heal", "heal"),
    ("heal@0.5", "heal, detail 0.5"),
    ("heal@1", "heal, detail 1"),
    ("heal-style", "heal, style"),
    ("gmic", "G'MIC patch"),
    ("telea", "Telea"),
)


def _cell(methods: dict, name: str) -> str:
    m = methods.get(name)
    return "–" if m is None else f"{m['psnr']:.2f} / {m['swd']:.2f}"


def heal_section(report: dict, sheet: str = "heal.png") -> list[str]:
    """Markdown lines: what was measured, one row per hole and the means, and how heal stands against the bars
    (PSNR at most 0.5 dB below plain inpainting's, SWD at most half of it)."""
    holes, mean = report["holes"], report["mean"]
    lines = [
        "## Heal with texture",
        "",
        f"`{report['command']}`: heal gives the hole {report['detail']:g} of the high-pass energy it lacks against",
        "the ring, from the ring's own detail; `heal, detail F` gives F; `heal, style` textures it with a style",
        f"({report['style']}) at {report['detail']:g}. G'MIC: {report['gmic'] or 'not installed'}.",
        f"Hole PSNR: {report['psnr']}. SWD: {report['swd']}; the original's own hole scores the last column.",
        "Each cell: PSNR (dB) / SWD (lower: the hole's texture is closer to its surroundings').",
        "`backend/bench/heal.py` says exactly how.",
        "",
        "| hole (BSD100) | " + " | ".join(label for _, label in COLUMNS) + " | original SWD | strength, steps |",
        "|---" * (len(COLUMNS) + 3) + "|",
    ]
    for h in holes:
        cells = " | ".join(_cell(h["methods"], name) for name, _ in COLUMNS)
        lines.append(
            f"| {h['texture']} ({h['image']}) | {cells} | {h['original_swd']:.2f} | "
            f"{h['strength']:.2f}, {h['learning_steps']} |"
        )
    means = " | ".join(_cell(mean, name) for name, _ in COLUMNS)
    lines += [f"| **mean** | {means} | | |", ""]
    base = mean["inpaint"]
    lines.append("Against plain inpainting (the bars for heal: PSNR at most 0.5 dB lower, SWD at most 0.5×; the SWD")
    lines.append("ratio is the mean of the per-hole ratios):")
    lines.append("")
    for name, label in COLUMNS[1:]:
        if name in mean:
            m = mean[name]
            lines.append(f"- {label}: PSNR {m['psnr'] - base['psnr']:+.2f} dB, SWD {m['swd_vs_inpaint']:.2f}×")
    lines += ["", f"![heal with texture: original (hole outlined) / each method]({sheet})", ""]
    return lines
