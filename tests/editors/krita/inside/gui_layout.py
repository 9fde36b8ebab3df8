"""Run by the test-driver plug-in inside the full Krita GUI: the Retex docker where Krita first puts it, at the
width Krita gives it, with a texture slot and every section open, and a long message shown. Records what a user
would see cut off: a horizontal scrollbar, widgets narrower than they need, buttons that moved when the message
wrapped. ../test_krita_gui.py checks them."""

import os

from krita import Krita
from kutil import open_image, spin_until
from PyQt5.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QLabel, QWidget

app = Krita.instance()
window = app.activeWindow()
doc = open_image(os.environ["RETEX_TEST_IMAGE"])
window.addView(doc)

from retex.extension import docker_of  # noqa: E402  (Krita has loaded the plug-in by now)

docker = docker_of(window)
panel = docker.panel
app.action("retex_docker").trigger()
spin_until(lambda: panel.pump.session.state == "ready", 180)
panel.add_slot()
for section in panel.findChildren(QAbstractButton):
    if section.isCheckable() and not isinstance(section, QCheckBox) and not section.isChecked():
        section.setChecked(True)  # the collapsible sections' toggles: open them all
panel.task.setCurrentIndex(panel.task.findData("photo-sr4"))  # the longest label, the clean-up row shown
spin_until(lambda: False, 1)


def cut() -> list[str]:
    """Visible widgets given less width than their text needs."""
    found = []
    for w in panel.findChildren(QWidget):
        if not w.isVisibleTo(panel) or w.width() == 0:
            continue
        if isinstance(w, QLabel) and w.wordWrap():
            continue  # wraps instead of being cut
        need = w.minimumSizeHint().width() if isinstance(w, QComboBox) else w.sizeHint().width()
        if isinstance(w, (QLabel, QAbstractButton, QComboBox)) and w.width() < need:
            found.append(f"{type(w).__name__} '{getattr(w, 'text', lambda: '')() or ''}' {w.width()} < {need}")
    return found


def buttons() -> list[list[int]]:
    return [[b.x(), b.y()] for b in (panel.preview_button, panel.apply_button, panel.cancel_button)]


# a message about one image is gone once another image is shown
panel.task.setCurrentIndex(panel.task.findData("none"))
for row in list(panel.rows):
    panel._remove_slot(row)
app.action("retex_apply").trigger()
refused = panel.flow.message
window.addView(open_image(os.environ["RETEX_TEST_IMAGE"]))
spin_until(lambda: False, 1)
after_switch = panel.flow.message

scroll = docker.widget()
before = buttons()
panel.flow.message = "Retex could not do it: " + "a long message that wraps over several lines of the docker " * 4
panel.refresh()
spin_until(lambda: False, 1)
RESULT = {
    "floating": docker.isFloating(),
    "dock_width": docker.width(),
    "viewport_width": scroll.viewport().width(),
    "panel_needs": panel.minimumSizeHint().width(),
    "hbar": scroll.horizontalScrollBar().isVisible(),
    "cut": cut(),
    "widest": sorted(
        (
            [w.minimumSizeHint().width(), type(w).__name__, w.objectName(), str(getattr(w, "text", lambda: "")())[:30]]
            for w in panel.findChildren(QWidget)
            if w.isVisibleTo(panel) and w.minimumSizeHint().width() > 150
        ),
        reverse=True,
    )[:25],
    "buttons_before": before,
    "buttons_after": buttons(),
    "refused": refused,
    "after_switch": after_switch,
}
