#!/usr/bin/env python3
"""Retex for GIMP 3: Filters → Enhance → Retex: Restore & Texture… and Learn Texture from Selection….

This file is the GIMP side only: it reads the layer's pixels and the masks, writes the result layer and shows the
dialogs. What a run asks for (``common.recipe``), how the backend is reached (``link``, over ``common``) and how
failures are worded (``common.messages``) are shared with the Krita plug-in. Both procedures take all their settings
as arguments, so scripts and batch runs use them as the dialogs do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import gi
import link  # first: it puts ``common`` on the path

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from common.config import BackendConfig  # noqa: E402
from common.eta import Eta  # noqa: E402
from common.protocol import Frame, FrameSpec, Message, train_style_request  # noqa: E402
from common.recipe import (  # noqa: E402
    CLEANUP_TIP,
    KEEP_COLOURS,
    KEEP_COLOURS_TIP,
    NAME_TO_LEARN,
    RESULT_PREFIX,
    SELECT_TO_LEARN,
    TASKS,
    Recipe,
    Slot,
    UserError,
    free_path,
)
from gi.repository import Babl, Gegl, Gimp, Gio, GLib, GObject  # noqa: E402

RESTORE = "plug-in-retex-restore"
LEARN = "plug-in-retex-learn-style"
SLOTS = 3  # texture slots in the dialog and as arguments (style-N, strength-N, mask-N)
SELECTION = "selection"  # a mask argument naming the current selection; "" is the whole layer, anything else a channel
SR_OUTPUTS = {"new-image": "Open the result as a new image", "scale-image": "Scale this image and add a layer"}
SCALES = {"fine": "Fine (texture)", "coarse": "Coarse (painting style)"}


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


# --- what GIMP gives: the layer, its pixels, the masks -------------------------------------------------------------


def target_layer(image: Gimp.Image | None, drawables: list[Gimp.Drawable]) -> Gimp.Layer:
    """The one pixel layer a run works on, or a UserError that says what to change."""
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
        raise UserError(f"'{name}' is a text layer. Select a pixel layer, or turn it into one (Layer → Discard Text).")
    if layer.is_group():
        raise UserError(f"'{name}' is a layer group. Select one of its layers, or merge the group first.")
    item = layer
    while item is not None:
        if item.get_lock_content():
            raise UserError(f"'{item.get_name()}' is locked. Unlock it in the Layers dialog, then try again.")
        item = item.get_parent()
    return layer


def sample_of(layer: Gimp.Layer) -> Sample:
    return SAMPLES.get(Babl.get_name(Babl.format_get_type(layer.get_format(), 0)), Sample("float", "f32"))


def read_layer(layer: Gimp.Layer, sample: Sample) -> Frame:
    """The layer's pixels, perceptual RGB(A) as the networks expect, in the layer's own precision."""
    w, h = layer.get_width(), layer.get_height()
    alpha = layer.has_alpha()
    fmt = f"R'G'B'{'A' if alpha else ''} {sample.babl}"
    data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    return FrameSpec(w, h, "RGBA" if alpha else "RGB", sample.wire, "image"), bytes(data)


def mask_channel(image: Gimp.Image, name: str, what: str) -> Gimp.Channel | None:
    """The channel a mask argument names (None: the whole layer), or a UserError saying what is missing."""
    if not name:
        return None
    if name == SELECTION:
        if Gimp.Selection.is_empty(image):
            raise UserError(f"{what} uses the selection, but nothing is selected. Select where it goes first.")
        return image.get_selection()
    for channel in image.get_channels():
        if channel.get_name() == name:
            return channel
    known = ", ".join(f"'{c.get_name()}'" for c in image.get_channels()) or "none"
    raise UserError(f"{what} uses the channel '{name}', which this image does not have (its channels: {known}).")


def read_mask(channel: Gimp.Channel, layer: Gimp.Layer, sample: Sample, what: str) -> Frame:
    """The part of an image-sized channel under the layer, as stored (linear or perceptual), in the layer's
    precision; a mask that leaves the whole layer out is refused, as it would change nothing."""
    _, x, y = layer.get_offsets()
    w, h = layer.get_width(), layer.get_height()
    model = Babl.format_get_encoding(channel.get_format()).split(" ")[0]  # "Y" or "Y'"
    data = bytes(
        channel.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, f"{model} {sample.babl}", Gegl.AbyssPolicy.NONE)
    )
    if data.count(0) == len(data):
        raise UserError(f"{what}: its mask leaves out all of the layer '{layer.get_name()}', so it would do nothing.")
    return FrameSpec(w, h, "Y", sample.wire, "mask"), data


# --- what GIMP gets back: a new layer ------------------------------------------------------------------------------


def new_layer(image: Gimp.Image, name: str, result: Message, sample: Sample) -> Gimp.Layer:
    """A layer holding the result frame, written in the format it was read in."""
    spec, data = result.specs[0], result.frames[0]
    alpha = spec.channels == "RGBA"
    kind = Gimp.ImageType.RGBA_IMAGE if alpha else Gimp.ImageType.RGB_IMAGE
    layer = Gimp.Layer.new(image, name, spec.width, spec.height, kind, 100.0, Gimp.LayerMode.NORMAL)
    buffer = layer.get_buffer()
    rect = Gegl.Rectangle.new(0, 0, spec.width, spec.height)
    buffer.set(rect, f"R'G'B'{'A' if alpha else ''} {sample.babl}", bytes(data))
    buffer.flush()
    return layer


def visible_position(image: Gimp.Image, source: Gimp.Layer) -> int:
    """Where a result goes among the source's siblings: right above the source, or above the topmost earlier Retex
    layer above it, so that a new result never lands under an earlier (often opaque) one and stays unseen."""
    parent = source.get_parent()
    siblings = parent.get_children() if parent is not None else image.get_layers()  # top of the stack first
    above = siblings[: image.get_item_position(source)]
    return next((i for i, item in enumerate(above) if item.get_name().startswith(RESULT_PREFIX)), len(above))


def name_after(target: Gimp.Image, source: Gimp.Image, recipe: Recipe) -> None:
    """Name a super-resolution image after its source, ``photo ×2.xcf`` beside the source's file (a name no file
    has yet), so the title and Save As say what it is; a source never saved leaves it untitled."""
    file = source.get_file() or source.get_imported_file()
    path = file.get_path() if file is not None else None
    if path:
        folder, stem = os.path.dirname(path), recipe.document_name(path)
        target.set_file(Gio.File.new_for_path(free_path(folder, stem, ".xcf", os.path.exists)))


def place(
    image: Gimp.Image, source: Gimp.Layer, recipe: Recipe, result: Message, sample: Sample, sr_output: str
) -> tuple[Gimp.Layer, Gimp.Image | None]:
    """Put the result where it shows (``visible_position``), selected, in one undo step, or in a new image for
    super-resolution (unless asked to scale this image); returns the new layer and the new image, if any."""
    scale = recipe.scale
    _, x, y = source.get_offsets()
    if scale > 1 and sr_output == "new-image":
        spec = result.specs[0]
        target = Gimp.Image.new_with_precision(spec.width, spec.height, Gimp.ImageBaseType.RGB, image.get_precision())
        profile = image.get_color_profile()
        if profile is not None:
            target.set_color_profile(profile)
        name_after(target, image, recipe)
        layer = new_layer(target, recipe.name(), result, sample)
        target.insert_layer(layer, None, 0)
        return layer, target
    image.undo_group_start()
    try:
        if scale > 1:
            image.scale(image.get_width() * scale, image.get_height() * scale)
        layer = new_layer(image, recipe.name(), result, sample)
        layer.set_offsets(x * scale, y * scale)
        image.insert_layer(layer, source.get_parent(), visible_position(image, source))
        image.set_selected_layers([layer])
    finally:
        image.undo_group_end()
    return layer, None


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
        return backend.run(kind, fields, frames, progress)
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
    layer = target_layer(image, drawables)
    backend = None
    try:
        if run_mode == Gimp.RunMode.INTERACTIVE:
            backend = open_link()
            from dialogs import restore_dialog

            if not restore_dialog(procedure, config, image, backend.styles, SLOTS, SELECTION):
                raise Cancelled
        task = config.get_property("task")
        wanted = [(i, config.get_property(f"style-{i}")) for i in range(1, SLOTS + 1)]
        recipe = Recipe(
            task,
            [Slot(style, config.get_property(f"strength-{i}")) for i, style in wanted if style],
            config.get_property("preserve-colours"),
            None if config.get_property("cleanup-auto") else config.get_property("cleanup"),
        )
        recipe.check()
        masks = [
            mask_channel(image, config.get_property(f"mask-{i}"), f"Texture {i} ({style})")
            for i, style in wanted
            if style
        ]
        hole = mask_channel(image, config.get_property("inpaint-mask"), "Inpainting") if task == "inpaint" else None
        if task == "inpaint" and hole is None:
            raise UserError("Inpainting needs a mask: the selection or a channel that covers what to fill.")
        backend = backend or open_link()
        recipe.check(backend.styles, backend.tasks)
        sample = sample_of(layer)
        for slot, channel in zip(recipe.slots, masks, strict=True):
            slot.mask = None if channel is None else read_mask(channel, layer, sample, f"Texture '{slot.style}'")
        hole_frame = None if hole is None else read_mask(hole, layer, sample, "Inpainting")
        fields, frames = recipe.request(read_layer(layer, sample), hole_frame)
        result = run_job(backend, "run", fields, frames, recipe.name())
    finally:
        if backend is not None:
            backend.close()
    new, new_image = place(image, layer, recipe, result, sample, config.get_property("sr-output"))
    if new_image is not None and run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.Display.new(new_image)
    Gimp.displays_flush()
    return [GObject.Value(Gimp.Layer, new), GObject.Value(Gimp.Image, new_image)]


def learn(
    procedure: Gimp.Procedure,
    run_mode: Gimp.RunMode,
    image: Gimp.Image | None,
    drawables: list[Gimp.Drawable],
    config: Gimp.ProcedureConfig,
) -> list[GObject.Value]:
    """Learn a new style from the selected part of the layer (its bounding box) through the backend."""
    layer = target_layer(image, drawables)
    if run_mode == Gimp.RunMode.INTERACTIVE:
        from dialogs import learn_dialog

        if not learn_dialog(procedure, config):
            raise Cancelled
    name, scale = config.get_property("name").strip(), config.get_property("scale")
    if not name:
        raise UserError(NAME_TO_LEARN)
    if Gimp.Selection.is_empty(image):
        raise UserError(SELECT_TO_LEARN)
    inside, x, y, w, h = layer.mask_intersect()
    if not inside:
        raise UserError(f"The selection leaves out the whole layer '{layer.get_name()}'. Select part of it.")
    sample = sample_of(layer)
    pixels = layer.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, f"R'G'B' {sample.babl}", Gegl.AbyssPolicy.NONE)
    texture = (FrameSpec(w, h, "RGB", sample.wire, "texture"), bytes(pixels))
    fields, frames = train_style_request(texture, name, scale=scale, minutes=config.get_property("minutes"))
    backend = open_link()
    try:
        result = run_job(backend, "train_style", fields, frames, f"Learning the texture '{name}'")
    finally:
        backend.close()
    style = result.header.get("style", {})
    if run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.message(f"Retex learned the texture '{style.get('name', name)}'. Pick it in Retex: Restore & Texture.")
    return [GObject.Value(GObject.TYPE_STRING, style.get("name", name))]


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


class Retex(Gimp.PlugIn):
    def do_query_procedures(self) -> list[str]:
        return [RESTORE, LEARN]

    def do_set_i18n(self, _name: str) -> bool:
        return False

    def do_create_procedure(self, name: str) -> Gimp.Procedure:
        run = guarded(restore if name == RESTORE else learn)
        p = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        p.set_image_types("*")  # grey and indexed images get a message saying what to do, not a greyed-out menu
        p.set_sensitivity_mask(
            Gimp.ProcedureSensitivityMask.DRAWABLE
            | Gimp.ProcedureSensitivityMask.DRAWABLES
            | Gimp.ProcedureSensitivityMask.NO_DRAWABLES
            | Gimp.ProcedureSensitivityMask.NO_IMAGE
        )
        p.set_attribution("Retex contributors", "MIT licence", "2026")
        if name == RESTORE:
            self._restore_arguments(p)
        else:
            self._learn_arguments(p)
        p.add_menu_path("<Image>/Filters/Enhance")  # after the label, which GIMP needs first
        return p

    @staticmethod
    def _restore_arguments(p: Gimp.Procedure) -> None:
        p.set_menu_label("Retex: Restore & Texture…")
        p.set_documentation(
            "Restore, then texture, the selected layer into a new layer",
            "Restores the layer (super-resolution, denoising, deblurring or inpainting), then adds up to "
            f"{SLOTS} textures, each where its mask says (the selection, a channel, or the whole layer) at its own "
            "strength. The result is a new layer above the selected one, named after what was done; "
            "super-resolution opens a new image unless 'sr-output' is 'scale-image'.",
            RESTORE,
        )
        p.add_choice_argument("task", "Res_toration", "What to restore first", choice(TASKS), "denoise", RW)
        p.add_boolean_argument(
            "cleanup-auto", "_Auto clean-up", "Photo tasks: let the network judge how much to clean up", True, RW
        )
        # any number reaches the plug-in, which says what is allowed (GIMP would drop an out-of-range one silently)
        p.add_double_argument(
            "cleanup",
            "_Clean-up",
            f"{CLEANUP_TIP}; photo tasks, used when cleanup-auto is off: 0 to 1",
            -sys.float_info.max,
            sys.float_info.max,
            0.5,
            RW,
        )
        for i in range(1, SLOTS + 1):
            p.add_string_argument(f"style-{i}", f"Texture {i}", "A style's name; empty: no texture", "", RW)
            p.add_double_argument(f"strength-{i}", f"Strength {i}", "0 to 2", 0.0, 2.0, 1.0, RW)
            p.add_string_argument(
                f"mask-{i}", f"Where {i}", "'selection', a channel's name, or empty for the whole layer", "", RW
            )
        p.add_boolean_argument("preserve-colours", f"_{KEEP_COLOURS}", KEEP_COLOURS_TIP, False, RW)
        p.add_string_argument(
            "inpaint-mask", "_Fill", "Inpainting: 'selection' or a channel's name (white = fill)", SELECTION, RW
        )
        p.add_choice_argument(
            "sr-output", "Super-resolution r_esult", "Where a larger result goes", choice(SR_OUTPUTS), "new-image", RW
        )
        p.add_layer_return_value("layer", "Layer", "The new layer", False, RW)
        p.add_image_return_value("new-image", "New image", "The new image (super-resolution), if any", True, RW)

    @staticmethod
    def _learn_arguments(p: Gimp.Procedure) -> None:
        p.set_menu_label("Retex: Learn Texture from Selection…")
        p.set_documentation(
            "Learn a new Retex texture from the selected pixels",
            "Trains a small style network on the selected part of the layer (at least 64 pixels a side for a fine "
            "texture, 128 for a coarse style); it then appears in Retex: Restore & Texture.",
            LEARN,
        )
        p.add_string_argument("name", "_Name", "The new texture's name", "my-texture", RW)
        p.add_choice_argument("scale", "_Kind", "Fine texture or coarse painting style", choice(SCALES), "fine", RW)
        p.add_double_argument("minutes", "_Minutes", "Training time (about 8 is good)", 0.05, 60.0, 8.0, RW)
        p.add_string_return_value("style", "Style", "The new style's name", "", RW)


Gimp.main(Retex.__gtype__, sys.argv)
