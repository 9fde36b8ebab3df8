"""The restoration training loop: random crops, the task's degradation, Adam with a cosine schedule, MSE.

Checkpoints (safetensors: weights, Adam moments, iteration) are written every few minutes so ``--resume`` picks up
where a killed run stopped; the latest weights are exported to ``weights/<task>.safetensors`` at each checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from ..degrade import observe
from ..errors import RetexError
from ..nets.restoration import RestorationNet
from ..paths import RUNS_DIR, TRAIN_DIRS
from ..pipeline import net_input
from ..tasks import Task
from ..weights import default_path, read_tensors, save_restoration, save_tensors
from .data import PatchSampler


@dataclass
class TrainConfig:
    iters: int = 20000
    batch: int = 16
    patch: int = 96  # a multiple of 16 (the network's multiple) and of every SR scale
    lr: float = 1e-3
    min_lr: float = 1e-5
    seed: int = 0
    checkpoint_minutes: float = 3.0
    data: list[str] = field(default_factory=lambda: [str(d) for d in TRAIN_DIRS])
    device: str = "auto"
    threads: int = 0  # 0: torch's default
    minutes: float = 0.0  # > 0: also end (and anneal the learning rate) by wall-clock time
    run_dir: str = str(RUNS_DIR)  # checkpoints go to run_dir/TASK/
    precision: str = "auto"  # "bf16" autocast, "fp32", or "auto": bf16 where the hardware does it natively

    def use_bf16(self, device: torch.device) -> bool:
        """bf16 autocast trains about 1.5x faster on CPUs with AVX-512 BF16 and on recent GPUs; the residual
        outputs it affects are small, so the rounding costs no measurable accuracy. Weights stay fp32."""
        if self.precision != "auto":
            return self.precision == "bf16"
        if device.type == "cuda":
            return torch.cuda.is_bf16_supported()
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


def _progress(cfg: TrainConfig, it: int, elapsed_s: float) -> float:
    """Fraction of the run done: by iterations, or by time when a time budget is set (whichever is further)."""
    done = it / cfg.iters
    if cfg.minutes > 0:
        done = max(done, elapsed_s / (cfg.minutes * 60))
    return min(done, 1.0)


def _lr_at(cfg: TrainConfig, it: int, done: float) -> float:
    warm = min(1.0, (it + 1) / min(200, max(1, cfg.iters // 20)))  # a short warm-up keeps Adam's first steps sane
    cos = 0.5 * (1 + math.cos(math.pi * done))
    return warm * (cfg.min_lr + (cfg.lr - cfg.min_lr) * cos)


def checkpoint_path(task: Task, cfg: TrainConfig) -> Path:
    return Path(cfg.run_dir) / task.name / "checkpoint.safetensors"


def _save_checkpoint(
    path: Path, net: RestorationNet, opt: torch.optim.Adam, it: int, cfg: TrainConfig, loss: float, elapsed: float
) -> None:
    tensors = {f"net.{k}": v for k, v in net.state_dict().items()}
    for i, p in enumerate(net.parameters()):
        state = opt.state.get(p, {})
        for key in ("exp_avg", "exp_avg_sq", "step"):
            if key in state:
                value = state[key]
                tensors[f"opt.{i}.{key}"] = torch.as_tensor(value).float().reshape(-1) if key == "step" else value
    meta = {
        "iteration": str(it),
        "elapsed_s": f"{elapsed:.1f}",
        "config": json.dumps(asdict(cfg)),
        "loss": f"{loss:.6g}",
        "net": json.dumps(net.config.to_dict()),
    }
    save_tensors(path, tensors, meta)


def _load_checkpoint(path: Path, net: RestorationNet, opt: torch.optim.Adam) -> tuple[int, float]:
    tensors, meta = read_tensors(path)
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    for i, p in enumerate(net.parameters()):
        if f"opt.{i}.exp_avg" in tensors:
            opt.state[p] = {
                "step": tensors[f"opt.{i}.step"].reshape(()).to(p.device),
                "exp_avg": tensors[f"opt.{i}.exp_avg"].to(p.device),
                "exp_avg_sq": tensors[f"opt.{i}.exp_avg_sq"].to(p.device),
            }
    return int(meta["iteration"]), float(meta.get("elapsed_s", 0.0))


def _clip_spikes(net: RestorationNet, grad_avg: float, factor: float = 4.0) -> float:
    """Clip the gradient norm to ``factor`` times its running average; returns the updated average.

    Small networks without normalization trained with Adam at a high rate occasionally take one huge step that
    undoes minutes of training; clipping relative to the usual norm removes those spikes without a tuned constant.
    """
    limit = factor * grad_avg if grad_avg > 0 else math.inf
    norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), limit))
    if not math.isfinite(norm):
        return grad_avg
    return norm if grad_avg == 0 else 0.99 * grad_avg + 0.01 * min(norm, limit)


def train_restoration(
    task: Task,
    cfg: TrainConfig,
    resume: bool = False,
    init: Path | None = None,
    export: Path | None = None,
    progress: bool = True,
) -> dict:
    """Train (or resume) the restoration network of ``task``; returns a summary with the final loss."""
    if cfg.patch % task.net.multiple:
        raise RetexError(f"--patch must be a multiple of {task.net.multiple}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = cfg.resolved_device()
    bf16 = cfg.use_bf16(device)
    torch.manual_seed(cfg.seed)
    net = RestorationNet(task.net).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    start, elapsed0 = 0, 0.0
    ckpt = checkpoint_path(task, cfg)
    if resume and ckpt.is_file():
        start, elapsed0 = _load_checkpoint(ckpt, net, opt)
    elif resume:
        raise RetexError(f"nothing to resume: no checkpoint at {ckpt}")
    elif init is not None:
        tensors, _ = read_tensors(init)
        net.load_state_dict(tensors)
    sampler = PatchSampler([Path(d) for d in cfg.data], cfg.patch, seed=cfg.seed + start)
    gen = torch.Generator().manual_seed(cfg.seed * 7919 + start)
    export = export or default_path(task)
    t0 = time.monotonic() - elapsed0
    last_save, loss_avg, grad_avg, it = time.monotonic(), float("nan"), 0.0, start
    bar = tqdm(
        range(start, cfg.iters),
        initial=start,
        total=cfg.iters,
        disable=not progress,
        desc=f"train {task.name}",
        dynamic_ncols=True,
    )
    for it in bar:
        done = _progress(cfg, it, time.monotonic() - t0)
        if done >= 1.0:
            break
        for group in opt.param_groups:
            group["lr"] = _lr_at(cfg, it, done)
        clean = sampler.batch(cfg.batch).to(device)  # degrade on the device: a GPU is not starved by the CPU
        obs = observe(task, clean, gen)
        x = net_input(task, obs.image, obs.mask)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = net(x)
        loss = torch.mean((pred.float() - clean) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        value = loss.item()
        if not math.isfinite(value):
            continue  # a non-finite batch would poison Adam's moments: skip it
        grad_avg = _clip_spikes(net, grad_avg)
        opt.step()
        loss_avg = value if math.isnan(loss_avg) else 0.98 * loss_avg + 0.02 * value
        post = {"loss": f"{loss_avg:.3e}", "psnr": f"{-10 * math.log10(max(loss_avg, 1e-12)):.2f}"}
        if cfg.minutes > 0:  # the time budget, not the iteration count, decides when this run ends
            post["time_left"] = f"{max(0.0, cfg.minutes * 60 - (time.monotonic() - t0)) / 60:.1f}min"
        bar.set_postfix(post)
        if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
            _save_checkpoint(ckpt, net, opt, it + 1, cfg, loss_avg, time.monotonic() - t0)
            save_restoration(export, net, task, {"iterations": it + 1, "train_loss": loss_avg})
            last_save = time.monotonic()
    bar.close()
    final_it = it if done >= 1.0 else max(it + 1, start)
    _save_checkpoint(ckpt, net, opt, final_it, cfg, loss_avg, time.monotonic() - t0)
    save_restoration(export, net, task, {"iterations": final_it, "train_loss": loss_avg})
    return {"task": task.name, "iterations": final_it, "loss": loss_avg, "weights": str(export)}
