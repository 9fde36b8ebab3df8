"""The learning swatch and "Good enough, stop" in the docker, run inside the real Krita by kritarunner
(``kritarunner -s learning_scenarios SPEC.json``) with the helpers and the runner of ``scenarios.py``: a texture is
learned from the selection with a long budget; the docker shows its swatch, the button is pressed once it is on,
and the style joins the lists long before the budget is spent. ../test_krita_learning.py checks the records."""

from __future__ import annotations

import time

from kutil import open_image, paint_layer, select, spin_until
from scenarios import __main__, panel_for, scenario

__all__ = ["__main__"]  # kritarunner calls it


@scenario
def good_enough(ctx: dict) -> dict:
    """Learn for up to 5 minutes; press "Good enough, stop" once the docker shows a swatch."""
    doc = open_image(ctx["texture"])
    select(doc, 0, 0, 96, 96)
    panel = panel_for(doc, paint_layer(doc))
    spin_until(lambda: panel.pump.session.state == "ready", 120)
    panel.learn_section.toggle.setChecked(True)  # the user opens Learn to start it
    panel.style_name.setText("enough")
    panel.minutes.setValue(5.0)
    view = panel.learning_swatch
    panel.learn_button.click()
    started = time.monotonic()
    panel.refresh()
    out: dict = {
        "early": {
            "visible": view.isVisible(),
            "stop_enabled": view.stop_button.isEnabled(),
            "text": view.picture.text(),
            "stop_label": view.stop_button.text(),
        }
    }

    def shown() -> bool:
        panel.refresh()
        pixmap = view.picture.pixmap()
        return (pixmap is not None and not pixmap.isNull()) or not panel.flow.busy

    spin_until(shown, 200)
    pixmap = view.picture.pixmap()
    out["swatch"] = {
        "seconds": round(time.monotonic() - started, 1),
        "size": [pixmap.width(), pixmap.height()] if pixmap is not None else None,
        "stop_enabled": view.stop_button.isEnabled(),
        "visible": view.isVisible(),
    }
    view.stop_button.click()
    out["stopping"] = panel.flow.message
    panel.refresh()
    out["stop_enabled_after_press"] = view.stop_button.isEnabled()
    spin_until(lambda: not panel.flow.busy, 120)
    out["seconds"] = round(time.monotonic() - started, 1)
    spin_until(lambda: "enough" in [s.name for s in panel.pump.session.styles], 30)
    panel.refresh()
    out.update(
        message=panel.flow.message,
        failed=panel.flow.failed,
        learned=panel.flow.learned,
        styles=[s.name for s in panel.pump.session.styles],
        visible_after=view.isVisible(),
    )
    row = panel.add_slot()
    out["in_picker"] = row.style.findData("enough") >= 0
    return out
