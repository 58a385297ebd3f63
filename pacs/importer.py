"""Import DICOM files from folders and zip archives through the ingest pipeline (``manage.py import_dicom``).

Resumable: every item handled is appended to a journal, and a later run over the same sources skips
what the journal lists, so an import interrupted at 80 % resumes at 80 %.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from pacs.ingest import DicomStatusError, IngestOrigin, instances_ingest
from pacs.models import Organization

SKIPPED_NAMES = frozenset({"DICOMDIR"})
# Files indexed per transaction, and the most bytes held in memory for one batch.
IMPORT_BATCH_FILES = 32
IMPORT_BATCH_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ImportItem:
    key: str  # the path, or "archive.zip::member" for a zip member
    read: Callable[[], bytes]


@dataclass
class ImportSummary:
    outcomes: Counter[str] = field(default_factory=Counter)  # stored / replaced / duplicate / refused / skipped
    refusals: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


def import_items(paths: list[Path]) -> list[ImportItem]:
    """Every file under the given paths (folders recursively, zip archives member by member), sorted."""
    items: list[ImportItem] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                items.extend(_items_of_file(child))
        elif path.is_file():
            items.extend(_items_of_file(path))
        else:
            raise FileNotFoundError(f"{path} does not exist")
    return items


def _items_of_file(path: Path) -> Iterator[ImportItem]:
    if path.name in SKIPPED_NAMES or path.name.startswith("."):
        return
    if path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
        for name in sorted(names):
            if Path(name).name in SKIPPED_NAMES:
                continue
            yield ImportItem(key=f"{path.resolve()}::{name}", read=_zip_reader(path, name))
    else:
        yield ImportItem(key=str(path.resolve()), read=path.read_bytes)


def _zip_reader(path: Path, name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(path) as archive:
            return archive.read(name)

    return read


def default_journal(paths: list[Path], organization: Organization) -> Path:
    digest = hashlib.sha256("\n".join(sorted(str(p.resolve()) for p in paths)).encode()).hexdigest()[:16]
    return Path(settings.VAR_DIR) / "imports" / f"{organization.slug}-{digest}.journal"


def import_run(
    *,
    items: list[ImportItem],
    organization: Organization,
    journal: Path,
    on_item: Callable[[ImportItem, str], None] = lambda item, outcome: None,
) -> ImportSummary:
    """Ingest every item not yet in ``journal``; ``on_item`` is called after each (progress display).

    Files are ingested in batches (one index transaction each); an item goes into the journal once its
    batch is stored, so an interrupted import resumes after the last stored batch.
    """
    journal.parent.mkdir(parents=True, exist_ok=True)
    done = set(journal.read_text().splitlines()) if journal.exists() else set()
    summary = ImportSummary()
    origin = IngestOrigin(kind="import", organization=organization, description="import_dicom")
    pending: list[tuple[ImportItem, bytes]] = []

    with open(journal, "a", encoding="utf-8") as log:

        def finish(item: ImportItem, outcome: str) -> None:
            log.write(item.key + "\n")
            summary.outcomes[outcome] += 1
            on_item(item, outcome)

        def ingest_pending() -> None:
            results = instances_ingest(sources=[data for _item, data in pending], origin=origin)
            for (item, _data), result in zip(pending, results, strict=True):
                if isinstance(result, DicomStatusError):
                    summary.refusals.append((item.key, f"0x{result.status:04X} {result.comment}"))
                    finish(item, "refused")
                else:
                    finish(item, result.outcome)
            log.flush()
            pending.clear()

        for item in items:
            if item.key in done:
                summary.outcomes["skipped"] += 1
                on_item(item, "skipped")
                continue
            try:
                data = item.read()
            except (OSError, zipfile.BadZipFile) as exc:
                summary.refusals.append((item.key, f"cannot read: {exc}"))
                finish(item, "refused")
                continue
            pending.append((item, data))
            if len(pending) >= IMPORT_BATCH_FILES or sum(len(data) for _item, data in pending) >= IMPORT_BATCH_BYTES:
                ingest_pending()
        if pending:
            ingest_pending()
    return summary
