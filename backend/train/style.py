"""Training one style network on one exemplar: L = L_tex(exemplar, Z) + lambda * L_perc(M, Z), Z = M + R(M).

The content M stands for a restoration result: random crops of the training photos, each batch either degraded and
restored by one of the shipped restoration networks (sr4, denoise, deblur: what the style will really sit on) or
blurred by a random amount. One network per style then serves every task: trained on blur alone (session 2), half
the library missed the Gram criterion after the sharper denoise and deblur outputs.
Interrupting leaves the library as it was (the style is written only at the end, atomically) and a checkpoint that
``resume`` continues.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm import tqdm

from ..degrade.observe import observe
from ..errors import RetexError
from ..imaging.filters import band_pass, gaussian_blur
from ..imaging.resize import imresize
from ..nets.restoration import RestorationNet
from ..nets.style import StyleConfig, StyleNet
from ..nets.vgg import load_vgg
from ..paths import RUNS_DIR, STYLES_DIR, TRAIN_DIRS, USER_STYLES_DIR
from ..pipeline import process
from ..style_grid import without_lattice
from ..styles import THUMBNAIL, check_name, save_style
from ..stylize import normalize
from ..tasks import Task, get_task
from ..weights import default_path, load_restoration, load_style_file
from .common import LoopConfig, load_checkpoint, save_checkpoint
from .data import ContentPool, PatchSampler
from .losses import LossLayers, StyleLosses

MIN_EXEMPLAR = {"fine": 64, "coarse": 128}  # smallest side, px
MAX_EXEMPLAR = 512  # larger exemplars are downscaled to this longest side (texture scale follows)
FLAT = 1 / 255  # an exemplar whose detail in the style's band has a smaller standard deviation has no texture
NOT_YET = "stopped before the texture was learned enough to use: nothing was saved"


class Finish(Exception):
    """Raised by ``on_step`` when the user has seen enough ("good enough, stop"): the style is saved as it is now
    (once ``usable_steps`` are done; before that, one message and nothing saved)."""


@dataclass
class StyleTrainConfig(LoopConfig):
    iters: int = 100000  # normally ended by ``minutes``
    minutes: float = 8.0
    lr: float = 3e-3  # 3x the restoration's: measured faster on a 150 s run (docs/design.md, "Learning fast")
    min_lr: float = 1e-4
    warmup: int = 20  # a style run is a few hundred steps: a long warm-up would eat most of it
    batch: int = 4
    patch: int = 0  # 0: 128 px for fine styles, 192 px for coarse ones
    first_patch: int = 0  # > 0: the first ``first_steps`` steps on patches this small (a quarter of the cost at half)
    first_steps: int = 200
    perceptual_weight: float = 0.01
    # Where ``nominal`` starts, and how far it may grow, in units of the exemplar's own detail (``detail_std``). At
    # the full detail the texture swamps the content and training from scratch stalls (Brodatz grass: Gram ratio 1.2
    # vs 0.44 after 160 steps at half). Left free, it kept growing (lettuce: to 3.8x in 8 minutes) while the texture
    # on photos it was not trained on got worse (Gram ratio 1.27); held within 1.25x, 0.73 (docs/design.md)
    start_nominal: float = 0.5
    max_nominal: float = 1.25
    max_grad_norm: float = 10.0
    max_blur: float = 1.5  # content blur sigma drawn from [0, max_blur]
    content_tasks: tuple[str, ...] = ("blur", "sr4", "denoise", "deblur")  # each batch's content: one of these
    checkpoint_minutes: float = 1.0
    pool: int = 8  # content chunks (batches) made at the start and served again (0: new content every step)
    refresh: int = 4  # batches served between two new chunks of the pool
    images: int = 48  # training photos decoded (a random subset; 0: all)
    start_from: str = "nearest"  # "nearest": the shipped style of the same shape closest to the exemplar; "scratch"
    schedule: str = "constant"  # any moment may be the end (a user stops when it looks right); "cosine": to ``minutes``
    usable_steps: int = 30  # the first state worth saving or previewing: before it the residual is still noise
    preview_seconds: float = 3.0  # ``on_preview`` at most this often
    data: list[str] = field(default_factory=lambda: [str(d) for d in TRAIN_DIRS])
    run_dir: str = str(RUNS_DIR / "styles")
    library: str = str(USER_STYLES_DIR)

    def lr_at(self, it: int, done: float) -> float:
        if self.schedule == "constant":
            return min(1.0, (it + 1) / self.warmup) * self.lr
        return super().lr_at(it, done)


def prepare_exemplar(rgb: torch.Tensor, scale: str) -> torch.Tensor:
    """1 x 3 x H x W on [0, 1] (grayscale already expanded), checked and brought to at most MAX_EXEMPLAR px."""
    h, w = rgb.shape[-2:]
    if min(h, w) < MIN_EXEMPLAR[scale]:
        raise RetexError(f"exemplar is {w}x{h}: a {scale} style needs at least {MIN_EXEMPLAR[scale]} px on each side")
    if max(h, w) > MAX_EXEMPLAR:
        rgb = imresize(rgb, MAX_EXEMPLAR / max(h, w)).clamp(0, 1)
    return rgb


def thumbnail(exemplar: torch.Tensor) -> torch.Tensor:
    """The centre square of the exemplar at THUMBNAIL px."""
    h, w = exemplar.shape[-2:]
    s = min(h, w)
    square = exemplar[..., (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return imresize(square, THUMBNAIL / s).clamp(0, 1)


def detail_std(exemplar: torch.Tensor, net: StyleNet) -> float:
    """The exemplar's own detail: the standard deviation of its content in the style's band."""
    lo, hi = net.config.band
    return float(band_pass(exemplar, lo, hi).std())


def widened(shipped: StyleNet, config: StyleConfig) -> StyleNet:
    """``shipped`` in the shape ``config`` when it lacks only smooth-noise channels (the library's fine styles predate
    them): its head gets zero weights for them, so it draws exactly what it drew and learning starts from there.
    Any other network is returned as it is."""
    if config.smooth_noise <= shipped.config.smooth_noise or replace(shipped.config, smooth_noise=0) != replace(
        config, smooth_noise=0
    ):
        return shipped
    state = shipped.state_dict()
    head = state["head.weight"]  # the fold puts each input channel's fold**2 copies together, the new ones last
    extra = (config.smooth_noise - shipped.config.smooth_noise) * config.fold**2
    state["head.weight"] = torch.cat([head, head.new_zeros(head.shape[0], extra, *head.shape[2:])], 1)
    net = StyleNet(config)
    net.load_state_dict(state)
    return net


def nearest_style(net: StyleNet, losses: StyleLosses, content: torch.Tensor, nominal: float) -> str:
    """Start ``net`` from the shipped style of its shape whose texture on ``content`` is already nearest the
    exemplar's (its output at the exemplar's ``nominal``, by texture loss), or leave it as it is when none is nearer;
    returns the style's name ("" for none)."""

    def distance(candidate: StyleNet) -> float:
        with torch.no_grad():
            raw = without_lattice(candidate(content).float(), candidate.config.multiple)
            z = content + normalize(raw, None, nominal)
            return float(losses.texture(losses.vgg(z, losses.layers.texture)).mean())

    best, best_name = distance(net), ""
    for path in sorted(STYLES_DIR.glob("*.safetensors")):
        shipped, _ = load_style_file(path)
        shipped = widened(shipped, net.config)
        if shipped.config == net.config and (d := distance(shipped.to(content.device))) < best:
            best, best_name, state = d, path.stem, shipped.state_dict()
    if best_name:
        net.load_state_dict(state)
    with torch.no_grad():
        net.log_nominal.fill_(math.log(nominal))
    return best_name


class ContentMaker:
    """Clean crops -> what a style meets in the product: a restoration result of a random task, or a blurred crop.

    Tasks whose weights are missing are left out (a fresh clone before training); blur is always available.
    """

    def __init__(self, tasks: tuple[str, ...], max_blur: float, gen: torch.Generator) -> None:
        self.sources: list[str | tuple[Task, RestorationNet]] = []
        for name in tasks:
            if name == "blur":
                self.sources.append(name)
                continue
            task = get_task(name)
            if default_path(task).is_file():
                self.sources.append((task, load_restoration(default_path(task), task).eval()))
        self.sources = self.sources or ["blur"]
        self.max_blur, self.gen = max_blur, gen

    def __call__(self, clean: torch.Tensor) -> torch.Tensor:
        source = self.sources[int(torch.randint(0, len(self.sources), (1,), generator=self.gen))]
        if isinstance(source, str):  # "blur", the one source that is no network
            sigmas = torch.rand(clean.shape[0], generator=self.gen) * self.max_blur
            return torch.cat([gaussian_blur(c[None], float(s)) for c, s in zip(clean, sigmas, strict=True)])
        task, net = source
        obs = observe(task, clean, self.gen)
        with torch.no_grad():
            return process(obs.image, (task, net), [], obs.mask).clamp(0, 1)


def train_style(
    exemplar: torch.Tensor,
    name: str,
    scale: str,
    cfg: StyleTrainConfig,
    info: dict | None = None,
    resume: bool = False,
    progress: bool = True,
    on_step=None,
    on_preview=None,
) -> dict:
    """Train style ``name`` from ``exemplar`` (1 x 3 x H x W on [0, 1]) and add it to ``cfg.library``.

    ``on_step(fraction, loss)`` is called after each step (the service streams it; raising from it stops the run
    and leaves the checkpoint, unless it raises ``Finish``: then the style is saved as it is; it may return seconds
    spent on other work, which the time budget does not count). ``on_preview(net)`` gets the network as learned so
    far, every ``preview_seconds`` once it is usable (the editors draw a swatch with it). Returns a summary.
    """
    check_name(name)
    exemplar = prepare_exemplar(exemplar, scale)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = cfg.resolved_device()
    bf16 = cfg.use_bf16(device)
    torch.manual_seed(cfg.seed)
    net = StyleNet(StyleConfig.new(scale)).to(device)
    detail = detail_std(exemplar, net)
    if detail < FLAT:
        raise RetexError("the exemplar is flat: it holds no texture to learn (select a textured area)")
    patch = cfg.patch or (128 if scale == "fine" else 192)
    if patch % net.config.multiple:
        raise RetexError(f"patch must be a multiple of {net.config.multiple}")
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    ckpt = Path(cfg.run_dir) / name / "checkpoint.safetensors"
    start, elapsed0 = 0, 0.0
    if resume:
        if not ckpt.is_file():
            raise RetexError(f"nothing to resume: no checkpoint at {ckpt}")
        start, elapsed0 = load_checkpoint(ckpt, net, opt)
    vgg = load_vgg(device=device)
    losses = StyleLosses(vgg, LossLayers(), exemplar.to(device))
    folders = [Path(d) for d in cfg.data if Path(d).is_dir()]
    # Without the training photos (an installed plug-in has no ../shared), the content is the exemplar itself,
    # blurred harder into smooth content: weaker generalization, but it always works.
    fallback = [] if folders else [(exemplar[0] * 255).round().to(torch.uint8)]
    if fallback:
        patch = min(patch, *exemplar.shape[-2:]) // net.config.multiple * net.config.multiple
    sampler = PatchSampler(folders, patch, seed=cfg.seed + start, images=fallback, count=cfg.images)
    gen = torch.Generator().manual_seed(cfg.seed * 7919 + start)
    # without the training photos, the exemplar blurred harder stands in for every task's output
    make_content = ContentMaker(cfg.content_tasks if folders else ("blur",), cfg.max_blur if folders else 4.0, gen)
    pool = ContentPool(lambda: make_content(sampler.batch(cfg.batch)), cfg.pool, cfg.refresh, gen) if cfg.pool else None

    def content_batch(it: int = 0) -> torch.Tensor:
        size = cfg.first_patch if pool and cfg.first_patch and it < cfg.first_steps else patch
        return (pool.batch(cfg.batch, size) if pool else make_content(sampler.batch(cfg.batch))).to(device)

    start_style = ""  # the shipped style learning started from ("" for none)
    nominal = max(cfg.start_nominal * detail, 1e-3)
    ceiling = math.log(max(cfg.max_nominal * detail, nominal))
    if not resume:
        if cfg.start_from == "nearest":
            start_style = nearest_style(net, losses, content_batch(), nominal)
        else:
            with torch.no_grad():
                net.log_nominal.fill_(math.log(nominal))
    t0 = time.monotonic() - elapsed0
    last_save, last_preview, loss_avg = time.monotonic(), -math.inf, float("nan")
    bar = tqdm(total=100, disable=not progress, desc=f"train-style {name}", dynamic_ncols=True, unit="%")
    completed = start
    try:  # interrupted (Ctrl-C, cancel): keep what was learned in the checkpoint, leave the library alone
        for it in range(start, cfg.iters):
            done = cfg.progress(it, time.monotonic() - t0)
            if done >= 1.0:
                break
            for group in opt.param_groups:
                group["lr"] = cfg.lr_at(it, done)
            content = content_batch(it)
            origin = tuple(int(v) * net.config.multiple for v in torch.randint(0, 4096, (2,), generator=gen))
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                raw = without_lattice(net(content, origin).float(), net.config.multiple)  # as the runtime runs it
                z = content + normalize(raw, None, net.log_nominal.exp())
                tex, perc = losses(z, content)
            loss = (tex + cfg.perceptual_weight * perc).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            value = loss.item()
            if not math.isfinite(value):
                continue
            # a fixed ceiling, not clip_spikes: the loss falls fast in a few hundred steps and a clip relative to
            # the running norm held it back (Brodatz grass: Gram ratio 0.55 vs 0.36 on BSD100)
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
            opt.step()
            with torch.no_grad():
                net.log_nominal.clamp_(max=ceiling)
            completed = it + 1
            loss_avg = value if math.isnan(loss_avg) else 0.95 * loss_avg + 0.05 * value
            bar.n = int(100 * done)
            bar.set_postfix({"loss": f"{loss_avg:.3e}", "it": it + 1})
            if on_step is not None:
                try:
                    elsewhere = on_step(done, loss_avg)
                except Finish:
                    if completed < cfg.usable_steps:
                        raise RetexError(NOT_YET) from None
                    break
                t0 += elsewhere or 0.0  # time spent outside learning (the service's runs between steps) is not counted
            usable = completed >= cfg.usable_steps
            if on_preview is not None and usable and time.monotonic() - last_preview >= cfg.preview_seconds:
                with torch.no_grad():
                    on_preview(net)
                last_preview = time.monotonic()
            if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
                save_checkpoint(ckpt, net, opt, completed, cfg, loss_avg, time.monotonic() - t0)
                last_save = time.monotonic()
    except BaseException:
        save_checkpoint(ckpt, net, opt, completed, cfg, loss_avg, time.monotonic() - t0)
        bar.close()
        raise
    bar.n = 100
    bar.close()
    minutes = (time.monotonic() - t0) / 60
    save_checkpoint(ckpt, net, opt, completed, cfg, loss_avg, minutes * 60)
    record = {
        **(info or {}),
        "train_minutes": round(minutes, 2),
        "iterations": completed,
        "train_loss": loss_avg,
        "device": device.type,
        "start_from": start_style,
        "train": json.dumps({k: v for k, v in asdict(cfg).items() if k not in {"data", "run_dir", "library"}}),
    }
    path = save_style(Path(cfg.library), name, net.cpu().eval(), record, thumbnail(exemplar))
    summary = {"style": name, "path": str(path), "iterations": completed, "minutes": minutes, "loss": loss_avg}
    return summary | {"start_from": start_style}
