"""Protocol frames <-> arrays. The host sends what it holds (RGBA or BGRA, 8/16-bit integer or 16/32-bit float);
the result goes back in exactly the same layout so the host writes it without converting."""

from __future__ import annotations

import numpy as np

from plugin.common.protocol import CHANNELS, ErrorCode, FrameSpec, ProtocolError

from ..arrays import Array, to_numpy
from ..imaging.io import mask_weight, to_codes

DTYPES: dict[str, np.dtype] = {
    "u8": np.dtype("<u1"),
    "u16": np.dtype("<u2"),
    "f16": np.dtype("<f2"),
    "f32": np.dtype("<f4"),
}
PEAK = {"u8": 255.0, "u16": 65535.0, "f16": 1.0, "f32": 1.0}


FINITE_ROWS = 256  # rows checked at a time: the check needs no image-sized temporary
ENCODE_ROWS = 256  # rows of a result encoded at a time, for the same reason


def to_array(spec: FrameSpec, data: bytes) -> np.ndarray:
    """H x W x C float32 on [0, 1] (floats are passed through as they are), without copying the frame first. A NaN
    or infinite sample anywhere (colour, alpha or mask) is refused: one would spread through every tile it touches
    and come back as a normal-looking result."""
    arr = _samples(spec, data)
    if spec.sample in ("f16", "f32") and not all(
        np.isfinite(arr[y : y + FINITE_ROWS]).all() for y in range(0, spec.height, FINITE_ROWS)
    ):
        raise ProtocolError(ErrorCode.BAD_FRAME, f"frame '{spec.name}' has NaN or infinite samples")
    return arr.astype(np.float32) / np.float32(PEAK[spec.sample])


def _samples(spec: FrameSpec, data: bytes) -> np.ndarray:
    """The frame's samples as they are, H x W x C, without a copy."""
    return np.frombuffer(data, dtype=DTYPES[spec.sample]).reshape(spec.height, spec.width, CHANNELS[spec.channels])


def to_image(spec: FrameSpec, data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """The frame as 1 x 3 x H x W RGB and 1 x 1 x H x W alpha (None when the frame has none). Integer samples are
    reordered as they are (a byte or two each) and converted once, in place: the same values as ``to_array``'s,
    in a third of the time at 4 MP."""
    order = {"RGBA": [0, 1, 2], "RGB": [0, 1, 2], "BGRA": [2, 1, 0], "BGR": [2, 1, 0], "Y": [0, 0, 0], "A": [0, 0, 0]}
    floats = spec.sample in ("f16", "f32")
    samples = to_array(spec, data) if floats else _samples(spec, data)
    peak = np.float32(PEAK[spec.sample])

    def planar(x: np.ndarray) -> np.ndarray:
        out = np.ascontiguousarray(x)
        if floats:
            return out
        out = out.astype(np.float32)
        out /= peak
        return out

    rgb = planar(samples[..., order[spec.channels]].transpose(2, 0, 1))[None]
    return rgb, planar(samples[..., 3])[None, None] if spec.channels in ("RGBA", "BGRA") else None


def to_mask(spec: FrameSpec, data: bytes) -> np.ndarray:
    """A mask frame as 1 x 1 x H x W on [0, 1]: the single channel of Y/A frames, else as a mask file would be read
    (``mask_weight``: luminance times alpha, or the alpha of a uniform colour layer)."""
    arr = to_array(spec, data)
    if CHANNELS[spec.channels] == 1:
        m = arr[..., 0]
    else:
        m = mask_weight(*to_image(spec, data))[0, 0]
    if spec.sample in ("f16", "f32") and not (m.min() >= 0 and m.max() <= 1):
        raise ProtocolError(ErrorCode.BAD_FRAME, f"mask frame '{spec.name}' has values outside [0, 1]")
    return np.ascontiguousarray(m, dtype=np.float32)[None, None]


def from_image(spec: FrameSpec, rgb: Array, alpha: Array | None) -> tuple[FrameSpec, bytes]:
    """Encode an RGB(+alpha) result in the layout of ``spec`` (its size follows the tensor), a band of rows at a
    time: encoding a 16384² sr4 result whole took four times its size again in temporaries (the server was killed
    for memory at 20 GB); by band, the temporaries are a few tens of MB and the bytes are the same."""
    colour, a = to_numpy(rgb), None if alpha is None else to_numpy(alpha)
    h, w = colour.shape[-2:]
    out = np.empty((h, w, CHANNELS[spec.channels]), DTYPES[spec.sample])
    for y in range(0, h, ENCODE_ROWS):
        band = slice(y, min(y + ENCODE_ROWS, h))
        out[band] = _encode(spec, colour[..., band, :], None if a is None else a[..., band, :])
    return FrameSpec(w, h, spec.channels, spec.sample, spec.name), out.tobytes()


def _encode(spec: FrameSpec, rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Rows of the result as H x W x C samples of ``spec``'s sample type."""
    h, w = rgb.shape[-2:]
    planes = rgb[0].transpose(1, 2, 0)
    if spec.channels.startswith("BGR"):
        planes = planes[..., ::-1]
    if spec.channels in ("RGBA", "BGRA"):
        a = alpha[0, 0] if alpha is not None else np.ones((h, w), np.float32)
        planes = np.concatenate([planes, a[..., None]], axis=2)
    elif spec.channels in ("Y", "A"):
        planes = planes.mean(axis=2, keepdims=True)
    if spec.sample in ("u8", "u16"):  # the same rounding as image files, so results match the command line's
        return to_codes(planes, 8 if spec.sample == "u8" else 16)
    return planes
