"""Person names: component groups, case folding, and pinyin for searching Chinese names by Latin letters.

Pinyin search is a documented extension of PS3.4 matching: a Patient Name query made only of Latin
letters and wildcards also matches the pinyin of the ideographic name (``zhang*``, ``zhangsan``) and its
initials (``zs``), case-insensitively.

A Chinese name written without a separator (``欧阳娜娜``) is split into family and given name with a table
of compound surnames, and a surname is read as a surname: 单 is "Shan", not "dan"; 曾 is "Zeng".
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import lazy_pinyin

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


# Two-character surnames still in use (and the classical ones people still bear); the longest match wins.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 司空 夏侯 轩辕 端木 独孤 南宫 西门 "
    "万俟 闻人 澹台 公羊 百里 呼延 申屠 太史 钟离 濮阳 淳于 单于 赫连 拓跋 闾丘 东郭 梁丘 左丘 公冶 "
    "第五 谷梁 仲孙 叔孙 亓官 司寇 乐正 壤驷 公良 漆雕 巫马 段干 微生 羊舌 宗政 东门 即墨".split()
)

# Surnames read otherwise than pypinyin reads the character alone: 单 is "Shan" as a surname, not "dan".
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "单": ("shan",),
    "曾": ("zeng",),
    "解": ("xie",),
    "查": ("zha",),
    "仇": ("qiu",),
    "朴": ("piao",),
    "区": ("ou",),
    "盖": ("ge",),
    "缪": ("miao",),
    "翟": ("zhai",),
    "覃": ("qin",),
    "召": ("shao",),
    "种": ("chong",),
    "秘": ("bi",),
    "折": ("she",),
    "隗": ("wei",),
    "尉迟": ("yu", "chi"),
    "万俟": ("mo", "qi"),
    "长孙": ("zhang", "sun"),
    "乐正": ("yue", "zheng"),
    "单于": ("chan", "yu"),
}


def family_and_given(hanzi: str) -> tuple[str, str]:
    """A Chinese name written without separator split into family and given name: 欧阳娜娜 -> (欧阳, 娜娜).

    A name of two characters is a one-character surname and a given name even when they could form a
    compound surname: nobody is registered by surname alone.
    """
    if len(hanzi) > 2 and hanzi[:2] in COMPOUND_SURNAMES:
        return hanzi[:2], hanzi[2:]
    return hanzi[:1], hanzi[1:]


def _surname_syllables(family: str) -> list[str]:
    if family in SURNAME_READINGS:
        return list(SURNAME_READINGS[family])
    return lazy_pinyin(family)


def _split_ideographic(group: str) -> tuple[str, str]:
    """Family and given name of an ideographic group: by its ``^`` when written, else by the surname table."""
    if "^" in group:
        family, given = (group.split("^") + [""])[:2]
        family, given = "".join(_CJK.findall(family)), "".join(_CJK.findall(given))
        if family:
            return family, given
        return family_and_given(given)
    return family_and_given("".join(_CJK.findall(group)))


def pinyin_forms(person_name: str) -> tuple[str, str]:
    """(full pinyin, initials), upper case without separators: 张三 -> ("ZHANGSAN", "ZS").

    The surname is read as a surname (单 -> SHAN) and a compound surname gives two initials (欧阳 -> OY).
    """
    group = chinese_part(person_name)
    if not _CJK.search(group):
        return "", ""
    family, given = _split_ideographic(group)
    syllables = [s for s in _surname_syllables(family) + (lazy_pinyin(given) if given else []) if s]
    return "".join(syllables).upper(), "".join(s[0] for s in syllables).upper()


def patient_name_columns(name: str) -> dict[str, str]:
    """The indexed forms of a patient's name, cut to their columns: as written, folded for matching,
    and in pinyin, full and as initials (what name searches match against)."""
    pinyin, initials = pinyin_forms(name)
    return {
        "patient_name": name[:324],
        "patient_name_folded": fold(name)[:324],
        "patient_name_pinyin": pinyin[:324],
        "patient_name_initials": initials[:64],
    }


def chinese_person_name(name: str) -> str:
    """A name typed at the desk as a DICOM PN: 欧阳娜娜 -> ``OUYANG^NANA=欧阳^娜娜``, 张三 -> ``ZHANG^SAN=张^三``.

    Names without Chinese characters are returned as they are; a name mixing characters with other text
    (rare: a foreigner's transliteration) is romanized whole and kept whole as the ideographic group.
    """
    if "=" in name or "^" in name:
        return name  # already a DICOM PN
    compact = "".join(name.split())
    hanzi = "".join(_CJK.findall(compact))
    if not hanzi:
        return name
    if hanzi != compact:
        return f"{''.join(lazy_pinyin(compact)).upper()}={compact}"
    family, given = family_and_given(hanzi)
    romanized = ["".join(_surname_syllables(family)).upper(), "".join(lazy_pinyin(given)).upper() if given else ""]
    alphabetic = "^".join(part for part in romanized if part)
    return f"{alphabetic}={family}^{given}" if given else f"{alphabetic}={family}"
