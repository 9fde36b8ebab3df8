"""Run by the test-driver plug-in inside the full Krita GUI: set the Retex docker up as a user would (a selection,
a painted mask layer, two textures), run a preview, then start a longer job and save a picture of the docker while it
runs to $RETEX_SCREENSHOT."""

import os

from krita import Krita
from kutil import nodes, select, spin_until

app = Krita.instance()
window = app.activeWindow()
doc = app.openDocument(os.environ["RETEX_TEST_IMAGE"])
window.addView(doc)
w, h = doc.width(), doc.height()
strokes = doc.createNode("lawn strokes", "paintlayer")
doc.rootNode().addChildNode(strokes, None)
strokes.setPixelData(bytes([128, 128, 128, 255]) * (w * (h // 3)), 0, h - h // 3, w, h // 3)
strokes.setVisible(False)
doc.setActiveNode(next(n for n in nodes(doc) if n.name() != "lawn strokes"))
select(doc, w // 8, h // 8, w // 2, h // 3)

from retex.extension import show_docker  # noqa: E402  (Krita has loaded the plug-in by now)

docker = show_docker(window)
panel = docker.panel
spin_until(lambda: panel.pump.session.state == "ready", 180)
styles = [s.name for s in panel.pump.session.styles]
for label, style, strength in (("Current selection", styles[0], 0.8), ("Luminance of lawn strokes", styles[-1], 1.2)):
    row = panel.add_slot()
    row.mask.refresh()
    row.mask.setCurrentIndex(row.mask.findText(label))
    row.style.setCurrentIndex(row.style.findData(style))
    row.strength.setValue(round(strength * 100))
panel.task.setCurrentIndex(panel.task.findData("denoise"))
panel.preview_button.click()
spin_until(lambda: not panel.flow.busy, 300)
previewed = panel.flow.message
panel.learn_section.toggle.setChecked(True)
panel.style_name.setText("brick-wall")
docked_width = docker.width()  # the width Krita gives the docker where it first puts it
docker.setFloating(True)  # floating only to be tall enough for the picture, at that width
docker.resize(docked_width, panel.sizeHint().height() + 30)
panel.task.setCurrentIndex(panel.task.findData("photo-sr4"))  # a longer job, caught half-way: progress, ETA, Cancel
panel.cleanup_auto.setChecked(False)
panel.cleanup.setValue(60)
panel.apply_button.click()
spin_until(lambda: panel.flow.job is not None and panel.flow.job.fraction > 0.3, 120)
spin_until(lambda: False, 0.3)  # let the widgets repaint
docker.grab().save(os.environ["RETEX_SCREENSHOT"])
panel.cancel_button.click()
spin_until(lambda: not panel.flow.busy, 60)
RESULT = {"message": previewed, "styles": styles}
