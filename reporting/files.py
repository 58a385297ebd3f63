"""Report files on disk: key-image PNGs and signed PDFs under ``{storage root}/{organization}/reports/{report}/``.

Beside the organization's studies, whose folders are Study Instance UIDs (digits and dots), so the
``reports`` folder can never meet one, whatever the organization's slug.

They are written atomically (temporary file, fsync, rename) by the archive's storage module; rows keep
the relative path. Names carry a random part, so a write never replaces a file another row points at,
and a transaction that rolls back leaves at most an unreferenced file, never a row without its file.
"""

from __future__ import annotations

import secrets

from pacs import storage


def _folder(*, organization_slug: str, report_id: int) -> str:
    return f"{organization_slug}/reports/{report_id}"


def key_image_relative_path(*, organization_slug: str, report_id: int) -> str:
    return f"{_folder(organization_slug=organization_slug, report_id=report_id)}/key-images/{secrets.token_hex(8)}.png"


def pdf_relative_path(*, organization_slug: str, report_id: int, number: int) -> str:
    folder = _folder(organization_slug=organization_slug, report_id=report_id)
    return f"{folder}/report-v{number}-{secrets.token_hex(4)}.pdf"


def file_write(relative_path: str, data: bytes) -> None:
    storage.write_atomic(relative_path, [data])


def file_read(relative_path: str) -> bytes:
    with storage.open_binary(relative_path) as handle:
        return handle.read()
