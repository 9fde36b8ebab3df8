"""Installed only into test HOMEs: once Krita's window exists, run the script in $KRITA_TEST_SCRIPT (it sets
``RESULT``), write RESULT as JSON to $KRITA_TEST_OUT, stop the Retex backend and quit with 0 (1 if it raised).

Exceptions raised in Qt slots are recorded in RESULT["slot_errors"] instead of going to Krita's error dialog,
which is modal and would hang a test until its timeout."""

import json
import os
import runpy
import sys
import traceback

from krita import Extension, Krita
from PyQt5.QtCore import QTimer


def run() -> None:
    code, errors = 0, []
    sys.excepthook = lambda *exc: errors.append("".join(traceback.format_exception(*exc)))
    try:
        result = runpy.run_path(os.environ["KRITA_TEST_SCRIPT"], run_name="krita_test")["RESULT"]
    except Exception:
        result, code = {"crash": traceback.format_exc()}, 1
    result["slot_errors"] = errors
    with open(os.environ["KRITA_TEST_OUT"], "w") as f:
        json.dump(result, f, indent=1)
    try:
        from retex.pump import pump

        pump().close()
    except Exception:
        traceback.print_exc()
    for doc in Krita.instance().documents():
        doc.setModified(False)
    os._exit(code)


class Driver(Extension):
    def setup(self) -> None:
        Krita.instance().notifier().windowCreated.connect(lambda: QTimer.singleShot(1000, run))

    def createActions(self, window) -> None:  # noqa: N802 (Krita's name)
        pass


Krita.instance().addExtension(Driver(Krita.instance()))
