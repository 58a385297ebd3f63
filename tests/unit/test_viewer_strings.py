"""Every text the viewer's TypeScript shows through ``t("…")`` or a table's ``label`` is listed for
translation (viewer/i18n.py), and the zh-Hans catalogue translates each one."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

from viewer.i18n import VIEWER_STRINGS, viewer_translations

SOURCE = Path(__file__).resolve().parents[2] / "viewer" / "frontend" / "src" / "viewer"
# Kept as they are in Chinese too: a reading room says "ID".
SAME_IN_CHINESE = {"ID"}


def _texts_in_source() -> set[str]:
    texts: set[str] = set()
    for path in SOURCE.rglob("*.ts"):
        code = path.read_text(encoding="utf-8")
        texts |= set(re.findall(r'\bt\(\s*"([^"]+)"', code))
        texts |= set(re.findall(r'\blabel: "([^"]+)"', code))
    return texts


def test_every_text_the_viewer_shows_is_listed_for_translation() -> None:
    found = _texts_in_source()
    assert len(found) > 50, "the pattern should find the viewer's texts"
    assert sorted(found - set(VIEWER_STRINGS)) == []


def test_every_listed_text_has_a_chinese_translation() -> None:
    with translation.override("zh-hans"):
        chinese = viewer_translations()
    untranslated = [text for text in VIEWER_STRINGS if chinese.get(text, text) == text]
    assert sorted(untranslated) == sorted(SAME_IN_CHINESE)
