"""Adding the training support from GIMP's Learn Texture when the backend has none: one question, then the installer
runs in a small window (busy bar, its last line, Cancel) with GIMP's progress bar saying the same, then the backend
is stopped so that the next job starts it on the settings the installer wrote. The shared part is
``common.training``; interactive runs only (batch runs never load Gtk)."""

from __future__ import annotations

from common.config import BackendConfig
from common.training import QUESTION, TITLE, Install, problem
from gi.repository import Gimp, GimpUi, Gtk


def ask() -> bool:
    """The one question, Yes or No."""
    GimpUi.init("retex")
    dialog = Gtk.MessageDialog(
        message_type=Gtk.MessageType.QUESTION, buttons=Gtk.ButtonsType.YES_NO, text=QUESTION, title="Retex"
    )
    try:
        return dialog.run() == Gtk.ResponseType.YES
    finally:
        dialog.destroy()


def add() -> str | None:
    """Ask, then run the installer while a window follows it; None once the training support is there, else why not
    (declined: ""; a failure: its message)."""
    config = BackendConfig.load()
    why = problem(config)
    if why:
        return why
    if not ask():
        return ""
    try:
        install = Install.start(config)
    except OSError as e:
        return f"The installer could not start ({e}). Nothing was changed."
    window = Gtk.Dialog(title="Retex", modal=True)
    cancel = window.add_button("_Cancel", Gtk.ResponseType.CANCEL)
    cancelled = [False]
    cancel.connect("clicked", lambda _button: cancelled.__setitem__(0, True))
    window.connect("delete-event", lambda *_: cancelled.__setitem__(0, True) or True)
    bar, line = Gtk.ProgressBar(), Gtk.Label(label=install.step)
    line.set_name("status")
    line.set_line_wrap(True)
    line.set_max_width_chars(60)
    box = window.get_content_area()
    for widget in (Gtk.Label(label=TITLE), bar, line):
        box.pack_start(widget, False, False, 6)
    window.show_all()
    Gimp.progress_init(TITLE)

    def tick(step: str) -> bool:
        bar.pulse()
        line.set_text(step)
        Gimp.progress_set_text(step)
        Gimp.progress_pulse()
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)
        return cancelled[0]

    try:
        install.wait(tick)
    finally:
        Gimp.progress_end()
        window.destroy()
    return install.failure()
