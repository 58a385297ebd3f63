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

from pacs.ingest import DicomStatusError, IngestOrigin, instance_ingest
from pacs.models import Organization

SKIPPED_NAMES = frozenset({"DICOMDIR"})


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
    """Ingest every item not yet in ``journal``; ``on_item`` is called after each (progress display)."""
    journal.parent.mkdir(parents=True, exist_ok=True)
    done = set(journal.read_text().splitlines()) if journal.exists() else set()
    summary = ImportSummary()
    origin = IngestOrigin(kind="import", organization=organization, description="import_dicom")
    with open(journal, "a", encoding="utf-8") as log:
        for item in items:
            if item.key in done:
                outcome = "skipped"
            else:
                outcome = _import_one(item, origin, summary)
                log.write(item.key + "\n")
                log.flush()
            summary.outcomes[outcome] += 1
            on_item(item, outcome)
    return summary


def _import_one(item: ImportItem, origin: IngestOrigin, summary: ImportSummary) -> str:
    try:
        data = item.read()
    except (OSError, zipfile.BadZipFile) as exc:
        summary.refusals.append((item.key, f"cannot read: {exc}"))
        return "refused"
    try:
        return instance_ingest(source=data, origin=origin).outcome
    except DicomStatusError as exc:
        summary.refusals.append((item.key, f"0x{exc.status:04X} {exc.comment}"))
        return "refused"
