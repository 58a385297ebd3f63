"""The front end's build manifest (Vite's manifest.json in static/viewer/): which files an entry needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders

MANIFEST = "viewer/manifest.json"
STATIC_PREFIX = "viewer/"


class FrontendNotBuilt(LookupError):
    """The manifest is missing, or does not name the entry: the front end has not been built."""


@dataclass(frozen=True)
class EntryAssets:
    script: str
    styles: tuple[str, ...]


def manifest_path() -> Path | None:
    found = finders.find(MANIFEST)
    return Path(found) if isinstance(found, str) else None


@lru_cache(maxsize=4)
def _manifest(path: Path, mtime: float) -> dict[str, dict]:  # noqa: ARG001 - the mtime keys the cache
    return json.loads(path.read_text())


def entry_assets(entry: str) -> EntryAssets:
    """Static paths (for ``{% static %}``) of an entry's script and of every style sheet it imports."""
    path = manifest_path()
    if path is None:
        raise FrontendNotBuilt(
            f"{MANIFEST} not found: build the front end (npm ci && npm run build in viewer/frontend)"
        )
    manifest = _manifest(path, path.stat().st_mtime)
    if entry not in manifest:
        raise FrontendNotBuilt(f"{entry} is not in {MANIFEST}: rebuild the front end")
    styles: list[str] = []
    seen: set[str] = set()

    def collect(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        chunk = manifest[key]
        styles.extend(STATIC_PREFIX + css for css in chunk.get("css", []))
        for imported in chunk.get("imports", []):
            collect(imported)

    collect(entry)
    return EntryAssets(script=STATIC_PREFIX + manifest[entry]["file"], styles=tuple(dict.fromkeys(styles)))
