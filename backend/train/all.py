"""``train-all``: every shipped restoration model trained (or continued) at once within one wall-clock budget.

Made for a borrowed GPU: one short job, no network, no ``../shared``. ``pack-data`` writes the training images into
one folder small enough to travel with the repository (JPEG quality 90 without chroma subsampling: 39 dB,
above what the models reach, at a third of the PNG size); ``train-all`` starts one ``train`` process per task,
all at once (a small network leaves most of a GPU idle, so they share it), each continuing from the shipped
weights, and writes the new weights, one combined log and a summary into ``--out``, never into ``weights/``:
what is shipped changes only after ``eval`` here says the new file scores better.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ..errors import RetexError
from ..imaging.io import list_images
from ..paths import REPO, TRAIN_DIRS, WEIGHTS_DIR
from ..tasks import TASKS, get_task

PACK_QUALITY = 90
MIN_MINUTES = 0.02  # below this no step fits between the start and the export


def pack_data(out: Path, sources: tuple[Path, ...] = TRAIN_DIRS, quality: int = PACK_QUALITY) -> dict:
    """Copy every training image under ``sources`` into ``out`` as high-quality JPEG; returns the file count and
    the bytes written."""
    paths = [p for src in sources for p in list_images(src)]
    if not paths:
        raise RetexError(f"no training images in {', '.join(map(str, sources))}")
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in paths:
        target = out / f"{path.parent.name}-{path.stem}.jpg"
        with Image.open(path) as im:
            im.convert("RGB").save(target, quality=quality, subsampling=0)
        total += target.stat().st_size
    return {"images": len(paths), "bytes": total, "folder": str(out)}


@dataclass
class TrainAllConfig:
    minutes: float
    out: Path
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    data: list[str] = field(default_factory=lambda: [str(d) for d in TRAIN_DIRS])
    device: str = "auto"
    batch: int = 32
    patch: int = 128
    workers: int = 2  # degradation processes per photo model
    threads: int = 0  # CPU threads per process (0: torch's default)
    weights_dir: Path = WEIGHTS_DIR


def _start_weights(name: str, weights_dir: Path) -> Path:
    """Continue from the shipped weights; a photo model not shipped yet starts from its clean base."""
    path = weights_dir / f"{name}.safetensors"
    task = get_task(name)
    if path.is_file() or task.base is None:
        return path
    return weights_dir / f"{task.base}.safetensors"


def _command(name: str, cfg: TrainAllConfig) -> list[str]:
    cmd = [sys.executable, "-m", "backend", "train", name, "--minutes", str(cfg.minutes), "--iters", "10000000"]
    cmd += ["--device", cfg.device, "--batch", str(cfg.batch), "--threads", str(cfg.threads)]
    cmd += ["--init", str(_start_weights(name, cfg.weights_dir)), "--export", str(cfg.out / f"{name}.safetensors")]
    cmd += ["--run-dir", str(cfg.out / "runs"), "--workers", str(cfg.workers), "--data", *cfg.data]
    patch = cfg.patch - cfg.patch % get_task(name).net.multiple
    return [*cmd, "--patch", str(patch), "--no-progress"]


def train_all(cfg: TrainAllConfig) -> dict:
    """Run every task's training in parallel; returns (and writes to ``out/summary.json``) each one's outcome."""
    for name in cfg.tasks:
        get_task(name)
        if not _start_weights(name, cfg.weights_dir).is_file():
            raise RetexError(f"no weights to start {name} from in {cfg.weights_dir}")
    if cfg.minutes < MIN_MINUTES:
        raise RetexError(f"--minutes {cfg.minutes:g} is too short for one training step (at least {MIN_MINUTES})")
    if not any(Path(d).is_dir() and list_images(Path(d)) for d in cfg.data):
        raise RetexError(f"no training images in {', '.join(cfg.data)} (make them with pack-data)")
    cfg.out.mkdir(parents=True, exist_ok=True)
    log = (cfg.out / "train-all.log").open("a")
    started = time.monotonic()
    procs = {name: subprocess.Popen(_command(name, cfg), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True) for name in cfg.tasks}  # fmt: skip
    summary: dict[str, dict] = {}
    for name, proc in procs.items():
        output, _ = proc.communicate()
        log.write(f"== {name} (exit {proc.returncode})\n{output}\n")
        lines = [line for line in output.splitlines() if line.startswith("{")]
        summary[name] = json.loads(lines[-1]) if proc.returncode == 0 and lines else {"error": output[-2000:]}
    log.close()
    result = {"minutes": cfg.minutes, "wall_s": round(time.monotonic() - started, 1), "tasks": summary}
    (cfg.out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
