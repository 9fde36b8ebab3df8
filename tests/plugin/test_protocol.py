"""The wire protocol's encoder and validator on their own (the service tests drive them over real sockets)."""

from __future__ import annotations

import json

import pytest

from plugin.common.protocol import REQUESTS, ErrorCode, FrameSpec, ProtocolError, decode, encode


def parts_with(header: dict, *frames: bytes) -> list[bytes]:
    return [json.dumps(header).encode(), *frames]


def test_round_trip_keeps_header_and_frames() -> None:
    spec = FrameSpec(3, 2, "BGRA", "u16", "image")
    data = bytes(range(48))
    msg = decode(encode("run", "r1", {"task": "denoise", "image": 0}, [(spec, data)]), REQUESTS)
    assert msg.type == "run" and msg.id == "r1" and msg.header["task"] == "denoise"
    assert msg.specs == [spec] and msg.frames == [data]


@pytest.mark.parametrize(
    "header,frames,code",
    [
        ({"v": 1, "id": "x", "type": "hello"}, [b"extra"], ErrorCode.BAD_FRAME),
        ({"v": 2, "id": "x", "type": "hello"}, [], ErrorCode.BAD_VERSION),
        ({"v": 1, "id": "", "type": "hello"}, [], ErrorCode.BAD_MESSAGE),
        ({"v": 1, "id": "x", "type": "result"}, [], ErrorCode.BAD_MESSAGE),  # a reply type sent as a request
        # a huge declared image with a tiny frame: refused on the numbers, nothing allocated
        (
            {
                "v": 1,
                "id": "x",
                "type": "run",
                "frames": [
                    {"width": 65536, "height": 65536, "channels": "RGBA", "sample": "f32", "bytes": 65536 * 65536 * 16}
                ],
            },
            [b"tiny"],
            ErrorCode.TOO_LARGE,
        ),
        (
            {
                "v": 1,
                "id": "x",
                "type": "run",
                "frames": [{"width": 2, "height": 2, "channels": "RGBA", "sample": "u8", "bytes": 16}],
            },
            [b"123"],
            ErrorCode.BAD_FRAME,
        ),
        (
            {
                "v": 1,
                "id": "x",
                "type": "run",
                "frames": [{"width": 2, "height": 2, "channels": "RGBA", "sample": "u8", "bytes": 17}],
            },
            [b"x" * 17],
            ErrorCode.BAD_FRAME,
        ),
        (
            {
                "v": 1,
                "id": "x",
                "type": "run",
                "frames": [{"width": True, "height": 2, "channels": "RGBA", "sample": "u8", "bytes": 8}],
            },
            [b"x" * 8],
            ErrorCode.BAD_FRAME,
        ),
        (
            {
                "v": 1,
                "id": "x",
                "type": "run",
                "frames": [{"width": 2, "height": 2, "channels": "CMYK", "sample": "u8", "bytes": 16}],
            },
            [b"x" * 16],
            ErrorCode.BAD_FRAME,
        ),
    ],
)
def test_malformed_messages_are_refused_with_stable_codes(header: dict, frames: list[bytes], code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(parts_with(header, *frames), REQUESTS, max_pixels=100_000_000)
    assert info.value.code == code


def test_not_json_and_oversized_headers() -> None:
    with pytest.raises(ProtocolError) as info:
        decode([b"\xff\xfe not json"], REQUESTS)
    assert info.value.code == ErrorCode.BAD_MESSAGE
    with pytest.raises(ProtocolError) as info:
        decode([b" " * 70_000], REQUESTS)
    assert info.value.code == ErrorCode.TOO_LARGE
    with pytest.raises(ProtocolError):
        decode([], REQUESTS)


def test_encoder_refuses_a_frame_that_does_not_match_its_spec() -> None:
    with pytest.raises(ValueError):
        encode("run", "x", {}, [(FrameSpec(2, 2, "RGBA", "u8"), b"short")])


def test_typed_requests_and_replies_round_trip() -> None:
    from plugin.common.replies import ErrorReply, Info, Progress, Result, Style, parse_reply
    from plugin.common.requests import HelloRequest, RunRequest, Slot, TrainStyleRequest, parse_request

    image = (FrameSpec(4, 3, "BGRA", "u8", "image"), bytes(48))
    mask = (FrameSpec(4, 3, "Y", "u8", "mask"), bytes(12))
    run = RunRequest("denoise", image, (Slot("a"), Slot("b", 0.5, mask)), mask, (1, 0, 2, 2), True, 0.25, id="r1")
    assert parse_request(run.to_frames()) == run == RunRequest.from_frames(run.to_frames())
    train = TrainStyleRequest(image, "mine", "coarse", 2.0, id="t1")
    assert parse_request(train.to_frames()) == train and parse_request(HelloRequest(id="h").to_frames()).id == "h"
    thumb = (FrameSpec(2, 2, "RGB", "u8", "dots"), bytes(12))
    info = Info(1, "0.1", "cpu", "torch", ("none",), (Style("dots", "fine", {}, True, None, None, thumb),), id="h")
    got = parse_reply(info.to_frames())
    assert isinstance(got, Info) and got.styles == info.styles and got.header["styles"][0]["thumbnail"] == 0
    result = Result("j1", image, (2, 4), 2, id="r1")
    back = parse_reply(result.to_frames())
    assert isinstance(back, Result) and (back.job, back.frame, back.origin, back.scale) == ("j1", image, (2, 4), 2)
    assert parse_reply(Progress("j1", 0.5, "denoise", None, id="r1").to_frames()) == Progress(
        "j1", 0.5, "denoise", id="r1"
    )
    assert parse_reply(ErrorReply(ErrorCode.CANCELLED, "cancelled", id="r1").to_frames()).header["code"] == "cancelled"


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"task": "denoise", "image": 1}, ErrorCode.BAD_MESSAGE),
        ({"task": "denoise", "image": 0, "slots": [{"style": "a", "strength": 2.5}]}, ErrorCode.BAD_OPTION),
        ({"task": "denoise", "image": 0, "slots": [{"style": "a"}] * 17}, ErrorCode.BAD_OPTION),
        ({"task": "photo", "image": 0, "options": {"cleanup": "much"}}, ErrorCode.BAD_OPTION),
        ({"task": "denoise", "image": 0, "crop": [0, 0, 5, 1]}, ErrorCode.BAD_OPTION),
        ({"task": "denoise", "image": 0, "slots": [{"style": "a", "mask": 0}], "x": 1}, None),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "scale": 0.5, "seed": 2**31 - 1}]}, None),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "scale": 0.49}]}, ErrorCode.BAD_OPTION),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "scale": 2.5}]}, ErrorCode.BAD_OPTION),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "scale": "big"}]}, ErrorCode.BAD_OPTION),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "scale": True}]}, ErrorCode.BAD_OPTION),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "seed": -1}]}, ErrorCode.BAD_OPTION),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "seed": 1.5}]}, ErrorCode.BAD_OPTION),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "seed": "7"}]}, ErrorCode.BAD_OPTION),
        ({"task": "none", "image": 0, "slots": [{"style": "a", "seed": 2**31}]}, ErrorCode.BAD_OPTION),
    ],
)
def test_a_run_request_is_checked_once_where_it_is_read(fields: dict, code: str | None) -> None:
    from plugin.common.requests import RunRequest, parse_request

    parts = encode("run", "r9", fields, [(FrameSpec(4, 3, "RGB", "u8"), bytes(36))])
    if code is None:
        assert isinstance(parse_request(parts), RunRequest)
        return
    with pytest.raises(ProtocolError) as info:
        parse_request(parts)
    assert info.value.code == code and info.value.id == "r9"


def test_a_slots_scale_and_seed_round_trip_and_are_optional_on_the_wire() -> None:
    import json

    from backend import stylize
    from plugin.common import fields
    from plugin.common.requests import RunRequest, Slot, parse_request

    assert (fields.TEXTURE_SCALES, fields.MAX_SEED) == (stylize.TEXTURE_SCALES, stylize.MAX_SEED)
    image = (FrameSpec(4, 3, "RGB", "u8", "image"), bytes(36))
    run = RunRequest("none", image, (Slot("a", 0.8, None, 0.5, 42), Slot("b", 1.0, None, 2.0), Slot("c")), id="r")
    back = parse_request(run.to_frames())
    assert back == run and [(s.scale, s.seed) for s in back.slots] == [(0.5, 42), (2.0, 0), (1.0, 0)]
    header = json.loads(run.to_frames()[0])
    assert header["slots"][0] == {"style": "a", "strength": 0.8, "scale": 0.5, "seed": 42}
    assert header["slots"][2] == {"style": "c", "strength": 1.0}  # defaults stay off the wire: as before


def test_a_learning_swatch_and_finish_round_trip_and_a_bad_swatch_is_refused() -> None:
    from plugin.common.replies import Progress, parse_reply
    from plugin.common.requests import FinishRequest, parse_request

    swatch = (FrameSpec(4, 2, "RGB", "u8", "swatch"), bytes(range(24)))
    event = Progress("j1", 0.25, "learning texture", 9.0, swatch, id="t1")
    assert parse_reply(event.to_frames()) == event and parse_reply(event.to_frames()).swatch == swatch
    assert parse_request(FinishRequest("j1", id="f1").to_frames()) == FinishRequest("j1", id="f1")
    grey = (FrameSpec(4, 2, "Y", "u8", "swatch"), bytes(8))
    with pytest.raises(ProtocolError) as e:
        parse_reply(Progress("j1", 0.25, "learning texture", None, grey, id="t1").to_frames())
    assert e.value.code == ErrorCode.BAD_MESSAGE
