"""Shared fixtures: tests run on one CPU thread so they behave the same on any machine.

The suites that compare a server's or an editor's bytes with an in-process torch run keep both on torch
(``RETEX_RUNTIME``, the default of ``--runtime``, reaches every backend they start); ONNX Runtime against torch is
tests/backend/test_runtime.py's, which names its runtime everywhere. Against the inference-only install
(``RETEX_TEST_BACKEND_PYTHON``, no torch there) every backend and in-test reference runs on ONNX Runtime instead.
"""

from __future__ import annotations

import os

import torch

torch.set_num_threads(1)
os.environ.setdefault("RETEX_RUNTIME", "onnx" if os.environ.get("RETEX_TEST_BACKEND_PYTHON") else "torch")
