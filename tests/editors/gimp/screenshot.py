"""Draw docs/gimp-dialog.png: the Restore & Texture dialog as GIMP 3 shows it, listing the shipped styles with their
thumbnails, once its preview (on the selection's box) is shown.

The plug-in runs in the GIMP chroot (harness.py here), against the backend it starts with the shipped weights;
its dialog goes to a private Xvfb display on this machine (the chroot shares the network, so GTK reaches it over
TCP), and the dialog is cropped from Xvfb's frame buffer once the preview is shown (the spy notes it) and the screen
stops changing. Needs root, the chroot and Xvfb.

    .venv/bin/python tests/editors/gimp/screenshot.py docs/gimp-dialog.png
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.editors.gimp import harness as gh  # noqa: E402
from tests.service_helpers import rgba_test_image  # noqa: E402

DISPLAY = 87


def frame_buffer(path: Path) -> np.ndarray:
    """Xvfb's screen (an XWD file, 32 bits per pixel, BGRX) as H x W x 3 BGR."""
    data = path.read_bytes()
    fields = struct.unpack(">25I", data[:100])
    header, width, height, bytes_per_line, colours = fields[0], fields[4], fields[5], fields[12], fields[19]
    pixels = np.frombuffer(data, np.uint8, bytes_per_line * height, header + 12 * colours)
    return pixels.reshape(height, bytes_per_line)[:, : 4 * width].reshape(height, width, 4)[..., :3]


def drawn(screen: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box around everything drawn on the black screen (the dialog: there is no window manager)."""
    ys, xs = np.nonzero(screen.any(axis=2))
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    if gh.missing():
        sys.exit(gh.missing())
    fb = Path(tempfile.mkdtemp(prefix="retex-xvfb-"))
    xvfb = subprocess.Popen(
        ["Xvfb", f":{DISPLAY}", "-screen", "0", "1024x768x24", "-fbdir", str(fb), "-listen", "tcp", "-ac"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {**os.environ, "RETEX_USER_STYLES": str(fb / "no-user-styles")}  # the shipped library only
    harness = gh.Harness(gh.REPO / "weights", env)
    harness.start()
    try:
        photo = rgba_test_image(480, 320, 3, 255).astype(np.uint8)[..., [2, 1, 0, 3]]
        cv2.imwrite(str(harness.root / "photo.png"), photo)
        extra = {"DISPLAY": f"127.0.0.1:{DISPLAY}", "RETEX_GIMP_PHOTO": f"{harness.inside}/photo.png"}
        (harness.root / "out" / "user.json").write_text(
            json.dumps([{"point": [1020, 760]}, {"wait": 1}, {"note": "shown"}])
        )
        spy = harness.root / "out" / "spy.log"
        gimp = harness.start_gimp(gh.FILES / "dialog_scene.py", extra)
        seen: list[tuple[int, int, int, int] | None] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not (
            '"seen"' in (spy.read_text() if spy.exists() else "") and seen and seen[-1] and len(set(seen[-4:])) == 1
        ):
            time.sleep(0.5)
            seen.append(drawn(frame_buffer(fb / "Xvfb_screen0")))
        if not seen or seen[-1] is None or '"preview"' not in spy.read_text():
            sys.exit("the dialog or its preview never appeared")
        time.sleep(1)  # let the last widgets settle
        x0, y0, x1, y1 = seen[-1]
        cv2.imwrite(str(args.output), frame_buffer(fb / "Xvfb_screen0")[y0:y1, x0:x1])
        print(f"wrote {args.output} ({x1 - x0}x{y1 - y0})")
        harness.kill_plugin()
        gimp.communicate(timeout=60)
    finally:
        harness.close()
        xvfb.terminate()
        xvfb.wait()
        shutil.rmtree(fb, ignore_errors=True)


if __name__ == "__main__":
    main()
