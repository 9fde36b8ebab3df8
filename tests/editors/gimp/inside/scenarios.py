"""Scenarios run inside the real GIMP 3 by ../test_gimp_plugin.py (gimp-console, ``python-fu-eval``, which
provides ``Gimp``, ``Gegl``, ``Babl``, ``Gio``): each calls the installed plug-in's procedures through the PDB in
NONINTERACTIVE mode, as a script would, and records what happened; the records go to one JSON file that the tests
check. One GIMP session runs them all, so GIMP and the backend start once.
"""

# ruff: noqa: F821  (GIMP's python-fu-eval supplies Gimp, Gegl, Babl and Gio)

import hashlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

SPEC = json.loads(Path(os.environ["RETEX_GIMP_SPEC"]).read_text())
OUT = Path(SPEC["out"])
sys.path.insert(0, SPEC["plugin"])  # the installed plug-in's folder, for its ``common`` package

from common.client import Client  # noqa: E402

RESTORE, LEARN = "plug-in-retex-restore", "plug-in-retex-learn-style"
RGBA = Gimp.ImageType.RGBA_IMAGE
NORMAL = Gimp.LayerMode.NORMAL
REPLACE = Gimp.ChannelOps.REPLACE
results: dict = {}


# --- helpers --------------------------------------------------------------------------------------------------------


def load(key: str) -> tuple:
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(SPEC["inputs"][key]))
    return image, image.get_layers()[0]


def blank(w: int, h: int, base=Gimp.ImageBaseType.RGB, kind=RGBA) -> tuple:
    image = Gimp.Image.new(w, h, base)
    layer = Gimp.Layer.new(image, "bg", w, h, kind, 100.0, NORMAL)
    image.insert_layer(layer, None, 0)
    Gimp.context_set_foreground(Gegl.Color.new("rgb(0.8, 0.5, 0.2)"))
    layer.fill(Gimp.FillType.FOREGROUND)
    return image, layer


def encoding(drawable) -> str:
    return Babl.format_get_encoding(drawable.get_format())


def raw(drawable, fmt: str | None = None, rect: tuple | None = None) -> bytes:
    x, y, w, h = rect or (0, 0, drawable.get_width(), drawable.get_height())
    return bytes(drawable.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, fmt or encoding(drawable),
                                           Gegl.AbyssPolicy.NONE))  # fmt: skip


def dump(name: str, drawable, fmt: str, rect: tuple | None = None) -> dict:
    """Write a drawable's pixels (``rect``: a part of it, e.g. a channel under a layer) to a file for the test."""
    x, y, w, h = rect or (0, 0, drawable.get_width(), drawable.get_height())
    path = OUT / f"{name}.raw"
    path.write_bytes(raw(drawable, fmt, (x, y, w, h)))
    return {"file": str(path), "width": w, "height": h, "format": fmt}


def dump_mask(name: str, channel, layer, sample: str) -> dict:
    """A channel under the layer, as stored (Y or Y'), in the layer's sample type: what the command line gets."""
    _, x, y = layer.get_offsets()
    model = encoding(channel).split(" ")[0]
    return dump(name, channel, f"{model} {sample}", (x, y, layer.get_width(), layer.get_height()))


def state(image) -> dict:
    """Everything a run must leave alone: size, layers (with offsets and a hash of their pixels), channels, the
    selection, and GIMP's own dirty flag."""
    if image is None:
        return {}
    layers = []
    for layer in image.get_layers():
        _, x, y = layer.get_offsets()
        pixels = "" if layer.is_group() else hashlib.sha1(raw(layer)).hexdigest()
        layers.append([layer.get_name(), layer.get_width(), layer.get_height(), x, y, pixels])
    return {
        "size": [image.get_width(), image.get_height()],
        "layers": layers,
        "channels": [c.get_name() for c in image.get_channels()],
        "selection": hashlib.sha1(raw(image.get_selection())).hexdigest(),
        "dirty": image.is_dirty(),
    }


def call(proc_name: str, image, drawables: list, **args) -> dict:
    """Run a procedure NONINTERACTIVE; the record has its status, error text and return values, and whether the
    image was left exactly as it was."""
    procedure = Gimp.get_pdb().lookup_procedure(proc_name)
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    if drawables:
        config.set_core_object_array("drawables", drawables)
    for key, value in args.items():
        config.set_property(key.replace("_", "-"), value)
    if image is not None:
        image.clean_all()
    before = state(image)
    spy = Path(SPEC["spy"])
    spy.write_text("")
    started = time.monotonic()
    values = procedure.run(config)
    rec = {
        "status": values.index(0).value_nick,
        "error": values.index(1) if values.length() > 1 and isinstance(values.index(1), str) else "",
        "values": [values.index(i) for i in range(1, values.length())],
        "seconds": round(time.monotonic() - started, 2),
        "unchanged": before == state(image) and not (image is not None and image.is_dirty()),
        "spy": [json.loads(line) for line in spy.read_text().splitlines()],
    }
    if image is not None:
        rec["layers"] = [layer.get_name() for layer in image.get_layers()]
        rec["size"] = [image.get_width(), image.get_height()]
    return rec


def result_layer(rec: dict, sample: str, alpha: bool = True) -> dict:
    layer = rec["values"][0] if rec["status"] == "success" else None
    if layer is None:
        return {}
    _, x, y = layer.get_offsets()
    info = dump(f"result-{len(results)}", layer, f"R'G'B'{'A' if alpha else ''} {sample}")
    return {**info, "name": layer.get_name(), "offsets": [x, y], "image_layers": len(layer.get_image().get_layers())}


def backend_status() -> dict:
    """The backend the plug-in uses (from its state file), asked directly."""
    state_file = json.loads((Path(SPEC["cache"]) / "retex" / "gimp-backend.json").read_text())
    endpoint = state_file["endpoint"]
    token = (Path(SPEC["config"]) / "token").read_text().strip()
    with Client(endpoint, token=token, timeout_s=10) as client:
        return client.request("status").header


def when_running(action, timeout: float = 60.0) -> threading.Thread:
    """Call ``action(status)`` from a thread as soon as the backend runs a job."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status = backend_status()
            except Exception:  # not started yet, or just killed
                status = {}
            if status.get("running"):
                action(status)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def cleanup(*images) -> None:
    for image in images:
        if image is not None and image.is_valid():
            image.delete()


# --- scenarios: results ---------------------------------------------------------------------------------------------


def two_masks_u8() -> dict:
    """A selection and a saved channel as the masks of two styles, on the lower of two layers."""
    image, bg = load("rgba8")
    top = Gimp.Layer.new(image, "top", 20, 20, RGBA, 100.0, NORMAL)
    image.insert_layer(top, None, 0)
    image.select_rectangle(REPLACE, *SPEC["stripe"])
    stripe = Gimp.Selection.save(image)
    stripe.set_name("stripe")
    image.select_ellipse(REPLACE, *SPEC["ellipse"])
    masks = {
        "sel": dump_mask("sel8", image.get_selection(), bg, "u8"),
        "stripe": dump_mask("stripe8", stripe, bg, "u8"),
    }
    source = dump("source8", bg, "R'G'B'A u8")
    rec = call(RESTORE, image, [bg], task="denoise", style_1="dots", strength_1=0.8, mask_1="selection",
               style_2="paint", strength_2=1.3, mask_2="stripe")  # fmt: skip
    rec.update(result=result_layer(rec, "u8"), masks=masks, source=source)
    cleanup(image)
    return rec


def size_variation() -> dict:
    """A texture at 200 % size, variation 7 (the size-1 and variation-1 arguments), on the whole layer."""
    image, bg = load("rgba8")
    Gimp.Selection.none(image)
    rec = call(RESTORE, image, [bg], task="none", style_1="dots", strength_1=1.3, size_1=200.0, variation_1=7.0)
    rec.update(result=result_layer(rec, "u8"))
    cleanup(image)
    return rec


def bad_variation() -> dict:
    """A script asks for variation 2.5 (any number reaches the plug-in)."""
    image, bg = load("rgba8")
    rec = call(RESTORE, image, [bg], task="none", style_1="dots", variation_1=2.5)
    cleanup(image)
    return rec


def bad_size() -> dict:
    image, bg = load("rgba8")
    rec = call(RESTORE, image, [bg], task="none", style_1="dots", size_1=300.0)
    cleanup(image)
    return rec


def selection_u16() -> dict:
    image, bg = load("rgba16")
    image.select_rectangle(REPLACE, *SPEC["rect16"])
    masks = {"sel": dump_mask("sel16", image.get_selection(), bg, "u16")}
    source = dump("source16", bg, "R'G'B'A u16")
    rec = call(RESTORE, image, [bg], task="denoise", style_1="paint", strength_1=1.5, mask_1="selection",
               preserve_colours=True)  # fmt: skip
    rec.update(result=result_layer(rec, "u16"), masks=masks, source=source, encoding=encoding(bg))
    cleanup(image)
    return rec


def float_linear() -> dict:
    """A 32-bit linear image: read and written as perceptual floats, in full precision."""
    image, bg = load("rgba8")
    image.convert_precision(Gimp.Precision.FLOAT_LINEAR)
    image.select_rectangle(REPLACE, *SPEC["rect_float"])
    masks = {"sel": dump_mask("self", image.get_selection(), bg, "float")}
    source = dump("sourcef", bg, "R'G'B'A float")
    rec = call(RESTORE, image, [bg], task="denoise", style_1="dots", strength_1=1.0, mask_1="selection")
    rec.update(result=result_layer(rec, "float"), masks=masks, source=source, encoding=encoding(bg))
    cleanup(image)
    return rec


def sr2_new_image() -> dict:
    image, bg = load("rgba8")
    # as if opened from rgba8.xcf (a PDB load leaves an image without a file, and only an XCF name can be set)
    image.set_file(Gio.File.new_for_path(SPEC["inputs"]["rgba8"].replace(".png", ".xcf")))
    rec = call(RESTORE, image, [bg], task="sr2")
    rec["result"] = result_layer(rec, "u8")
    new = rec["values"][1] if rec["status"] == "success" else None
    rec["new_image"] = state(new)
    rec["new_file"] = new.get_file().get_path() if new is not None and new.get_file() is not None else None
    cleanup(image, new)
    return rec


def photo_sr2(**strength) -> dict:
    """Upscale ×2 (photos) at a clean-up strength (the procedure's arguments): a new image."""
    image, bg = load("rgba8")
    rec = call(RESTORE, image, [bg], task="photo-sr2", **strength)
    rec["result"] = result_layer(rec, "u8")
    new = rec["values"][1] if rec["status"] == "success" else None
    rec["new_image"] = state(new)
    cleanup(image, new)
    return rec


def photo_sr2_half() -> dict:
    return photo_sr2(cleanup_auto=False, cleanup=0.5)


def photo_sr2_auto() -> dict:
    return photo_sr2()


def photo_u8() -> dict:
    """Clean up noise and JPEG (photos) at 50 %: a new layer above the one chosen."""
    image, bg = load("rgba8")
    source = dump("source-photo", bg, "R'G'B'A u8")
    rec = call(RESTORE, image, [bg], task="photo", cleanup_auto=False, cleanup=0.5)
    rec.update(result=result_layer(rec, "u8"), source=source)
    cleanup(image)
    return rec


def sr2_scale_image() -> dict:
    image, bg = load("rgba8")
    rec = call(RESTORE, image, [bg], task="sr2", sr_output="scale-image")
    rec["result"] = result_layer(rec, "u8")
    rec["new_image"] = rec["values"][1] if rec["status"] == "success" else "?"
    cleanup(image)
    return rec


def under_earlier_result() -> dict:
    """The layer chosen lies under an earlier, opaque Retex layer: the result goes above that one, selected."""
    image, bg = load("rgba8")
    earlier = Gimp.Layer.new(image, "Retex: an earlier result", image.get_width(), image.get_height(), RGBA, 100.0,
                             NORMAL)  # fmt: skip
    image.insert_layer(earlier, None, 0)
    Gimp.context_set_foreground(Gegl.Color.new("rgb(0.2, 0.8, 0.4)"))
    earlier.fill(Gimp.FillType.FOREGROUND)
    rec = call(RESTORE, image, [bg], task="denoise")
    rec["selected"] = [layer.get_name() for layer in image.get_selected_layers()]
    cleanup(image)
    return rec


def learn() -> dict:
    """Learn a style from a selection, then use it."""
    image, bg = load("rgba8")
    image.select_rectangle(REPLACE, 8, 8, 72, 66)
    rec = call(LEARN, image, [bg], name="learned", scale="fine", minutes=0.05)
    image.select_rectangle(REPLACE, *SPEC["stripe"])
    rec["use"] = call(RESTORE, image, [bg], task="none", style_1="learned", mask_1="selection")
    cleanup(image)
    return rec


# --- scenarios: bad input -------------------------------------------------------------------------------------------


def no_image() -> dict:
    return call(RESTORE, None, [], task="denoise")


def no_drawable() -> dict:
    image, _ = load("rgba8")
    rec = call(RESTORE, image, [], task="denoise")
    cleanup(image)
    return rec


def two_drawables() -> dict:
    image, bg = load("rgba8")
    top = Gimp.Layer.new(image, "top", 20, 20, RGBA, 100.0, NORMAL)
    image.insert_layer(top, None, 0)
    rec = call(RESTORE, image, [bg, top], task="denoise")
    cleanup(image)
    return rec


def text_layer() -> dict:
    image, _ = load("rgba8")
    text = Gimp.TextLayer.new(image, "Hello", Gimp.context_get_font(), 12.0, Gimp.Unit.pixel())
    image.insert_layer(text, None, 0)
    rec = call(RESTORE, image, [text], task="denoise")
    cleanup(image)
    return rec


def group_layer() -> dict:
    image, bg = load("rgba8")
    group = Gimp.GroupLayer.new(image, "Group 1")
    image.insert_layer(group, None, 0)
    rec = call(RESTORE, image, [group], task="denoise")
    cleanup(image)
    return rec


def locked_layer() -> dict:
    image, bg = load("rgba8")
    bg.set_lock_content(True)
    rec = call(RESTORE, image, [bg], task="denoise")
    cleanup(image)
    return rec


def empty_selection() -> dict:
    image, bg = load("rgba8")
    Gimp.Selection.none(image)
    rec = call(RESTORE, image, [bg], task="denoise", style_1="dots", mask_1="selection")
    cleanup(image)
    return rec


def strength_out_of_range() -> dict:
    """A script asks for a clean-up strength of 1.5 (any number reaches the plug-in)."""
    image, bg = load("rgba8")
    rec = call(RESTORE, image, [bg], task="photo", cleanup_auto=False, cleanup=1.5)
    cleanup(image)
    return rec


def missing_channel() -> dict:
    image, bg = load("rgba8")
    image.select_rectangle(REPLACE, *SPEC["stripe"])
    Gimp.Selection.save(image).set_name("stripe")
    rec = call(RESTORE, image, [bg], task="denoise", style_1="dots", mask_1="wall")
    cleanup(image)
    return rec


def learn_no_selection() -> dict:
    image, bg = load("rgba8")
    rec = call(LEARN, image, [bg], name="nothing selected")
    cleanup(image)
    return rec


def error_in_a_dialog() -> dict:
    """A menu run that cannot work (a grey image): the reason in a dialog on the screen, which waits for the user
    (the spy closes it), rather than a line in GIMP's status bar once the dialog is gone."""
    image, bg = load("rgba8")
    image.convert_grayscale()
    rec = call(RESTORE, image, [bg], run_mode=Gimp.RunMode.INTERACTIVE)
    cleanup(image)
    return rec


def grayscale() -> dict:
    image, bg = load("rgba8")
    image.convert_grayscale()
    rec = call(RESTORE, image, [bg], task="denoise")
    cleanup(image)
    return rec


def indexed() -> dict:
    image, bg = load("rgba8")
    image.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, "")
    rec = call(RESTORE, image, [bg], task="denoise")
    cleanup(image)
    return rec


def with_config(changes: dict) -> dict:
    """A run with other backend settings (the plug-in reads them afresh for every run)."""
    config = Path(SPEC["config"]) / "config.json"
    saved = config.read_text()
    config.write_text(json.dumps({**json.loads(saved), **changes}))
    try:
        image, bg = load("rgba8")
        rec = call(RESTORE, image, [bg], task="denoise")
        cleanup(image)
    finally:
        config.write_text(saved)
    return rec


def other_protocol() -> dict:
    """A backend answering in another protocol version, at the configured address."""
    return with_config({"endpoint": SPEC["other_protocol"]})


def backend_missing() -> dict:
    """Nothing listens at the configured address and the backend's Python is not where the settings say."""
    return with_config({"endpoint": "tcp://127.0.0.1:9", "python": "/nowhere/python3"})


# --- scenarios: the backend or the plug-in dies mid-job -------------------------------------------------------------


def killed_backend() -> dict:
    """The backend is killed while it works: a message, the image unchanged; the next run starts a new one."""
    victim: dict = {}

    def kill(status: dict) -> None:
        victim.update(status)
        os.kill(status["pid"], signal.SIGKILL)

    image, bg = blank(1024, 1024)
    watcher = when_running(kill)
    rec = call(RESTORE, image, [bg], task="denoise")
    watcher.join(1)
    rec["killed_pid"] = victim.get("pid")
    small, layer = load("rgba8")
    rec["again"] = call(RESTORE, small, [layer], task="denoise")
    rec["again_pid"] = backend_status()["pid"]
    cleanup(image, small)
    return rec


def cancelled() -> dict:
    """GIMP's Cancel kills the plug-in process (SIGKILL); the backend must stop its job. The harness kills
    the plug-in when asked through the ``kill-plugin`` file, as GIMP would (the chroot has no /proc to find it)."""
    marks: dict = {}

    def ask_kill(status: dict) -> None:
        marks["job"] = status["running"]
        marks["killed_at"] = time.monotonic()
        (OUT / "kill-plugin").write_text("now")

    image, bg = blank(4096, 4096)
    watcher = when_running(ask_kill)
    rec = call(RESTORE, image, [bg], task="denoise")
    watcher.join(1)
    while backend_status().get("running") and time.monotonic() - marks.get("killed_at", 0) < 60:
        time.sleep(0.05)
    rec["idle_after"] = round(time.monotonic() - marks["killed_at"], 2) if "killed_at" in marks else None
    cleanup(image)
    return rec


# --- scenarios: the Restore & Texture dialog, played by the spy (inside/spy/sitecustomize.py) ----------------------

PREVIEWED = {"task": "denoise", "style-1": "dots", "strength-1": 0.8, "mask-1": "", "size-1": 100.0,
             "variation-1": 0.0, "style-2": "", "style-3": "", "preserve-colours": False}  # fmt: skip


def dialog(image, drawables: list, steps: list) -> dict:
    """A menu's run: the dialog played with ``steps``; what the spy noted in the dialog is in ``seen`` by name."""
    user = OUT / "user.json"
    user.write_text(json.dumps(steps))
    try:
        rec = call(RESTORE, image, drawables, run_mode=Gimp.RunMode.INTERACTIVE)
    finally:
        user.unlink()
    rec["seen"] = {detail["name"]: detail for name, detail in rec["spy"] if name == "seen"}
    return rec


LONG_NAME = "the wall behind the bicycle shed, as painted in the spring of the year before last"


def preview_cancelled() -> dict:
    """Preview on the selection's box, a stronger texture, a channel the image lacks, then Cancel: one preview layer
    that follows the settings, a failed one removed with the reason in the status line, nothing left after Cancel."""
    image, bg = load("rgba8")
    image.select_rectangle(REPLACE, *SPEC["preview_rect"])
    steps = [{"preview": True}, {"set": PREVIEWED}, {"wait": 1}, {"note": "first"}]
    steps += [{"set": {"strength-1": 1.6}}, {"note": "changed"}, {"wait": 2}, {"note": "second"}]
    steps += [{"set": {"mask-1": LONG_NAME}}, {"settle": 2.0}, {"note": "failed"}, {"press": "cancel"}]
    rec = dialog(image, [bg], steps)
    cleanup(image)
    return rec


def preview_applied() -> dict:
    """Preview, then OK: the preview goes, the result of the whole layer is added (one undo step)."""
    image, bg = load("rgba8")
    image.select_rectangle(REPLACE, *SPEC["preview_rect"])
    rec = dialog(
        image, [bg], [{"preview": True}, {"set": PREVIEWED}, {"wait": 1}, {"note": "preview"}, {"press": "ok"}]
    )
    rec["result"] = result_layer(rec, "u8")
    cleanup(image)
    return rec


def remembered_after_cancel() -> dict:
    """Another task and texture chosen, then Cancel: the next opening (or Filters → Re-Show) has them."""
    image, bg = load("rgba8")
    chosen = {"task": "deblur", "style-1": "paint", "strength-1": 1.25}
    rec = dialog(image, [bg], [{"preview": False}, {"set": chosen}, {"press": "cancel"}])
    rec["again"] = dialog(image, [bg], [{"note": "reopened"}, {"press": "cancel"}])
    cleanup(image)
    return rec


def preview_stopped() -> dict:
    """Cancel pressed while a long preview runs (a 4096 x 4096 layer, nothing selected): the dialog closes at once,
    the backend's job stops, nothing is left on the image."""
    image, bg = blank(4096, 4096)
    steps = [{"preview": True}, {"set": PREVIEWED}, {"settle": 3.0}, {"note": "running"}, {"press": "cancel"}]
    rec = dialog(image, [bg], steps)
    rec["closed_at"], ended = time.time(), time.monotonic()
    while backend_status().get("running") and time.monotonic() - ended < 60:
        time.sleep(0.05)
    rec["idle_after"] = round(time.monotonic() - ended, 2)
    cleanup(image)
    return rec


def learn_no_drawable() -> dict:
    image, _ = load("rgba8")
    rec = call(LEARN, image, [], name="nothing chosen")
    cleanup(image)
    return rec


def learn_adds_training() -> dict:
    """Learn Texture from the menu on the inference-only backend: the question is answered Yes (by the spy), the
    installer (a fake one in the Retex folder) runs, the backend restarts and the texture is learned."""
    image, bg = load("rgba8")
    image.select_rectangle(REPLACE, 8, 8, 72, 66)
    user = OUT / "user.json"
    user.write_text(json.dumps([{"set": {"name": "added", "minutes": 0.05}}, {"press": "ok"}]))
    try:
        rec = call(LEARN, image, [bg], run_mode=Gimp.RunMode.INTERACTIVE)
    finally:
        user.unlink()
    cleanup(image)
    return rec


def learn_in_window(name: str, press: str) -> dict:
    """Learn Texture from the menu with 5 minutes asked; the spy presses ``press`` in the learning window at the
    first swatch."""
    image, bg = load("rgba8")
    image.select_rectangle(REPLACE, 8, 8, 72, 66)
    user = OUT / "user.json"
    user.write_text(json.dumps([{"set": {"name": name, "minutes": 5.0}}, {"press": "ok"}, {"press": press}]))
    try:
        rec = call(LEARN, image, [bg], run_mode=Gimp.RunMode.INTERACTIVE)
    finally:
        user.unlink()
    image.select_rectangle(REPLACE, *SPEC["stripe"])
    rec["use"] = call(RESTORE, image, [bg], task="none", style_1=name, mask_1="selection")
    cleanup(image)
    return rec


def learn_good_enough() -> dict:
    """Good enough, stop at the first swatch: the style is saved then, and used."""
    return learn_in_window("enough", "good enough")


def learn_cancelled_in_window() -> dict:
    """Cancel in the learning window: nothing saved, nothing to report; the style is unknown afterwards."""
    return learn_in_window("dropped", "cancel learning")


for scenario in SPEC["scenarios"]:
    try:
        results[scenario] = globals()[scenario]()
    except Exception:
        results[scenario] = {"crash": traceback.format_exc()}
    Path(SPEC["results"]).write_text(json.dumps(results, indent=1, default=str))
