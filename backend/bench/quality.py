"""``python -m backend bench quality``: every shipped model through ``eval`` and every shipped style through
``eval-style``, with the protocol and seeds that wrote ``weights/manifest.json``, into one JSON file.

The file is rewritten after each set, so Ctrl-C or a missing benchmark folder still leaves everything measured so
far; what could not be measured is named at the end on one line (exit status 2).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RetexError
from ..manifest import read_manifest, update_style_manifest
from ..paths import BENCHMARK_DIR, REPO, STYLES_DIR
from ..runtime import resolve_device
from ..styles import load_style_file
from ..tasks import get_task
from ..weights import default_path
from .evaluate import DEFAULT_SETS, EvalConfig, evaluate
from .evaluate_style import evaluate_styles, exemplar_path
from .machine import commit, machine_info, write_json

# The styles' protocol in the manifest (weights/README.md): BSD100, every image after sr4, the first 30 after
# denoise, deblur and photo-sr4 (the style's VGG losses are the slow part).
STYLE_SET = "BSD100"
STYLE_TASKS: dict[str, int | None] = {"sr4": None, "denoise": 30, "deblur": 30, "photo-sr4": 30}
DATA_HINT = "set RETEX_SHARED (the folder holding data/benchmark) or pass --data; sources: ../shared/data/SOURCES.md"
WEIGHTS_HINT = "restore the shipped weights with `git checkout -- weights/`"


@dataclass
class QualityOptions:
    data: Path = field(default_factory=lambda: BENCHMARK_DIR)
    limit: int | None = None  # first N images of each set (smoke runs; then the numbers differ from the manifest)
    sets: list[str] | None = None  # only these benchmark sets
    tasks: list[str] | None = None  # only these restoration tasks (models, and the styles' restoration step)
    styles: list[str] | None = None  # only these styles ([] for none)
    models: list[str] | None = None  # only these models ([] for none; --tasks still picks the styles' tasks)
    merge: bool = False  # keep what the existing JSON holds and this run does not measure again
    manifest: bool = False  # record the styles' scores in weights/manifest.json (as eval-style --manifest does)


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _limit(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def bench_quality(json_path: Path, opts: QualityOptions) -> dict:
    """Measure, writing ``json_path`` after every unit; raises RetexError naming whatever was missing."""
    if not opts.data.is_dir():
        raise RetexError(f"{opts.data} not found: {DATA_HINT}")
    manifest = read_manifest()
    chosen = [
        t
        for t in sorted(manifest.get("models", {}))
        if (opts.tasks is None or t in opts.tasks) and (opts.models is None or t in opts.models)
    ]
    styles = [s for s in sorted(manifest.get("styles", {})) if opts.styles is None or s in opts.styles]
    report: dict = {
        "kind": "quality",
        "commit": commit(),
        "machine": machine_info(resolve_device("cpu")),
        "data": str(opts.data),
        "limit": opts.limit,
        "complete": False,
        "seconds": {},
        "models": {},
        "styles": {},
        "missing": [],
        "differs_from_manifest": [],
    }
    if opts.merge and json_path.is_file():  # e.g. styles re-measured after retraining, the models' scores kept
        old = json.loads(json_path.read_text())
        for key in ("seconds", "models", "styles"):
            report[key] = old.get(key, {})
    start = time.perf_counter()
    try:
        for name in chosen:
            _models(report, name, opts, json_path)
        style_tasks = [t for t in STYLE_TASKS if opts.tasks is None or t in opts.tasks]
        if styles and (opts.sets is None or STYLE_SET in opts.sets):
            for task in style_tasks:
                _styles(report, styles, task, opts, json_path)
    except KeyboardInterrupt:
        report["interrupted"] = True
        _total(report, start)
        _save(json_path, report)
        raise
    _total(report, start)
    report["complete"] = not report["missing"]
    _save(json_path, report)
    if report["missing"]:
        raise RetexError(f"not measured: {'; '.join(report['missing'])} (the rest is in {json_path})")
    return report


def _total(report: dict, start: float) -> None:
    """What measuring everything in the file costs: this run's time, or with ``merge`` the sum of the parts kept
    from earlier runs and measured now, whichever is larger."""
    parts = sum(v for k, v in report["seconds"].items() if k != "total")
    report["seconds"]["total"] = round(max(parts, time.perf_counter() - start), 1)


def _models(report: dict, name: str, opts: QualityOptions, json_path: Path) -> None:
    task = get_task(name)
    weights = default_path(task)
    if not weights.is_file():
        report["missing"].append(f"{_rel(weights)} not found: {WEIGHTS_HINT}")
        return
    for set_name in DEFAULT_SETS[name].split(","):
        if opts.sets is not None and set_name not in opts.sets:
            continue
        if not (opts.data / set_name / "HR").is_dir():
            report["missing"].append(f"{opts.data / set_name / 'HR'} not found: {DATA_HINT}")
            continue
        t0 = time.perf_counter()
        r = evaluate(task, EvalConfig(sets=[set_name], data=opts.data, limit=opts.limit), weights=weights)
        entry = report["models"].setdefault(name, {k: r[k] for k in ("task", "params", "macs_per_pixel")})
        entry["degradation"] = r["degradation"]
        entry.setdefault("sets", {}).update(r["sets"])
        report["seconds"][f"eval {name} {set_name}"] = round(time.perf_counter() - t0, 1)
        _save(json_path, report)


def _styles(report: dict, names: list[str], task: str, opts: QualityOptions, json_path: Path) -> None:
    if not (opts.data / STYLE_SET / "HR").is_dir():
        report["missing"].append(f"{opts.data / STYLE_SET / 'HR'} not found: {DATA_HINT}")
        return
    ready = []
    for name in names:
        path = STYLES_DIR / f"{name}.safetensors"
        if not path.is_file():
            report["missing"].append(f"{_rel(path)} not found: {WEIGHTS_HINT}")
            continue
        net, info = load_style_file(path)
        exemplar = exemplar_path(info)
        if not exemplar.is_file():
            report["missing"].append(f"style {name}'s exemplar {exemplar} not found: {DATA_HINT}")
            continue
        ready.append(name)
        report["styles"].setdefault(
            name, {"scale": net.config.scale, "params": net.parameter_count(), "macs_per_pixel": net.macs_per_pixel()}
        )
    if not ready:
        return
    t0 = time.perf_counter()
    reports = evaluate_styles(
        ready, task, sets=[STYLE_SET], data=opts.data, limit=_limit(opts.limit, STYLE_TASKS[task])
    )
    for name, r in reports.items():
        report["styles"][name].setdefault("eval", {})[task] = r["sets"]
        if opts.manifest:  # one run serves the report and the manifest, as eval-style --manifest would
            update_style_manifest(name, task, r)
        report["styles"][name]["vgg_precision"] = r["vgg_precision"]
    report["seconds"][f"eval-style {task}"] = round(time.perf_counter() - t0, 1)
    _save(json_path, report)


def _save(json_path: Path, report: dict) -> None:
    """Write what is measured so far, with how it compares to the manifest, so any prefix of a run stands alone."""
    report["differs_from_manifest"] = differences(report, read_manifest())
    write_json(json_path, report)


def differences(report: dict, manifest: dict) -> list[str]:
    """Where this run's numbers differ from the manifest's, among sets measured on the same number of images: empty
    when the run reproduces the manifest exactly."""
    pairs = []
    for name, m in report["models"].items():
        recorded = manifest.get("models", {}).get(name, {}).get("eval", {}).get("sets", {})
        pairs += [(f"{name} on {set_name}", s, recorded.get(set_name)) for set_name, s in m["sets"].items()]
    for name, st in report["styles"].items():
        recorded = manifest.get("styles", {}).get(name, {}).get("eval", {})
        pairs += [
            (f"{name} after {task}", sets[STYLE_SET], recorded.get(task, {}).get(STYLE_SET))
            for task, sets in st.get("eval", {}).items()
        ]
    out = []
    for label, ours, ref in pairs:
        if ref is None or ref.get("images") != ours.get("images"):
            continue
        diff = [k for k, v in ours.items() if k in ref and ref[k] != v]
        if diff:
            out.append(f"{label}: {', '.join(diff)}")
    return out
