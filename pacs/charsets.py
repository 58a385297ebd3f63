"""Character set repairs on decoded text.

pydicom decodes ISO 2022 IR 58 (GB2312) values but leaves the designating escape sequence
(ESC $ ) A) in the text; ISO 2022 escape sequences (ESC, intermediate bytes 0x20-0x2F, a final byte
0x30-0x7E; ISO/IEC 2022 clause 13) are code switching, never characters, so they are removed.
"""

from __future__ import annotations

import re
from typing import Any

_ESCAPE_SEQUENCE = re.compile("\x1b[\x20-\x2f]*[\x30-\x7e]")


def strip_escape_sequences(text: str) -> str:
    return _ESCAPE_SEQUENCE.sub("", text) if "\x1b" in text else text


def clean_json_strings(value: Any) -> Any:
    """The same DICOM JSON with escape sequences removed from every string in it."""
    if isinstance(value, str):
        return strip_escape_sequences(value)
    if isinstance(value, list):
        return [clean_json_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: clean_json_strings(item) for key, item in value.items()}
    return value


def encode_iso2022_ir58(text: str) -> bytes:
    """Encode text the way DICOM's ISO 2022 IR 58 expects (PS3.5 6.1.2.5.3): each run of Chinese
    characters designated into G1 with ESC $ ) A and sent in GR (GB2312 bytes, high bits set)."""
    out = bytearray()
    designated = False
    for char in text:
        if ord(char) < 0x80:
            out += char.encode("ascii")
            if char in "^=\\":
                designated = False  # a PN delimiter returns to the initial state (PS3.5 6.1.2.5.3)
        else:
            if not designated:
                out += b"\x1b$)A"
                designated = True
            out += char.encode("gb2312")
    return bytes(out)
