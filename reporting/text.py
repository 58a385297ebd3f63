"""Report text: the HTML the editor sends, cleaned to a small allow-list, and its plain text for the rules."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "span", "sub", "sup"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"span": {"class"}}

_BLOCK_END = re.compile(r"</(p|li)>|<br\s*/?>", flags=re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def html_clean(value: str) -> str:
    """Editor HTML restricted to paragraphs, lists and emphasis: safe to render in pages and the PDF."""
    return nh3.clean(value, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES).strip()


def html_to_text(value: str) -> str:
    """Plain text of cleaned HTML, one line per paragraph or list item."""
    text = _TAG.sub("", _BLOCK_END.sub("\n", value))
    return "\n".join(line.strip() for line in html.unescape(text).splitlines() if line.strip())
