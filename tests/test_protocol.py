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
