"""The dockable panel Krita creates for each main window."""

from __future__ import annotations

from krita import DockWidget

from .panel import Panel
from .pump import pump
from .qt import QScrollArea

DOCKER_ID = "retex_docker"


class RetexDocker(DockWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Retex")
        self.panel = Panel(pump())
        scroll = QScrollArea()  # many texture slots must not push the buttons off a small screen
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setWidget(self.panel)
        self.setWidget(scroll)

    def canvasChanged(self, canvas) -> None:  # noqa: N802 (Krita's name): the panel reads the active view when used
        self.panel.warm_up()  # an image was opened or switched to: the backend may start now
        self.panel.flow.forget()  # and what was said about the other image no longer applies
