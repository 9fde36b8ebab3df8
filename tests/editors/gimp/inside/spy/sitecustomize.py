"""Loaded by every Python that GIMP starts in the tests (PYTHONPATH). In the Retex plug-in only, it logs to
$RETEX_GIMP_SPY each call that changes an image with the undo group calls around them (GIMP 3's PDB cannot undo, so
this is how a test sees that a run's changes form one undo step), the progress bar calls, and each dialog the
plug-in runs (on the test's X display), which it closes once it is on screen, as a user would."""

import builtins
import json
import os
import sys

if os.environ.get("RETEX_GIMP_SPY") and os.path.basename(sys.argv[0] if sys.argv else "") == "retex.py":
    import gi

    gi.require_version("Gimp", "3.0")
    from gi.repository import Gimp

    def _log(name: str, detail: object) -> None:
        with open(os.environ["RETEX_GIMP_SPY"], "a", encoding="utf-8") as log:
            log.write(json.dumps([name, detail]) + "\n")

    def _spy_method(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def logged(self: object, *args: object) -> object:
            _log(name, self.get_id())
            return original(self, *args)

        setattr(cls, name, logged)

    def _spy_function(name: str) -> None:
        original = getattr(Gimp, name)

        def logged(*args: object) -> object:
            _log(name, args[0] if args else None)
            return original(*args)

        setattr(Gimp, name, logged)

    for _name in ("undo_group_start", "undo_group_end", "insert_layer", "scale", "resize", "remove_layer"):
        _spy_method(Gimp.Image, _name)
    for _name in ("set_offsets", "resize", "scale", "fill", "merge_shadow"):
        _spy_method(Gimp.Layer, _name)
    for _name in ("progress_init", "progress_update", "progress_end"):
        _spy_function(_name)

    def _spy_dialogs() -> None:
        from gi.repository import GLib, Gtk

        original = Gtk.Dialog.run

        def run_then_close(dialog: Gtk.Dialog) -> int:
            def close() -> bool:
                text = dialog.get_property("text") if isinstance(dialog, Gtk.MessageDialog) else None
                _log("dialog", {"title": dialog.get_title(), "text": text, "on_screen": dialog.get_mapped()})
                dialog.response(Gtk.ResponseType.CLOSE)
                return False

            GLib.timeout_add(300, close)
            return original(dialog)

        Gtk.Dialog.run = run_then_close

    _import = builtins.__import__

    def _importing(name: str, *args: object, **kwargs: object) -> object:
        """Spy on Gtk's dialogs once the plug-in loads its dialogs module (interactive runs only)."""
        module = _import(name, *args, **kwargs)
        if name == "dialogs" and not getattr(module, "_spied", False):
            module._spied = True
            _spy_dialogs()
        return module

    builtins.__import__ = _importing
