"""Image files in and out: every way a user's file can be wrong becomes one RetexError line.

Pillow reads and writes everything 8-bit (and 16-bit grey), but it silently drops 16-bit colour PNG/TIFF to 8
bits, so those files are decoded and written with OpenCV, which keeps all 16 bits (imported for those files only:
the inference-only install has no OpenCV, and says what to install when such a file comes). Writing goes into
memory first and then atomically onto disk, so a failed write never leaves half an output file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image, ImageFile

from ..arrays import Array, to_numpy
from ..errors import RetexError
from ..files import atomic_write

# Output format by file suffix, and the extension OpenCV's encoder is asked for.
FORMATS: dict[str, tuple[str, str]] = {
    ".png": ("PNG", ".png"),
    ".jpg": ("JPEG", ".jpg"),
    ".jpeg": ("JPEG", ".jpg"),
    ".tif": ("TIFF", ".tiff"),
    ".tiff": ("TIFF", ".tiff"),
}
JPEG_QUALITY = 95
_SAVE_OPTIONS: dict[str, dict] = {
    "JPEG": {"quality": JPEG_QUALITY},
    "PNG": {"compress_level": 1},
    "TIFF": {"compression": "tiff_lzw"},
}
_RGB_MODES = {"RGB", "L", "1", "P", "CMYK"}  # converted to RGB (RGBA when they carry a transparency key)
_RGBA_MODES = {"RGBA", "LA", "PA"}
_GREY16_MODES = {"I;16", "I;16B", "I;16L", "I;16N"}  # unsigned only
_LUMA = (0.299, 0.587, 0.114)  # BT.601 weights: how bright a mask pixel looks


@dataclass
class LoadedImage:
    """A decoded file: colour and alpha as float on [0, 1], plus what is needed to write it back alike."""

    rgb: np.ndarray  # 1 x 3 x H x W float32
    alpha: np.ndarray | None  # 1 x 1 x H x W float32, None when the file has no alpha
    bits: int  # 8 or 16 per channel
    format: str  # Pillow's name for the file format, e.g. "PNG"


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def list_images(folder: Path) -> list[Path]:
    """The image files below ``folder``, in a stable order (data sets, benchmark sets)."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def read_image(path: Path) -> LoadedImage:
    """Decode an 8- or 16-bit image file of any mode Pillow can turn into RGB(A)."""
    path = Path(path)
    if path.is_dir():
        raise RetexError(f"{path} is a folder, not an image")
    if not path.is_file():
        raise RetexError(f"image not found: {path}")
    try:
        im = Image.open(path)
    except Image.DecompressionBombError as e:
        raise RetexError(f"{path} is too large to open safely ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise RetexError(f"cannot read {path}: not an image or an unsupported format ({e})") from None
    with im:
        if im.width == 0 or im.height == 0:
            raise RetexError(f"{path} is an empty image ({im.width}x{im.height})")
        rawmode = _rawmode(im)  # the tile list is gone once the image is loaded
        _load_fully(im, path)
        fmt, mode = im.format or "?", im.mode
        if mode in _GREY16_MODES:  # 16-bit grey: Pillow keeps these intact
            return _loaded(np.asarray(im).astype(np.uint16), fmt)
        if "16" in rawmode and mode in ("RGB", "RGBA"):
            return _loaded(_decode_cv2(path), fmt)
        if mode in _RGBA_MODES or (mode in _RGB_MODES and "transparency" in im.info):
            return _loaded(np.asarray(im.convert("RGBA")), fmt)
        if mode in _RGB_MODES:
            return _loaded(np.asarray(im.convert("RGB")), fmt)
    raise RetexError(f"{path} has pixel mode {mode}, which is not supported (use 8- or 16-bit RGB, RGBA or grey)")


def read_mask(path: Path, size: tuple[int, int], soft: bool = False) -> np.ndarray:
    """Read a mask as 1 x 1 x H x W for an image of ``size`` (height, width): 0/1 for inpainting (white, luminance
    > 0.5, = pixel to fill), or the soft weight on [0, 1] with ``soft`` (style masks: grey = partial strength).
    Colour and alpha count as ``mask_weight`` says.
    """
    img = read_image(path)
    h, w = img.rgb.shape[-2:]
    if (h, w) != tuple(size):
        raise RetexError(f"mask {path} is {w}x{h} but the image is {size[1]}x{size[0]}")
    value = mask_weight(img.rgb, img.alpha)
    return np.clip(value, 0, 1) if soft else (value > 0.5).astype(np.float32)


def mask_weight(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """How much a colour mask pixel selects (the one definition for mask files and protocol frames): its BT.601
    luminance times its alpha; but a uniform colour layer whose alpha carries the strokes (a mask painted on a
    transparent layer, in any colour) is its alpha."""
    if alpha is not None and bool(rgb.max() == rgb.min()):
        return alpha
    luma = _LUMA[0] * rgb[:, 0:1] + _LUMA[1] * rgb[:, 1:2] + _LUMA[2] * rgb[:, 2:3]
    return luma if alpha is None else luma * alpha


def output_format(path: Path) -> str:
    """The format a path's suffix asks for; checked before any work so a typo fails fast."""
    try:
        return FORMATS[Path(path).suffix.lower()][0]
    except KeyError:
        raise RetexError(
            f"cannot write {path}: unsupported suffix '{Path(path).suffix}' (use {', '.join(FORMATS)})"
        ) from None


def write_image(path: Path, rgb: Array, alpha: Array | None = None, bits: int = 8) -> None:
    """Write a 1 x 3 x H x W image on [0, 1] (plus optional 1 x 1 x H x W alpha), atomically.

    PNG and TIFF are written with 16 bits per channel when ``bits`` is 16; JPEG is always 8-bit and has no alpha.
    """
    path = Path(path)
    fmt = output_format(path)
    colour = to_numpy(rgb)
    if colour.ndim != 4 or tuple(colour.shape[:2]) != (1, 3):
        raise ValueError(f"expected a 1 x 3 x H x W image, got {tuple(colour.shape)}")
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, not {bits}")
    if fmt == "JPEG":
        bits, alpha = 8, None
    planes = colour[0] if alpha is None else np.concatenate([colour[0], to_numpy(alpha)[0]], axis=0)
    array = to_codes(planes.transpose(1, 2, 0), bits)
    encoded = _encode_cv2(path, array) if bits == 16 else _encode_pillow(array, fmt)
    if encoded is None:
        raise RetexError(f"cannot encode a {array.shape[1]}x{array.shape[0]} image as {fmt} for {path}")
    try:
        atomic_write(path, lambda tmp: tmp.write_bytes(encoded))
    except OSError as e:
        raise RetexError(f"cannot write {path}: {e.strerror or e}") from None


def _encode_pillow(array: np.ndarray, fmt: str) -> bytes | None:
    """8-bit RGB(A) codes as a file's bytes."""
    out = io.BytesIO()
    try:
        Image.fromarray(array, "RGBA" if array.shape[2] == 4 else "RGB").save(out, fmt, **_SAVE_OPTIONS[fmt])
    except (OSError, ValueError):
        return None
    return out.getvalue()


def _opencv(what: str) -> ModuleType:
    """OpenCV, for 16-bit colour files; its absence is one clear error."""
    try:
        import cv2
    except ImportError:
        raise RetexError(
            f"{what}: 16-bit colour files need OpenCV (.venv/bin/pip install opencv-python-headless); "
            "8-bit files and 16-bit grey need nothing more"
        ) from None
    return cv2


def _encode_cv2(path: Path, array: np.ndarray) -> bytes | None:
    """16-bit RGB(A) codes as a PNG's or TIFF's bytes (OpenCV wants BGR(A))."""
    cv2 = _opencv(f"cannot write {path}")
    bgr = np.ascontiguousarray(np.concatenate([array[..., 2::-1], array[..., 3:]], axis=2))
    try:
        ok, encoded = cv2.imencode(FORMATS[path.suffix.lower()][1], bgr)
    except cv2.error:
        ok = False
    return encoded.tobytes() if ok else None


def _rawmode(im: Image.Image) -> str:
    """How the file stores its pixels (e.g. 'RGB;16B'), which tells 16-bit colour apart from 8-bit."""
    tile = getattr(im, "tile", None)  # an ImageFile's (what read_image opens); not in Image's type
    if not tile:
        return ""
    args = tile[0].args
    return args if isinstance(args, str) else str(args[0]) if args else ""


def _load_fully(im: Image.Image, path: Path) -> None:
    """Decode every pixel now, refusing truncated files instead of padding them with grey."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise RetexError(f"cannot read {path}: the file is truncated or damaged ({e})") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode_cv2(path: Path) -> np.ndarray:
    """Decode with OpenCV (keeps 16 bits) and reorder its BGR(A) to RGB(A).

    libtiff's warnings (harmless, e.g. about alpha tags) are silenced: the command line's stderr is one line.
    """
    cv2 = _opencv(f"cannot read {path}")
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        array = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    finally:
        cv2.utils.logging.setLogLevel(previous)
    if array is None or array.dtype not in (np.uint8, np.uint16):
        raise RetexError(f"cannot decode the 16-bit image {path}")
    if array.ndim == 3 and array.shape[2] >= 3:
        array = np.concatenate([array[..., 2::-1], array[..., 3:]], axis=2)
    return array


def _loaded(array: np.ndarray, fmt: str) -> LoadedImage:
    """Turn an H x W (grey), H x W x 2 (grey + alpha), x 3 (RGB) or x 4 (RGBA) integer array into a LoadedImage."""
    bits = 16 if array.dtype == np.uint16 else 8
    x = array.astype(np.float32) / np.float32((1 << bits) - 1)
    if x.ndim == 2:
        x = x[..., None]
    x = x.transpose(2, 0, 1)[None]
    colour, alpha = (x[:, :1], x[:, 1:]) if x.shape[1] == 2 else (x[:, :3], x[:, 3:])
    return LoadedImage(
        rgb=np.ascontiguousarray(np.broadcast_to(colour, (1, 3, *colour.shape[2:]))),
        alpha=np.ascontiguousarray(alpha) if alpha.shape[1] else None,
        bits=bits,
        format=fmt,
    )


def to_codes(x: Array, bits: int) -> np.ndarray:
    """Round [0, 1] floats to the nearest code of the output depth (NaN becomes 0 rather than undefined)."""
    top = np.float32((1 << bits) - 1)
    codes = np.nan_to_num(to_numpy(x), nan=0.0)  # a copy: the steps below work in it, no temporary each
    np.clip(codes, 0, 1, out=codes)
    codes *= top
    np.rint(codes, out=codes)
    return codes.astype(np.uint16 if bits == 16 else np.uint8)
