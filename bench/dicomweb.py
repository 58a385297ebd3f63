"""The DICOMweb client both servers get: STOW-RS, QIDO-RS, series metadata and frames, over requests.

Every request asks for an uncompressed response (``Accept-Encoding: identity``): Orthanc compresses
with gzip when the client allows it, which measures zlib rather than the archive.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from bench.servers import Target

DICOM_JSON = "application/dicom+json"
FRAMES_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
REQUEST_TIMEOUT = 120
# STOW-RS response attributes (PS3.18 Table 10.5.3-2).
_REFERENCED_SOP_SEQUENCE = "00081199"
_FAILED_SOP_SEQUENCE = "00081198"


class DicomWebError(Exception):
    """A response that is not what the standard asks for."""


@dataclass(frozen=True)
class Timed:
    """A response's size in items (studies, instances) and the seconds until its last byte."""

    items: int
    seconds: float


def session_factory(target: Target) -> requests.Session:
    """A keep-alive session with the target's headers (its token, if any)."""
    session = requests.Session()
    session.headers.update(target.headers)
    session.headers["Accept-Encoding"] = "identity"
    return session


def stow(session: requests.Session, target: Target, files: list[Path]) -> int:
    """Store ``files`` in one STOW-RS request; return how many the server says it stored."""
    boundary = f"bench-{secrets.token_hex(12)}"
    chunks: list[bytes] = []
    for path in files:
        chunks += [f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode(), path.read_bytes(), b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    response = session.post(
        f"{target.dicomweb_url}/studies",
        data=b"".join(chunks),
        headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": DICOM_JSON,
        },
        timeout=REQUEST_TIMEOUT,
    )
    if response.status_code not in (200, 202):
        raise DicomWebError(f"STOW-RS answered {response.status_code}: {response.text[:200]}")
    body = response.json()
    stored = len(body.get(_REFERENCED_SOP_SEQUENCE, {}).get("Value", []))
    failed = body.get(_FAILED_SOP_SEQUENCE, {}).get("Value", [])
    if failed or stored != len(files):
        raise DicomWebError(f"STOW-RS stored {stored} of {len(files)} instances; failures: {failed[:2]}")
    return stored


def search_studies(session: requests.Session, target: Target, params: dict[str, str]) -> Timed:
    """One QIDO-RS study search, timed until the whole body is in.

    Wildcards go unescaped: the Orthanc DICOMweb plugin matches ``%2A`` literally, not as ``*``.
    """
    query = "&".join(f"{quote(key)}={quote(value, safe='*,-')}" for key, value in params.items())
    start = time.perf_counter()
    response = session.get(
        f"{target.dicomweb_url}/studies?{query}", headers={"Accept": DICOM_JSON}, timeout=REQUEST_TIMEOUT
    )
    content = response.content
    seconds = time.perf_counter() - start
    if response.status_code == 204:
        return Timed(items=0, seconds=seconds)
    if response.status_code != 200:
        raise DicomWebError(f"QIDO-RS answered {response.status_code}: {response.text[:200]}")
    return Timed(items=len(json.loads(content)), seconds=seconds)


def series_metadata(session: requests.Session, target: Target, study_uid: str, series_uid: str) -> Timed:
    """One WADO-RS series metadata request, timed until the whole body is in."""
    start = time.perf_counter()
    response = session.get(
        f"{target.dicomweb_url}/studies/{study_uid}/series/{series_uid}/metadata",
        headers={"Accept": DICOM_JSON},
        timeout=REQUEST_TIMEOUT,
    )
    content = response.content
    seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise DicomWebError(f"series metadata answered {response.status_code}: {response.text[:200]}")
    return Timed(items=len(json.loads(content)), seconds=seconds)


def frame(
    session: requests.Session, target: Target, study_uid: str, series_uid: str, sop_uid: str, min_bytes: int
) -> int:
    """Frame 1 of one instance as multipart/related octet-stream; returns 1 (one frame)."""
    response = session.get(
        f"{target.dicomweb_url}/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/1",
        headers={"Accept": FRAMES_ACCEPT},
        timeout=REQUEST_TIMEOUT,
    )
    content = response.content
    if response.status_code != 200:
        raise DicomWebError(f"frames answered {response.status_code}: {response.text[:200]}")
    if not response.headers.get("Content-Type", "").startswith("multipart/related") or len(content) < min_bytes:
        raise DicomWebError(
            f"frames answered {response.headers.get('Content-Type')} with {len(content)} bytes, "
            f"expected multipart/related with at least {min_bytes}"
        )
    return 1
