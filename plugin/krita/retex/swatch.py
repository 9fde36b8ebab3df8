"""The texture being learned, under Learn in the docker: its swatch, every few seconds once it is worth keeping, and
"Good enough, stop", which ends the learning and keeps the texture as shown. The words are ``common.flow``'s."""

from __future__ import annotations

from .common.flow import GOOD_ENOUGH, GOOD_ENOUGH_TIP, SWATCH_SOON, SWATCH_TIP, Flow
from .common.protocol import Frame
from .qt import QImage, QLabel, QPixmap, QPushButton, QVBoxLayout, QWidget


def pixmap(swatch: Frame) -> QPixmap:
    spec, data = swatch  # RGB, 8 bits (protocol: Progress.swatch)
    image = QImage(bytes(data), spec.width, spec.height, spec.width * 3, QImage.Format_RGB888)
    return QPixmap.fromImage(image.copy())  # copy: own the pixels


class LearningSwatch(QWidget):
    """Shown while a texture is learned; ``refresh`` from the docker's."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow
        self.picture = QLabel(SWATCH_SOON)
        self.picture.setWordWrap(True)
        self.picture.setToolTip(SWATCH_TIP)
        self.stop_button = QPushButton(GOOD_ENOUGH)
        self.stop_button.setToolTip(GOOD_ENOUGH_TIP)
        self.stop_button.clicked.connect(flow.finish)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addWidget(self.picture)
        rows.addWidget(self.stop_button)
        self.shown: Frame | None = None
        self.setVisible(False)

    def refresh(self) -> None:
        self.setVisible(self.flow.learning is not None)
        swatch = self.flow.swatch
        if swatch is not self.shown:
            self.shown = swatch
            if swatch is None:
                self.picture.setText(SWATCH_SOON)
            else:
                self.picture.setPixmap(pixmap(swatch))
        self.stop_button.setEnabled(self.flow.can_finish)
