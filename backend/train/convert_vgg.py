"""One-off conversion of ../shared/weights/vgg16_features_fp16.pth (torchvision key names, float16) into the
shipped ``weights/vgg16_features.safetensors``, so the product never unpickles anything.

    .venv/bin/python -m backend.train.convert_vgg [SOURCE.pth]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import torch

from ..nets.vgg import TORCHVISION_INDEX, VGG_PATH
from ..paths import SHARED
from ..weights import save_tensors

SOURCE = SHARED / "weights" / "vgg16_features_fp16.pth"
SOURCE_SHA256 = "481ec48fea969a44e01130db54aa79d3027a0421a6741c9f8e7aae85819eb0bf"


def convert(source: Path = SOURCE, target: Path = VGG_PATH) -> None:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:  # our own development-time file, checked before it is (restrictedly) unpickled
        raise SystemExit(f"{source}: unexpected SHA-256 {digest}")
    state = torch.load(source, weights_only=True, map_location="cpu")
    tensors = {}
    for i, index in enumerate(TORCHVISION_INDEX):
        tensors[f"convs.{i}.weight"] = state[f"features.{index}.weight"].half()
        tensors[f"convs.{i}.bias"] = state[f"features.{index}.bias"].half()
    meta = {"kind": "vgg16_features", "source": f"{source.name} sha256:{digest}", "layout": "conv1_1..conv5_3"}
    save_tensors(target, tensors, meta)
    print(f"wrote {target} ({sum(t.numel() for t in tensors.values()):,} parameters)")


if __name__ == "__main__":
    convert(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
