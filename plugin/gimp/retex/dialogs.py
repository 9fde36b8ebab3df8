"""The two dialogs, built on GimpUi.ProcedureDialog so their values are the procedures' own arguments. GIMP
remembers them only after a run that went through; the Restore & Texture dialog also keeps its last settings when
cancelled (``recall``, ``remember``). Imported only for interactive runs: batch runs never load Gtk. The GObject
versions are pinned by ``bootstrap``, which retex.py imports first."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from common.config import config_dir, write_json
from common.flow import GOOD_ENOUGH, GOOD_ENOUGH_TIP, STOPPING, SWATCH_SOON, SWATCH_TIP
from common.options import RESTORE, SELECTION, SIZE, SLOTS
from common.protocol import Frame
from common.recipe import SCALES, Shown
from common.replies import Style
from gi.repository import GdkPixbuf, Gimp, GimpUi, GLib, GObject, Gtk, Pango

LAST_SETTINGS = "gimp-restore-dialog.json"  # in Retex's config folder: the dialog's settings when it last closed
ICON = 32  # a style's thumbnail in the texture lists, pixels a side
PREVIEW_DELAY_MS = 600  # a preview starts once the settings have stayed unchanged this long
NO_UPSCALE_PREVIEW = "Upscaling has no preview: its result is larger than the layer."
PREVIEWING = "Previewing…"


class Preview(Protocol):
    """The preview layer on the image (retex.py's ``Preview``): ``show`` runs it and says how it went."""

    def show(self, progress: Callable[[float, str], None], stop: Callable[[], bool]) -> tuple[str, bool]: ...

    def hide(self) -> None: ...


def _model(rows: Sequence[tuple[Any, ...]], *types: type) -> Gtk.ListStore:
    """A (value, label, ...) list for GimpUi's string combo boxes."""
    store = Gtk.ListStore(str, str, *types)
    for row in rows:
        store.append(list(row))
    return store


def _combo(config: Gimp.ProcedureConfig, prop: str, model: Gtk.ListStore) -> Gtk.Widget:
    return GimpUi.prop_string_combo_box_new(config, prop, model, 0, 1)


def _thumbnail(style: Style) -> GdkPixbuf.Pixbuf | None:
    """The style's thumbnail (RGB, 8 bits) at the lists' icon size; None when the backend has no picture of it."""
    if style.thumbnail is None:
        return None
    spec, data = style.thumbnail
    if spec.channels != "RGB" or spec.sample != "u8" or len(data) != spec.nbytes:
        return None
    pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(
        GLib.Bytes.new(bytes(data)), GdkPixbuf.Colorspace.RGB, False, 8, spec.width, spec.height, spec.width * 3
    )
    return pixbuf.scale_simple(ICON, ICON, GdkPixbuf.InterpType.BILINEAR)


def _style_combo(config: Gimp.ProcedureConfig, prop: str, model: Gtk.ListStore) -> Gtk.Widget:
    """A texture list: each style with its thumbnail (the model's third column) before its name."""
    combo = _combo(config, prop, model)
    icon = Gtk.CellRendererPixbuf()
    combo.pack_start(icon, False)
    combo.reorder(icon, 0)
    combo.add_attribute(icon, "pixbuf", 2)
    return combo


def recall(config: Gimp.ProcedureConfig, image: Gimp.Image) -> bool:
    """The settings the dialog had when it last closed, even by Cancel, over GIMP's (those of the last run that went
    through); a mask naming a channel this image lacks is left as it is. Returns whether Preview was on."""
    try:
        saved = json.loads((config_dir() / LAST_SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    if not isinstance(saved, dict):
        return True
    masks = {"", SELECTION} | {channel.get_name() for channel in image.get_channels()}
    for option in RESTORE:
        value = saved.get(option.name)
        if type(value) is not type(option.default) or (option.values is not None and value not in option.values):
            continue
        if option.name.startswith("mask-") or option.name == "inpaint-mask":
            if value not in masks:
                continue
        config.set_property(option.name, value)
    return saved.get("preview", True) is not False


def remember(config: Gimp.ProcedureConfig, preview: bool) -> None:
    """Keep the dialog's settings for its next opening (Re-Show included), whatever button closed it."""
    settings = {option.name: config.get_property(option.name) for option in RESTORE}
    try:
        write_json(config_dir() / LAST_SETTINGS, {**settings, "preview": preview})
    except OSError:
        pass  # a read-only config folder: the next dialog opens with GIMP's own last values


def restore_dialog(
    procedure: Gimp.Procedure,
    config: Gimp.ProcedureConfig,
    image: Gimp.Image,
    styles: list[Style],
    preview: Preview,
) -> bool:
    """Task and options, then one row per texture slot (style with its thumbnail and fine/coarse kind, where,
    strength, size, variation), then Preview and a status line; the style list is the running backend's, the mask
    list this image's selection and channels."""
    GimpUi.init("retex")
    previewing = recall(config, image)
    if not config.get_property("mask-1") and not Gimp.Selection.is_empty(image):
        config.set_property("mask-1", SELECTION)  # most often the first texture goes where one just selected
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "Retex: Restore & Texture")
    dialog.set_default_size(680, -1)
    cleanup = dialog.get_spin_scale("cleanup", 100.0)  # shown in per cent
    cleanup.set_range(0.0, 100.0)  # the argument takes any number, so a script's mistake gets a message
    cleanup.set_scale_limits(0.0, 100.0)
    cleanup.set_digits(0)
    cleanup.set_label("Clean-up (%)")
    dialog.fill(["task", "cleanup-auto", "cleanup", "sr-output", "preserve-colours"])
    style_rows = [("", "—", None)]
    style_rows += [(s.name, f"{s.name} ({s.scale})", _thumbnail(s)) for s in sorted(styles, key=lambda s: s.name)]
    mask_rows = [("", "Whole layer"), (SELECTION, "Selection")]
    mask_rows += [(c.get_name(), f"Channel “{c.get_name()}”") for c in image.get_channels()]
    styles_model, masks_model = _model(style_rows, GdkPixbuf.Pixbuf), _model(mask_rows)

    grid = Gtk.Grid(column_spacing=8, row_spacing=4, border_width=4)
    for column, title in enumerate(("Texture", "Where", "Strength", "Size (%)", "Variation")):
        grid.attach(Gtk.Label(label=title, xalign=0.0), column, 0, 1, 1)
    for i in range(1, SLOTS + 1):
        grid.attach(_style_combo(config, f"style-{i}", styles_model), 0, i, 1, 1)
        grid.attach(_combo(config, f"mask-{i}", masks_model), 1, i, 1, 1)
        strength = GimpUi.prop_spin_scale_new(config, f"strength-{i}", 0.05, 0.25, 2)
        strength.set_label("")  # the column says what it is; the argument's own label would not fit
        strength.set_hexpand(True)
        grid.attach(strength, 2, i, 1, 1)
        size = GimpUi.prop_spin_button_new(config, f"size-{i}", 10.0, 50.0, 0)
        size.set_range(SIZE[0], SIZE[1])  # the argument takes any number, so a script's mistake gets a message
        grid.attach(size, 3, i, 1, 1)
        variation = GimpUi.prop_spin_button_new(config, f"variation-{i}", 1.0, 10.0, 0)
        variation.set_range(0.0, 99999.0)
        grid.attach(variation, 4, i, 1, 1)
    textures = GimpUi.Frame.new("Textures")
    textures.add(grid)

    fill = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=8)
    fill.pack_start(Gtk.Label(label="Fill (inpainting):"), False, False, 0)
    fill.pack_start(_combo(config, "inpaint-mask", _model(mask_rows[1:])), True, True, 0)

    toggle = Gtk.CheckButton(label="_Preview", use_underline=True, active=previewing)
    toggle.set_tooltip_text(
        "Show the result on the image, as the layer 'Retex preview', whenever a setting changes: only the "
        "selection's area when something is selected (faster). The preview goes when the dialog closes."
    )
    status = _status_line()

    content = dialog.get_content_area()
    content.pack_start(textures, True, True, 0)
    content.pack_start(fill, False, False, 0)
    content.pack_start(toggle, False, False, 0)
    content.pack_start(status, False, False, 0)
    content.show_all()

    sr_output = dialog.get_widget("sr-output", GObject.TYPE_NONE)
    cleanup_auto = dialog.get_widget("cleanup-auto", GObject.TYPE_NONE)

    def follow_task(*_: object) -> None:  # options that only one kind of task uses are greyed out for the others
        shown = Shown.of(config.get_property("task"))
        sr_output.set_sensitive(shown.output)
        fill.set_sensitive(shown.fill)
        cleanup_auto.set_sensitive(shown.cleanup)
        cleanup.set_sensitive(shown.cleanup and not config.get_property("cleanup-auto"))

    config.connect("notify::task", follow_task)
    config.connect("notify::cleanup-auto", follow_task)
    follow_task()
    previews = Previews(config, preview, toggle, status)
    config.connect("notify", previews.later)
    toggle.connect("toggled", previews.later)
    dialog.connect("response", previews.outdated)  # OK, Cancel or Reset: a running preview stops at once
    previews.later()
    try:
        return dialog.run()
    finally:
        previews.stop()
        remember(config, toggle.get_active())
        dialog.destroy()


def _status_line() -> Gtk.Label:
    """What the preview did, on two lines at most whose room is kept, so a long message never moves the buttons."""
    status = Gtk.Label(xalign=0.0, yalign=0.0, wrap=True, lines=2, ellipsize=Pango.EllipsizeMode.END)
    status.set_name("status")
    status.set_max_width_chars(90)
    status.set_size_request(-1, status.create_pango_layout("A\nA").get_pixel_size()[1])
    return status


class Previews:
    """Preview on the dialog's settings: a run once they have stayed unchanged for ``PREVIEW_DELAY_MS``, one at a
    time (a change meanwhile cancels it and runs it again after), the preview removed when Preview is off; the
    status line says what is happening, never an earlier setting's message. The dialog stays live while a preview
    runs, and a button pressed then stops it at once."""

    def __init__(self, config: Gimp.ProcedureConfig, preview: Preview, toggle: Gtk.CheckButton, status: Gtk.Label):
        self.config, self.preview, self.toggle, self.status = config, preview, toggle, status
        self.timer = 0
        self.running = self.again = self.stale = False

    def outdated(self, *_: object) -> None:
        """The running preview, if any, is of no more use: it is cancelled."""
        self.stale = self.running

    def later(self, *_: object) -> None:
        """A setting changed: the preview shown is out of date, a new one comes shortly."""
        self.outdated()
        if self.timer:
            GLib.source_remove(self.timer)
        self.timer = GLib.timeout_add(PREVIEW_DELAY_MS, self._due)
        self.status.set_text("")

    def stop(self) -> None:
        if self.timer:
            GLib.source_remove(self.timer)
            self.timer = 0

    def _due(self) -> bool:
        self.timer = 0
        if self.running:
            self.again = True
        else:
            self._update()
        return False

    def _update(self) -> None:
        if not self.toggle.get_active():
            self.preview.hide()
            return
        if self.config.get_property("task") in SCALES:
            self.preview.hide()
            self.status.set_text(NO_UPSCALE_PREVIEW)
            return
        self.running, self.stale = True, False
        self.status.set_text(PREVIEWING)
        try:
            message, _failed = self.preview.show(self._progress, self._stop)
        finally:
            self.running = False
        self.status.set_text("" if self.stale else message)  # cancelled as out of date: a new one comes
        if self.again:
            self.again = False
            self.later()

    def _progress(self, fraction: float, text: str) -> None:
        self.status.set_text(text)

    def _stop(self) -> bool:
        """Asked while the job runs: the dialog's events are handled (a setting changed, a button pressed), then
        whether they made the preview out of date."""
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)
        return self.stale


def learn_dialog(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig) -> bool:
    GimpUi.init("retex")
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "Retex: Learn Texture from Selection")
    dialog.fill(None)
    try:
        return dialog.run()
    finally:
        dialog.destroy()


class LearningWindow:
    """While a texture is learned (interactive runs): the texture so far (its swatch, every few seconds once it is
    worth keeping), a progress bar with its words, "Good enough, stop" (on once a swatch came: the learning ends
    and keeps the texture as shown) and Cancel. The learning blocks this process, so the window's events are
    handled whenever the link asks ``cancelled`` (ten times a second); GIMP's own progress bar follows it too."""

    FINISH = 1  # the button's response

    def __init__(self, name: str) -> None:
        GimpUi.init("retex")
        self.window = Gtk.Dialog(title=f"Retex: learning the texture '{name}'")
        self.finish_button = self.window.add_button(GOOD_ENOUGH, self.FINISH)
        self.finish_button.set_tooltip_text(GOOD_ENOUGH_TIP)
        self.finish_button.set_sensitive(False)
        self.window.add_button("_Cancel", Gtk.ResponseType.CANCEL)
        self.picture = Gtk.Image()
        self.picture.set_tooltip_text(SWATCH_TIP)
        self.soon = Gtk.Label(label=SWATCH_SOON, wrap=True, max_width_chars=40)
        self.bar = Gtk.ProgressBar()
        self.line = _status_line()
        box = self.window.get_content_area()
        for widget in (self.picture, self.soon, self.bar, self.line):
            box.pack_start(widget, False, False, 6)
        self.stop = self.finishing = False
        self.window.connect("response", self._response)
        self.window.connect("delete-event", lambda *_: self._response(None, Gtk.ResponseType.CANCEL) or True)
        self.window.show_all()

    def progress(self, fraction: float, text: str) -> None:
        self.bar.set_fraction(fraction)
        if not self.finishing:
            self.line.set_text(text)

    def show_swatch(self, swatch: Frame) -> None:
        spec, data = swatch  # RGB, 8 bits (protocol: Progress.swatch)
        pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(
            GLib.Bytes.new(bytes(data)), GdkPixbuf.Colorspace.RGB, False, 8, spec.width, spec.height, spec.width * 3
        )
        self.picture.set_from_pixbuf(pixbuf)
        self.soon.hide()
        self.finish_button.set_sensitive(not self.finishing)

    def cancelled(self) -> bool:
        """The window's events handled, then whether Cancel was pressed."""
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)
        return self.stop

    def finished(self) -> bool:
        """Whether "Good enough, stop" was pressed (asked once a swatch came)."""
        return self.finishing

    def close(self) -> None:
        self.window.destroy()

    def _response(self, _window: object, response: int) -> None:
        if response == self.FINISH:
            self.finishing = True
            self.finish_button.set_sensitive(False)
            self.line.set_text(STOPPING)
        elif response in (Gtk.ResponseType.CANCEL, Gtk.ResponseType.DELETE_EVENT):
            self.stop = True


def error_dialog(title: str, message: str) -> None:
    """Why a run did nothing, in a dialog that waits for the user: a message in GIMP's status bar goes unseen."""
    GimpUi.init("retex")
    dialog = Gtk.MessageDialog(
        message_type=Gtk.MessageType.WARNING, buttons=Gtk.ButtonsType.CLOSE, text=message, title=title
    )
    try:
        dialog.run()
    finally:
        dialog.destroy()
