"""The remote-backend scenarios, run inside the real Krita by kritarunner (``kritarunner -s remote_scenarios
SPEC.json``) with the helpers and the runner of ``scenarios.py``: the docker's own Backend settings form switches
the plug-in to a backend on another address (CURVE), the same job runs there and locally, and wrong settings give
their message. ../test_krita_remote.py checks the records."""

from __future__ import annotations

from pathlib import Path

from kutil import open_image, paint_layer, select, snapshot
from scenarios import __main__, applied, configure, panel_for, press, scenario

__all__ = ["__main__"]  # kritarunner calls it


def settings_of(panel):
    return panel.settings_section.body


def choose(panel, backend: str, line: str = "") -> dict:
    """Fill in and save the docker's Backend settings, as a user does; what the form and the config file say."""
    from retex.common.config import config_path

    form = settings_of(panel)
    form.backend.setCurrentIndex(form.backend.findData(backend))
    if line:
        form.remote_edit.setText(line)
    before = config_path().read_bytes()
    form.save_button.click()
    after = config_path().read_bytes()
    return {
        "form": form.message.text(),
        "saved": before != after,
        "config": after.decode(),
        "remote_visible": form.remote_box.isVisibleTo(form),
        "local_visible": form.local_box.isVisibleTo(form),
    }


def textured(ctx: dict, name: str, settings: tuple[str, str] | None) -> dict:
    """Denoise and a texture in the selection, after choosing the backend ``settings`` (None: as it is)."""
    doc = open_image(ctx["rgba8"])
    select(doc, *ctx["rect"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    chosen = choose(panel, *settings) if settings else {}
    configure(panel, "denoise", [("Current selection", "dots", 0.8)])
    out = applied(ctx, name, doc, panel, source)
    session = panel.pump.session
    out.update(chosen, status=session.status(), pid=session.pid)
    return out


def refused(ctx: dict, settings: tuple[str, str]) -> dict:
    """A job after choosing ``settings`` that cannot work: the message, and whether the document stayed the same."""
    doc = open_image(ctx["rgba8"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    chosen = choose(panel, *settings)
    configure(panel, "denoise")
    before = snapshot(doc)
    out = press(panel, panel.apply_button)
    out.update(chosen, unchanged=before == snapshot(doc), layers=len(doc.rootNode().childNodes()))
    out.update(status=panel.status.text(), pid=panel.pump.session.pid)
    return out


@scenario
def local_first(ctx: dict) -> dict:
    return textured(ctx, "local_first", None)


@scenario
def remote_run(ctx: dict) -> dict:
    return textured(ctx, "remote_run", ("remote", ctx["line"]))


@scenario
def remote_wrong_key(ctx: dict) -> dict:
    return refused(ctx, ("remote", ctx["stranger"]))


@scenario
def remote_no_answer(ctx: dict) -> dict:
    return refused(ctx, ("remote", ctx["nobody"]))


@scenario
def remote_bad_line(ctx: dict) -> dict:
    """A connection line with a key cut short: not saved, the form says why; the backend in use stays."""
    doc = open_image(ctx["rgba8"])
    panel = panel_for(doc, paint_layer(doc))
    out = choose(panel, "remote", ctx["bad_line"])
    out["file_still_valid"] = '"backend": "remote"' in Path(ctx["config"]).read_text()
    return out


@scenario
def back_to_local(ctx: dict) -> dict:
    return textured(ctx, "back_to_local", ("local", ""))
