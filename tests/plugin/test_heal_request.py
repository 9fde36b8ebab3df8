"""Heal with texture through the shared flow (``options.heal_order`` → ``Flow.run``), driven by the fake host of
test_flow.py against a real backend over real ZeroMQ: the request it sends, the layer it adds (changed only in the
hole), and one message, with nothing added, for each bad input. The editors' suites check the Krita and GIMP hosts."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from plugin.common.flow import Flow
from plugin.common.heal import Heal
from plugin.common.jobs import SessionJobs
from plugin.common.options import HEAL, heal_order
from plugin.common.protocol import FrameSpec
from plugin.common.recipe import SELECT_TO_HEAL, Recipe, UserError, check_mask
from plugin.common.requests import RunRequest, request_of
from plugin.common.session import Session
from tests.plugin.test_flow import FakeHost, ready, settle
from tests.plugin.test_flow import session as flow_session

SIZE = (128, 96)
session = flow_session  # the same backend as test_flow.py's, started once per module


def disc(x: int, y: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[0 : SIZE[1], 0 : SIZE[0]]
    return np.hypot(xx - x, yy - y) <= r


@pytest.fixture
def host() -> Iterator[FakeHost]:
    """The fake host at 128 x 96 (its pixels a striped ramp): a hole in the middle, and one too big to heal."""
    fake = FakeHost(SIZE)
    fake.masks["hole"] = (disc(64, 48, 10) * 255).astype(np.uint8).tobytes()
    fake.masks["too big"] = (disc(64, 48, 40) * 255).astype(np.uint8).tobytes()
    yield fake


def test_the_heal_request_carries_the_hole_and_the_texture() -> None:
    hole = (FrameSpec(*SIZE, "Y", "u8", "hole"), bytes(SIZE[0] * SIZE[1]))
    image = FakeHost(SIZE).image
    for order, wire in (
        (heal_order("hole"), {}),
        (heal_order("hole", "dots", 3.0), {"style": "dots", "seed": 3}),
    ):
        fields, frames = order.recipe.request(image, hole)
        assert fields["task"] == "inpaint" and fields["options"]["heal"] == wire and frames[1] == hole
        request = request_of("run", fields, frames)
        assert isinstance(request, RunRequest) and request.heal == Heal(wire.get("style"), wire.get("seed", 0))
    assert [o.name for o in HEAL] == ["style", "variation"]


def test_heal_adds_a_layer_changed_only_in_the_hole(session: Session, host: FakeHost) -> None:
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.run(heal_order("hole"))
    settle(flow, session)
    assert (flow.message, flow.failed) == ("Added the layer 'Retex: Heal'.", False)
    assert [name for name, _ in host.layers] == ["Retex: Heal", "Background"] and host.reads == ["hole", "image"]
    w, h = SIZE
    got = np.frombuffer(host.layers[0][1][1], np.uint8).reshape(h, w, 4)
    source = np.frombuffer(host.image[1], np.uint8).reshape(h, w, 4)
    hole = disc(64, 48, 10)
    assert np.array_equal(got[~hole], source[~hole]) and (got[hole] != source[hole]).any()


def test_heal_with_a_style_and_a_variation_names_them(session: Session, host: FakeHost) -> None:
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.run(heal_order("hole", "dots", 3.0))
    settle(flow, session)
    assert (flow.message, flow.failed) == ("Added the layer 'Retex: Heal with dots variation 3'.", False)


@pytest.mark.parametrize(
    "order, words",
    [
        (heal_order(None), SELECT_TO_HEAL),
        (heal_order("hole", "nope"), "The style 'nope' no longer exists. Pick another one, or the texture around it."),
        (heal_order("hole", "", 1.5), "The variation must be a whole number"),
        (heal_order("too big"), "The backend could not do it: too little texture around the hole"),
    ],
)
def test_bad_input_is_one_message_and_adds_nothing(session: Session, host: FakeHost, order, words: str) -> None:
    flow = Flow(host, SessionJobs(lambda: ready(session)))
    flow.run(order)
    settle(flow, session)
    assert flow.failed and flow.message.startswith(words), flow.message
    assert [name for name, _ in host.layers] == ["Background"]
    if "backend" not in words:
        assert "image" not in host.reads  # refused before any pixels were read


def test_a_hole_that_is_no_selection_or_all_of_it_is_refused_in_a_heals_words() -> None:
    """What a host's selection check says for a heal (Krita reads its selection as the mask kind 'hole')."""
    with pytest.raises(UserError, match="^There is no selection. Select the hole to heal"):
        check_mask(bytes(16), "hole")
    with pytest.raises(UserError, match="^The selection covers the whole image. Select the hole to heal"):
        check_mask(bytes([255]) * 16, "hole")
    check_mask(bytes([255, 0]) * 8, "hole")


def test_a_heal_recipe_takes_no_other_restoration_or_texture() -> None:
    with pytest.raises(UserError, match="no other restoration or texture"):
        Recipe("denoise", heal=Heal()).check()
