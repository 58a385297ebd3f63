"""Person names: component groups, case folding, and pinyin for searching Chinese names by Latin letters.

Pinyin search is a documented extension of PS3.4 matching: a Patient Name query made only of Latin
letters and wildcards also matches the pinyin of the ideographic name (``zhang*``, ``zhangsan``) and its
initials (``zs``), case-insensitively.
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def split_groups(person_name: str) -> tuple[str, str, str]:
    """Alphabetic, ideographic and phonetic component groups of a PN value ("A=I=P")."""
    groups = (person_name.split("=") + ["", ""])[:3]
    return groups[0], groups[1], groups[2]


def fold(text: str) -> str:
    """Upper case without accents: the form used for case-insensitive matching."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()


def chinese_part(person_name: str) -> str:
    """The characters of the name that pinyin is made from: the ideographic group, else any CJK group."""
    for group in (split_groups(person_name)[1], *split_groups(person_name)):
        if _CJK.search(group):
            return group
    return ""


def pinyin_forms(person_name: str) -> tuple[str, str]:
    """(full pinyin, initials), upper case without separators: 张三 -> ("ZHANGSAN", "ZS")."""
    hanzi = "".join(_CJK.findall(chinese_part(person_name)))
    if not hanzi:
        return "", ""
    full = "".join(lazy_pinyin(hanzi)).upper()
    initials = "".join(lazy_pinyin(hanzi, style=Style.FIRST_LETTER)).upper()
    return full, initials
