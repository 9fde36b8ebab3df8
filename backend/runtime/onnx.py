"""Networks run by ONNX Runtime, from the graphs ``backend.runtime.export`` writes beside the safetensors.

A graph holds only what ONNX expresses exactly, its weights read from the safetensors beside it (ONNX external
data): a restoration graph maps one crop per branch to that branch's band
output (the band mix, the clean-up strength of the photo models and the tiling stay in the pipeline); a style graph
maps (image, noise) to the raw residual (the coordinate-hash noise is computed once, by ``nets.style``). Each file
records the SHA-256 of the safetensors it was exported from: a graph of other weights is refused, never run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file

from ..errors import RetexError
from ..nets.restoration import RestorationConfig
from ..nets.style import StyleConfig, coordinate_noise
from ..tasks import Task

FORMAT = "1"  # bumped when the graphs' inputs or outputs change: older files are refused with a re-export hint


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def onnx_path(weights: Path) -> Path:
    return Path(weights).with_suffix(".onnx")


def _options() -> ort.SessionOptions:
    """Same thread count as torch: results are compared run to run on one count."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = torch.get_num_threads()
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return so


def _with_weights(graph: Path, weights: dict[str, np.ndarray]) -> bytes:
    """The graph with its external weights replaced by ``weights`` (same names) and held inside it. A rewritten
    graph, not ORT's initializer override: with graph optimisations on, ORT 1.32 silently keeps the file's."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(graph), load_external_data=False)
    for init in model.graph.initializer:
        if init.name in weights:
            init.CopyFrom(numpy_helper.from_array(np.asarray(weights[init.name], dtype=np.float32), init.name))
    return model.SerializeToString()


def _rerun(weights: Path) -> str:
    return f"re-run: python -m backend export-onnx {weights}"


def open_graph(weights: Path, kind: str, name: str) -> tuple[ort.InferenceSession, dict[str, str]]:
    """The checked graph beside ``weights``: present, readable, of this kind and name, exported from these very
    weights (by hash) in this format; every failure is one RetexError saying which and how to fix it."""
    path = onnx_path(weights)
    if not path.is_file():
        raise RetexError(f"{path.name} is missing beside {weights} ({_rerun(weights)})")
    if not Path(weights).is_file():
        raise RetexError(f"weights file not found: {weights}")
    try:
        session = ort.InferenceSession(str(path), _options(), providers=["CPUExecutionProvider"])
    except Exception as e:  # ORT raises its own pybind exception types for a truncated or foreign file
        reason = str(e).splitlines()[0][:200]
        raise RetexError(f"{path} is corrupt or not an ONNX graph ({reason}; {_rerun(weights)})") from None
    meta = dict(session.get_modelmeta().custom_metadata_map)
    if meta.get("retex_kind") != kind or meta.get("retex_name") != name or meta.get("retex_format") != FORMAT:
        raise RetexError(f"{path} is not the {kind} graph of '{name}' in format {FORMAT} ({_rerun(weights)})")
    if meta.get("retex_source_sha256") != sha256(weights):
        raise RetexError(f"{path} was exported from other weights than {Path(weights).name} ({_rerun(weights)})")
    return session, meta


def _numpy(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """torch.lerp's float32 formula, so a blended graph gets the very weights the torch blend gets."""
    w = np.float32(weight)
    if w < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (np.float32(1.0) - w)


class OnnxRestoration:
    """A restoration network on ONNX Runtime, with the interface of ``base.RestorationModel``."""

    def __init__(
        self,
        weights: Path,
        session: ort.InferenceSession,
        meta: dict[str, str],
        mix: torch.Tensor | None = None,
    ) -> None:
        self.weights, self._session, self.meta = Path(weights), session, meta
        self.config = RestorationConfig.from_dict(json.loads(meta["config"]))
        self._halos = [int(h) for h in json.loads(meta["halos"])]
        self.mix = torch.tensor(json.loads(meta["mix"]), dtype=torch.float32) if mix is None else mix
        self._inputs = [i.name for i in session.get_inputs()]

    @classmethod
    def load(cls, weights: Path, task: Task) -> OnnxRestoration:
        session, meta = open_graph(weights, "restoration", task.name)
        return cls(weights, session, meta)

    @property
    def halos(self) -> list[int]:
        return self._halos

    def run_branches(self, crops: list[torch.Tensor]) -> list[torch.Tensor]:
        outs = self._session.run(None, {name: _numpy(c) for name, c in zip(self._inputs, crops, strict=True)})
        return [torch.from_numpy(o).to(crops[0].device) for o in outs]

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
            return OnnxRestoration(self.weights, self._session, self.meta, self.mix * strength)
        own = self.state()
        mixed = {k: _lerp(v, base[k].astype(np.float32), 1.0 - strength) for k, v in own.items()}
        data = _with_weights(onnx_path(self.weights), {k: v for k, v in mixed.items() if k != "mix"})
        session = ort.InferenceSession(data, _options(), providers=["CPUExecutionProvider"])
        return OnnxRestoration(self.weights, session, self.meta, torch.from_numpy(mixed["mix"]))


class OnnxStyle:
    """A style network on ONNX Runtime, with the interface of ``base.StyleModel``."""

    def __init__(self, session: ort.InferenceSession, meta: dict[str, str]) -> None:
        self._session, self.meta = session, meta
        self.config = StyleConfig.from_dict(json.loads(meta["config"]))
        self._halo, self._nominal = int(meta["halo"]), float(meta["nominal"])

    @classmethod
    def load(cls, weights: Path, name: str) -> OnnxStyle:
        session, meta = open_graph(weights, "style", name)
        return cls(session, meta)

    @property
    def halo(self) -> int:
        return self._halo

    @property
    def nominal(self) -> float:
        return self._nominal

    def __call__(self, image: torch.Tensor, origin: tuple[int, int] = (0, 0), seed: int = 0) -> torch.Tensor:
        d = self.config.down
        h, w = image.shape[-2] // d, image.shape[-1] // d
        o = (origin[0] // d, origin[1] // d)
        noise = coordinate_noise(self.config.noise, h, w, o, torch.device("cpu"), seed)
        (out,) = self._session.run(None, {"image": _numpy(image), "noise": noise.numpy()})
        return torch.from_numpy(out).to(image.device)
