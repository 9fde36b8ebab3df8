"""Shared fixtures: tests run on one CPU thread so they behave the same on any machine."""

from __future__ import annotations

import torch

torch.set_num_threads(1)
