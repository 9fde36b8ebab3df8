"""The Retex docker's contents: restoration, texture slots, Preview/Apply, progress with Cancel, learning a texture
and the backend settings. Widgets only: the work is ``common.flow``'s, through the Krita host (host.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from krita import Document, Krita, Node

from .common.flow import Flow, Order
from .common.jobs import SessionJobs
from .common.options import DEFAULT_TASK, MINUTES, STYLE_SCALES
from .common.recipe import CLEANUP_TIP, KEEP_COLOURS, KEEP_COLOURS_TIP, TASKS, Recipe, Shown, UserError
from .heal import HealRow
from .host import Active, KritaHost
from .pump import Pump
from .qt import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from .settings import BackendForm
from .slots import MaskCombo, SlotRow
from .swatch import LearningSwatch
from .training import TrainingOffer

if TYPE_CHECKING:  # pyzmq is loaded late (see pump.py)
    from .common.session import Style


def active_target() -> tuple[Document | None, Node | None]:
    doc = Krita.instance().activeDocument()
    return doc, doc.activeNode() if doc is not None else None


class Section(QWidget):
    """A block with a clickable title, collapsed until clicked."""

    def __init__(self, title: str, body: QWidget) -> None:
        super().__init__()
        self.toggle = QToolButton()
        self.toggle.setText(title)
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.RightArrow)
        self.toggle.setStyleSheet("QToolButton { border: none; }")
        self.toggle.toggled.connect(self._flip)
        self.body = body
        body.setVisible(False)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addWidget(self.toggle)
        rows.addWidget(body)

    def _flip(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.DownArrow if on else Qt.RightArrow)
        self.body.setVisible(on)


class Panel(QWidget):
    def __init__(self, pump: Pump, target: Active = active_target) -> None:
        super().__init__()
        self.pump, self.target = pump, target
        self.host = KritaHost(target)
        self.flow = Flow(self.host, SessionJobs(lambda: pump.session, pump.wake))
        self.offer = TrainingOffer(self, pump, self.flow)  # adds the training support when learning needs it
        self._generation = -1
        self.rows: list[SlotRow] = []

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.task = QComboBox()
        for key, label in TASKS.items():
            self.task.addItem(label, key)
        self.task.setCurrentIndex(self.task.findData(DEFAULT_TASK))
        # the photo tasks' long labels would widen the docker past its usual width and clip the rows below
        self.task.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.task.setMinimumContentsLength(12)
        self.hole = MaskCombo(self._document)
        self.hole_label = QLabel("Fill")
        self.cleanup = QSlider(Qt.Horizontal)
        self.cleanup.setRange(0, 100)  # per cent
        self.cleanup.setValue(50)
        self.cleanup_value = QLabel("50 %")
        self.cleanup.valueChanged.connect(lambda v: self.cleanup_value.setText(f"{v} %"))
        self.cleanup_auto = QCheckBox("Auto")
        self.cleanup_auto.setToolTip("Let the network judge how much noise and JPEG the image has")
        self.cleanup_auto.toggled.connect(self._follow_auto)
        self.cleanup_auto.setChecked(True)
        self.cleanup_row = QWidget()
        self.cleanup_row.setToolTip(CLEANUP_TIP)
        cleanup_box = QHBoxLayout(self.cleanup_row)
        cleanup_box.setContentsMargins(0, 0, 0, 0)
        cleanup_box.addWidget(self.cleanup, 1)
        cleanup_box.addWidget(self.cleanup_value)
        cleanup_box.addWidget(self.cleanup_auto)
        self.cleanup_label = QLabel("Clean-up")
        self.cleanup_label.setToolTip(CLEANUP_TIP)
        self.task.currentIndexChanged.connect(lambda _: (self._follow_task(), self.flow.forget()))
        self.slot_box = QVBoxLayout()
        add = QPushButton("Add texture")
        add.clicked.connect(lambda: self.add_slot())
        self.preserve = QCheckBox(KEEP_COLOURS)
        self.preserve.setToolTip(KEEP_COLOURS_TIP)
        self.preview_button, self.apply_button = QPushButton("Preview"), QPushButton("Apply")
        self.preview_button.setToolTip("Run on the selection's bounding box into the 'Retex preview' layer")
        self.apply_button.setToolTip("A new layer above this one (super-resolution: a new image)")
        self.preview_button.clicked.connect(self.preview)
        self.apply_button.clicked.connect(self.apply)
        self.heal_row = HealRow(self.flow)  # Heal with texture: the selection, into a new layer
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.message = QLabel()
        self.message.setWordWrap(True)

        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)  # a narrow dock puts the field under its label
        form.addRow("Restoration", self.task)
        form.addRow(self.cleanup_label, self.cleanup_row)
        form.addRow(self.hole_label, self.hole)
        buttons, bar = QHBoxLayout(), QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.apply_button)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(QLabel("Textures"))
        layout.addLayout(self.slot_box)
        layout.addWidget(add)
        layout.addWidget(self.preserve)
        layout.addLayout(buttons)
        layout.addWidget(self.heal_row)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        self.learn_section = Section("Learn texture from selection", self._learn_form())
        self.settings_section = Section("Backend settings", BackendForm(pump))
        layout.addWidget(self.learn_section)
        layout.addWidget(self.settings_section)
        layout.addStretch(1)

        self.host.changed.connect(self.refresh)
        pump.ticked.connect(self.refresh)
        self._follow_task()
        self.refresh()

    # --- actions ------------------------------------------------------------------------------------------------

    def apply(self) -> None:
        self.flow.run(self.order())

    def preview(self) -> None:
        self.flow.run(self.order(preview=True))

    def learn(self) -> None:
        self.flow.learn(self.style_name.text(), self.style_scale.currentText(), self.minutes.value())

    def cancel(self) -> None:
        """Stop what the bar shows: the run, else the installer, else the learning."""
        if self.flow.job is not None or not self.offer.cancel():
            self.flow.cancel()

    def add_slot(self) -> SlotRow:
        row = SlotRow(self._document, self._remove_slot)
        row.set_styles(self._styles())
        self.rows.append(row)
        self.slot_box.addWidget(row)
        return row

    def order(self, preview: bool = False) -> Order:
        cleanup = None if self.cleanup_auto.isChecked() else self.cleanup.value() / 100
        recipe = Recipe(self.task.currentData(), [r.slot() for r in self.rows], self.preserve.isChecked(), cleanup)
        return Order(recipe, [r.mask.source() for r in self.rows], self.hole.source(), preview)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name): start the backend once the docker is seen
        super().showEvent(event)
        self.warm_up()

    def warm_up(self) -> None:
        """Start the backend ahead of the first run (so the styles are listed) once the docker is seen with an image
        open: Krita starting with no image costs no backend. After an idle exit it waits for the next run."""
        if not self.isVisible() or not Krita.instance().documents():
            return
        try:
            if self.pump.session.state == "stopped" and not self.pump.session.info:
                self.pump.session.connect()
                self.pump.wake()
        except UserError as e:
            self.status.setText(str(e))

    # --- display ----------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        try:
            session = self.pump.session
        except UserError as e:
            self.status.setText(str(e))
            return
        self.status.setText(session.status())
        self.offer.tick()
        if session.generation != self._generation:
            self._generation = session.generation
            for row in self.rows:
                row.set_styles(session.styles)
            self.heal_row.set_styles(session.styles)
        for button in (self.preview_button, self.apply_button, self.heal_row.button):
            button.setEnabled(self.flow.job is None)  # also while a texture is learned: the backend fits them in
        installing = self.offer.install
        self.learn_button.setEnabled(self.flow.learning is None and installing is None)
        self.learning_swatch.refresh()
        shown = self.flow.shown()
        job, eta = shown if shown else (None, None)
        self.cancel_button.setEnabled(job is not None or installing is not None)
        self.progress.setRange(0, 0 if installing and not job else 1000)  # 0, 0: busy, for the installer
        self.progress.setValue(int(job.fraction * 1000) if job else 0)
        left = eta.text(job.fraction) if job and eta else ""
        self.progress.setFormat(f"%p% · {left}" if left else "%p%" if job else installing.step if installing else "")
        self.message.setText(f"{self.flow.message}\n{installing.step}" if installing else self.flow.message)
        self.message.setStyleSheet("color: #d04040;" if self.flow.failed else "")

    def _follow_task(self) -> None:
        """Show the options the chosen task uses: the hole to fill for inpainting, the clean-up for photos."""
        shown = Shown.of(self.task.currentData())
        self.hole.setVisible(shown.fill)
        self.hole_label.setVisible(shown.fill)
        self.cleanup_row.setVisible(shown.cleanup)
        self.cleanup_label.setVisible(shown.cleanup)

    def _follow_auto(self, auto: bool) -> None:
        self.cleanup.setEnabled(not auto)
        self.cleanup_value.setEnabled(not auto)

    # --- helpers ------------------------------------------------------------------------------------------------

    def _document(self) -> Document | None:
        return self.target()[0]

    def _styles(self) -> list[Style]:
        try:
            return self.pump.session.styles
        except UserError:
            return []

    def _remove_slot(self, row: SlotRow) -> None:
        self.rows.remove(row)
        row.setParent(None)
        row.deleteLater()

    def _learn_form(self) -> QWidget:
        body = QWidget()
        form = QFormLayout(body)
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.style_name = QLineEdit()
        self.style_name.setPlaceholderText("my-texture")
        self.style_scale = QComboBox()
        self.style_scale.addItems(list(STYLE_SCALES))
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(*MINUTES[:2])
        self.minutes.setValue(MINUTES[2])
        self.minutes.setSuffix(" min")
        self.learn_button = QPushButton("Learn")
        self.learn_button.setToolTip("The selected pixels of this layer become a new style (about 8 min on a CPU)")
        self.learn_button.clicked.connect(self.learn)
        self.learning_swatch = LearningSwatch(self.flow)  # while learning: the texture so far, "Good enough, stop"
        form.addRow("Name", self.style_name)
        form.addRow("Kind", self.style_scale)
        form.addRow("Time", self.minutes)
        form.addRow(self.learn_button)
        form.addRow(self.learning_swatch)
        return body
