"""Run by the test-driver plug-in inside the full Krita GUI: open an image in a window, trigger the plug-in's real
menu action (Tools > Scripts > Retex: Apply) with Denoise chosen in the docker, and wait for the new layer."""

import os

from krita import Krita
from kutil import nodes, spin_until

app = Krita.instance()
window = app.activeWindow()
doc = app.openDocument(os.environ["RETEX_TEST_IMAGE"])
window.addView(doc)
from retex.extension import docker_of  # noqa: E402  (Krita has loaded the plug-in by now)

docker = docker_of(window)
default_task = docker.panel.task.currentData() if docker else None
if docker:
    docker.panel.task.setCurrentIndex(docker.panel.task.findData("denoise"))
app.action("retex_apply").trigger()
done = spin_until(lambda: any(n.name() == "Retex: Denoise" for n in nodes(doc)), 180)
RESULT = {
    "plugins_loaded": docker is not None,
    "docker_visible": docker is not None and docker.isVisible(),
    "layers": [[n.name(), n.type()] for n in nodes(doc)],
    "message": docker.panel.flow.message if docker else "",
    "status": docker.panel.status.text() if docker else "",
    "done": done,
    "default_task": default_task,
}
