"""GIMP's Retex backend settings (Filters → Enhance → Retex: Backend Settings…): Local (the plug-in starts the
backend on this computer) or Remote (a backend on another machine, e.g. a GPU box, reached with the connection
line ``python -m backend keys`` prints there). Saved in the config file Krita's Retex reads too (``common.config``).
A procedure with two arguments, so a script sets them as the dialog does; a line that is not right is refused with
what to fix, and nothing is saved. Saved from the dialog, a remote backend is tried at once, so the user learns
there whether the address and keys work."""

from __future__ import annotations

from common import link
from common.config import BACKENDS, BackendConfig
from common.recipe import UserError
from common.remote import EXAMPLE, BadConnection
from gi.repository import Gimp, GimpUi, GObject, Gtk

PROC = "plug-in-retex-backend-settings"
TIP = (
    "Remote: on the machine with the GPU, run 'python -m backend keys'. It prints the serve command to run there "
    f"and the connection line to paste here ({EXAMPLE})."
)


def create(plugin: Gimp.PlugIn, run: Gimp.RunFunc) -> Gimp.Procedure:
    p = Gimp.ImageProcedure.new(plugin, PROC, Gimp.PDBProcType.PLUGIN, run, None)
    p.set_image_types("*")
    p.set_sensitivity_mask(
        Gimp.ProcedureSensitivityMask.DRAWABLE
        | Gimp.ProcedureSensitivityMask.DRAWABLES
        | Gimp.ProcedureSensitivityMask.NO_DRAWABLES
        | Gimp.ProcedureSensitivityMask.NO_IMAGE
    )
    p.set_attribution("Retex contributors", "MIT licence", "2026")
    p.set_menu_label("Retex: Backend Settings…")
    p.set_documentation(
        "Choose the backend Retex uses: on this computer, or on another machine",
        f"'backend' is 'local' or 'remote'; 'connection' is the line 'python -m backend keys' prints on the remote "
        f"machine ({EXAMPLE}). Krita's Retex uses the same settings.",
        PROC,
    )
    backends = Gimp.Choice.new()
    for i, (nick, label) in enumerate(BACKENDS.items()):
        backends.add(nick, i, label, "")
    rw = GObject.ParamFlags.READWRITE
    p.add_choice_argument("backend", "Backend", "Where the backend runs", backends, "local", rw)
    p.add_string_argument("connection", "Connection", "Remote: the connection line", "", rw)
    p.add_menu_path("<Image>/Filters/Enhance")
    return p


def dialog(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig) -> bool:
    GimpUi.init("retex")
    window = GimpUi.ProcedureDialog.new(procedure, config, "Retex: Backend Settings")
    tip = Gtk.Label(label=TIP, wrap=True, max_width_chars=60, xalign=0)
    window.get_content_area().pack_end(tip, False, False, 6)
    tip.show()
    window.fill(None)
    try:
        return bool(window.run())
    finally:
        window.destroy()


def run(
    procedure: Gimp.Procedure,
    run_mode: Gimp.RunMode,
    image: Gimp.Image | None,
    drawables: list[Gimp.Drawable],
    config: Gimp.ProcedureConfig,
) -> list[GObject.Value]:
    """Save the chosen backend (a UserError says why not, and nothing is saved)."""
    current = BackendConfig.load()
    interactive = run_mode == Gimp.RunMode.INTERACTIVE
    if interactive:
        config.set_property("backend", current.backend)  # what is saved now, perhaps by Krita
        config.set_property("connection", current.remote)
        if not dialog(procedure, config):
            return []
    try:
        chosen = current.choose(config.get_property("backend"), config.get_property("connection"))
        chosen.save()
    except (BadConnection, OSError) as e:
        raise UserError(f"Not saved: {e}") from None
    remote = chosen.remote_backend()
    if interactive and remote is not None:
        try:
            link.Link.open(chosen, lambda text: None).close()
        except link.LinkError as e:
            raise UserError(f"Saved, but: {e}") from None
        Gimp.message(f"Saved: Retex uses the backend at {remote.address}.")
    return []
