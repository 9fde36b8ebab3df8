"""Menu actions (Tools > Scripts): open the Retex docker, and Apply / Preview with the docker's settings (so they
can get shortcuts). The backend stops when Krita closes."""

from __future__ import annotations

from krita import Extension, Krita, Window

from .docker import RetexDocker
from .pump import pump
from .qt import QDockWidget


def docker_of(window: Window) -> RetexDocker | None:
    """The Retex docker Krita made for ``window`` (it makes one per window, shown or not)."""
    return next((d for d in window.qwindow().findChildren(QDockWidget) if isinstance(d, RetexDocker)), None)


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
        # ``window`` is deleted after this call: the actions look up the active window when triggered
        window.createAction("retex_docker", "Retex…", "tools/scripts").triggered.connect(self._show)
        window.createAction("retex_apply", "Retex: Apply", "tools/scripts").triggered.connect(self._apply)
        window.createAction("retex_preview", "Retex: Preview", "tools/scripts").triggered.connect(self._preview)

    @staticmethod
    def _show() -> RetexDocker | None:
        window = Krita.instance().activeWindow()
        return show_docker(window) if window is not None else None

    def _apply(self) -> None:
        docker = self._show()
        if docker is not None:
            docker.panel.apply()

    def _preview(self) -> None:
        docker = self._show()
        if docker is not None:
            docker.panel.preview()
