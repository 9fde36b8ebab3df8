"""One texture slot of the docker: where (a mask source), which style (picked by its thumbnail), how strong, its
size (50-200 %) and variation (a seed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from krita import Document

from . import masks
from .common.options import SIZE
from .common.recipe import SIZE_TIP, VARIATION_TIP, Slot
from .masks import MaskSource
from .qt import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QIcon,
    QImage,
    QLabel,
    QPixmap,
    QSize,
    QSlider,
    QSpinBox,
    Qt,
    QToolButton,
    QVBoxLayout,
)

if TYPE_CHECKING:  # pyzmq is loaded late (see pump.py)
    from .common.session import Style

THUMB = 96  # px, as the backend sends them
NARROW = 8  # characters a combo box is sure to show: a long layer or style name is elided, not widening the docker


def narrow(combo: QComboBox) -> None:
    combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(NARROW)


def style_icon(style: Style) -> QIcon:
    if len(style.thumbnail) != THUMB * THUMB * 3:
        return QIcon()
    image = QImage(style.thumbnail, THUMB, THUMB, THUMB * 3, QImage.Format_RGB888).copy()  # copy: own the pixels
    return QIcon(QPixmap.fromImage(image))


class MaskCombo(QComboBox):
    """Lists the document's mask sources afresh each time it opens (Krita has no layers-changed signal)."""

    def __init__(self, document: Callable[[], Document | None], first: MaskSource = masks.SELECTION) -> None:
        super().__init__()
        self.document = document
        narrow(self)
        self.refresh(first)

    def source(self) -> MaskSource:
        return self.currentData() or masks.WHOLE

    def refresh(self, keep: MaskSource | None = None) -> None:
        keep = keep or self.source()
        self.clear()
        for src in masks.sources(self.document()):
            self.addItem(src.label, src)
        self.setCurrentIndex(max(self.findData(keep), 0))

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        self.refresh()
        super().showPopup()


class StyleCombo(QComboBox):
    def __init__(self) -> None:
        super().__init__()
        self.setIconSize(QSize(40, 40))
        narrow(self)

    def set_styles(self, styles: list[Style]) -> None:
        """Offer ``styles``. A picked style that has gone stays, marked, so Apply says so instead of silently
        using another one."""
        keep = self.currentData()
        self.blockSignals(True)
        self.clear()
        for style in styles:
            self.addItem(style_icon(style), style.name, style.name)
            tip = f"{style.scale} style, " + ("shipped with Retex" if style.builtin else "learned by you")
            self.setItemData(self.count() - 1, tip, Qt.ToolTipRole)
        if keep and self.findData(keep) < 0:
            self.addItem(f"{keep} (missing)", keep)
        self.blockSignals(False)
        self.setCurrentIndex(max(self.findData(keep), 0))


class SlotRow(QFrame):
    def __init__(self, document: Callable[[], Document | None], remove: Callable[[SlotRow], None]) -> None:
        super().__init__()
        self.setFrameShape(QFrame.StyledPanel)
        self.mask = MaskCombo(document)
        self.mask.setToolTip("Where this texture goes (grey in a layer mask = partial strength)")
        self.style = StyleCombo()
        self.strength = QSlider(Qt.Horizontal)
        self.strength.setRange(0, 200)  # per cent
        self.strength.setValue(100)
        self.strength_label = QLabel("100 %")
        self.size = QSpinBox()
        self.size.setRange(int(SIZE[0]), int(SIZE[1]))
        self.size.setSingleStep(10)
        self.size.setValue(int(SIZE[2]))
        self.size.setSuffix(" %")
        self.size.setPrefix("Size ")
        self.size.setToolTip(SIZE_TIP)
        self.variation = QSpinBox()
        self.variation.setRange(0, 99999)
        self.variation.setPrefix("Variation ")
        self.variation.setToolTip(VARIATION_TIP)
        self.scale_label = QLabel("")
        self.scale_label.setToolTip("fine: a surface texture; coarse: painting-like brush strokes")
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Remove this texture")
        close.clicked.connect(lambda: remove(self))
        self.strength.valueChanged.connect(lambda v: self.strength_label.setText(f"{v} %"))
        self.styles: list[Style] = []
        self.style.currentIndexChanged.connect(lambda _: self._show_scale())
        top, bottom, shape = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        top.addWidget(self.style, 1)
        top.addWidget(self.scale_label)
        top.addWidget(close)
        bottom.addWidget(self.mask, 1)
        bottom.addWidget(self.strength, 1)
        bottom.addWidget(self.strength_label)
        shape.addWidget(self.size, 1)
        shape.addWidget(self.variation, 1)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(4, 4, 4, 4)
        rows.addLayout(top)
        rows.addLayout(bottom)
        rows.addLayout(shape)

    def set_styles(self, styles: list[Style]) -> None:
        self.styles = styles
        self.style.set_styles(styles)
        self._show_scale()

    def _show_scale(self) -> None:
        found = next((s for s in self.styles if s.name == self.style.currentData()), None)
        self.scale_label.setText(found.scale if found else "")

    def slot(self) -> Slot:
        style, strength = self.style.currentData() or "", self.strength.value() / 100
        return Slot(style, strength, None, self.size.value() / 100, self.variation.value())
