"""Menu actions (Tools > Scripts): open the Retex docker, and Apply / Preview with the docker's settings (so they
can get shortcuts). The backend stops when Krita closes."""

from __future__ import annotations

from krita import Extension, Krita, Window

from .docker import RetexDocker
from .pump import pump


def docker_of(window: Window) -> RetexDocker | None:
    return next((d for d in window.dockers() if isinstance(d, RetexDocker)), None)


def show_docker(window: Window) -> RetexDocker | None:
    docker = docker_of(window)
    if docker is not None:
        docker.show()
        docker.raise_()
    return docker


class RetexExtension(Extension):
    def setup(self) -> None:
        Krita.instance().notifier().applicationClosing.connect(pump().close)

    def createActions(self, window: Window) -> None:  # noqa: N802 (Krita's name)
        window.createAction("retex_docker", "Retex…", "tools/scripts").triggered.connect(lambda: show_docker(window))
        apply = window.createAction("retex_apply", "Retex: Apply", "tools/scripts")
        apply.triggered.connect(lambda: self._with_docker(window, preview=False))
        preview = window.createAction("retex_preview", "Retex: Preview", "tools/scripts")
        preview.triggered.connect(lambda: self._with_docker(window, preview=True))

    @staticmethod
    def _with_docker(window: Window, preview: bool) -> None:
        docker = show_docker(window)
        if docker is not None:
            (docker.panel.preview if preview else docker.panel.apply)()
