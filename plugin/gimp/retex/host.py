"""The GIMP side of the editor contract (``common.host``): the layer a procedure works on, its pixels and masks in
the layer's own precision, the result as a new layer (one undo step) or a new image, and the dialog's preview layer
(outside the undo history). Imported by retex.py after ``bootstrap``, which puts ``common`` on the path and pins the
GObject versions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from common.host import Rect
from common.layers import landing
from common.options import SELECTION
from common.protocol import Frame, FrameSpec
from common.recipe import PREVIEW_NAME, Recipe, UserError, check_mask
from gi.repository import Babl, Gegl, Gimp, Gio


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


def sample_of(layer: Gimp.Layer) -> Sample:
    return SAMPLES.get(Babl.get_name(Babl.format_get_type(layer.get_format(), 0)), Sample("float", "f32"))


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
    ``layer`` and ``image`` for the procedure's return values, the dialog's preview layer in ``preview``."""

    def __init__(self, image: Gimp.Image | None, drawables: list[Gimp.Drawable]) -> None:
        self.source, self.drawables = image, drawables
        self.layer: Gimp.Layer | None = None
        self.image: Gimp.Image | None = None  # a new image (super-resolution)
        self.preview: Gimp.Layer | None = None
        self.clean = False  # whether the image was unchanged (saved) before the preview layer came

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
            raise UserError("Select a layer first: Retex works on the selected layer.")
        if len(drawables) > 1:
            raise UserError(f"{len(drawables)} layers are selected. Select just one: Retex works on one layer.")
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
        """The selection's bounding box in the layer's coordinates (None: nothing selected)."""
        if Gimp.Selection.is_empty(self.source):
            return None
        inside, x, y, w, h = layer.mask_intersect()
        if not inside:
            raise UserError(f"The selection leaves out the whole layer '{layer.get_name()}'. Select part of it.")
        return x, y, w, h

    def read_selected(self, layer: Gimp.Layer) -> Frame | None:
        box = self.selection_box(layer)
        if box is None:
            return None
        x, y, w, h = box
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

    def show_preview(self, source: Gimp.Layer, result: Frame, origin: tuple[int, int]) -> None:
        """The one preview layer, right above the source at ``origin`` (the selection's box), replacing the last;
        the source stays the selected layer."""
        image, (_, x, y) = self.source, source.get_offsets()
        self.drop_preview()
        self.clean = not image.is_dirty()
        with self._unrecorded():
            self.preview = layer_from(image, PREVIEW_NAME, result, sample_of(source))
            self.preview.set_offsets(x + origin[0], y + origin[1])
            image.insert_layer(self.preview, source.get_parent(), image.get_item_position(source))
            image.set_selected_layers([source])
        Gimp.displays_flush()

    def drop_preview(self) -> None:
        """Remove the preview layer if there is one (Cancel, Apply, a failed preview): the image is as it was, and
        says it is unchanged if it did before."""
        if self.preview is not None and self.preview.is_valid():
            with self._unrecorded():
                self.source.remove_layer(self.preview)
            if self.clean:
                self.source.clean_all()
            Gimp.displays_flush()
        self.preview = None

    @contextmanager
    def _unrecorded(self) -> Iterator[None]:
        """Changes kept out of the undo history (so previews neither fill it nor mark the image changed)."""
        self.source.undo_freeze()
        try:
            yield
        finally:
            self.source.undo_thaw()

    def say(self, message: str, failed: bool) -> None:
        pass  # the procedure reports ``Flow.message`` once the flow is done
