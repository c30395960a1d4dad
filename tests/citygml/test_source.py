"""The prolog check hands the parser the whole document, seekable stream or not."""

from __future__ import annotations

import io

import pytest

from citygml import UnsafeInputError
from citygml.source import peek_prolog


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek, like a pipe or a socket."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(min(len(buffer), 5000))  # short reads, as pipes give
        buffer[: len(chunk)] = chunk
        return len(chunk)


DOCUMENT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<core:CityModel>'
    + b"<x>" * 40_000
    + b"</x>" * 40_000
    + b"</core:CityModel>\n"
)


def test_a_seekable_stream_is_rewound_and_handed_back():
    stream = io.BytesIO(DOCUMENT)
    returned = peek_prolog(stream, "city.gml")
    assert returned is stream and returned.read() == DOCUMENT


def test_a_one_way_stream_yields_the_peeked_bytes_then_the_rest():
    stream = OneWayStream(DOCUMENT)
    assert not stream.seekable() and len(DOCUMENT) > 65536  # longer than the peek
    assert peek_prolog(stream, "city.gml").read() == DOCUMENT


@pytest.mark.parametrize("make", [io.BytesIO, OneWayStream])
def test_a_dtd_is_refused_whatever_the_stream(make):
    document = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<x>&a;</x>'
    with pytest.raises(UnsafeInputError, match="DTD or entities"):
        peek_prolog(make(document), "evil.gml")
