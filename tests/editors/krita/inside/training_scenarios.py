"""Adding the training support from the docker, run inside the real Krita by kritarunner (``kritarunner -s
training_scenarios SPEC.json``) with the helpers and the runner of ``scenarios.py``: the plug-in's backend starts on
the inference-only environment, so learning a texture is refused; the question is answered by the test (Yes, or
No), a fake installer (``spec["installer"]``: prints steps, then writes the settings naming an environment with
torch, or fails) runs in place of the real one, and the docker follows it and learns again.
../test_krita_training.py checks the records."""

from __future__ import annotations

import json
from pathlib import Path

from kutil import open_image, paint_layer, select, spin_until
from scenarios import __main__, panel_for, scenario

__all__ = ["__main__"]  # kritarunner calls it


def offered(ctx: dict, name: str, answer: str, outcome: str) -> dict:
    """Learn ``name`` on the inference-only backend, answer the question with ``answer`` (``Yes``/``No``), let the
    fake installer end with ``outcome`` (``ok``/``fail``, or ``slow``: the docker's Cancel is pressed once it has
    said its first step); what the docker showed on the way."""
    from retex.common import training
    from retex.common.config import BackendConfig
    from retex.qt import QMessageBox

    asked: list[str] = []
    QMessageBox.question = lambda parent, title, text, buttons: asked.append(text) or getattr(QMessageBox, answer)
    training.command = lambda config: [*ctx["installer"], outcome]
    config = Path(ctx["config"])
    before = config.read_text()
    doc = open_image(ctx["texture"])
    select(doc, 0, 0, 96, 96)
    panel = panel_for(doc, paint_layer(doc))
    spin_until(lambda: panel.pump.session.state == "ready", 120)
    panel.style_name.setText(name)
    panel.minutes.setValue(0.05)
    panel.learn_button.click()
    spin_until(lambda: bool(asked) and not panel.flow.busy, 120)
    out: dict = {"asked": asked[:], "refused": panel.flow.message}
    seen: list[dict] = []

    def sample() -> bool:
        if panel.offer.install is not None:
            panel.refresh()
        if panel.offer.install is not None:  # still running after that refresh's look at it
            seen.append(
                {
                    "busy_bar": panel.progress.maximum() == 0,
                    "cancel": panel.cancel_button.isEnabled(),
                    "learn": panel.learn_button.isEnabled(),
                    "message": panel.message.text(),
                }
            )
            if outcome == "slow" and "installing" in seen[-1]["message"]:
                panel.cancel_button.click()
        return panel.offer.install is None and not panel.offer.restart and not panel.flow.busy

    spin_until(sample, 300)
    out.update(seen=seen, message=panel.flow.message, failed=panel.flow.failed, learned=panel.flow.learned)
    if panel.flow.learned == name:  # the style lists follow the backend's next word
        spin_until(lambda: name in [s.name for s in panel.pump.session.styles], 30)
    out["styles"] = [s.name for s in panel.pump.session.styles]
    out["python"] = json.loads(config.read_text())["python"]
    out["settings_unchanged"] = config.read_text() == before
    config.write_text(before)  # the next scenario starts on the inference-only environment again
    panel.pump.session.restart(BackendConfig.load())
    return out


@scenario
def training_declined(ctx: dict) -> dict:
    return offered(ctx, "declined", "No", "ok")


@scenario
def training_install_fails(ctx: dict) -> dict:
    return offered(ctx, "failing", "Yes", "fail")


@scenario
def training_added(ctx: dict) -> dict:
    return offered(ctx, "added", "Yes", "ok")


@scenario
def training_cancelled(ctx: dict) -> dict:
    return offered(ctx, "cancelled", "Yes", "slow")
