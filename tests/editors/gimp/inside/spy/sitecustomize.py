"""Loaded by every Python that GIMP starts in the tests (PYTHONPATH). In the Retex plug-in only, it logs to
$RETEX_GIMP_SPY each call that changes an image with the undo group calls around them (GIMP 3's PDB cannot undo, so
this is how a test sees that a run's changes form one undo step), the progress bar calls, and each dialog the
plug-in runs (on the test's X display), which it closes once it is on screen, as a user would. The Restore &
Texture dialog is played by the steps in $RETEX_GIMP_USER (see ``_play``), as a user would: change settings, wait
for the preview, note what the image and the dialog show, press a button."""

import builtins
import json
import os
import sys
import time

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
                answer = os.environ.get("RETEX_GIMP_ANSWER")  # a question's answer, "yes" or "no" (else: closed)
                if answer and text and dialog.get_property("message-type") == Gtk.MessageType.QUESTION:
                    dialog.response(Gtk.ResponseType.YES if answer == "yes" else Gtk.ResponseType.NO)
                    return False
                dialog.response(Gtk.ResponseType.CLOSE)
                return False

            GLib.timeout_add(300, close)
            return original(dialog)

        Gtk.Dialog.run = run_then_close

        from gi.repository import GimpUi

        GimpUi.ProcedureDialog.run = _play(GimpUi.ProcedureDialog.run)

    def _widgets(widget: object) -> list:
        from gi.repository import Gtk

        found = [widget]
        if isinstance(widget, Gtk.Container):
            for child in widget.get_children():
                found += _widgets(child)
        return found

    def _image() -> object:
        """The image the dialog works on: the newest open one (the scenarios open one at a time)."""
        return max(Gimp.get_images(), key=lambda image: image.get_id())

    def _note(dialog: object, name: str) -> None:
        """Log what the user sees: the image's layers (the preview's pixels dumped), the dialog's status line, the
        rows of its first texture list (each thumbnail's size and whether it has any colour)."""
        from gi.repository import Gegl, Gtk

        image = _image()
        seen: dict = {"name": name, "at": time.time(), "layers": [layer.get_name() for layer in image.get_layers()]}
        seen["selected"] = [layer.get_name() for layer in image.get_selected_layers()]
        seen["dirty"] = image.is_dirty()
        config = dialog.get_property("config")
        seen["settings"] = {key: config.get_property(key) for key in ("task", "style-1", "strength-1")}
        for layer in image.get_layers():
            if layer.get_name() == "Retex preview":
                _, x, y = layer.get_offsets()
                w, h = layer.get_width(), layer.get_height()
                data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, "R'G'B'A u8", Gegl.AbyssPolicy.NONE)
                path = os.path.join(os.path.dirname(os.environ["RETEX_GIMP_SPY"]), f"preview-{name}.raw")
                with open(path, "wb") as out:
                    out.write(bytes(data))
                seen["preview"] = {"file": path, "width": w, "height": h, "format": "R'G'B'A u8", "offsets": [x, y]}
        widgets = _widgets(dialog)
        seen["status"] = [w.get_text() for w in widgets if isinstance(w, Gtk.Label) and w.get_name() == "status"]
        buttons = [w for w in widgets if isinstance(w, Gtk.Button) and w.get_label() in ("_OK", "_Cancel")]
        seen["buttons"] = {w.get_label(): w.get_allocation().y for w in buttons}  # where they are on screen
        seen["lines"] = [w.get_layout().get_line_count() for w in widgets if w.get_name() == "status"]
        models = [w.get_model() for w in widgets if isinstance(w, Gtk.ComboBox) and w.get_model() is not None]
        lists = [m for m in models if m.get_n_columns() == 3 and m.get_column_type(2).name == "GdkPixbuf"]
        rows = []
        for row in lists[0] if lists else []:
            pixbuf = row[2]
            size = [pixbuf.get_width(), pixbuf.get_height(), len(set(pixbuf.get_pixels()))] if pixbuf else None
            rows.append([row[0], row[1], size])
        seen["styles"] = rows
        _log("seen", seen)

    def _play(run: object) -> object:
        """The dialog's run, with the steps of $RETEX_GIMP_USER (a JSON list) played one by one from GTK's loop:
        ``{"set": {argument: value}}``, ``{"preview": on}`` (the Preview box), ``{"wait": n}`` (until n preview
        layers have been shown since the dialog opened, 60 s at most), ``{"settle": seconds}``, ``{"note": name}``,
        ``{"point": [x, y]}`` (the pointer moves there, e.g. off the dialog so that no tooltip shows) and
        ``{"press": "ok" | "cancel"}``."""

        def played(dialog: object) -> bool:
            from gi.repository import GLib, Gtk

            path = os.environ.get("RETEX_GIMP_USER", "")
            if not os.path.exists(path):
                return run(dialog)
            steps = json.loads(open(path, encoding="utf-8").read())
            config = dialog.get_property("config")
            image = _image()
            previews: set = set()
            started = [time.monotonic()]

            def tick() -> bool:
                for layer in image.get_layers():
                    if layer.get_name() == "Retex preview":
                        previews.add(layer.get_id())
                while steps:
                    step = steps[0]
                    if "wait" in step:
                        if len(previews) < step["wait"] and time.monotonic() - started[0] < 60:
                            return True
                        _log("waited", {"previews": len(previews), "wanted": step["wait"]})
                    elif "settle" in step:
                        if time.monotonic() - started[0] < step["settle"]:
                            return True
                    elif "set" in step:
                        for key, value in step["set"].items():
                            config.set_property(key, value)
                    elif "preview" in step:
                        box = [w for w in _widgets(dialog) if isinstance(w, Gtk.CheckButton)]
                        [w for w in box if w.get_label() == "_Preview"][0].set_active(step["preview"])
                    elif "point" in step:
                        from gi.repository import Gdk

                        display = Gdk.Display.get_default()
                        display.get_default_seat().get_pointer().warp(display.get_default_screen(), *step["point"])
                    elif "note" in step:
                        _note(dialog, step["note"])
                    elif "press" in step:
                        steps.pop(0)
                        dialog.response(Gtk.ResponseType.OK if step["press"] == "ok" else Gtk.ResponseType.CANCEL)
                        return False
                    steps.pop(0)
                    started[0] = time.monotonic()
                return False

            started[0] = time.monotonic()
            GLib.timeout_add(100, tick)
            return run(dialog)

        return played

    def _spy_learning(window: type) -> None:
        """Log what the learning window shows at each swatch (its size, whether "Good enough, stop" is on, the
        window on screen); press that button (or Cancel) at the first one when $RETEX_GIMP_USER's steps say
        ``{"press": "good enough"}`` (``{"press": "cancel learning"}``), as a user would."""
        shown = window.show_swatch

        def spied(self: object, swatch: tuple) -> None:
            before = self.finish_button.get_sensitive()
            shown(self, swatch)
            pixbuf = self.picture.get_pixbuf()
            _log("swatch", {"size": [pixbuf.get_width(), pixbuf.get_height()], "stop_before": before,
                            "stop": self.finish_button.get_sensitive(), "on_screen": self.window.get_mapped(),
                            "label": self.finish_button.get_label()})  # fmt: skip
            path = os.environ.get("RETEX_GIMP_USER", "")
            steps = json.loads(open(path, encoding="utf-8").read()) if os.path.exists(path) else []
            if {"press": "good enough"} in steps and self.finish_button.get_sensitive():
                self.finish_button.clicked()
                _log("pressed", {"stop": self.finish_button.get_sensitive()})
            if {"press": "cancel learning"} in steps:
                from gi.repository import Gtk

                self.window.response(Gtk.ResponseType.CANCEL)

        window.show_swatch = spied

    _import = builtins.__import__

    def _importing(name: str, *args: object, **kwargs: object) -> object:
        """Spy on Gtk's dialogs once the plug-in loads its dialogs module (interactive runs only)."""
        module = _import(name, *args, **kwargs)
        if name == "dialogs" and not getattr(module, "_spied", False):
            module._spied = True
            _spy_dialogs()
            _spy_learning(module.LearningWindow)
        return module

    builtins.__import__ = _importing
