"""The docker's offer to add the training support when learning a texture fails without it: one question, then the
installer runs while the docker's timer follows it (busy bar, its last line, Cancel), then the backend restarts and
the learning starts again. The shared part is ``common.training``."""

from __future__ import annotations

from .common.config import BackendConfig
from .common.flow import Flow
from .common.training import QUESTION, TITLE, Install, problem
from .pump import Pump
from .qt import QMessageBox, QWidget


class TrainingOffer:
    """``tick`` from the docker's refresh: asks when the flow wants the training support, follows the install,
    restarts the backend once no run needs it and learns again. ``install`` is the running installer, if any."""

    def __init__(self, parent: QWidget, pump: Pump, flow: Flow) -> None:
        self.parent, self.pump, self.flow = parent, pump, flow
        self.install: Install | None = None
        self.restart = False  # installed: restart the backend once no run uses it, then learn again

    def tick(self) -> None:
        if self.flow.wants_training and self.install is None:
            self.flow.wants_training = False  # asked once: the question's own event loop ticks too
            self._ask()
        if self.install is not None and self.install.poll() is not None:
            failure, self.install = self.install.failure(), None
            if failure:
                self.flow.say(failure, failed=True)
            else:
                self.restart = True
        if self.restart and self.flow.job is None:
            self.restart = False
            self.pump.session.restart(BackendConfig.load())  # the installer wrote the settings again
            self.pump.wake()
            self.flow.relearn()

    def cancel(self) -> bool:
        """Stop the installer if one runs (True), else leave Cancel to the flow."""
        if self.install is None:
            return False
        self.install.cancel()
        return True

    def _ask(self) -> None:
        config = BackendConfig.load()
        why = problem(config)
        if why:
            self.flow.say(why, failed=True)
            return
        answer = QMessageBox.question(self.parent, "Retex", QUESTION, QMessageBox.Yes | QMessageBox.No)
        if answer != QMessageBox.Yes:
            return
        try:
            self.install = Install.start(config)
        except OSError as e:
            self.flow.say(f"The installer could not start ({e}). Nothing was changed.", failed=True)
            return
        self.flow.say(TITLE)
