import io

import pytest

from dicomweb.multipart import BodyTooLarge, MultipartError, iter_parts, parse_content_type


def body(*parts: bytes, boundary: str = "b0undary", preamble: bytes = b"") -> bytes:
    out = preamble
    for part in parts:
        out += b"\r\n--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + part
    return out + b"\r\n--" + boundary.encode() + b"--\r\n"


class Trickle(io.RawIOBase):
    """A stream that returns a few bytes at a time, so delimiters straddle reads."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.pos = data, step, 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.data[self.pos : self.pos + min(self.step, n if n > 0 else self.step)]
        self.pos += len(chunk)
        return chunk


@pytest.mark.parametrize("step", [1, 7, 4096])
def test_parts_are_yielded_whole_whatever_the_read_size(step):
    payloads = [b"first", b"\r\n--not-the-boundary\r\n", b"x" * 100_000]
    parts = list(iter_parts(Trickle(body(*payloads)[2:], step), "b0undary", max_bytes=10**7))
    assert [p.body for p in parts] == payloads
    assert all(p.content_type == "application/dicom" for p in parts)


def test_preamble_is_skipped():
    parts = list(iter_parts(io.BytesIO(body(b"one", preamble=b"ignored text")), "b0undary", max_bytes=10**6))
    assert [p.body for p in parts] == [b"one"]


def test_missing_close_delimiter_is_an_error():
    data = b"--b0undary\r\nContent-Type: application/dicom\r\n\r\ntruncated"
    with pytest.raises(MultipartError, match="closing boundary"):
        list(iter_parts(io.BytesIO(data), "b0undary", max_bytes=10**6))


def test_wrong_boundary_is_an_error():
    with pytest.raises(MultipartError, match="no part"):
        list(iter_parts(io.BytesIO(body(b"x")), "other", max_bytes=10**6))


def test_size_limit_is_enforced_while_reading():
    with pytest.raises(BodyTooLarge):
        list(iter_parts(io.BytesIO(body(b"y" * 10_000)), "b0undary", max_bytes=5_000))


def test_content_type_parameters_quoted_and_unquoted():
    assert parse_content_type('multipart/related; type="application/dicom"; boundary=abc') == (
        "multipart/related",
        {"type": "application/dicom", "boundary": "abc"},
    )
    assert parse_content_type('Multipart/Related; type=application/dicom; boundary="a b"')[1]["boundary"] == "a b"
