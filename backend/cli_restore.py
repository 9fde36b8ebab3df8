"""``python -m backend restore``: one image file in, one restored file out, with its alpha and bit depth kept."""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import RetexError
from .imaging.io import output_format, read_image, read_mask, write_image
from .imaging.resize import imresize
from .pipeline import restore
from .tasks import Task
from .weights import default_path, load_restoration


def restore_file(input: Path, output: Path, task: Task, mask: Path | None = None, weights: Path | None = None) -> None:
    """Restore ``input`` into ``output`` (format from its suffix, same bit depth as the input).

    Cheap checks come first (output suffix, weights, then the image and mask) so a bad argument fails before the
    network runs; the output is written atomically, so on any failure no output file appears.
    """
    output_format(output)
    if mask is not None and not task.uses_mask:
        raise RetexError(f"--mask is only for inpainting, not for task '{task.name}'")
    net = load_restoration(weights if weights is not None else default_path(task), task)
    image = read_image(input)
    hole = None
    if task.uses_mask:
        if mask is None:
            raise RetexError("inpainting needs a mask (--mask, white = pixels to fill)")
        hole = read_mask(mask, tuple(image.rgb.shape[-2:]))
    with torch.no_grad():
        rgb = restore(net, task, image.rgb, hole)
        alpha = image.alpha
        if alpha is not None and task.scale > 1:  # alpha follows the picture's new size, smoothly
            alpha = imresize(alpha, float(task.scale)).clamp(0, 1)
    write_image(output, rgb, alpha, bits=image.bits)


def restore_file_remote(
    input: Path, output: Path, task: Task, endpoint: str, mask: Path | None = None, token: str | None = None
) -> None:
    """Like ``restore_file`` but through a running server: the pixels travel as protocol frames in the file's own
    depth, so the output is byte-identical to the in-process command."""
    from plugin.common.client import BackendError, Client
    from plugin.common.protocol import FrameSpec

    from .service.frames import from_image, to_image

    output_format(output)
    image = read_image(input)
    h, w = image.rgb.shape[-2:]
    sample = "u16" if image.bits == 16 else "u8"
    spec = FrameSpec(w, h, "RGBA" if image.alpha is not None else "RGB", sample, "image")
    frame = from_image(spec, image.rgb, image.alpha)
    hole = None
    if task.uses_mask:
        if mask is None:
            raise RetexError("inpainting needs a mask (--mask, white = pixels to fill)")
        m = read_mask(mask, (h, w))
        hole = from_image(FrameSpec(w, h, "Y", "u8", "mask"), m.expand(-1, 3, -1, -1), None)
    try:
        with Client(endpoint, token=token, timeout_s=60) as client:
            result = client.run(task.name, frame, inpaint_mask=hole)
    except BackendError as e:
        raise RetexError(e.message) from None
    rgb, alpha = to_image(result.specs[0], result.frames[0])
    write_image(output, rgb, alpha, bits=image.bits)
