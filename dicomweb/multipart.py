"""A streaming reader for ``multipart/related`` request bodies (RFC 2387, as STOW-RS uses them).

Parts are yielded one at a time as they complete, so a request of many instances is never held in
memory whole; the body size is enforced while reading, whether or not Content-Length was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import BinaryIO

CHUNK_SIZE = 256 * 1024
MAX_HEADER_BYTES = 16 * 1024


class MultipartError(ValueError):
    """The body is not a well-formed multipart message; the text says why (for a 400 reason)."""


class BodyTooLarge(Exception):
    pass


@dataclass
class Part:
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """Media type (lower case) and its parameters, quoted or not: ``multipart/related; type="a/b"``."""
    message = Message()
    message["content-type"] = value
    media_type = message.get_content_type().lower()
    params = {k.lower(): v for k, v in message.get_params(failobj=[])[1:]}
    return media_type, params


def iter_parts(stream: BinaryIO, boundary: str, *, max_bytes: int) -> Iterator[Part]:
    """Yield the parts of a multipart body read from ``stream``."""
    delimiter = b"--" + boundary.encode("latin-1")
    reader = _Reader(stream, max_bytes)
    # The preamble runs up to the first delimiter, which may open the body without a leading CRLF.
    buffer = reader.fill(bytearray(), len(delimiter) + 2)
    if buffer.startswith(delimiter):
        position = len(delimiter)
    else:
        position = _find(reader, buffer, b"\r\n" + delimiter, 0)
        if position < 0:
            raise MultipartError(f"The body has no part delimited by boundary {boundary!r}")
        position += len(delimiter) + 2
    separator = b"\r\n" + delimiter
    while True:
        buffer = reader.fill(buffer, position + 2)
        if buffer[position : position + 2] == b"--":
            return  # close delimiter
        header_end = _find(reader, buffer, b"\r\n\r\n", position, limit=MAX_HEADER_BYTES)
        if header_end < 0:
            raise MultipartError("A part's headers are malformed or too long")
        headers = _parse_headers(bytes(buffer[position:header_end]))
        body_start = header_end + 4
        body_end = _find(reader, buffer, separator, body_start)
        if body_end < 0:
            raise MultipartError("The body ends inside a part: the closing boundary is missing")
        yield Part(headers=headers, body=bytes(buffer[body_start:body_end]))
        del buffer[: body_end + len(separator)]
        position = 0


def _parse_headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.decode("latin-1").split("\r\n"):
        line = line.strip()
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise MultipartError(f"Malformed part header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def _find(reader: _Reader, buffer: bytearray, needle: bytes, start: int, limit: int | None = None) -> int:
    """Find ``needle`` in ``buffer`` from ``start``, reading more from the stream as needed."""
    searched = start
    while True:
        index = buffer.find(needle, searched)
        if index >= 0:
            return index
        if limit is not None and len(buffer) - start > limit:
            return -1
        searched = max(start, len(buffer) - len(needle) + 1)
        if not reader.read_more(buffer):
            return -1


class _Reader:
    def __init__(self, stream: BinaryIO, max_bytes: int) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.total = 0

    def read_more(self, buffer: bytearray) -> bool:
        chunk = self.stream.read(CHUNK_SIZE)
        if not chunk:
            return False
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise BodyTooLarge
        buffer.extend(chunk)
        return True

    def fill(self, buffer: bytearray, size: int) -> bytearray:
        while len(buffer) < size and self.read_more(buffer):
            pass
        return buffer
