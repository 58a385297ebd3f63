"""DICOMweb media types: the Accept header (PS3.18 8.7 Content Negotiation) and multipart/related output.

Accept is a list of media ranges, each with parameters (quoted or not) and a q-value (RFC 9110 12.5.1).
A ``multipart/related`` range names its part type in ``type=`` and a transfer syntax in
``transfer-syntax=`` (PS3.18 8.7.3.5); ``transfer-syntax=*`` accepts any syntax, which the archive
answers with the stored bytes untouched. The negotiation functions turn the ranges a client sent into
what a resource can deliver, or raise :class:`pacs.retrieve.errors.NotAcceptable` (406).

Responses are streamed (:class:`StreamingHttpResponse`), part by part, so a study of thousands of instances
is never held in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.http import StreamingHttpResponse
from pydicom import uid as uids

from pacs.retrieve import codecs
from pacs.retrieve.errors import NotAcceptable

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
OCTET_STREAM = "application/octet-stream"
MULTIPART_RELATED = "multipart/related"
ANY_SYNTAX = "*"

# PS3.18 Table 8.7.3-5: the media type of each compressed pixel data transfer syntax.
COMPRESSED_MEDIA_TYPES: dict[str, str] = {
    uids.JPEGBaseline8Bit: "image/jpeg",
    uids.JPEGExtended12Bit: "image/jpeg",
    uids.JPEGLossless: "image/jpeg",
    uids.JPEGLosslessSV1: "image/jpeg",
    uids.RLELossless: "image/dicom-rle",
    uids.JPEGLSLossless: "image/jls",
    uids.JPEGLSNearLossless: "image/jls",
    uids.JPEG2000Lossless: "image/jp2",
    uids.JPEG2000: "image/jp2",
    uids.JPEG2000MCLossless: "image/jpx",
    uids.JPEG2000MC: "image/jpx",
    uids.HTJ2KLossless: "image/jphc",
    uids.HTJ2KLosslessRPCL: "image/jphc",
    uids.HTJ2K: "image/jphc",
}


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header; ``media_type`` and parameter names are lower case."""

    media_type: str
    params: dict[str, str]
    q: float = 1.0

    @property
    def part_type(self) -> str | None:
        """The ``type`` of a multipart range, or the range itself when it is not multipart."""
        if self.media_type == MULTIPART_RELATED or self.media_type == "multipart/*":
            return self.params.get("type", "").lower() or None
        return self.media_type

    @property
    def is_wildcard(self) -> bool:
        """``*/*`` or ``multipart/*``, or ``multipart/related`` with no part type: anything goes."""
        return self.media_type in ("*/*", "multipart/*") or (
            self.media_type == MULTIPART_RELATED and self.part_type in (None, "*/*")
        )

    @property
    def transfer_syntax(self) -> str | None:
        return self.params.get("transfer-syntax") or None

    def matches(self, media_type: str) -> bool:
        """Whether this range's part type accepts ``media_type`` (``image/*`` accepts ``image/png``)."""
        part_type = self.part_type
        if part_type is None or part_type == "*/*":
            return True
        if part_type.endswith("/*"):
            return media_type.startswith(part_type[:-1])
        return part_type == media_type


def accept_parse(header: str | None) -> list[MediaRange]:
    """Parse an Accept header into ranges, most preferred first; no header accepts anything."""
    if not header or not header.strip():
        return [MediaRange("*/*", {})]
    ranges = []
    for element in _split_outside_quotes(header, ","):
        pieces = _split_outside_quotes(element, ";")
        media_type = pieces[0].strip().lower()
        if "/" not in media_type:
            continue
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            name, sep, value = piece.partition("=")
            if sep:
                params[name.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            continue
        if q > 0:
            ranges.append(MediaRange(media_type, params, q))
    # sorted() is stable: ranges of equal q keep the client's order.
    return sorted(ranges, key=lambda r: -r.q)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


# --- negotiation per resource ---------------------------------------------------------------------


def dicom_transfer_syntaxes(ranges: list[MediaRange]) -> list[str]:
    """The transfer syntaxes acceptable for ``application/dicom`` parts, preferred first (PS3.18 8.7.3.5.2).

    No ``transfer-syntax`` parameter is answered like ``*``, with the stored bytes, as Orthanc and
    dcm4chee do: the file the modality sent is the one a PACS peer expects back, and converting a
    lossy-compressed instance would only make it bigger. A client that needs a syntax names it.
    """
    syntaxes = []
    for media_range in ranges:
        if media_range.media_type in (MULTIPART_RELATED, DICOM, "multipart/*", "*/*") and media_range.matches(DICOM):
            syntaxes.append(media_range.transfer_syntax or ANY_SYNTAX)
    if not syntaxes:
        raise NotAcceptable(f'Instances are available as {MULTIPART_RELATED}; type="{DICOM}" only')
    return syntaxes


def dicom_syntax_choose(syntaxes: list[str], stored: str) -> str | None:
    """The syntax to send an instance stored in ``stored`` in, or None when no acceptable one can be made."""
    for syntax in syntaxes:
        if syntax in (ANY_SYNTAX, stored):
            return stored
        if codecs.can_transcode(stored, syntax):
            return syntax
    return None


@dataclass(frozen=True)
class PixelRendition:
    """How pixel data (frames or Pixel Data bulk data) goes out: the part media type and the encoding."""

    media_type: str
    keep_stored: bool  # compressed frames as stored; False: decoded to uncompressed little endian
    # The client named the bare media type, not multipart/related: one frame may go as a single part.
    single_part: bool = False
    # Frames from the archive's lossless compressed copy (pacs.retrieve.rle_copies), not the stored file.
    from_copy: bool = False


def pixel_rendition_choose(ranges: list[MediaRange], stored: str, copy_syntax: str | None = None) -> PixelRendition:
    """Pick how to send pixel data stored in ``stored`` (PS3.18 8.7.3.3.2 and Table 8.7.3-5).

    Compressed frames are only ever sent as stored or uncompressed; the archive does not re-encode
    frames into another compression on the fly. ``copy_syntax``: the frames also exist, losslessly
    compressed, in this syntax (a precomputed copy), which a range naming its media type may have.
    """
    stored_uid = uids.UID(stored)
    compressed = stored_uid.is_compressed
    stored_type = COMPRESSED_MEDIA_TYPES.get(stored, OCTET_STREAM) if compressed else OCTET_STREAM
    copy_type = COMPRESSED_MEDIA_TYPES[copy_syntax] if copy_syntax else None
    for media_range in ranges:
        syntax = media_range.transfer_syntax
        single = media_range.media_type not in (MULTIPART_RELATED, "multipart/*", "*/*")
        if media_range.is_wildcard and syntax in (None, ANY_SYNTAX):
            return PixelRendition(stored_type, keep_stored=True)
        if (
            copy_type is not None
            and media_range.part_type == copy_type
            and syntax in (None, ANY_SYNTAX, copy_syntax)
            and copy_type != stored_type
        ):
            return PixelRendition(copy_type, keep_stored=False, single_part=single, from_copy=True)
        if media_range.matches(OCTET_STREAM) and media_range.part_type not in (None, "*/*"):
            if syntax in (None, uids.ExplicitVRLittleEndian) or (not compressed and syntax == ANY_SYNTAX):
                return PixelRendition(OCTET_STREAM, keep_stored=False, single_part=single)
            if syntax in (ANY_SYNTAX, stored):
                return PixelRendition(OCTET_STREAM, keep_stored=True, single_part=single)
            continue
        if compressed and media_range.matches(stored_type) and syntax in (None, ANY_SYNTAX, stored):
            return PixelRendition(stored_type, keep_stored=True, single_part=single)
    accepted = ", ".join(r.part_type or r.media_type for r in ranges)
    raise NotAcceptable(
        f"Pixel data stored as {stored_uid.name} can be sent as {OCTET_STREAM}"
        + (f" or {stored_type}" if compressed else "")
        + f", not as {accepted}"
    )


def metadata_acceptable(ranges: list[MediaRange]) -> None:
    """Metadata is DICOM JSON only (PS3.18 10.4.1.1.2); ``application/json`` is accepted as its alias."""
    for media_range in ranges:
        if media_range.media_type in (DICOM_JSON, "application/json", "application/*", "*/*"):
            return
    raise NotAcceptable(f"Metadata is available as {DICOM_JSON} only")


def rendered_media_type(ranges: list[MediaRange], supported: tuple[str, ...], override: str | None = None) -> str:
    """The image type of a rendered resource (PS3.18 8.7.4): the first supported one the client accepts.

    ``override`` is the ``accept`` query parameter (PS3.18 8.3.3.1), which takes the header's place.
    """
    if override:
        ranges = accept_parse(override)
    for media_range in ranges:
        for media_type in supported:
            if media_range.matches(media_type) and media_range.media_type in (
                media_type,
                MULTIPART_RELATED,
                "image/*",
                "*/*",
                "multipart/*",
            ):
                return media_type
    raise NotAcceptable(f"Rendered images are available as {', '.join(supported)}")


# --- multipart/related output ---------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingPart:
    content_type: str
    chunks: Iterable[bytes]
    location: str | None = None
    # Known before the part is sent: a client can then take the part without scanning for the boundary.
    length: int | None = None


def part_content_type(media_type: str, transfer_syntax: str | None = None) -> str:
    return f"{media_type}; transfer-syntax={transfer_syntax}" if transfer_syntax else media_type


def multipart_response(parts: Iterable[OutgoingPart], *, part_type: str, status: int = 200) -> StreamingHttpResponse:
    """A streamed ``multipart/related`` response (RFC 2387) whose parts are produced as it is sent."""
    boundary = uuid.uuid4().hex
    response = StreamingHttpResponse(_multipart_chunks(parts, boundary), status=status)
    response["Content-Type"] = f'{MULTIPART_RELATED}; type="{part_type}"; boundary={boundary}'
    return response


def _multipart_chunks(parts: Iterable[OutgoingPart], boundary: str) -> Iterator[bytes]:
    delimiter = f"--{boundary}\r\n".encode()
    for part in parts:
        header = f"Content-Type: {part.content_type}\r\n"
        if part.location:
            header += f"Content-Location: {part.location}\r\n"
        if part.length is not None:
            header += f"Content-Length: {part.length}\r\n"
        yield delimiter + header.encode("latin-1") + b"\r\n"
        yield from part.chunks
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()
