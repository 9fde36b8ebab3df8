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


def passes(methods: dict, name: str = "heal") -> str:
    """Whether ``name`` meets the bars on a hole: PSNR at most 0.5 dB below plain inpainting's, SWD at most half of
    it ("psnr", "swd", both or neither)."""
    m, base = methods[name], methods["inpaint"]
    met = [k for k, ok in (("psnr", m["psnr"] >= base["psnr"] - 0.5), ("swd", m["swd"] <= 0.5 * base["swd"])) if ok]
    return " and ".join(met) if met else "neither"


def heal_section(report: dict, others: list[dict], sheet: str = "heal.png") -> list[str]:
    """Markdown lines: what was measured, one row per hole and the means, and how heal stands against the bars
    (PSNR at most 0.5 dB below plain inpainting's, SWD at most half of it), there and on ``others``, runs on other
    hole shapes (``bench heal --seed``)."""
    holes, mean = report["holes"], report["mean"]
    lines = [
        "## Heal with texture",
        "",
        f"`{report['command']}`.",
        "`heal`: the fill textured with the ring's own detail; `share`: the share of the high-pass energy the hole",
        f"lacks against the ring that it got ({report['detail']}).",
        "`heal, detail F`: the share F.",
        f"`heal, style`: textured with a style ({report['style']}) at heal's share.",
        "`heal meets`: which of the bars below heal meets on that hole.",
        f"G'MIC: {report['gmic'] or 'not installed'}.",
        f"Hole PSNR: {report['psnr']}.",
        f"SWD: {report['swd']}; the original's own hole scores `original SWD`.",
        "Each cell: PSNR (dB) / SWD (lower: the hole's texture is closer to its surroundings').",
        "`backend/bench/heal.py` says exactly how.",
        "",
        "| hole (BSD100) | "
        + " | ".join(label for _, label in COLUMNS)
        + " | original SWD | share, steps | heal meets |",
        "|---" * (len(COLUMNS) + 4) + "|",
    ]
    for h in holes:
        cells = " | ".join(_cell(h["methods"], name) for name, _ in COLUMNS)
        lines.append(
            f"| {h['texture']} ({h['image']}) | {cells} | {h['original_swd']:.2f} | "
            f"{h['detail']:.2f}, {h['learning_steps']} | {passes(h['methods'])} |"
        )
    means = " | ".join(_cell(mean, name) for name, _ in COLUMNS)
    both = sum(passes(h["methods"]) == "psnr and swd" for h in holes)
    lines += [f"| **mean** | {means} | | | {both} of {len(holes)} both |", ""]
    beyond = [h["texture"] for h in holes if h["original_swd"] > 0.5 * h["methods"]["inpaint"]["swd"]]
    named = " and ".join(filter(None, (", ".join(beyond[:-1]), *beyond[-1:])))
    lines.append(
        f"The original's own hole is within the SWD bar on {len(holes) - len(beyond)} of {len(holes)} holes"
        + (f"; on {named} even the true texture is not." if beyond else ".")
    )
    lines.append("")
    base = mean["inpaint"]
    lines.append("Against plain inpainting (the bars for heal: PSNR at most 0.5 dB lower, SWD at most 0.5×; the SWD")
    lines.append("ratio is the mean of the per-hole ratios):")
    lines.append("")
    for name, label in COLUMNS[1:]:
        if name in mean:
            m = mean[name]
            lines.append(f"- {label}: PSNR {m['psnr'] - base['psnr']:+.2f} dB, SWD {m['swd_vs_inpaint']:.2f}×")
    for other in others:
        met = [h["texture"] for h in other["holes"] if passes(h["methods"]) == "psnr and swd"]
        lines.append("")
        lines.append(
            f"The same spots with other hole shapes (`{other['command']}`): heal meets both bars on {len(met)} of "
            f"{len(other['holes'])} holes ({', '.join(met) or 'none'})."
        )
    lines += ["", f"![heal with texture, per hole: the hole / each method's fill / the original]({sheet})", ""]
    return lines
