"""Draw docs/krita-docker.png: the Retex docker in the real Krita (under Xvfb) with the shipped styles, two texture
slots and a finished preview. Usage: .venv/bin/python -m tests.editors.krita.screenshot [--image PNG] [-o PNG]"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from tests.editors.krita import harness as kh

DEFAULT_IMAGE = kh.REPO.parent / "shared" / "data" / "benchmark" / "Set14" / "HR" / "flowers.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("-o", "--output", type=Path, default=kh.REPO / "docs" / "krita-docker.png")
    args = parser.parse_args()
    missing = kh.missing_tools("krita", "xvfb-run")
    if missing:
        sys.exit(f"error: {missing}")
    with tempfile.TemporaryDirectory(prefix="rks") as tmp:
        root = Path(tmp)
        config = {"python": sys.executable, "repo": str(kh.REPO), "endpoint": f"ipc://{root / 'k.sock'}"}
        shot = root / "docker.png"
        env = kh.krita_env(
            root,
            config,
            gui=True,
            extra={"RETEX_TEST_IMAGE": str(args.image.resolve()), "RETEX_SCREENSHOT": str(shot)},
        )
        proc = kh.krita_gui(env, kh.SCRIPTS / "screenshot_scene.py", root / "result.json", timeout=400)
        result = json.loads((root / "result.json").read_text()) if (root / "result.json").exists() else {}
        if proc.returncode != 0 or not shot.exists():
            sys.exit(f"error: the screenshot failed: {result.get('crash') or proc.stdout[-2000:]}")
        shutil.copyfile(shot, args.output)
    print(f"wrote {args.output} ({result.get('message')})")


if __name__ == "__main__":
    main()
