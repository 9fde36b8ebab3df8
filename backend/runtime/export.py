"""torch -> ONNX: each restoration model and style gets a graph beside its safetensors (``python -m backend
export-onnx``, and every style save). A graph is written only once ONNX Runtime reproduces torch on it (random
input, float error below ``TOLERANCE``), atomically: a failed or interrupted export leaves the old file or none.

The graph holds no copy of the weights: each weight is ONNX external data pointing at its bytes inside the
safetensors beside it (both are raw little-endian float32), so a graph is a few dozen KiB, the weights exist once
in the repository, and the graph runs exactly the safetensors' numbers.
"""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..errors import RetexError
from ..files import atomic_write
from ..nets.restoration import RestorationNet
from ..nets.style import StyleNet
from ..tasks import get_task
from ..weights import load_restoration, load_style_file, read_tensors
from .noise import style_noise

if TYPE_CHECKING:
    import onnx

OPSET = 17
TOLERANCE = 1e-4  # float outputs of the two runtimes on the export check


class _Branches(nn.Module):
    """The graph of a restoration network: one crop per branch in, each branch's band out. Holding ``branches``
    under its own name keeps the graph's weight names the state_dict's, so a photo blend can replace them."""

    def __init__(self, net: RestorationNet) -> None:
        super().__init__()
        self.branches = net.branches

    def forward(self, *crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(b(c) for b, c in zip(self.branches, crops, strict=True))


class _Residual(nn.Module):
    def __init__(self, net: StyleNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.net.residual(image, noise)


def _to_onnx(
    module: nn.Module, args: tuple[torch.Tensor, ...], inputs: list[str], outputs: list[str], meta: dict[str, str]
) -> onnx.ModelProto:
    import onnx

    axes = {name: {0: "n", 2: f"{name}_h", 3: f"{name}_w"} for name in inputs + outputs}
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python values, checked below
        torch.onnx.export(
            module,
            args,
            buf,  # type: ignore[arg-type]  # a file object is accepted (torch.onnx.export docs); the stub says path
            dynamo=False,
            opset_version=OPSET,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
        )
    model = onnx.load_from_string(buf.getvalue())
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    return model


def _fold_unshuffle(model: onnx.ModelProto, weight_name: str, fold: int) -> None:
    """``pixel_unshuffle(fold)`` then the 3x3 conv of weight ``weight_name`` -> one conv on the unfolded input
    (kernel 3*fold, stride and padding ``fold``): the same sums, without the 6-D transpose the fold exports as
    (measured: dearer than the conv that follows it, and than a SpaceToDepth before it). The weight stays the
    file's (external data, replaced by a blend): Reshape/Transpose nodes rearrange it inside the graph, and ONNX
    Runtime folds them once, at load."""
    from onnx import helper, numpy_helper

    nodes = model.graph.node
    made = {out: node for node in nodes for out in node.output}
    conv = next(node for node in nodes if node.op_type == "Conv" and node.input[1] == weight_name)
    chain, source = [], conv.input[0]
    while source in made and made[source].op_type in ("Squeeze", "Reshape", "Transpose", "Unsqueeze"):
        chain.append(made[source])
        source = made[source].input[0]
    if not any(n.op_type == "Transpose" for n in chain):
        raise RetexError(f"{weight_name}: no pixel fold before its conv in the exported graph; nothing written")
    weight = next(i for i in model.graph.initializer if i.name == conv.input[1])
    out_ch, in_ch, k = weight.dims[0], weight.dims[1] // fold**2, 3 * fold
    names = [f"{weight_name}.unfold_{part}" for part in ("split", "order", "shape", "w0", "w1", "w")]
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([out_ch, in_ch, fold, fold, 3, 3], np.int64), names[0]),
            numpy_helper.from_array(np.array([out_ch, in_ch, k, k], np.int64), names[2]),
        ]
    )
    rearrange = [  # weight[o, c*f*f + i*f + j, ky, kx] -> kernel[o, c, ky*f + i, kx*f + j]
        helper.make_node("Reshape", [conv.input[1], names[0]], [names[3]], name=names[3]),
        helper.make_node("Transpose", [names[3]], [names[4]], name=names[4], perm=[0, 1, 4, 2, 5, 3]),
        helper.make_node("Reshape", [names[4], names[2]], [names[5]], name=names[5]),
    ]
    unfolded = helper.make_node(
        "Conv",
        [source, names[5], *conv.input[2:]],
        list(conv.output),
        name=conv.name,
        kernel_shape=[k, k],
        strides=[fold, fold],
        pads=[fold] * 4,
    )
    at = list(nodes).index(conv)
    used = {i for n in nodes if n is not conv and n not in chain for i in n.input}
    dead = {id(n) for n in chain if not set(n.output) & used}
    kept = [n for n in nodes[:at] if id(n) not in dead] + rearrange + [unfolded] + list(nodes[at + 1 :])
    del model.graph.node[:]
    model.graph.node.extend(kept)
    consumed = {i for n in kept for i in n.input}
    drop = [n for n in kept if n.op_type == "Constant" and not set(n.output) & consumed]
    for node in drop:
        model.graph.node.remove(node)


def _safetensors_offsets(weights: Path) -> dict[str, tuple[str, list[int], int, int]]:
    """name -> (dtype, shape, file offset, length) of each tensor: an 8-byte header size, a JSON header, the data."""
    raw = Path(weights).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    header.pop("__metadata__", None)
    return {
        k: (v["dtype"], v["shape"], 8 + size + v["data_offsets"][0], v["data_offsets"][1] - v["data_offsets"][0])
        for k, v in header.items()
    }


def _externalize(model: onnx.ModelProto, weights: Path, prefix: str, names: set[str]) -> None:
    """Point each of ``names`` (weights, under ``prefix`` in the graph) at its bytes in the safetensors ``weights``,
    after checking those bytes are the graph's own; anything else the graph computed stays inside it."""
    import onnx
    from onnx import numpy_helper

    offsets, raw = _safetensors_offsets(weights), Path(weights).read_bytes()
    found = set()
    for init in model.graph.initializer:
        key = init.name.removeprefix(prefix)
        if key not in names or key not in offsets:
            continue
        dtype, shape, offset, length = offsets[key]
        own = numpy_helper.to_array(init)
        if dtype != "F32" or list(own.shape) != shape or own.astype("<f4").tobytes() != raw[offset : offset + length]:
            raise RetexError(f"{weights}: weight {key} of the graph differs from the file's; nothing written")
        init.ClearField("raw_data")
        init.data_location = onnx.TensorProto.EXTERNAL
        for k, v in (("location", Path(weights).name), ("offset", str(offset)), ("length", str(length))):
            init.external_data.add(key=k, value=v)
        found.add(key)
    if found != names:  # a blend replaces weights by name, and every weight must come from the file
        raise RetexError(f"{weights}: the graph lost weights {sorted(names - found)[:3]}; nothing written")


Check = tuple[dict[str, torch.Tensor], list[torch.Tensor]]  # inputs by name, torch's outputs


def _write_checked(path: Path, model: onnx.ModelProto, checks: list[Check], what: str) -> Path:
    """Write the graph atomically, once ONNX Runtime, loading it from its place beside the weights (its external
    data resolves there), reproduces torch on each check; a failed check leaves no file."""
    import onnxruntime as ort

    data = model.SerializeToString()

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        err = 0.0
        for feeds, expected in checks:
            got = session.run(None, {k: v.numpy() for k, v in feeds.items()})
            err = max(err, *(float((torch.from_numpy(g) - e).abs().max()) for g, e in zip(got, expected, strict=True)))
        if not err < TOLERANCE:
            raise RetexError(
                f"{what}: ONNX Runtime differs from torch by {err:.2e} (over {TOLERANCE:g}); nothing written"
            )

    try:
        atomic_write(path, write)
    except OSError as e:
        raise RetexError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def _sizes(multiple: int, count: int) -> list[list[tuple[int, int]]]:
    """Two checks of ``count`` distinct crop sizes, none square, the second the first transposed: every side
    differs from the trace's (``multiple`` square, the smallest crop a graph is given, so the choices the trace
    froze hold for every crop) in one of them, so a graph whose shapes were frozen fails, and the smallest side is
    checked on each axis."""
    first = [(multiple * (1 + 2 * k), multiple * (3 + 2 * k)) for k in range(count)]
    return [first, [(w, h) for h, w in first]]


def export_restoration(weights: Path) -> Path:
    """``weights`` (a restoration safetensors) -> the .onnx beside it, checked against torch."""
    from .onnx import FORMAT, onnx_path, sha256

    _, meta = read_tensors(weights)
    task = get_task(meta.get("task", "?")) if meta.get("task") else None
    if meta.get("kind") != "restoration" or task is None:
        raise RetexError(f"{weights} is not a restoration model")
    net = load_restoration(weights, task)
    m, n = net.config.multiple, len(net.branches)
    trace = [torch.rand(1, net.config.in_channels, m, m) for _ in range(n)]
    inputs, outputs = [f"x{k}" for k in range(n)], [f"band{k}" for k in range(n)]
    info = {
        "retex_kind": "restoration",
        "retex_name": task.name,
        "retex_format": FORMAT,
        "retex_source_sha256": sha256(weights),
        "config": json.dumps(net.config.to_dict()),
        "multiple": str(net.config.multiple),
        "halos": json.dumps(net.halos),
        "mix": json.dumps([float(v) for v in net.mix.detach()]),
    }
    model = _to_onnx(_Branches(net), tuple(trace), inputs, outputs, info)
    for k, spec in enumerate(net.config.branches):
        if spec.unshuffle > 1:
            _fold_unshuffle(model, f"branches.{k}.head.weight", spec.unshuffle)
    _externalize(model, weights, "", set(net.state_dict()) - {"mix"})
    checks: list[Check] = []
    for sizes in _sizes(m, n):
        crops = [torch.rand(2, net.config.in_channels, *hw) for hw in sizes]
        with torch.no_grad():
            checks.append((dict(zip(inputs, crops, strict=True)), net.run_branches(crops)))
    return _write_checked(onnx_path(weights), model, checks, str(weights))


def export_style(weights: Path, out: Path | None = None) -> Path:
    """A style's safetensors -> its .onnx (beside it, or ``out``), checked against torch."""
    from .onnx import FORMAT, onnx_path, sha256

    net, _ = load_style_file(weights)
    _, meta = read_tensors(weights)
    cfg = net.config
    info = {
        "retex_kind": "style",
        "retex_name": meta.get("name", Path(weights).stem),
        "retex_format": FORMAT,
        "retex_source_sha256": sha256(weights),
        "config": json.dumps(cfg.to_dict()),
        "multiple": str(cfg.multiple),
        "down": str(cfg.down),
        "halo": str(net.halo),
        "nominal": repr(net.nominal),
    }
    m = cfg.multiple

    def args(h: int, w: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        noise = style_noise(cfg, h // cfg.down, w // cfg.down, (3, 5))
        return torch.rand(n, 3, h, w), torch.from_numpy(noise)

    model = _to_onnx(_Residual(net), args(m, m, 1), ["image", "noise"], ["residual"], info)
    if cfg.fold > 1:
        _fold_unshuffle(model, "net.head.weight", cfg.fold)
    _externalize(model, weights, "net.", set(net.state_dict()) - {"log_nominal"})
    checks: list[Check] = []
    for sizes in _sizes(m, 2):
        image, noise = args(*sizes[0], 2)
        with torch.no_grad():
            checks.append(({"image": image, "noise": noise}, [net.residual(image, noise)]))
    return _write_checked(out or onnx_path(weights), model, checks, str(weights))


def available() -> bool:
    """Exporting needs the onnx package (to add metadata) and ONNX Runtime (to check the result)."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def export(weights: Path) -> Path:
    """The .onnx of any safetensors in ``weights/``: restoration model or style, by the file's own kind."""
    if not available():
        raise RetexError("exporting to ONNX needs the onnx and onnxruntime packages (pip install onnx onnxruntime)")
    _, meta = read_tensors(weights)
    if meta.get("kind") == "style":
        return export_style(weights)
    return export_restoration(weights)
