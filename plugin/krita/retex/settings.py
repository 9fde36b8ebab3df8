"""The docker's backend settings: Local (the plug-in starts the backend on this computer: its Python, the Retex
folder, the endpoint) or Remote (a backend on another machine, e.g. a GPU box: the connection line that
``python -m backend keys`` prints there). Saved in the config file GIMP's Retex reads too (``common.config``);
saving restarts the session with them. A line that is not right is refused with what to fix, and nothing is saved."""

from __future__ import annotations

from .common.config import BACKENDS, BackendConfig
from .common.recipe import UserError
from .common.remote import EXAMPLE, BadConnection
from .pump import Pump
from .qt import QComboBox, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget
from .slots import narrow

REMOTE_TIP = (
    "On the machine with the GPU, run: python -m backend keys. It prints the serve command to run there and the "
    "connection line to paste here."
)


class BackendForm(QWidget):
    def __init__(self, pump: Pump) -> None:
        super().__init__()
        self.pump = pump
        config = BackendConfig.load()
        self.backend = QComboBox()
        for key, label in BACKENDS.items():
            self.backend.addItem(label, key)
        self.backend.setCurrentIndex(self.backend.findData(config.backend))
        narrow(self.backend)
        self.python_edit, self.repo_edit = QLineEdit(config.python), QLineEdit(config.repo)
        self.endpoint_edit = QLineEdit(config.endpoint)
        self.endpoint_edit.setPlaceholderText("default: a private socket")
        self.remote_edit = QLineEdit(config.remote)
        self.remote_edit.setPlaceholderText(EXAMPLE)
        self.local_box, self.remote_box = QWidget(), QWidget()
        local = QFormLayout(self.local_box)
        local.setContentsMargins(0, 0, 0, 0)
        local.setRowWrapPolicy(QFormLayout.WrapLongRows)
        local.addRow("Python", self.python_edit)
        local.addRow("Retex folder", self.repo_edit)
        local.addRow("Endpoint", self.endpoint_edit)
        remote = QFormLayout(self.remote_box)
        remote.setContentsMargins(0, 0, 0, 0)
        remote.setRowWrapPolicy(QFormLayout.WrapLongRows)
        remote.addRow("Connection", self.remote_edit)
        tip = QLabel(REMOTE_TIP)
        tip.setWordWrap(True)
        remote.addRow(tip)
        self.save_button = QPushButton("Save and restart the backend")
        self.save_button.clicked.connect(self.save)
        self.message = QLabel()
        self.message.setWordWrap(True)
        top = QFormLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setRowWrapPolicy(QFormLayout.WrapLongRows)
        top.addRow("Backend", self.backend)
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.addLayout(top)
        rows.addWidget(self.local_box)
        rows.addWidget(self.remote_box)
        rows.addWidget(self.save_button)
        rows.addWidget(self.message)
        self.backend.currentIndexChanged.connect(self._follow)
        self._follow()

    def _follow(self) -> None:
        remote = self.backend.currentData() == "remote"
        self.local_box.setVisible(not remote)
        self.remote_box.setVisible(remote)

    def save(self) -> bool:
        """Check, save and use the settings shown; False (with the reason shown) if they were not saved."""
        config = BackendConfig.load()
        config.python, config.repo = self.python_edit.text().strip(), self.repo_edit.text().strip()
        config.endpoint = self.endpoint_edit.text().strip()
        try:
            config = config.choose(self.backend.currentData(), self.remote_edit.text())
            config.save()
        except (BadConnection, OSError) as e:
            self.message.setText(f"Not saved: {e}")
            return False
        self.message.setText("Saved.")
        try:
            self.pump.session.restart(config)
            self.pump.wake()
        except UserError as e:
            self.message.setText(str(e))
        return True
