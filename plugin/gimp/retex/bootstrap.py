"""The GIMP plug-in's one set-up, imported before anything else: ``common`` goes on ``sys.path`` (installed, the
installer copies plugin/common beside this file; in a checkout it is two folders up), and importing it puts a
vendored pyzmq first; then the GObject versions every module here uses are pinned, so the others import normally."""

import importlib
import sys
from pathlib import Path

import gi

_HERE = Path(__file__).resolve().parent
_ROOT = str(_HERE if (_HERE / "common").is_dir() else _HERE.parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
importlib.import_module("common")  # before zmq: see above
for _name, _version in (
    ("Gimp", "3.0"),
    ("GimpUi", "3.0"),
    ("Gegl", "0.4"),
    ("Babl", "0.1"),
    ("Gtk", "3.0"),
    ("GdkPixbuf", "2.0"),
):
    gi.require_version(_name, _version)
