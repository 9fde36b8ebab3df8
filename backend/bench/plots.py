"""The report's plots (matplotlib, PNG): where ours sits among the field's networks, how throughput scales with the
image, and how far each style moves the texture statistics toward its exemplar."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from .anchors import BICUBIC_X4_Y, FIELD_X4_PSNR, SEED_X4_GAINS  # noqa: E402

SETS = ("Set5", "Set14", "BSD100")
PNG: dict[str, Any] = {"dpi": 110, "metadata": {"Software": None}}  # no version string: same inputs, same bytes


def psnr_vs_params(quality: dict, path: Path) -> Path:
    """×4 gain over bicubic against parameters (log x): the field's networks, the seed's table, ours."""
    sr4 = quality["models"].get("sr4", {})
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharey=True)
    for ax, set_name in zip(axes, SETS, strict=True):
        for a in FIELD_X4_PSNR:
            if set_name in a.scores:
                gain = a.scores[set_name] - BICUBIC_X4_Y[set_name]
                ax.scatter(a.params, gain, c="tab:blue", s=22)
                ax.annotate(a.name, (a.params, gain), fontsize=7, xytext=(3, 2), textcoords="offset points")
        for a in SEED_X4_GAINS:
            ax.scatter(a.params, a.scores[set_name], c="tab:orange", marker="s", s=22)
            ax.annotate(a.name, (a.params, a.scores[set_name]), fontsize=7, xytext=(3, -8), textcoords="offset points")
        s = sr4.get("sets", {}).get(set_name)
        if s:
            gain = s["psnr_y"] - s["baseline_psnr_y"]
            ax.scatter(sr4["params"], gain, c="tab:red", marker="*", s=160, zorder=5)
            ax.annotate("Retex sr4", (sr4["params"], gain), fontsize=8, xytext=(5, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_title(f"×4, {set_name}")
        ax.set_xlabel("parameters")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("PSNR gain over bicubic (dB)")
    handles = [
        plt.Line2D([], [], ls="", marker="o", c="tab:blue", label="published (Y channel)"),
        plt.Line2D([], [], ls="", marker="s", c="tab:orange", label="seed slides (protocol not stated)"),
        plt.Line2D([], [], ls="", marker="*", c="tab:red", ms=12, label="Retex (Y channel, measured)"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, **PNG)
    plt.close(fig)
    return path


def throughput(speed: dict, path: Path) -> Path:
    """Output MP/s against output size (log x), in-process solid, through the service dashed."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    specs = list(dict.fromkeys(r["spec"] for r in speed["runs"]))
    colours = cast("tuple[tuple[float, float, float], ...]", cast(ListedColormap, plt.cm.tab10).colors)
    for i, spec in enumerate(specs):
        for mode, style in (("in-process", "-"), ("service", "--")):
            rows = sorted((r for r in speed["runs"] if r["spec"] == spec and r["mode"] == mode), key=_mp)
            if rows:
                label = f"{spec} ({mode})"
                ax.plot(
                    [_mp(r) for r in rows],
                    [r["mp_per_s"] for r in rows],
                    style,
                    marker="o",
                    c=colours[i % 10],
                    label=label,
                )
    ax.set_xscale("log")
    sizes = sorted({round(_mp(r), 2) for r in speed["runs"]})
    ax.set_xticks(sizes, [f"{v:g}" for v in sizes])
    ax.minorticks_off()
    ax.set_xlabel("output megapixels")
    ax.set_ylabel("output MP/s")
    machine = speed["machine"]
    ax.set_title(f"{machine.get('gpu') or machine['cpu']}, {machine['torch_threads']} threads, {speed['precision']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, **PNG)
    plt.close(fig)
    return path


def _mp(row: dict) -> float:
    return row["output"][0] * row["output"][1] / 1e6


def gram_ratios(quality: dict, path: Path) -> Path:
    """Gram ratio (texture loss to the exemplar, styled / restored; lower = closer) per style and task."""
    styles = sorted(quality["styles"].items(), key=lambda kv: (kv[1]["scale"], kv[0]))
    tasks = ("sr4", "denoise", "deblur")
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(styles) + 1.5))
    height = 0.8 / len(tasks)
    for j, task in enumerate(tasks):
        ys, xs = [], []
        for i, (_name, s) in enumerate(styles):
            r = s.get("eval", {}).get(task, {}).get("BSD100")
            if r:
                ys.append(i + (j - 1) * height)
                xs.append(r["gram_ratio"])
        ax.barh(ys, xs, height=height, label=f"after {task}")
    ax.set_yticks(range(len(styles)), [f"{n} ({s['scale']})" for n, s in styles])
    ax.invert_yaxis()
    ax.axvline(1.0, c="grey", lw=0.8)
    ax.set_xlabel("Gram ratio on BSD100 (styled / restored; 1 = no move toward the exemplar)")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, **PNG)
    plt.close(fig)
    return path
