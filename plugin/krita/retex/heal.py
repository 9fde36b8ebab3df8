"""The docker's Heal row: the Heal button, which fills the current selection into a new layer, and which texture
the hole gets (the one around it, or a style). The work is ``common.flow``'s (``options.heal_order``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common.flow import Flow
from .common.options import heal_order
from .common.recipe import HEAL_TIP, SURROUNDINGS
from .masks import MaskSource
from .qt import QHBoxLayout, QPushButton, QSize, QWidget
from .slots import StyleCombo

if TYPE_CHECKING:  # pyzmq is loaded late (see pump.py)
    from .common.session import Style

HOLE = MaskSource("hole", label="Current selection")  # the selection, refused with a heal's words


class HealRow(QWidget):
    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow
        self.style = StyleCombo()
        self.style.setIconSize(QSize(24, 24))  # the row fits the docker's first width beside the button
        self.style.setToolTip("The texture the healed hole gets: the one around it, or a style's")
        self.button = QPushButton("Heal")
        self.button.setToolTip(HEAL_TIP)
        self.button.clicked.connect(self.heal)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.style, 1)
        self.set_styles([])

    def heal(self) -> None:
        self.flow.run(heal_order(HOLE, self.style.currentData() or ""))

    def set_styles(self, styles: list[Style]) -> None:
        """The styles after the surroundings' own texture (the default), keeping the choice."""
        keep = self.style.currentData() or ""
        self.style.set_styles(styles)
        self.style.insertItem(0, SURROUNDINGS, "")
        self.style.setCurrentIndex(max(self.style.findData(keep), 0))
