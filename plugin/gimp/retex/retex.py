#!/usr/bin/env python3
"""Retex for GIMP 3: Filters → Enhance → Retex: Restore & Texture…, Heal with Texture and Learn Texture from
Selection….

This file is the plug-in's entry: the three procedures, their registration and how they report. The GIMP side of the
editor contract (``common.host``: the layer, its pixels and masks, the result layer or image) is ``host.py``, the
dialogs ``dialogs.py``. What a run does (``common.flow``), its settings (``common.options``), how the backend is
reached and how failures are worded are shared with the Krita plug-in. The procedures take all their settings as
arguments, so scripts and batch runs use them as the dialogs do.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

import bootstrap  # noqa: F401  (first: puts ``common`` on sys.path and pins the GObject versions)
import settings
from common import link
from common.config import BackendConfig
from common.eta import Eta
from common.flow import Flow
from common.host import Done
from common.options import HEAL, LEARN, RESTORE, SELECTION, SLOTS, Option, heal_order, order_from
from common.protocol import Frame, Message
from common.recipe import UserError
from gi.repository import Gimp, GLib, GObject
from host import GimpHost

RESTORE_PROC = "plug-in-retex-restore"
LEARN_PROC = "plug-in-retex-learn-style"
HEAL_PROC = "plug-in-retex-heal"


class Cancelled(Exception):
    """The user closed a dialog: nothing to do, nothing to report."""


class LinkJobs:
    """The flow's jobs in GIMP: blocking (GIMP's UI lives in another process), with the backend reached on first
    need. A job that fails ends with its message; a backend that cannot be reached raises ``link.LinkError``, which
    ``guarded`` reports. While the dialog previews, ``progress`` also follows each job (its status line) and ``stop``
    is asked whether to cancel it (the dialog handles its events then); while a texture is learned, ``swatch``
    gets its swatches and ``finish`` is asked whether to end it keeping the texture (the learning window's)."""

    def __init__(self) -> None:
        self.backend: link.Link | None = None
        self.progress: link.PROGRESS | None = None
        self.stop: Callable[[], bool] | None = None
        self.swatch: Callable[[Frame], None] | None = None
        self.finish: Callable[[], bool] | None = None

    def connect(self) -> link.Link:
        if self.backend is None:
            self.backend = open_link()
        return self.backend

    def catalogue(self) -> tuple[set[str], list[str]]:
        return set(self.connect().styles), self.connect().tasks

    def submit(self, kind: str, fields: dict[str, Any], frames: list[Frame], title: str, done: Done) -> None:
        try:
            reply = run_job(
                self.connect(), kind, fields, frames, title, self.progress, self.stop, self.swatch, self.finish
            )
        except link.LinkError as e:
            done(None, str(e))
        else:
            done(reply, None)

    def cancel(self, job: object) -> None:
        pass  # GIMP's Cancel ends the plug-in; the backend then stops the job itself

    def restart(self) -> None:
        """Stop the backend: the next job starts one on the settings as they are now."""
        if self.backend is not None:
            self.backend.stop()
            self.backend = None

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()


# --- the two procedures --------------------------------------------------------------------------------------------


def open_link() -> link.Link:
    """The backend, started if need be, with GIMP's progress bar saying so while it starts."""
    started = False

    def waiting(text: str) -> None:
        nonlocal started
        Gimp.progress_init(text)
        started = True

    try:
        return link.Link.open(BackendConfig.load(), waiting)
    finally:
        if started:
            Gimp.progress_end()


def run_job(
    backend: link.Link,
    kind: str,
    fields: dict,
    frames: list[Frame],
    title: str,
    also: link.PROGRESS | None = None,
    stop: Callable[[], bool] | None = None,
    swatch: Callable[[Frame], None] | None = None,
    finish: Callable[[], bool] | None = None,
) -> Message:
    """One backend job with GIMP's progress bar following it (and ``also``, with the same words); ``stop``,
    ``swatch`` and ``finish``: see ``link.Link.run_to_end``'s ``cancel``, ``on_swatch`` and ``finish``."""
    Gimp.progress_init(title)
    eta, shown = Eta(), [""]

    def progress(fraction: float, stage: str) -> None:
        text = eta.caption(title, stage, fraction)
        if text != shown[0]:
            shown[0] = text
            Gimp.progress_set_text(text)
        Gimp.progress_update(fraction)
        if also is not None:
            also(fraction, text)

    try:
        return backend.run_to_end(kind, fields, frames, progress, stop, swatch, finish)
    finally:
        Gimp.progress_end()


def restore(
    procedure: Gimp.Procedure,
    run_mode: Gimp.RunMode,
    image: Gimp.Image | None,
    drawables: list[Gimp.Drawable],
    config: Gimp.ProcedureConfig,
) -> list[GObject.Value]:
    """Restore, then texture, the selected layer into a new layer; the image is touched only once all went well
    (the dialog's preview layer is gone before that, and after a Cancel)."""
    host, jobs = GimpHost(image, drawables), LinkJobs()
    host.target()  # a message rather than a dialog that cannot work
    flow = Flow(host, jobs)
    try:
        if run_mode == Gimp.RunMode.INTERACTIVE:
            from dialogs import restore_dialog

            try:
                preview = Preview(host, jobs, flow, config)
                chosen = restore_dialog(procedure, config, image, jobs.connect().info.styles, preview)
            finally:
                host.drop_preview()
            if not chosen:
                raise Cancelled
        flow.run(order_from(config.get_property))
    finally:
        jobs.close()
    if flow.failed:
        raise UserError(flow.message)
    if host.image is not None and run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.Display.new(host.image)
    Gimp.displays_flush()
    return [GObject.Value(Gimp.Layer, host.layer), GObject.Value(Gimp.Image, host.image)]


def heal(
    procedure: Gimp.Procedure,
    run_mode: Gimp.RunMode,
    image: Gimp.Image | None,
    drawables: list[Gimp.Drawable],
    config: Gimp.ProcedureConfig,
) -> list[GObject.Value]:
    """Heal the selection into a new layer (one undo step), textured like its surroundings or as the 'style'
    argument: no dialog, the selection is the one setting a menu run needs."""
    host, jobs = GimpHost(image, drawables), LinkJobs()
    host.target()
    flow = Flow(host, jobs)
    try:
        flow.run(heal_order(SELECTION, config.get_property("style"), config.get_property("variation")))
    finally:
        jobs.close()
    if flow.failed:
        raise UserError(flow.message)
    Gimp.displays_flush()
    return [GObject.Value(Gimp.Layer, host.layer)]


class Preview:
    """The dialog's Preview: the flow's preview run with the dialog's settings, into the host's preview layer (the
    selection's box, or the whole layer); ``hide`` removes it."""

    def __init__(self, host: GimpHost, jobs: LinkJobs, flow: Flow, config: Gimp.ProcedureConfig) -> None:
        self.host, self.jobs, self.flow, self.config = host, jobs, flow, config

    def show(self, progress: link.PROGRESS, stop: Callable[[], bool]) -> tuple[str, bool]:
        """Run it, ``progress`` following the job, ``stop`` asked whether to cancel it; the flow's message and
        whether it failed (then no preview)."""
        self.jobs.progress, self.jobs.stop = progress, stop
        try:
            self.flow.run(dataclasses.replace(order_from(self.config.get_property), preview=True))
            message, failed = self.flow.message, self.flow.failed
        except link.LinkError as e:  # the backend cannot be reached: said in the dialog, which stays
            message, failed = str(e), True
        finally:
            self.jobs.progress = self.jobs.stop = None
        if failed:
            self.hide()
        return message, failed

    def hide(self) -> None:
        self.host.drop_preview()


def learn(
    procedure: Gimp.Procedure,
    run_mode: Gimp.RunMode,
    image: Gimp.Image | None,
    drawables: list[Gimp.Drawable],
    config: Gimp.ProcedureConfig,
) -> list[GObject.Value]:
    """Learn a new style from the selected part of the layer (its bounding box) through the backend."""
    host, jobs = GimpHost(image, drawables), LinkJobs()
    host.target()
    if run_mode == Gimp.RunMode.INTERACTIVE:
        from dialogs import learn_dialog

        if not learn_dialog(procedure, config):
            raise Cancelled
    window = None
    try:
        flow = Flow(host, jobs)
        if run_mode == Gimp.RunMode.INTERACTIVE:
            from dialogs import LearningWindow

            window = LearningWindow(config.get_property("name"))  # the texture so far, "Good enough, stop"
            jobs.progress, jobs.stop, jobs.swatch, jobs.finish = (
                window.progress, window.cancelled, window.show_swatch, window.finished
            )  # fmt: skip
        flow.learn(*(config.get_property(name) for name in ("name", "scale", "minutes")))
        if flow.wants_training and run_mode == Gimp.RunMode.INTERACTIVE:
            from training import add

            failure = add()  # asks, then installs
            if failure is None:
                jobs.restart()
                flow.relearn()
            elif failure:
                flow.say(failure, failed=True)
    finally:
        if window is not None:
            window.close()
        jobs.close()
    if window is not None and window.stop and flow.failed:
        raise Cancelled  # the learning window's Cancel: nothing was saved, as the user asked
    if flow.failed:
        raise UserError(flow.message)
    if run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.message(flow.message)
    return [GObject.Value(GObject.TYPE_STRING, flow.learned)]


def guarded(body: Callable[..., list[GObject.Value]]) -> Callable[..., Gimp.ValueArray]:
    """A procedure's run function: its return values on success; otherwise a Gimp.message in plain words and an
    error status (the image was not touched); a closed dialog is a plain cancel."""

    def run(
        procedure: Gimp.Procedure,
        run_mode: Gimp.RunMode,
        image: Gimp.Image | None,
        drawables: list[Gimp.Drawable],
        config: Gimp.ProcedureConfig,
        _data: object,
    ) -> Gimp.ValueArray:
        try:
            if link.MISSING:
                raise UserError(link.MISSING)
            values = body(procedure, run_mode, image, drawables, config)
        except Cancelled:
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        except (UserError, link.LinkError) as e:
            if run_mode == Gimp.RunMode.INTERACTIVE:  # a dialog the user sees, not a line in the status bar
                from dialogs import error_dialog

                error_dialog(procedure.get_menu_label().rstrip("…").replace("_", ""), str(e))
                # GIMP itself would show the reason a second time after a menu run
                return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, None)
            Gimp.message(str(e))
            return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(str(e)))
        result = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())
        for i, value in enumerate(values, start=1):
            result.remove(i)
            result.insert(i, value)
        return result

    return run


# --- registration --------------------------------------------------------------------------------------------------

RW = GObject.ParamFlags.READWRITE


def choice(options: dict[str, str]) -> Gimp.Choice:
    c = Gimp.Choice.new()
    for i, (nick, label) in enumerate(options.items()):
        c.add(nick, i, label, "")
    return c


def add_arguments(p: Gimp.Procedure, options: list[Option]) -> None:
    """The settings as the procedure's arguments, in ``common.options``'s order (scripts may pass them by position)."""
    for o in options:
        if o.kind == "choice":
            p.add_choice_argument(o.name, o.label, o.blurb, choice(o.values or {}), o.default, RW)
        elif o.kind == "bool":
            p.add_boolean_argument(o.name, o.label, o.blurb, o.default, RW)
        elif o.kind == "float":
            p.add_double_argument(o.name, o.label, o.blurb, o.low, o.high, o.default, RW)
        else:
            p.add_string_argument(o.name, o.label, o.blurb, o.default, RW)


class Retex(Gimp.PlugIn):
    def do_query_procedures(self) -> list[str]:
        return [RESTORE_PROC, HEAL_PROC, LEARN_PROC, settings.PROC]

    def do_set_i18n(self, _name: str) -> bool:
        return False

    def do_create_procedure(self, name: str) -> Gimp.Procedure:
        if name == settings.PROC:
            return settings.create(self, guarded(settings.run))
        run = guarded({RESTORE_PROC: restore, HEAL_PROC: heal}.get(name, learn))
        p = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        p.set_image_types("*")  # grey and indexed images get a message saying what to do, not a greyed-out menu
        p.set_sensitivity_mask(
            Gimp.ProcedureSensitivityMask.DRAWABLE
            | Gimp.ProcedureSensitivityMask.DRAWABLES
            | Gimp.ProcedureSensitivityMask.NO_DRAWABLES
            | Gimp.ProcedureSensitivityMask.NO_IMAGE
        )
        p.set_attribution("Retex contributors", "MIT licence", "2026")
        if name == RESTORE_PROC:
            p.set_menu_label("Retex: Restore & Texture…")
            p.set_documentation(
                "Restore, then texture, the selected layer into a new layer",
                "Restores the layer (super-resolution, denoising, deblurring or inpainting), then adds up to "
                f"{SLOTS} textures, each where its mask says (the selection, a channel, or the whole layer) at its "
                "own strength, size ('size-N', 50 to 200 %) and variation ('variation-N', a whole number). The "
                "result is a new layer above the selected one, named after what was done; "
                "super-resolution opens a new image unless 'sr-output' is 'scale-image'.",
                name,
            )
            add_arguments(p, RESTORE)
            p.add_layer_return_value("layer", "Layer", "The new layer", False, RW)
            p.add_image_return_value("new-image", "New image", "The new image (super-resolution), if any", True, RW)
        elif name == HEAL_PROC:
            p.set_menu_label("Retex: Heal with Texture")
            p.set_documentation(
                "Fill the selection with the texture around it, in a new layer",
                "Inpaints the selection, then textures the fill like the ring of pixels around it ('style' empty), "
                "or with a style, in a new layer above the selected one (one undo step). Select a hole with some of "
                "the texture around it inside the image.",
                name,
            )
            add_arguments(p, HEAL)
            p.add_layer_return_value("layer", "Layer", "The new layer", False, RW)
        else:
            p.set_menu_label("Retex: Learn Texture from Selection…")
            p.set_documentation(
                "Learn a new Retex texture from the selected pixels",
                "Trains a small style network on the selected part of the layer (at least 64 pixels a side for a "
                "fine texture, 128 for a coarse style); it then appears in Retex: Restore & Texture.",
                name,
            )
            add_arguments(p, LEARN)
            p.add_string_return_value("style", "Style", "The new style's name", "", RW)
        p.add_menu_path("<Image>/Filters/Enhance")  # after the label, which GIMP needs first
        return p


Gimp.main(Retex.__gtype__, sys.argv)
