"""Rule-based quality checks of a report before it is submitted, over Chinese and English text.

Each rule is a plain function of a ``QualityInput`` and the term table, returning problems that point
at a span of one section's plain text (so the editor can highlight it). The rules and their words are
data: ``DEFAULT_TERMS`` below, merged with an organization's ``ReportingSettings.quality_config``
(``{"disabled": [rule codes], "terms": {name: {"zh": [...], "en": [...]}}}``, words added to the defaults).
Chinese words match anywhere; English words match whole words, or as stems when they end in ``*``.

Rules (codes): ``required`` empty required section; ``sex`` an organ of the other sex; ``laterality``
the order names one side, the text names the other side of the same part; ``body_part`` the text
describes a region the exam does not cover; ``contradiction`` a normal impression over findings that
describe a lesion.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

Terms = Mapping[str, Mapping[str, Sequence[str]]]

DEFAULT_TERMS: dict[str, dict[str, list[str]]] = {
    "female_organs": {
        "zh": ["子宫", "卵巢", "输卵管", "宫颈", "阴道", "附件区"],
        "en": ["uterus", "uterine", "ovary", "ovaries", "ovarian", "fallopian", "cervix", "endometri*"],
    },
    "male_organs": {
        "zh": ["前列腺", "精囊", "睾丸", "附睾", "阴囊"],
        "en": ["prostate", "prostatic", "seminal vesicle", "testis", "testes", "testicular", "epididym*", "scrotum"],
    },
    "normal": {
        "zh": ["未见异常", "未见明显异常", "未见明确异常", "未见明显病变", "未见异常改变", "正常范围"],
        "en": [
            "no abnormality",
            "no abnormalities",
            "no significant abnormality",
            "no acute abnormality",
            "normal study",
            "unremarkable study",
            "within normal limits",
        ],
    },
    "lesion": {
        "zh": [
            "结节",
            "肿块",
            "占位",
            "出血",
            "骨折",
            "积液",
            "梗死",
            "钙化灶",
            "囊肿",
            "肿瘤",
            "狭窄",
            "撕裂",
            "渗出",
            "实变",
            "低密度灶",
            "高密度灶",
            "异常信号",
        ],
        "en": [
            "nodule*",
            "mass*",
            "lesion*",
            "hemorrhage",
            "haemorrhage",
            "fracture*",
            "effusion*",
            "infarct*",
            "cyst*",
            "tumor",
            "tumour",
            "stenosis",
            "tear*",
            "consolidation",
            "opacity*",
        ],
    },
    "negation": {
        "zh": ["未见", "未发现", "无", "没有", "排除", "未显示", "不伴"],
        "en": ["no", "not", "without", "negative for", "free of", "absence of", "rule out"],
    },
    "left": {"zh": ["左"], "en": ["left"]},
    "right": {"zh": ["右"], "en": ["right"]},
    # Paired parts the laterality rule compares.
    "part_knee": {"zh": ["膝"], "en": ["knee*"]},
    "part_shoulder": {"zh": ["肩"], "en": ["shoulder"]},
    "part_hip": {"zh": ["髋"], "en": ["hip"]},
    "part_ankle": {"zh": ["踝"], "en": ["ankle"]},
    "part_wrist": {"zh": ["腕"], "en": ["wrist"]},
    "part_elbow": {"zh": ["肘"], "en": ["elbow"]},
    "part_breast": {"zh": ["乳腺", "乳房"], "en": ["breast"]},
    "part_kidney": {"zh": ["肾"], "en": ["kidney"]},
    "part_eye": {"zh": ["眼", "眼眶"], "en": ["eye", "orbit"]},
    # Regions the body-part rule compares; ADJACENT says which may appear together.
    "region_head": {
        "zh": ["颅内", "脑实质", "脑室", "脑沟", "小脑", "垂体", "基底节"],
        "en": ["intracranial", "brain", "cerebral", "ventricle*", "cerebell*", "pituitary", "basal ganglia"],
    },
    "region_chest": {
        "zh": ["肺", "纵隔", "胸膜", "支气管", "心影"],
        "en": ["lung", "pulmonary", "mediastin*", "pleura*", "bronch*"],
    },
    "region_abdomen": {
        "zh": ["肝脏", "肝内", "胆囊", "胰腺", "脾脏", "肾脏", "肾盂"],
        "en": ["liver", "hepatic", "gallbladder", "pancrea*", "spleen", "splenic", "renal"],
    },
    "region_pelvis": {
        "zh": ["子宫", "卵巢", "前列腺", "膀胱", "精囊"],
        "en": ["uterus", "ovary", "ovaries", "prostate", "bladder"],
    },
    "region_knee": {"zh": ["膝关节", "半月板", "交叉韧带", "髌骨"], "en": ["knee*", "menisc*", "cruciate", "patella"]},
}

REGION_ADJACENT: dict[str, frozenset[str]] = {
    "head": frozenset({"head"}),
    "chest": frozenset({"chest", "abdomen"}),
    "abdomen": frozenset({"abdomen", "chest", "pelvis"}),
    "pelvis": frozenset({"pelvis", "abdomen"}),
    "knee": frozenset({"knee"}),
}

SEVERITY_ERROR = "error"
SEVERITY_WARNING = "warning"


@dataclass(frozen=True)
class QualityProblem:
    """One problem: which rule, what to tell the author, and where (``section`` and a span of its text)."""

    code: str
    message: str
    section: str = ""
    start: int = 0
    end: int = 0
    excerpt: str = ""
    severity: str = SEVERITY_ERROR


@dataclass(frozen=True)
class QualityInput:
    """What the rules look at. ``sections`` are plain text; ``required`` is ``[(key, title)]``."""

    sections: Mapping[str, str]
    patient_sex: str = ""
    exam_text: str = ""
    required: Sequence[tuple[str, str]] = ()
    findings_key: str = "findings"
    impression_key: str = "impression"
    terms: Terms = field(default_factory=lambda: DEFAULT_TERMS)


def terms_merge(*, config: Mapping[str, object]) -> dict[str, dict[str, list[str]]]:
    """The default term table with an organization's additional words."""
    merged = {name: {lang: list(words) for lang, words in langs.items()} for name, langs in DEFAULT_TERMS.items()}
    extra = config.get("terms") or {}
    if isinstance(extra, Mapping):
        for name, langs in extra.items():
            if not isinstance(langs, Mapping):
                continue
            target = merged.setdefault(str(name), {"zh": [], "en": []})
            for lang, words in langs.items():
                target.setdefault(str(lang), []).extend(str(word) for word in words)
    return merged


def _pattern(words: Sequence[str], lang: str) -> str:
    if lang != "en":
        # Chinese has no spaces between words: any occurrence counts.
        return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    # English words are whole words ("no" must not match "nodule"); a trailing "*" marks a stem.
    alternatives = [
        re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word) + r"\b"
        for word in sorted(words, key=len, reverse=True)
    ]
    return r"\b(?:" + "|".join(alternatives) + ")"


def _find(terms: Terms, name: str, text: str) -> Iterator[re.Match[str]]:
    """Every occurrence of the words of ``name`` (any language) in ``text``, left to right."""
    matches: list[re.Match[str]] = []
    for lang, words in terms.get(name, {}).items():
        if words:
            matches.extend(re.finditer(_pattern(words, lang), text, flags=re.IGNORECASE))
    return iter(sorted(matches, key=lambda m: m.start()))


def _mentions(terms: Terms, name: str, text: str) -> bool:
    return next(_find(terms, name, text), None) is not None


def _clause_before(text: str, position: int) -> str:
    """The text from the start of the clause holding ``position`` up to it."""
    start = max(text.rfind(mark, 0, position) for mark in "，。；;,.!?！？\n、")
    return text[start + 1 : position]


def _negated(terms: Terms, text: str, position: int) -> bool:
    return _mentions(terms, "negation", _clause_before(text, position))


def _problem(code: str, message: str, section: str, match: re.Match[str] | None = None) -> QualityProblem:
    if match is None:
        return QualityProblem(code=code, message=message, section=section)
    return QualityProblem(
        code=code, message=message, section=section, start=match.start(), end=match.end(), excerpt=match.group(0)
    )


def rule_required(data: QualityInput) -> list[QualityProblem]:
    return [
        _problem("required", _("The section “%(title)s” is empty.") % {"title": title}, key)
        for key, title in data.required
        if not data.sections.get(key, "").strip()
    ]


def rule_sex(data: QualityInput) -> list[QualityProblem]:
    foreign = {"M": "female_organs", "F": "male_organs"}.get(data.patient_sex)
    if foreign is None:
        return []
    message = (
        _("“%(word)s” does not fit a male patient.")
        if data.patient_sex == "M"
        else _("“%(word)s” does not fit a female patient.")
    )
    return [
        _problem("sex", message % {"word": match.group(0)}, key, match)
        for key, text in data.sections.items()
        for match in _find(data.terms, foreign, text)
    ]


def _order_side(data: QualityInput) -> str:
    sides = {side for side in ("left", "right") if _mentions(data.terms, side, data.exam_text)}
    return sides.pop() if len(sides) == 1 else ""


def rule_laterality(data: QualityInput) -> list[QualityProblem]:
    side = _order_side(data)
    if not side:
        return []
    other = "right" if side == "left" else "left"
    parts = [name for name in data.terms if name.startswith("part_") and _mentions(data.terms, name, data.exam_text)]
    problems = []
    for key, text in data.sections.items():
        for match in _find(data.terms, other, text):
            # The side word, then up to a few characters ("侧", "sided ") before the part it qualifies.
            following = text[match.end() : match.end() + 8]
            for part in parts:
                part_match = next(_find(data.terms, part, following), None)
                if part_match is not None and not following[: part_match.start()].strip(" 侧-"):
                    end = match.end() + part_match.end()
                    words = text[match.start() : end]
                    message = _("The order is for the %(side)s side, the text says “%(words)s”.") % {
                        "side": _("left") if side == "left" else _("right"),
                        "words": words,
                    }
                    problems.append(
                        QualityProblem(
                            code="laterality", message=message, section=key, start=match.start(), end=end, excerpt=words
                        )
                    )
                    break
    return problems


def _regions(terms: Terms, text: str) -> set[str]:
    return {name[len("region_") :] for name in terms if name.startswith("region_") and _mentions(terms, name, text)}


def rule_body_part(data: QualityInput) -> list[QualityProblem]:
    ordered = _regions(data.terms, data.exam_text) & REGION_ADJACENT.keys()
    if not ordered:
        return []
    allowed = set().union(*(REGION_ADJACENT[region] for region in ordered))
    problems = []
    for key, text in data.sections.items():
        for region in sorted(REGION_ADJACENT.keys() - allowed):
            for match in _find(data.terms, f"region_{region}", text):
                if _negated(data.terms, text, match.start()):
                    continue
                problems.append(
                    _problem(
                        "body_part",
                        _("“%(word)s” is outside the examined body part.") % {"word": match.group(0)},
                        key,
                        match,
                    )
                )
                break
    return problems


def rule_contradiction(data: QualityInput) -> list[QualityProblem]:
    impression = data.sections.get(data.impression_key, "")
    findings = data.sections.get(data.findings_key, "")
    normal = next(_find(data.terms, "normal", impression), None)
    if normal is None:
        return []
    lesions = [m for m in _find(data.terms, "lesion", findings) if not _negated(data.terms, findings, m.start())]
    if not lesions:
        return []
    words = "、".join(dict.fromkeys(m.group(0) for m in lesions))
    message = _("The impression says “%(normal)s” but the findings describe: %(words)s.") % {
        "normal": normal.group(0),
        "words": words,
    }
    return [
        _problem("contradiction", message, data.impression_key, normal),
        *(_problem("contradiction", message, data.findings_key, m) for m in lesions),
    ]


RULES: dict[str, Callable[[QualityInput], list[QualityProblem]]] = {
    "required": rule_required,
    "sex": rule_sex,
    "laterality": rule_laterality,
    "body_part": rule_body_part,
    "contradiction": rule_contradiction,
}


def quality_check(*, data: QualityInput, disabled: Sequence[str] = ()) -> list[QualityProblem]:
    """Every problem the enabled rules find, rule by rule in the order of ``RULES``."""
    return [problem for code, rule in RULES.items() if code not in disabled for problem in rule(data)]
