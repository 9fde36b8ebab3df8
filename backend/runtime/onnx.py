"""Networks run by ONNX Runtime, from the graphs ``backend.runtime.export`` writes beside the safetensors.

A graph holds only what ONNX expresses exactly, its weights read from the safetensors beside it (ONNX external
data): a restoration graph maps one crop per branch to that branch's band
output (the band mix, the clean-up strength of the photo models and the tiling stay in the pipeline); a style graph
maps (image, noise) to the raw residual (the coordinate-hash noise is ``runtime.noise``'s). Each file records the
SHA-256 of the safetensors it was exported from: a graph of other weights is refused, never run. Each also records
what the pipeline reads of the network's shape (``multiple``, a style's ``down``), so running a graph needs neither
torch nor the network's code: this module imports numpy and ONNX Runtime only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from safetensors import SafetensorError
from safetensors.numpy import load_file

from ..errors import RetexError
from ..tasks import Task
from ..tiling import ONNX_TILE
from .noise import NOISE_CELL, style_noise
from .providers import PROVIDERS, device_of, provider_list, warn_once
from .threads import get_threads

ort.disable_telemetry_events()  # Retex reports nothing anywhere: neither does the ONNX Runtime it loads

FORMAT = "2"  # bumped when the graphs' inputs, outputs or metadata change: older files are refused (re-export hint)


@dataclass(frozen=True)
class RestorationShape:
    """What the pipeline reads of a restoration network's config (``nets.restoration.RestorationConfig``)."""

    in_channels: int
    out_channels: int
    multiple: int
    grids: tuple[int, ...]


@dataclass(frozen=True)
class StyleShape:
    """What the pipeline reads of a style network's config (``nets.style.StyleConfig``)."""

    scale: str
    noise: int
    down: int
    multiple: int
    smooth_noise: int = 0  # the library's styles predate it (absent from their config)
    noise_cell: int = NOISE_CELL


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def onnx_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".onnx")


def _options() -> ort.SessionOptions:
    """Same thread count as torch: results are compared run to run on one count."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = get_threads()
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return so


def _session(graph: str | bytes, options: ort.SessionOptions, device: str) -> ort.InferenceSession:
    """A session on ``device``'s provider (then the CPU's). A provider the build lists but that cannot start here
    (ORT falls back on its own, e.g. without the CUDA libraries) is said once: the session runs on the CPU."""
    session = ort.InferenceSession(graph, options, providers=provider_list(device))
    if device_of(session.get_providers()[0]) != device:
        warn_once(f"{PROVIDERS[device]} could not start here (its libraries or driver?); running on the CPU")
    return session


def running_device(session: ort.InferenceSession) -> str:
    """The ``--device`` word of the provider that runs ``session``."""
    return device_of(session.get_providers()[0])


def _session_with_weights(
    graph: Path, weights: Path, tensors: dict[str, np.ndarray], device: str = "cpu"
) -> ort.InferenceSession:
    """The graph run on ``tensors`` instead of the file's weights: a copy of the safetensors ``weights`` with each
    tensor's bytes replaced (same header, so the same offsets), handed to ORT in memory as the graph's external data
    file. Not ORT's initializer override: with graph optimisations on, ORT 1.32 silently keeps the file's."""
    raw = bytearray(Path(weights).read_bytes())
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    for key, entry in header.items():
        if key in tensors:
            start, end = (8 + size + offset for offset in entry["data_offsets"])
            raw[start:end] = np.ascontiguousarray(tensors[key], dtype="<f4").tobytes()
    buffer = np.frombuffer(raw, np.uint8)  # referenced until the session has read it
    options = _options()
    options.add_external_initializers_from_files_in_memory([Path(weights).name], [buffer], [len(buffer)])
    return _session(graph.read_bytes(), options, device)


def _rerun(weights: Path) -> str:
    return f"re-run: python -m backend export-onnx {weights}"


def open_graph(weights: Path, kind: str, name: str, device: str = "cpu") -> tuple[ort.InferenceSession, dict[str, str]]:
    """The checked graph beside ``weights``: present, readable, of this kind and name, exported from these very
    weights (by hash) in this format; every failure is one RetexError saying which and how to fix it."""
    path = onnx_path(weights)
    if not path.is_file():
        raise RetexError(f"{path.name} is missing beside {weights} ({_rerun(weights)})")
    if not Path(weights).is_file():
        raise RetexError(f"weights file not found: {weights}")
    try:
        session = _session(str(path), _options(), device)
    except Exception as e:  # ORT raises its own pybind exception types for a truncated or foreign file
        reason = str(e).splitlines()[0][:200]
        raise RetexError(f"{path} is corrupt or not an ONNX graph ({reason}; {_rerun(weights)})") from None
    meta = dict(session.get_modelmeta().custom_metadata_map)
    if meta.get("retex_kind") != kind or meta.get("retex_name") != name or meta.get("retex_format") != FORMAT:
        raise RetexError(f"{path} is not the {kind} graph of '{name}' in format {FORMAT} ({_rerun(weights)})")
    if meta.get("retex_source_sha256") != sha256(weights):
        raise RetexError(f"{path} was exported from other weights than {Path(weights).name} ({_rerun(weights)})")
    return session, meta


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """torch.lerp's float32 formula, so a blended graph gets the very weights the torch blend gets."""
    w = np.float32(weight)
    if w < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (np.float32(1.0) - w)


class OnnxRestoration:
    """A restoration network on ONNX Runtime, with the interface of ``base.RestorationModel``."""

    runtime = "onnx"
    tile = ONNX_TILE

    def __init__(
        self,
        weights: Path,
        session: ort.InferenceSession,
        meta: dict[str, str],
        mix: np.ndarray | None = None,
        reopen: Callable[[str], ort.InferenceSession] | None = None,
    ) -> None:
        """``reopen(device)``: the same graph and weights in a new session on ``device`` (for ``on_cpu``)."""
        self.weights, self._session, self.meta = Path(weights), session, meta
        self._reopen = reopen or (lambda on: open_graph(self.weights, "restoration", meta["retex_name"], on)[0])
        self.device = running_device(session)
        config = json.loads(meta["config"])
        grids = tuple(int(b["down"]) * int(b["unshuffle"]) for b in config["branches"])
        self.config = RestorationShape(
            int(config["in_channels"]), int(config["out_channels"]), int(meta["multiple"]), grids
        )
        self._halos = [int(h) for h in json.loads(meta["halos"])]
        self.mix = np.asarray(json.loads(meta["mix"]), dtype=np.float32) if mix is None else mix
        self._inputs = [i.name for i in session.get_inputs()]

    @classmethod
    def load(cls, weights: Path, task: Task, device: str = "cpu") -> OnnxRestoration:
        session, meta = open_graph(weights, "restoration", task.name, device)
        return cls(weights, session, meta)

    @property
    def halos(self) -> list[int]:
        return self._halos

    def run_branches(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        feeds = {name: np.ascontiguousarray(c, dtype=np.float32) for name, c in zip(self._inputs, crops, strict=True)}
        return list(self._session.run(None, feeds))

    def on_cpu(self) -> OnnxRestoration:
        """This network on the CPU provider (the fallback when a GPU runs out of memory)."""
        if self.device == "cpu":
            return self
        return OnnxRestoration(self.weights, self._reopen("cpu"), self.meta, self.mix, self._reopen)

    def state(self) -> dict[str, np.ndarray]:
        """The weights this graph was exported from, by parameter name (the safetensors it is checked against)."""
        try:
            return load_file(str(self.weights))
        except (SafetensorError, OSError) as e:
            raise RetexError(f"weights file {self.weights} is unreadable ({e})") from None

    def blended(self, strength: float, base: dict[str, np.ndarray] | None) -> OnnxRestoration:
        """The photo model at clean-up ``strength`` (as ``cleanup.blend``): with no ``base`` only the band mix is
        scaled, exactly, sharing this session; otherwise every weight is interpolated toward the base's and a new
        session is built with those weights in place of the file's (the graph itself is not re-exported)."""
        if base is None:
            mix = self.mix * np.float32(strength)
            return OnnxRestoration(self.weights, self._session, self.meta, mix, self._reopen)
        own = self.state()
        mixed = {k: _lerp(v, base[k].astype(np.float32), 1.0 - strength) for k, v in own.items()}

        def reopen(on: str) -> ort.InferenceSession:
            return _session_with_weights(onnx_path(self.weights), self.weights, mixed, on)

        return OnnxRestoration(self.weights, reopen(self.device), self.meta, mixed["mix"], reopen)


class OnnxStyle:
    """A style network on ONNX Runtime, with the interface of ``base.StyleModel``."""

    runtime = "onnx"

    def __init__(self, session: ort.InferenceSession, meta: dict[str, str]) -> None:
        self._session, self.meta, self.device = session, meta, running_device(session)
        config = json.loads(meta["config"])
        self.config = StyleShape(
            str(config["scale"]),
            int(config["noise"]),
            int(meta["down"]),
            int(meta["multiple"]),
            int(config.get("smooth_noise", 0)),
            int(config.get("noise_cell", NOISE_CELL)),
        )
        self._halo, self._nominal = int(meta["halo"]), float(meta["nominal"])

    @classmethod
    def load(cls, weights: Path, name: str, device: str = "cpu") -> OnnxStyle:
        session, meta = open_graph(weights, "style", name, device)
        return cls(session, meta)

    @property
    def halo(self) -> int:
        return self._halo

    @property
    def nominal(self) -> float:
        return self._nominal

    def __call__(self, image: np.ndarray, origin: tuple[int, int] = (0, 0), seed: int = 0) -> np.ndarray:
        d = self.config.down
        h, w = image.shape[-2] // d, image.shape[-1] // d
        noise = style_noise(self.config, h, w, (origin[0] // d, origin[1] // d), seed)
        (out,) = self._session.run(None, {"image": np.ascontiguousarray(image, dtype=np.float32), "noise": noise})
        return np.asarray(out)
