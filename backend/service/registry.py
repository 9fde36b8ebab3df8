"""Networks loaded once per device and kept warm for the life of the service."""

from __future__ import annotations

import threading
from pathlib import Path

from ..cleanup import AUTO_STRENGTH
from ..errors import RetexError
from ..paths import WEIGHTS_DIR
from ..runtime import blend, load_restoration_model, load_style_model, plan
from ..runtime.base import RestorationModel, StyleModel
from ..styles import find_style, library_dirs, list_styles, read_thumbnail
from ..tasks import TASKS, Task, get_task


class Registry:
    def __init__(self, device: str, weights_dir: Path = WEIGHTS_DIR, runtime: str = "auto") -> None:
        self.device, self.weights_dir, self.runtime = device, weights_dir, runtime
        self._placement: tuple[str, str] | None = None
        self.style_dirs = library_dirs(weights_dir / "styles")
        self._nets: dict[str, RestorationModel] = {}
        self._blends: dict[tuple[str, float], RestorationModel] = {}
        self._styles: dict[str, tuple[float, StyleModel]] = {}  # name -> (file mtime, net): a retrained style reloads
        self._lock = threading.Lock()

    def placement(self) -> tuple[str, str]:
        """The runtime and the device (ONNX Runtime's provider, or torch's device) the networks run on: what hello
        and status report. Once loaded, the first network says where it really runs (a provider that could not
        start runs on the CPU)."""
        with self._lock:
            loaded = next(iter(self._nets.values()), None)
        if loaded is not None:
            return str(getattr(loaded, "runtime", "torch")), loaded.device
        if self._placement is None:
            self._placement = plan(self.runtime, self.device)
        return self._placement

    def styles(self) -> list[dict]:
        return list_styles(self.style_dirs)

    def style(self, name: str) -> StyleModel:
        path = find_style(name, self.style_dirs)
        mtime = path.stat().st_mtime
        with self._lock:
            cached = self._styles.get(name)
            if cached is None or cached[0] != mtime:
                self._styles[name] = (mtime, load_style_model(path, self.runtime, self.device))
            return self._styles[name][1]

    def available_tasks(self) -> list[str]:
        """Tasks whose weights are installed."""
        return [name for name in TASKS if self._path(name).is_file()]

    def _path(self, task_name: str) -> Path:
        return self.weights_dir / f"{task_name}.safetensors"

    def net(self, task_name: str, cleanup: float = AUTO_STRENGTH) -> tuple[Task, RestorationModel]:
        """The task's network; a photo model blended to the clean-up strength ``cleanup`` (cached per strength)."""
        task = get_task(task_name)
        with self._lock:
            if task_name not in self._nets:
                self._nets[task_name] = load_restoration_model(self._path(task_name), task, self.runtime, self.device)
            net = self._nets[task_name]
        if task.degradation != "real" or cleanup == 1.0:
            return task, net
        base = self.net(task.base)[1] if task.scale > 1 and task.base else None
        with self._lock:
            key = (task_name, cleanup)
            if key not in self._blends:
                self._blends = {key: blend(task, net, base, cleanup)}  # the last strength only: a slider's drag
            return task, self._blends[key]

    def warm_up(self) -> None:
        """Load every installed network, and read the style list and thumbnails, now: the first job and the first
        hello (answered on the socket loop) do not pay for it."""
        for name in self.available_tasks():
            try:
                self.net(name)
            except RetexError:
                pass  # reported when a job asks for it
        for style in self.styles():
            read_thumbnail(Path(style["thumbnail"]))
