"""The two dialogs, built on GimpUi.ProcedureDialog so their values are the procedures' own arguments (GIMP
remembers them between runs). Imported only for interactive runs: batch runs never load Gtk. The GObject
versions are pinned by ``bootstrap``, which retex.py imports first."""

from __future__ import annotations

from common.options import SELECTION, SIZE, SLOTS
from common.recipe import Shown
from gi.repository import Gimp, GimpUi, GObject, Gtk


def _model(rows: list[tuple[str, str]]) -> Gtk.ListStore:
    """A two-column (value, label) list for GimpUi's string combo boxes."""
    store = Gtk.ListStore(str, str)
    for row in rows:
        store.append(row)
    return store


def _combo(config: Gimp.ProcedureConfig, prop: str, model: Gtk.ListStore) -> Gtk.Widget:
    return GimpUi.prop_string_combo_box_new(config, prop, model, 0, 1)


def restore_dialog(
    procedure: Gimp.Procedure,
    config: Gimp.ProcedureConfig,
    image: Gimp.Image,
    styles: dict[str, str],
) -> bool:
    """Task and options, then one row per texture slot (style with its fine/coarse kind, where, strength, size,
    variation); the style list is the running backend's, the mask list this image's selection and channels."""
    GimpUi.init("retex")
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
    style_rows = [("", "—")] + [(name, f"{name} ({kind})") for name, kind in sorted(styles.items())]
    mask_rows = [("", "Whole layer"), (SELECTION, "Selection")]
    mask_rows += [(c.get_name(), f"Channel “{c.get_name()}”") for c in image.get_channels()]
    styles_model, masks_model = _model(style_rows), _model(mask_rows)

    grid = Gtk.Grid(column_spacing=8, row_spacing=4, border_width=4)
    for column, title in enumerate(("Texture", "Where", "Strength", "Size (%)", "Variation")):
        grid.attach(Gtk.Label(label=title, xalign=0.0), column, 0, 1, 1)
    for i in range(1, SLOTS + 1):
        grid.attach(_combo(config, f"style-{i}", styles_model), 0, i, 1, 1)
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

    content = dialog.get_content_area()
    content.pack_start(textures, True, True, 0)
    content.pack_start(fill, False, False, 0)
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
    try:
        return dialog.run()
    finally:
        dialog.destroy()


def learn_dialog(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig) -> bool:
    GimpUi.init("retex")
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "Retex: Learn Texture from Selection")
    dialog.fill(None)
    try:
        return dialog.run()
    finally:
        dialog.destroy()


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
