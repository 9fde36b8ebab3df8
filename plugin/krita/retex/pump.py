"""The one backend session of this Krita process, polled by a QTimer on the GUI thread: fast while something is
under way, slowly otherwise (so the status line notices a backend that died while idle)."""

from __future__ import annotations

from .common.jobs import follow
from .common.recipe import UserError
from .qt import QObject, QTimer, pyqtSignal

FAST_MS, SLOW_MS = 40, 1000


class Pump(QObject):
    ticked = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self._session = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.tick)
        self.timer.start(SLOW_MS)

    @property
    def session(self):  # -> common.session.Session, imported late: pyzmq may be missing
        if self._session is None:
            try:
                from .common.config import BackendConfig
                from .common.session import Session
            except ImportError as e:
                raise UserError(
                    f"Krita's Python cannot load pyzmq ({e}). On Debian or Ubuntu: sudo apt install python3-zmq; "
                    "elsewhere see the Retex plug-in's README."
                ) from None
            self._session = Session(BackendConfig.load(), "krita")
        return self._session

    def wake(self) -> None:
        self.timer.start(FAST_MS)

    def tick(self) -> None:
        if self._session is None:
            return
        follow(self._session)
        wanted = FAST_MS if self._session.active else SLOW_MS
        if self.timer.interval() != wanted:
            self.timer.start(wanted)
        self.ticked.emit()

    def close(self) -> None:
        self.timer.stop()
        if self._session is not None:
            self._session.close()


_pump: Pump | None = None


def pump() -> Pump:
    global _pump
    if _pump is None:
        _pump = Pump()
    return _pump
