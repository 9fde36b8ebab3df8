"""The restoration training loop: random crops, the task's degradation, Adam with a cosine schedule.

Loss: MSE for the seed's clean-image models (what PSNR measures); L1 + 0.05 x FFT L1 (SAFMN's recipe) for the photo
models, whose targets under realistic degradations are ambiguous and where L2 averages them into blur; an optional
perceptual term on VGG-16 relu3_3 (the seed's layer) sharpens further at some PSNR cost.

Checkpoints (safetensors: weights, Adam moments, iteration) are written every few minutes so ``--resume`` picks up
where a killed run stopped; the latest weights are exported to ``weights/<task>.safetensors`` at each checkpoint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from ..degrade.observe import observe
from ..errors import RetexError
from ..imaging.io import list_images
from ..nets.restoration import RestorationNet
from ..nets.vgg import load_vgg
from ..paths import RUNS_DIR, TRAIN_DIRS
from ..pipeline import net_input
from ..tasks import Task
from ..weights import default_path, read_tensors, save_restoration
from .common import LoopConfig, clip_spikes, load_checkpoint, save_checkpoint
from .data import PatchSampler
from .losses import LossLayers, perceptual_loss


@dataclass
class TrainConfig(LoopConfig):
    batch: int = 16
    patch: int = 96  # a multiple of 16 (the network's multiple) and of every SR scale
    data: list[str] = field(default_factory=lambda: [str(d) for d in TRAIN_DIRS])
    run_dir: str = str(RUNS_DIR)  # checkpoints go to run_dir/TASK/
    loss: str = "auto"  # "mse", "l1fft", or "auto": l1fft for the photo models, mse for the others
    fft_weight: float = 0.05
    perceptual: float = 0.0  # weight of the VGG-16 relu3_3 feature MSE (0: off)
    workers: int = 0  # processes degrading batches for the photo models (JPEG is a CPU codec): keeps a GPU fed

    def loss_kind(self, task: Task) -> str:
        if self.loss == "auto":
            return "l1fft" if task.degradation == "real" else "mse"
        if self.loss not in ("mse", "l1fft"):
            raise RetexError(f"unknown loss '{self.loss}' (choose from auto, mse, l1fft)")
        return self.loss


class RestorationLoss:
    """The pixel loss of ``cfg`` plus the optional perceptual term; returns one scalar."""

    def __init__(self, task: Task, cfg: TrainConfig, device: torch.device) -> None:
        self.kind, self.fft_weight, self.perceptual = cfg.loss_kind(task), cfg.fft_weight, cfg.perceptual
        self.vgg = load_vgg(device=device) if cfg.perceptual > 0 else None

    def __call__(self, pred: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        if self.kind == "mse":
            loss = torch.mean((pred - clean) ** 2)
        else:
            loss = torch.mean(torch.abs(pred - clean))
            spectrum = torch.fft.rfft2(pred) - torch.fft.rfft2(clean)
            loss = loss + self.fft_weight * torch.mean(torch.abs(spectrum))
        if self.vgg is not None:
            layer = LossLayers().perceptual
            with torch.no_grad():
                ref = self.vgg(clean, layer)
            loss = loss + self.perceptual * perceptual_loss(self.vgg(pred, layer), ref).mean()
        return loss


class _Batches(torch.utils.data.IterableDataset):
    """Endless (clean, observation) batches, degraded in a worker process (each worker its own seed)."""

    def __init__(self, task: Task, cfg: TrainConfig, seed: int) -> None:
        self.task, self.cfg, self.seed = task, cfg, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        seed = self.seed + 1009 * (info.id if info else 0)
        torch.set_num_threads(1)
        sampler = PatchSampler([Path(d) for d in self.cfg.data], self.cfg.patch, seed=seed)
        gen = torch.Generator().manual_seed(seed * 7919)
        while True:
            clean = sampler.batch(self.cfg.batch)
            yield clean, observe(self.task, clean, gen).image


def batches(task: Task, cfg: TrainConfig, seed: int, device: torch.device):
    """(clean, observation, mask) batches on ``device``: degraded in ``cfg.workers`` processes for the photo
    models when asked, else here (the clean degradations run on the device itself)."""
    if task.degradation == "real" and cfg.workers > 0:
        if not any(list_images(Path(d)) for d in cfg.data if Path(d).is_dir()):
            raise RetexError(f"no training images in {', '.join(map(str, cfg.data))}")
        loader = torch.utils.data.DataLoader(
            _Batches(task, cfg, seed), batch_size=None, num_workers=cfg.workers, prefetch_factor=4
        )
        for clean, obs in loader:
            yield clean.to(device, non_blocking=True), obs.to(device, non_blocking=True), None
        return
    sampler = PatchSampler([Path(d) for d in cfg.data], cfg.patch, seed=seed)
    gen = torch.Generator().manual_seed(seed * 7919)
    while True:
        clean = sampler.batch(cfg.batch).to(device)  # degrade on the device: a GPU is not starved by the CPU
        obs = observe(task, clean, gen)
        yield clean, obs.image, obs.mask


def checkpoint_path(task: Task, cfg: TrainConfig) -> Path:
    return Path(cfg.run_dir) / task.name / "checkpoint.safetensors"


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
        start, elapsed0 = load_checkpoint(ckpt, net, opt)
    elif resume:
        raise RetexError(f"nothing to resume: no checkpoint at {ckpt}")
    elif init is not None:
        tensors, _ = read_tensors(init)
        net.load_state_dict(tensors)
    source = batches(task, cfg, cfg.seed + start, device)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # Module.to takes it; stubs omit
    criterion = RestorationLoss(task, cfg, device)
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
        done = cfg.progress(it, time.monotonic() - t0)
        if done >= 1.0:
            break
        for group in opt.param_groups:
            group["lr"] = cfg.lr_at(it, done)
        clean, image, mask = next(source)
        x = net_input(task, image, mask)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            pred = net(x)
        loss = criterion(pred.float(), clean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        value = loss.item()
        if not math.isfinite(value):
            continue  # a non-finite batch would poison Adam's moments: skip it
        grad_avg = clip_spikes(net, grad_avg)
        opt.step()
        loss_avg = value if math.isnan(loss_avg) else 0.98 * loss_avg + 0.02 * value
        post = {"loss": f"{loss_avg:.3e}"}
        if criterion.kind == "mse" and criterion.vgg is None:
            post["psnr"] = f"{-10 * math.log10(max(loss_avg, 1e-12)):.2f}"
        if cfg.minutes > 0:  # the time budget, not the iteration count, decides when this run ends
            post["time_left"] = f"{max(0.0, cfg.minutes * 60 - (time.monotonic() - t0)) / 60:.1f}min"
        bar.set_postfix(post)
        if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
            save_checkpoint(ckpt, net, opt, it + 1, cfg, loss_avg, time.monotonic() - t0)
            save_restoration(export, net, task, {"iterations": it + 1, "train_loss": loss_avg})
            last_save = time.monotonic()
    bar.close()
    final_it = it if done >= 1.0 else max(it + 1, start)
    save_checkpoint(ckpt, net, opt, final_it, cfg, loss_avg, time.monotonic() - t0)
    save_restoration(export, net, task, {"iterations": final_it, "train_loss": loss_avg})
    return {"task": task.name, "iterations": final_it, "loss": loss_avg, "weights": str(export)}
