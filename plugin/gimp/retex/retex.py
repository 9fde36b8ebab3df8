#!/usr/bin/env python3
"""Retex for GIMP 3: Filters → Enhance → Retex: Restore & Texture… and Learn Texture from Selection….

This file is the GIMP side of the editor contract (``common.host``) only: the layer, its pixels and the masks, the
result layer or image, the dialogs and the procedures' registration. What a run does (``common.flow``), its settings
(``common.options``), how the backend is reached (``link``, over ``common``) and how failures are worded are shared
with the Krita plug-in. Both procedures take all their settings as arguments, so scripts and batch runs use them as
the dialogs do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bootstrap  # noqa: F401  (first: puts ``common`` on sys.path and pins the GObject versions)
from common import link
from common.config import BackendConfig
from common.eta import Eta
from common.flow import Flow
from common.host import Done, Rect
from common.layers import landing
from common.options import LEARN, RESTORE, SELECTION, SLOTS, Option, order_from
from common.protocol import Frame, FrameSpec, Message
from common.recipe import Recipe, UserError, check_mask
from gi.repository import Babl, Gegl, Gimp, Gio, GLib, GObject

RESTORE_PROC = "plug-in-retex-restore"
LEARN_PROC = "plug-in-retex-learn-style"


@dataclass(frozen=True)
class Sample:
    """How a layer's pixels travel: the babl component type read and written in GIMP, the protocol's sample type."""

    babl: str
    wire: str


# The layer's own component type, kept; 32-bit integers and doubles travel as 32-bit floats (the protocol's widest).
SAMPLES = {
    "u8": Sample("u8", "u8"),
    "u16": Sample("u16", "u16"),
    "u32": Sample("float", "f32"),
    "half": Sample("half", "f16"),
    "float": Sample("float", "f32"),
    "double": Sample("float", "f32"),
}


class Cancelled(Exception):
    """The user closed a dialog: nothing to do, nothing to report."""


def sample_of(layer: Gimp.Layer) -> Sample:
    return SAMPLES.get(Babl.get_name(Babl.format_get_type(layer.get_format(), 0)), Sample("float", "f32"))


# --- the editor contract: the layer, its pixels and masks; a new layer or image ----------------------------------


def layer_from(image: Gimp.Image, name: str, result: Frame, sample: Sample) -> Gimp.Layer:
    """A layer holding the result frame, written in the format it was read in."""
    spec, data = result
    alpha = spec.channels == "RGBA"
    kind = Gimp.ImageType.RGBA_IMAGE if alpha else Gimp.ImageType.RGB_IMAGE
    layer = Gimp.Layer.new(image, name, spec.width, spec.height, kind, 100.0, Gimp.LayerMode.NORMAL)
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, spec.width, spec.height), f"R'G'B'{'A' if alpha else ''} {sample.babl}", data)
    buffer.flush()
    return layer


def visible_position(image: Gimp.Image, source: Gimp.Layer) -> int:
    """Where a result goes among the source's siblings (``common.layers.landing``): above the source, or above the
    topmost earlier Retex layer above it."""
    parent = source.get_parent()
    siblings = parent.get_children() if parent is not None else image.get_layers()  # top of the stack first
    position = image.get_item_position(source)
    return position - landing([item.get_name() for item in reversed(siblings[:position])])


class GimpHost:
    """The editor contract for one procedure call: the image and layers GIMP handed it; what it made is kept in
    ``layer`` and ``image`` for the procedure's return values."""

    def __init__(self, image: Gimp.Image | None, drawables: list[Gimp.Drawable]) -> None:
        self.source, self.drawables = image, drawables
        self.layer: Gimp.Layer | None = None
        self.image: Gimp.Image | None = None  # a new image (super-resolution)

    def target(self) -> Gimp.Layer:
        """The one pixel layer a run works on, or a UserError that says what to change."""
        image, drawables = self.source, self.drawables
        if image is None or not image.is_valid():
            raise UserError("Open an image first: Retex works on a layer of an image.")
        base = image.get_base_type()
        if base != Gimp.ImageBaseType.RGB:
            mode = "grayscale" if base == Gimp.ImageBaseType.GRAY else "indexed"
            raise UserError(f"Retex works on RGB images and this one is {mode}. Convert it (Image → Mode → RGB) first.")
        if not drawables:
            raise UserError("Select a layer first: Retex puts its result above the selected layer.")
        if len(drawables) > 1:
            raise UserError(f"{len(drawables)} layers are selected. Select just one: Retex puts its result above it.")
        layer = drawables[0]
        name = layer.get_name()
        if not layer.is_layer():
            raise UserError(f"'{name}' is a channel or a layer mask. Select a layer in the Layers dialog.")
        if layer.is_text_layer():
            raise UserError(
                f"'{name}' is a text layer. Select a pixel layer, or turn it into one (Layer → Discard Text)."
            )
        if layer.is_group():
            raise UserError(f"'{name}' is a layer group. Select one of its layers, or merge the group first.")
        item = layer
        while item is not None:
            if item.get_lock_content():
                raise UserError(f"'{item.get_name()}' is locked. Unlock it in the Layers dialog, then try again.")
            item = item.get_parent()
        return layer

    def mask(self, layer: Gimp.Layer, name: str, what: str) -> Gimp.Channel | None:
        """The channel a mask argument names (None: the whole layer), or a UserError saying what is missing."""
        if not name:
            return None
        if name == SELECTION:
            if Gimp.Selection.is_empty(self.source):
                raise UserError(f"{what} uses the selection, but nothing is selected. Select where it goes first.")
            return self.source.get_selection()
        for channel in self.source.get_channels():
            if channel.get_name() == name:
                return channel
        known = ", ".join(f"'{c.get_name()}'" for c in self.source.get_channels()) or "none"
        raise UserError(f"{what} uses the channel '{name}', which this image does not have (its channels: {known}).")

    def read_mask(self, layer: Gimp.Layer, mask: Gimp.Channel, what: str) -> Frame:
        """The part of an image-sized channel under the layer, as stored (linear or perceptual), in the layer's
        precision; a mask that leaves the whole layer out is refused, as it would change nothing."""
        (_, x, y), w, h = layer.get_offsets(), layer.get_width(), layer.get_height()
        sample, model = sample_of(layer), Babl.format_get_encoding(mask.get_format()).split(" ")[0]  # Y or Y'
        rect = Gegl.Rectangle.new(x, y, w, h)
        data = bytes(mask.get_buffer().get(rect, 1.0, f"{model} {sample.babl}", Gegl.AbyssPolicy.NONE))
        check_mask(data, what, layer.get_name())
        return FrameSpec(w, h, "Y", sample.wire, "mask"), data

    def read_image(self, layer: Gimp.Layer) -> Frame:
        """The layer's pixels, perceptual RGB(A) as the networks expect, in the layer's own precision."""
        w, h, alpha, sample = layer.get_width(), layer.get_height(), layer.has_alpha(), sample_of(layer)
        fmt = f"R'G'B'{'A' if alpha else ''} {sample.babl}"
        data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
        return FrameSpec(w, h, "RGBA" if alpha else "RGB", sample.wire, "image"), bytes(data)

    def selection_box(self, layer: Gimp.Layer) -> Rect | None:
        return None  # GIMP offers no preview

    def read_selected(self, layer: Gimp.Layer) -> Frame | None:
        if Gimp.Selection.is_empty(self.source):
            return None
        inside, x, y, w, h = layer.mask_intersect()
        if not inside:
            raise UserError(f"The selection leaves out the whole layer '{layer.get_name()}'. Select part of it.")
        sample = sample_of(layer)
        rect = Gegl.Rectangle.new(x, y, w, h)
        pixels = layer.get_buffer().get(rect, 1.0, f"R'G'B' {sample.babl}", Gegl.AbyssPolicy.NONE)
        return FrameSpec(w, h, "RGB", sample.wire, "texture"), bytes(pixels)

    def still_there(self, layer: Gimp.Layer) -> Gimp.Layer | None:
        return layer if layer.is_valid() else None

    def new_layer(self, source: Gimp.Layer, name: str, result: Frame, origin: tuple[int, int], scale: int) -> None:
        """Where it shows, selected, in one undo step; ``scale`` > 1: the image is scaled first (same step)."""
        image, (_, x, y) = self.source, source.get_offsets()
        image.undo_group_start()
        try:
            if scale > 1:
                image.scale(image.get_width() * scale, image.get_height() * scale)
            self.layer = layer_from(image, name, result, sample_of(source))
            self.layer.set_offsets(x * scale, y * scale)
            image.insert_layer(self.layer, source.get_parent(), visible_position(image, source))
            image.set_selected_layers([self.layer])
        finally:
            image.undo_group_end()

    def new_image(self, source: Gimp.Layer, recipe: Recipe, result: Frame, preview: bool) -> str:
        """In the source's precision and colour profile, named ``photo ×2.xcf`` beside the source's file (a name
        no file has yet), so the title and Save As say what it is; a source never saved leaves it untitled."""
        spec, image = result[0], self.source
        self.image = Gimp.Image.new_with_precision(
            spec.width, spec.height, Gimp.ImageBaseType.RGB, image.get_precision()
        )
        if image.get_color_profile() is not None:
            self.image.set_color_profile(image.get_color_profile())
        file = image.get_file() or image.get_imported_file()
        path = file.get_path() if file is not None else None
        if path:
            self.image.set_file(Gio.File.new_for_path(recipe.document_path(path, ".xcf", os.path.exists)))
        self.layer = layer_from(self.image, recipe.name(), result, sample_of(source))
        self.image.insert_layer(self.layer, None, 0)
        return self.image.get_name()

    def show_preview(self, layer: Gimp.Layer, result: Frame, origin: tuple[int, int]) -> None:
        raise NotImplementedError("GIMP offers no preview")

    def say(self, message: str, failed: bool) -> None:
        pass  # the procedure reports ``Flow.message`` once the flow is done


class LinkJobs:
    """The flow's jobs in GIMP: blocking (GIMP's UI lives in another process), with the backend reached on first
    need. A failure raises ``link.LinkError`` out of the flow, which ``guarded`` reports."""

    def __init__(self) -> None:
        self.backend: link.Link | None = None

    def connect(self) -> link.Link:
        if self.backend is None:
            self.backend = open_link()
        return self.backend

    def catalogue(self) -> tuple[set[str], list[str]]:
        return set(self.connect().styles), self.connect().tasks

    def submit(self, kind: str, fields: dict[str, Any], frames: list[Frame], title: str, done: Done) -> None:
        done(run_job(self.connect(), kind, fields, frames, title), None)

    def cancel(self, job: object) -> None:
        pass  # GIMP's Cancel ends the plug-in; the backend then stops the job itself

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


def run_job(backend: link.Link, kind: str, fields: dict, frames: list[Frame], title: str) -> Message:
    """One backend job with GIMP's progress bar following it."""
    Gimp.progress_init(title)
    eta, shown = Eta(), [""]

    def progress(fraction: float, stage: str) -> None:
        text = " · ".join(part for part in (f"{title} ({stage})" if stage else title, eta.text(fraction)) if part)
        if text != shown[0]:
            shown[0] = text
            Gimp.progress_set_text(text)
        Gimp.progress_update(fraction)

    try:
        return backend.run_to_end(kind, fields, frames, progress)
    finally:
        Gimp.progress_end()


def restore(
    procedure: Gimp.Procedure,
    run_mode: Gimp.RunMode,
    image: Gimp.Image | None,
    drawables: list[Gimp.Drawable],
    config: Gimp.ProcedureConfig,
) -> list[GObject.Value]:
    """Restore, then texture, the selected layer into a new layer; the image is touched only once all went well."""
    host, jobs = GimpHost(image, drawables), LinkJobs()
    host.target()  # a message rather than a dialog that cannot work
    try:
        if run_mode == Gimp.RunMode.INTERACTIVE:
            from dialogs import restore_dialog

            if not restore_dialog(procedure, config, image, jobs.connect().styles):
                raise Cancelled
        flow = Flow(host, jobs)
        flow.run(order_from(config.get_property))
    finally:
        jobs.close()
    if flow.failed:
        raise UserError(flow.message)
    if host.image is not None and run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.Display.new(host.image)
    Gimp.displays_flush()
    return [GObject.Value(Gimp.Layer, host.layer), GObject.Value(Gimp.Image, host.image)]


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
    try:
        flow = Flow(host, jobs)
        flow.learn(*(config.get_property(name) for name in ("name", "scale", "minutes")))
    finally:
        jobs.close()
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
        return [RESTORE_PROC, LEARN_PROC]

    def do_set_i18n(self, _name: str) -> bool:
        return False

    def do_create_procedure(self, name: str) -> Gimp.Procedure:
        run = guarded(restore if name == RESTORE_PROC else learn)
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
                "own strength. The result is a new layer above the selected one, named after what was done; "
                "super-resolution opens a new image unless 'sr-output' is 'scale-image'.",
                name,
            )
            add_arguments(p, RESTORE)
            p.add_layer_return_value("layer", "Layer", "The new layer", False, RW)
            p.add_image_return_value("new-image", "New image", "The new image (super-resolution), if any", True, RW)
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
