"""The shared flow (plugin/common/flow.py) driven through a small fake host, against a real backend over real
ZeroMQ (the session starts it, with tiny random networks): what every editor's Apply, Preview and Learn do, without
an editor. The real-editor suites (test_krita_plugin.py, test_gimp_plugin.py) check the Krita and GIMP hosts."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from plugin.common.config import BackendConfig
from plugin.common.flow import STOPPING, Flow, Order
from plugin.common.jobs import SessionJobs, follow
from plugin.common.layers import Layer, LayerMemory, landing
from plugin.common.options import RESTORE, order_from
from plugin.common.protocol import Frame, FrameSpec
from plugin.common.recipe import BUSY, LEARNING, NEEDS_MASK, SELECT_TO_LEARN, Recipe, Shown, Slot, UserError
from plugin.common.session import Session
from tests.service_helpers import REPO, make_weights

W, H = 48, 32


class FakeHost:
    """An editor in a few lines: one RGBA 8-bit layer, named masks (one byte a pixel), a selection box, and a
    layer stack (top first) that results go into. Records what it was asked to read and what it said."""

    def __init__(self, size: tuple[int, int] = (W, H)) -> None:
        w, h = size
        self.image: Frame = (FrameSpec(w, h, "RGBA", "u8", "image"), bytes(range(256)) * (w * h * 4 // 256))
        half = bytes([255] * (w // 2) + [0] * (w - w // 2)) * h
        self.masks = {"left half": half, "nothing": bytes(w * h)}
        self.box: tuple[int, int, int, int] | None = None
        self.layers: list[tuple[str, Frame]] = [("Background", self.image)]
        self.reads: list[str] = []
        self.said: list[tuple[str, bool]] = []

    def target(self) -> str:
        return "Background"

    def mask(self, target: str, source: str | None, what: str) -> str | None:
        if not source:
            return None
        if source not in self.masks:
            raise UserError(f"{what} uses the mask '{source}', which this image does not have.")
        return source

    def read_mask(self, target: str, mask: str, what: str) -> Frame:
        self.reads.append(mask)
        return FrameSpec(self.image[0].width, self.image[0].height, "Y", "u8", mask), self.masks[mask]

    def read_image(self, target: str) -> Frame:
        self.reads.append("image")
        return self.image

    def selection_box(self, target: str) -> tuple[int, int, int, int] | None:
        return self.box

    def read_selected(self, target: str) -> Frame | None:
        return None if self.box is None else self.image

    def still_there(self, target: str) -> str | None:
        return target if any(name == target for name, _ in self.layers) else None

    def new_layer(self, target: str, name: str, result: Frame, origin: tuple[int, int], scale: int) -> None:
        self.layers = [layer for layer in self.layers if layer[0] != "Retex preview"]  # Apply supersedes it
        names = [n for n, _ in self.layers]
        above = names[: names.index(target)][::-1]  # nearest first
        self.layers.insert(names.index(target) - landing(above), (name, result))

    def new_image(self, target: str, recipe: Recipe, result: Frame, preview: bool) -> str:
        raise AssertionError("no super-resolution here")

    def show_preview(self, target: str, result: Frame, origin: tuple[int, int]) -> None:
        self.layers.insert(0, ("Retex preview", result))
        self.preview_at = origin

    def say(self, message: str, failed: bool) -> None:
        self.said.append((message, failed))


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("flow")
    weights = make_weights(root / "weights", tasks=("denoise", "inpaint"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.setenv("RETEX_USER_STYLES", str(root / "user-styles"))
        args = ["--weights-dir", str(weights), "--threads", "1"]
        started = Session(BackendConfig(sys.executable, str(REPO), f"ipc://{root / 's'}", args), "flow-test")
        yield started
        started.close()


def settle(flow: Flow, session: Session, timeout: float = 120) -> None:
    """Poll as an editor's timer does until the flow's job has ended."""
    deadline = time.monotonic() + timeout
    while flow.busy and time.monotonic() < deadline:
        follow(session)
        time.sleep(0.02)
    assert not flow.busy, flow.message


def ready(session: Session) -> Session:
    session.connect()
    deadline = time.monotonic() + 120
    while session.state not in ("ready", "failed") and time.monotonic() < deadline:
        session.poll()
        time.sleep(0.02)
    assert session.state == "ready", session.status()
    return session


def test_a_run_places_a_named_layer_above_the_source(session: Session) -> None:
    host = FakeHost()
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.run(Order(Recipe("denoise", [Slot("dots", 0.5)]), ["left half"]))
    assert flow.busy and host.said == [("Working on 'Retex: Denoise + dots 50 %'…", False)]
    settle(flow, session)
    assert (flow.message, flow.failed) == ("Added the layer 'Retex: Denoise + dots 50 %'.", False)
    assert [name for name, _ in host.layers] == ["Retex: Denoise + dots 50 %", "Background"]
    spec, data = host.layers[0][1]
    assert spec.width == W and spec.height == H and spec.channels == "RGBA" and len(data) == len(host.image[1])
    assert data != host.image[1] and host.reads == ["left half", "image"]
    assert host.said[-1] == (flow.message, False) and len(host.said) == 2


def test_a_preview_runs_on_the_selection_box_and_the_next_apply_goes_above_earlier_results(session: Session) -> None:
    host = FakeHost()
    host.box = (4, 2, 10, 8)
    host.layers.insert(0, ("Retex: earlier", host.image))
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.run(Order(Recipe("denoise"), preview=True))
    settle(flow, session)
    assert flow.message == "Preview updated: Retex: Denoise." and host.layers[0][0] == "Retex preview"
    spec = host.layers[0][1][0]
    assert (spec.width, spec.height, host.preview_at) == (10, 8, (4, 2))  # the box only, where it belongs
    flow.run(Order(Recipe("denoise")))
    settle(flow, session)
    assert [name for name, _ in host.layers] == ["Retex: Denoise", "Retex: earlier", "Background"]


@pytest.mark.parametrize("hole", [None, ""])
def test_inpainting_without_a_mask_says_so_and_places_nothing(session: Session, hole: str | None) -> None:
    host = FakeHost()
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.run(Order(Recipe("inpaint"), hole=hole))
    assert (flow.message, flow.failed, flow.busy) == (NEEDS_MASK, True, False)
    assert host.said == [(NEEDS_MASK, True)] and host.reads == [] and len(host.layers) == 1


def test_a_mask_that_is_not_there_is_refused_before_the_backend_is_reached() -> None:
    host = FakeHost()
    flow = Flow(host, SessionJobs(lambda: pytest.fail("the backend was reached")))
    flow.run(Order(Recipe("inpaint"), hole="wall"))
    assert flow.failed and flow.message == "Inpainting uses the mask 'wall', which this image does not have."
    assert len(host.layers) == 1


def test_cancel_stops_the_job_and_changes_nothing(session: Session) -> None:
    host = FakeHost((1024, 768))
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.run(Order(Recipe("denoise")))
    job = flow.job
    deadline = time.monotonic() + 60
    while job.fraction <= 0 and time.monotonic() < deadline:
        follow(session)
        time.sleep(0.02)
    assert job.fraction > 0 and flow.busy
    flow.run(Order(Recipe("denoise")))  # a second run while one runs: said, and the running one goes on
    assert (flow.message, flow.failed, flow.job) == (BUSY, True, job)
    flow.cancel()
    settle(flow, session, 60)
    assert (flow.message, flow.failed) == ("Cancelled; nothing was changed.", True)
    assert [name for name, _ in host.layers] == ["Background"]


def test_a_backend_error_surfaces_as_one_message(session: Session) -> None:
    """A style the backend does not have, sent by a host that did not know the style list: the backend's refusal
    becomes one sentence, nothing placed."""
    host = FakeHost()
    jobs = SessionJobs(lambda: ready(session))
    jobs.catalogue = lambda: None  # type: ignore[method-assign]  (as before the backend's hello)
    flow = Flow(host, jobs)
    flow.run(Order(Recipe("none", [Slot("straw", 1.0)]), [None]))
    settle(flow, session)
    assert flow.failed and flow.message.startswith("That style is no longer installed. Pick another one. (")
    assert "straw" in flow.message and [f for _, f in host.said] == [False, True]
    assert [name for name, _ in host.layers] == ["Background"]


def test_learning_needs_a_name_and_a_selection() -> None:
    host = FakeHost()
    flow = Flow(host, SessionJobs(lambda: pytest.fail("the backend was reached")))
    flow.learn("  ", "fine", 0.1)
    assert flow.failed and flow.message == "Give the new texture a name."
    flow.learn("brick", "fine", 0.1)
    assert flow.failed and flow.message == SELECT_TO_LEARN


def test_results_land_above_the_topmost_earlier_result() -> None:
    assert landing([]) == 0 and landing(["sketch"]) == 0
    assert landing(["Retex: a", "sketch", "Retex: b", "ink"]) == 3  # nearest first: over both earlier results


def test_the_layer_the_user_chose_is_remembered_past_retex_layers() -> None:
    memory, layers = LayerMemory(), {"bg": "Background"}
    assert memory.source("img", Layer("bg", "Background"), layers.__contains__) == "bg"
    memory.made("img", "new")
    assert memory.source("img", Layer("new", "Retex: Denoise"), layers.__contains__) == "bg"
    assert memory.source("img", Layer("p", "Retex preview", preview=True), layers.__contains__) == "bg"
    del layers["bg"]
    with pytest.raises(UserError, match="'Background' that Retex worked on was deleted"):
        memory.source("img", Layer("new", "Retex: Denoise"), layers.__contains__)
    with pytest.raises(UserError, match="only shows a preview"):
        memory.source("img", Layer("p", "Retex preview", preview=True), layers.__contains__)
    assert memory.source("other", None, layers.__contains__) is None


def test_settings_make_the_order_both_editors_send() -> None:
    settings = {option.name: option.default for option in RESTORE}
    assert list(settings)[:3] == ["task", "cleanup-auto", "cleanup"]  # scripts may pass them by position
    settings.update({"style-2": "dots", "strength-2": 0.4, "mask-2": "stripe", "cleanup-auto": False})
    settings.update({"task": "photo-sr2", "sr-output": "scale-image"})
    order = order_from(settings.__getitem__)
    assert order.recipe.name() == "Retex: Upscale ×2 (clean-up 50 %) + dots 40 %"
    assert order.masks == ["stripe"] and order.hole == "selection" and order.scale_image and not order.preview
    assert Shown.of("photo-sr2") == Shown(fill=False, cleanup=True, output=True)
    assert Shown.of("inpaint") == Shown(fill=True, cleanup=False, output=False)


def test_a_slots_size_and_variation_reach_the_request_and_bad_ones_are_said() -> None:
    import json

    from plugin.common.requests import request_of

    settings = {option.name: option.default for option in RESTORE}
    assert [o.name for o in RESTORE][-6:] == ["size-1", "variation-1", "size-2", "variation-2", "size-3", "variation-3"]
    settings.update({"task": "none", "style-1": "dots", "size-1": 200.0, "variation-1": 7.0, "style-2": "grid"})
    order = order_from(settings.__getitem__)
    assert [(s.scale, s.seed) for s in order.recipe.slots] == [(2.0, 7), (1.0, 0)]
    assert order.recipe.name() == "Retex: dots 100 % size 200 % variation 7 + grid 100 %"
    order.recipe.check({"dots", "grid"})
    image = (FrameSpec(4, 3, "RGB", "u8", "image"), bytes(36))
    sent = request_of("run", *order.recipe.request(image))
    assert [(s.scale, s.seed) for s in sent.slots] == [(2.0, 7), (1.0, 0)]  # type: ignore[attr-defined]
    assert "scale" not in json.dumps(order.recipe.request(image)[0]["slots"][1])
    for key, value, words in [
        ("size-1", 40.0, "The size of 'dots' must be between 50% and 200%."),
        ("size-1", 250.0, "The size of 'dots' must be between 50% and 200%."),
        ("variation-1", 2.5, "The variation of 'dots' must be a whole number from 0 to 2147483647."),
        ("variation-1", -1.0, "The variation of 'dots' must be a whole number from 0 to 2147483647."),
    ]:
        bad = order_from({**settings, key: value}.__getitem__)
        with pytest.raises(UserError, match=words.replace("(", r"\(")) as e:
            bad.recipe.check({"dots", "grid"})
        assert str(e.value) == words


def test_a_bad_size_is_said_before_the_backend_is_reached() -> None:
    host = FakeHost()
    flow = Flow(host, SessionJobs(lambda: pytest.fail("the backend was reached")))
    flow.run(Order(Recipe("none", [Slot("dots", 1.0, None, 3.0)]), [None]))
    assert flow.failed and flow.message == "The size of 'dots' must be between 50% and 200%."
    assert len(host.layers) == 1


def test_apply_and_preview_go_on_while_a_texture_is_learned(session: Session) -> None:
    """Learning takes minutes: a run started meanwhile is done between its steps and ends first; a second learning
    is refused with its own words, and both jobs end well."""
    host = FakeHost((96, 96))
    host.box = (0, 0, 96, 96)
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.learn("meanwhile", "fine", 0.15)
    learning = flow.learning
    assert learning is not None and flow.job is None
    flow.learn("again", "fine", 0.1)
    assert (flow.message, flow.failed, flow.learning) == (LEARNING, True, learning)
    flow.run(Order(Recipe("denoise")))
    assert flow.job is not None and flow.shown() == (flow.job, flow.eta)
    deadline = time.monotonic() + 120
    while flow.job is not None and time.monotonic() < deadline:
        follow(session)
        time.sleep(0.02)
    assert flow.job is None and flow.learning is learning  # the run ended while learning goes on
    assert [name for name, _ in host.layers] == ["Retex: Denoise", "Background"]
    settle(flow, session)
    assert not flow.failed and flow.learned == "meanwhile", flow.message


def test_good_enough_stop_keeps_the_texture_as_learned_so_far(session: Session) -> None:
    """While a texture is learned, a swatch of it comes every few seconds once it is worth saving; only then can
    the learning be stopped early ("Good enough, stop"), and the style is saved as it is."""
    host = FakeHost((96, 96))
    host.box = (0, 0, 96, 96)
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.learn("enough", "fine", 5.0)
    assert flow.swatch is None and not flow.can_finish
    flow.finish()  # nothing worth saving yet: the button is off, and the learning goes on
    assert flow.learning is not None and flow.message == "Learning the texture 'enough' from the selection…"
    deadline = time.monotonic() + 150
    while flow.swatch is None and flow.busy and time.monotonic() < deadline:
        follow(session)
        time.sleep(0.02)
    assert flow.swatch is not None, flow.message
    spec, data = flow.swatch
    assert (spec.channels, spec.sample, spec.width, spec.height) == ("RGB", "u8", 256, 128) and len(data) == spec.nbytes
    assert flow.can_finish
    flow.finish()
    assert (flow.message, flow.can_finish) == (STOPPING, False)
    settle(flow, session)
    assert not flow.failed and flow.learned == "enough", flow.message
    assert flow.swatch is None and "Learned the texture 'enough'" in flow.message
