"""The report's speed sections: throughput, memory and preview latency per model, runtime and size."""

from __future__ import annotations

from pathlib import Path

from .. import plots
from .fmt import duration, load_note, num


def _mode(mode: str, runtime: str | None) -> str:
    return mode if runtime is None else f"{mode}, {runtime}"


def _both(s: dict) -> str:
    """The peak's two measurements, when the run made two (the fractions are of the better one)."""
    measured = s.get("peak_flops_measured")
    if not measured:
        return ""
    start, end = (measured[k]["fp32"] / 1e9 for k in ("start", "end"))
    return f" (fp32 the better of {start:.0f} at the start and {end:.0f} at the end: every fraction is of it)"


def speed_section(s: dict, folder: Path, rel) -> list[str]:
    m = s["machine"]
    where = f"**{m['gpu']}** (CUDA {m['cuda']}), host CPU {m['cpu']}" if m.get("gpu") else f"**{m['cpu']}**"
    flops = ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in s["peak_flops"].items())
    sizes = sorted({r["size_mp"] for r in s["runs"]})
    lines = [
        f"From `{s['_file']}` (commit {s.get('commit')}, {duration({'total': s.get('seconds', 0)})}): {where}, "
        f"{m['logical_cpus']} logical CPUs, "
        f"torch threads: {m['torch_threads']}, torch {m['torch']}, Python {m['python']}; in-process precision "
        f"{s['precision']}{', channels_last' if s.get('channels_last') else ''}"
        f"{', torch.compile' if s.get('compiled') else ''}; the service runs fp32 (threads: "
        f"{s.get('service', {}).get('threads') or 'all'}). {load_note(s)} Peak arithmetic "
        f"measured in the same run with a 2048² matrix product: {flops}{_both(s)}."
        + ("" if s.get("complete") else " **Incomplete run.**"),
        "",
        "Output megapixels per second (best of 2 or 3 runs; sizes are output megapixels, square images):",
        "",
        "| spec | params | MACs/px | mode | " + " | ".join(f"{v:g} MP" for v in sizes) + " |",
        "|---|---|---|---|" + "---|" * len(sizes),
    ]
    for spec, info in s["models"].items():
        for mode in ("in-process", "service"):
            for runtime in s.get("runtimes", [None]):  # side by side; reports from before runtimes name none
                rows = {
                    r["size_mp"]: r
                    for r in s["runs"]
                    if r["spec"] == spec and r["mode"] == mode and r.get("runtime") == runtime
                }
                if rows:
                    cells = " | ".join(num(rows[v]["mp_per_s"], ".3f") if v in rows else "–" for v in sizes)
                    lines.append(
                        f"| {spec} | {info['params']:,} | {info['macs_per_pixel']:,} | {_mode(mode, runtime)} "
                        f"| {cells} |"
                    )
    big = max(sizes) if sizes else None
    lines += [
        "",
        f"At {big:g} MP: achieved arithmetic (2 FLOP per MAC, convolutions only) as a fraction of the measured peak",
        f"({s['precision']} in-process, fp32 in the service), and peak resident memory of the process doing the work",
        "(the part earlier work left allocated in brackets):",
        "",
        "| spec | mode | seconds | GMAC/s | % of peak | peak memory (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in s["runs"]:
        if r["size_mp"] == big:
            mem = r.get("peak_cuda_mb")
            mem_text = (
                f"{mem:.0f} (CUDA)"
                if mem is not None
                else f"{num(r.get('peak_rss_mb'), '.0f')} ({num(r.get('base_rss_mb'), '.0f')})"
            )
            lines.append(
                f"| {r['spec']} | {_mode(r['mode'], r.get('runtime'))} | {r['seconds']:.2f} | {r['gmacs_per_s']:.1f} "
                f"| {100 * r['peak_fraction']:.1f} | {mem_text} |"
            )
    if s["preview"]:
        p0 = s["preview"][0]
        lines += [
            "",
            f"Time to a first result for a preview: a crop giving {p0['output']}×{p0['output']} output pixels (for "
            f"super-resolution a crop of {p0['output']}/scale input pixels) at the centre of a {p0['image_mp']:g} MP "
            "input image, with "
            '`process(region=...)` in-process and the `crop` field through the service. "First" is the first request'
            ' for that spec (in the service it includes loading its networks), "warm" the best of the next ones.',
            "",
            "| spec | mode | first (s) | warm (s) |",
            "|---|---|---|---|",
        ]
        lines += [f"| {p['spec']} | {p['mode']} | {p['first_s']:.3f} | {p['warm_s']:.3f} |" for p in s["preview"]]
        inproc = {p["spec"]: p["warm_s"] for p in s["preview"] if p["mode"] == "in-process"}
        slow = [
            f"{p['spec']} ({p['warm_s'] / inproc[p['spec']]:.0f}×)"
            for p in s["preview"]
            if p["mode"] == "service" and p["spec"] in inproc and p["warm_s"] > 3 * inproc[p["spec"]]
        ]
        if slow:
            lines += ["", f"Through the service, these previews take over 3× their in-process time: {', '.join(slow)}."]
    svc = s.get("service", {})
    if svc.get("noop_round_trip_s"):
        lines += [
            "",
            f"Service: {svc.get('start_s', 0):.2f} s from spawning `python -m backend serve` to READY; round trip of a "
            "job that changes nothing (u8 RGBA frame in, same frame out), the protocol's own cost:",
            "",
            "| image | " + " | ".join(f"{k} MP" for k in svc["noop_round_trip_s"]) + " |",
            "|---|" + "---|" * len(svc["noop_round_trip_s"]),
            "| seconds | " + " | ".join(f"{v:.4f}" for v in svc["noop_round_trip_s"].values()) + " |",
        ]
    if s["runs"]:
        stem = Path(s["_file"]).stem
        png = plots.throughput(s, folder / f"{stem}.png")
        lines += ["", f"![Output MP/s against image size]({rel(png)})"]
    return lines + [""]
