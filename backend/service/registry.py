"""Networks loaded once per device and kept warm for the life of the service."""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from ..errors import RetexError
from ..nets.restoration import RestorationNet
from ..paths import WEIGHTS_DIR
from ..tasks import TASKS, Task, get_task
from ..weights import load_restoration


class Registry:
    def __init__(self, device: torch.device, weights_dir: Path = WEIGHTS_DIR) -> None:
        self.device, self.weights_dir = device, weights_dir
        self._nets: dict[str, RestorationNet] = {}
        self._lock = threading.Lock()

    def available_tasks(self) -> list[str]:
        """Tasks whose weights are installed."""
        return [name for name in TASKS if self._path(name).is_file()]

    def _path(self, task_name: str) -> Path:
        return self.weights_dir / f"{task_name}.safetensors"

    def net(self, task_name: str) -> tuple[Task, RestorationNet]:
        task = get_task(task_name)
        with self._lock:
            if task_name not in self._nets:
                self._nets[task_name] = load_restoration(self._path(task_name), task).to(self.device)
            return task, self._nets[task_name]

    def warm_up(self) -> None:
        """Load every installed network now, so the first job does not pay for it."""
        for name in self.available_tasks():
            try:
                self.net(name)
            except RetexError:
                pass  # reported when a job asks for it
