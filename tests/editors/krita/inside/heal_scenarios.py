"""Heal with texture from the docker, run inside the real Krita by kritarunner (``kritarunner -s heal_scenarios
SPEC.json``) with the helpers and the runner of ``scenarios.py``: a disc is selected on a textured image and the
docker's Heal button pressed, with the surroundings' texture or a style; bad selections leave the document as it
was. ../test_heal_krita.py checks the records."""

from __future__ import annotations

from krita import Document, Selection
from kutil import nodes, open_image, paint_layer, snapshot, spin_until
from scenarios import __main__, dump, panel_for, press, scenario

__all__ = ["__main__"]  # kritarunner calls it


def select_mask(doc: Document, path: str) -> None:
    """The selection from a one-byte-a-pixel mask file (255 = selected), as a round hole is selected."""
    with open(path, "rb") as f:
        data = f.read()
    sel = Selection()
    sel.setPixelData(data, 0, 0, doc.width(), doc.height())
    doc.setSelection(sel)


def healed(ctx: dict, name: str, mask: str | None, style: str = "") -> dict:
    """Select ``mask`` (None: no selection) on the textured image, choose ``style`` ("" the surroundings'), press
    Heal; the message, the layer stack, the new layer's pixels and the source's before and after."""
    doc = open_image(ctx["textured"])
    if mask is not None:
        select_mask(doc, ctx[mask])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    spin_until(lambda: panel.pump.session.state not in ("starting", "connecting"), 120)
    panel.refresh()  # the style lists, as the docker's timer does
    row = panel.heal_row
    row.style.setCurrentIndex(row.style.findData(style))
    before = snapshot(doc)
    out = press(panel, row.button)
    out.update(
        layers=[[n.name(), n.type()] for n in nodes(doc)],
        chosen=row.style.currentText(),
        tip=row.button.toolTip(),
        input=dump(ctx, f"{name}-input", source, doc),
    )
    new = [n for n in nodes(doc) if n.name().startswith("Retex:")]
    if new:
        out["result"] = dump(ctx, name, new[0], doc)
        out["above_source"] = nodes(doc).index(new[0]) + 1 == nodes(doc).index(source)
    else:
        out["unchanged"] = before == snapshot(doc)
    return out


@scenario
def heal_surroundings(ctx: dict) -> dict:
    return healed(ctx, "heal_surroundings", "hole")


@scenario
def heal_style(ctx: dict) -> dict:
    return healed(ctx, "heal_style", "hole", "dots")


@scenario
def heal_no_selection(ctx: dict) -> dict:
    return healed(ctx, "heal_no_selection", None)


@scenario
def heal_too_big(ctx: dict) -> dict:
    return healed(ctx, "heal_too_big", "too_big")


@scenario
def heal_whole(ctx: dict) -> dict:
    return healed(ctx, "heal_whole", "whole")
