"""Run by the test-driver plug-in in the full Krita GUI, in a HOME where installer.py installed Retex: Krita itself
loaded the plug-in (enabled through the kritarc line the installer wrote), and its pyzmq is the one Retex imports."""

import sys

import retex.common  # noqa: F401  (Krita loaded it with the plug-in; it puts a vendored pyzmq first)
import zmq
from krita import Krita
from retex.extension import docker_of

app = Krita.instance()

RESULT = {
    "retex": sys.modules["retex"].__file__,
    "docker": docker_of(app.activeWindow()) is not None,
    "actions": sorted(a for a in ("retex_apply", "retex_preview") if app.action(a) is not None),
    "zmq": zmq.__file__,
}
