"""The query service (DESIGN.md, "Query"): one query object, built from a C-FIND identifier or from QIDO-RS
parameters, executed as one database statement, answered as DICOM JSON.

- :func:`query_from_identifier` reads a C-FIND identifier (PS3.4 C.4.1.1.3): every element is a return
  key, and one with a value is also a matching key.
- :func:`query_from_qido` reads QIDO-RS query parameters (PS3.18 8.3.4, 10.6.1.2): ``{attributeID}={value}``
  matching keys, ``includefield`` and ``fuzzymatching``; the default return keys are those of PS3.18
  Table 10.6.3-3/4/5.
- :func:`query_execute` runs the query in the caller's organization, sorted (studies newest first, series
  by number, instances by number) and paged, and returns DICOM JSON built from the index: stored level
  JSON for attributes, index columns for computed attributes. Nothing is read from files.
- :func:`dataset_from_json` turns a result into a pydicom Dataset in the character set a C-FIND SCU asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, FloatField, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Cast, Coalesce, Upper
from django.http import QueryDict
from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from pacs import levels
from pacs.charsets import encode_iso2022_ir58, strip_escape_sequences
from pacs.models import Instance, Organization, Patient, Series, Study
from pacs.query import matching
from pacs.query.attributes import (
    INSTANCE_AVAILABILITY,
    PATIENT_COUNT_ALIASES,
    QIDO_DEFAULTS,
    QUERY_RETRIEVE_LEVEL,
    SPECIFIC_CHARACTER_SET,
    UNIQUE_KEYS,
    Attribute,
    Level,
    Matching,
    attribute_for_tag,
    describe,
    parse_attribute_id,
)
from pacs.query.matching import QueryError

__all__ = [
    "Level",
    "MatchKey",
    "Query",
    "QueryError",
    "dataset_from_json",
    "query_execute",
    "query_from_identifier",
    "query_from_qido",
]

P, ST, SE, IM = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE

_MODELS = {P: Patient, ST: Study, SE: Series, IM: Instance}
_JSON_FIELD = {P: "attributes", ST: "attributes", SE: "attributes", IM: "metadata"}
# From the model queried at one level to the model of the same or a higher level.
_PATH = {
    P: {P: ""},
    ST: {P: "patient__", ST: ""},
    SE: {P: "study__patient__", ST: "study__", SE: ""},
    IM: {P: "series__study__patient__", ST: "series__study__", SE: "series__", IM: ""},
}
_ORGANIZATION = {P: "organization", ST: "organization", SE: "study__organization", IM: "series__study__organization"}
_ORDER = {
    P: (F("patient_name").asc(), F("pk").asc()),
    ST: (F("study_date").desc(nulls_last=True), F("study_time").desc(), F("pk").desc()),
    SE: (F("series_number").asc(nulls_last=True), F("pk").asc()),
    IM: (F("instance_number").asc(nulls_last=True), F("pk").asc()),
}
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
# What the stored JSON's text is in once decoded: results are Unicode, whatever the instances were sent in.
_UNICODE = "ISO_IR 192"
QIDO_RESERVED = frozenset({"includefield", "fuzzymatching", "limit", "offset"})


@dataclass(frozen=True)
class MatchKey:
    """One matching key: the attribute and its value in DICOM string form (``\\`` between values, PN
    groups with ``=``); a sequence key carries its item's keys instead."""

    attribute: Attribute
    value: str = ""
    item_keys: tuple[tuple[str, str], ...] = ()


@dataclass
class Query:
    """What to match and what to return, at one level (PS3.4 C.6)."""

    level: Level
    keys: list[MatchKey] = field(default_factory=list)
    return_tags: list[str] = field(default_factory=list)
    include_all: bool = False
    fuzzy: bool = False


# --- building -------------------------------------------------------------------------------------


def _checked_key(key: MatchKey, level: Level) -> MatchKey:
    """Refuse keys the level cannot match: attributes of lower levels, and return-only attributes."""
    attribute = key.attribute
    universal = matching.is_universal(key.value) and not any(
        not matching.is_universal(value) for _tag, value in key.item_keys
    )
    if universal:
        return key
    if attribute.level.depth > level.depth:
        raise QueryError(f"{describe(attribute.tag)} cannot be matched at the {level} level")
    if attribute.matching is Matching.RETURN_ONLY:
        raise QueryError(f"{describe(attribute.tag)} is a return key only and cannot be matched")
    _condition(key, level, fuzzy=False)  # malformed values are refused now, not when the query runs
    return key


def _unique(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _lookup(tag_text: str) -> Attribute:
    try:
        return attribute_for_tag(parse_attribute_id(tag_text))
    except ValueError as exc:
        raise QueryError(str(exc)) from None


def query_from_qido(
    params: QueryDict, level: str, *, study_uid: str | None = None, series_uid: str | None = None
) -> Query:
    """A query from QIDO-RS parameters (PS3.18 8.3.4 and 10.6.1.2) for the resource's level.

    ``study_uid`` and ``series_uid`` come from the resource path. Return keys: the defaults of PS3.18
    Table 10.6.3-3/4/5 for the level, and those of the higher levels the path leaves open (a search of
    ``/series`` returns the study attributes too), every matching key, and each ``includefield``.
    ``limit`` and ``offset`` are for :func:`query_execute`; anything else that is not an attribute raises
    :class:`QueryError`.
    """
    query = Query(Level(level))
    tags = list(QIDO_DEFAULTS[query.level])
    if query.level in (SE, IM) and study_uid is None:
        tags += QIDO_DEFAULTS[ST]
    if query.level is IM and series_uid is None:
        tags += QIDO_DEFAULTS[SE]
    tags += [UNIQUE_KEYS[upper] for upper in (ST, SE) if upper.depth < query.level.depth]
    sequences: dict[str, dict[str, str]] = {}
    for name in params:
        values = params.getlist(name)
        if name == "includefield":
            for part in (p.strip() for value in values for p in value.split(",")):
                if part == "all":
                    query.include_all = True
                elif part:
                    tags.append(_lookup(part.split(".")[0]).tag)
        elif name == "fuzzymatching":
            query.fuzzy = _boolean(name, values)
        elif name in QIDO_RESERVED:
            continue
        else:
            if len(values) > 1:
                raise QueryError(f"Matching key {name} is given more than once")
            path = name.split(".")
            if len(path) > 2:
                raise QueryError(f"{name}: only attributes of a sequence's items can be matched, not deeper")
            attribute = _lookup(path[0])
            tags.append(attribute.tag)
            if len(path) == 2:
                if attribute.matching is not Matching.SEQUENCE:
                    raise QueryError(f"{describe(attribute.tag)} is not a sequence")
                sequences.setdefault(attribute.tag, {})[_lookup(path[1]).tag] = values[0]
            elif attribute.matching is Matching.SEQUENCE:
                if not matching.is_universal(values[0]):
                    raise QueryError(f"{describe(attribute.tag)} is a sequence: match on its items' attributes")
                sequences.setdefault(attribute.tag, {})
            else:
                query.keys.append(_checked_key(MatchKey(attribute, values[0]), query.level))
    for sequence_tag, item_keys in sequences.items():
        key = MatchKey(attribute_for_tag(sequence_tag), item_keys=tuple(item_keys.items()))
        query.keys.append(_checked_key(key, query.level))
    for uid, level_of_uid in ((study_uid, ST), (series_uid, SE)):
        if uid is not None:
            query.keys.append(MatchKey(attribute_for_tag(UNIQUE_KEYS[level_of_uid]), uid))
    query.return_tags = _unique(tags)
    return query


def _boolean(name: str, values: list[str]) -> bool:
    if len(values) != 1 or values[0].lower() not in ("true", "false"):
        raise QueryError(f"{name} must be true or false")
    return values[0].lower() == "true"


def query_from_identifier(identifier: Dataset, level: str, *, model: str, fuzzy: bool = False) -> Query:
    """A query from a C-FIND identifier (PS3.4 C.4.1.1.3) at ``level`` of the ``model`` root
    ("PATIENT" or "STUDY", PS3.4 C.6.1 and C.6.2).

    Every element is a return key; one with a value (or a sequence item with values) is also a matching
    key. Query/Retrieve Level and Specific Character Set are not keys; private elements are ignored.
    ``fuzzy`` is the fuzzy semantic matching of person names agreed by extended negotiation
    (PS3.4 C.4.1.1.3.1). The unique key of the level is always returned.
    """
    query_level = Level(level)
    if model not in ("PATIENT", "STUDY"):
        raise ValueError(f"unknown information model {model!r}")
    if model == "STUDY" and query_level is P:
        raise QueryError("The Study Root model has no PATIENT level")
    query = Query(query_level, fuzzy=fuzzy)
    tags = [UNIQUE_KEYS[query_level]]
    for element in identifier:
        if element.tag.is_private or element.tag.element == 0 or element.tag.group == 0x0002:
            continue
        tag = f"{int(element.tag):08X}"
        if tag in (QUERY_RETRIEVE_LEVEL, SPECIFIC_CHARACTER_SET):
            continue
        try:
            attribute = attribute_for_tag(tag)
        except ValueError as exc:
            raise QueryError(str(exc)) from None
        tags.append(tag)
        if element.VR == "SQ":
            first_item = element.value[0] if element.value else Dataset()
            item_keys = tuple((f"{int(e.tag):08X}", _element_text(e)) for e in first_item if e.VR != "SQ")
            query.keys.append(_checked_key(MatchKey(attribute, item_keys=item_keys), query_level))
        else:
            query.keys.append(_checked_key(MatchKey(attribute, _element_text(element)), query_level))
    query.return_tags = _unique(tags)
    return query


def _element_text(element: DataElement) -> str:
    """An element's value in DICOM string form, as a matching rule reads it."""
    value = element.value
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(strip_escape_sequences(str(v)) for v in value)
    if isinstance(value, bytes):
        raise QueryError(f"{describe(f'{int(element.tag):08X}')} has a binary value and cannot be matched")
    return strip_escape_sequences(str(value))


# --- matching -------------------------------------------------------------------------------------


def _json_value(path: str, attribute: Attribute, *group: str) -> matching.JsonValue:
    """The first value of ``attribute`` in the JSON column at ``path`` (multi-valued: the first only);
    ``group`` names a person name's component group."""
    return matching.JsonValue(F(path), [attribute.tag, "Value", 0, *group])


_MATCH_BY: dict[Matching, Callable[[Any, str], Q]] = {
    Matching.UID: matching.uid_list,
    Matching.TEXT: matching.text,
    Matching.MULTI_TEXT: matching.any_of_values,
    Matching.TIME: matching.time_range,
    Matching.DATETIME: matching.datetime_range,
}


def _condition(key: MatchKey, level: Level, fuzzy: bool) -> Q:
    """The database condition for one matching key at ``level`` (PS3.4 C.2.2.2)."""
    attribute = key.attribute
    if attribute.level.depth > level.depth:
        return Q()  # a universal key of a lower level (checked when the query was built)
    prefix = _PATH[level][attribute.level]
    owner = _json_owner(attribute, level)
    json_path = _PATH[level][owner] + _JSON_FIELD[owner]
    if attribute.matching is Matching.SEQUENCE:
        return matching.sequence_item(F(json_path), attribute.tag, dict(key.item_keys))
    value = key.value
    if matching.is_universal(value):
        return Q()
    column = F(prefix + attribute.column) if attribute.column else _json_value(json_path, attribute)
    if attribute.matching is Matching.PERSON_NAME:
        return _person_name(attribute, prefix, json_path, value, fuzzy)
    if attribute.matching is Matching.DATE:
        return matching.date_range(column, value, date_column=attribute.is_date_column)
    if attribute.matching is Matching.NUMBER:
        # Numbers inside the JSON are JSON numbers, which SQLite gives back as numbers and PostgreSQL
        # as text: compare both as floating point.
        side = column if attribute.column else Cast(column, FloatField())
        return matching.number(side, value)
    return _MATCH_BY[attribute.matching](column, value)


def _json_owner(attribute: Attribute, level: Level) -> Level:
    """The level whose JSON holds the attribute for a query at ``level``: what both a study and its series
    carry (Institution Name, Request Attributes Sequence) is taken from the series at series level and
    below, so that a key selects the series that has it, not every series of the study."""
    if attribute.level is ST and level.depth >= SE.depth and attribute.tag in levels.SERIES_TAGS:
        return SE
    return attribute.level


def _person_name(attribute: Attribute, prefix: str, json_path: str, value: str, fuzzy: bool) -> Q:
    """PN matching on an indexed column (with the folded and pinyin columns where they exist), or on the
    component groups inside the JSON."""
    if attribute.column is None:
        groups = [_json_value(json_path, attribute, group) for group in _PN_GROUPS]
        return matching.person_name_json(groups, value, fuzzy=fuzzy)
    if fuzzy and attribute.folded_column:
        condition = matching.person_name_groups(F(prefix + attribute.folded_column), value, fuzzy=True)
    elif fuzzy:
        condition = matching.person_name_groups(Upper(F(prefix + attribute.column)), value, fuzzy=True)
    else:
        condition = matching.person_name_groups(F(prefix + attribute.column), value)
    if attribute.pinyin_columns:
        by_pinyin = matching.pinyin([F(prefix + column) for column in attribute.pinyin_columns], value)
        if by_pinyin is not None:
            condition |= by_pinyin
    return condition


# --- returning ------------------------------------------------------------------------------------

_ONLINE = "ONLINE"
_PATIENT_OF = {P: "pk", ST: "patient", SE: "study__patient", IM: "series__study__patient"}


@dataclass(frozen=True)
class _Source:
    """Where one return key's value comes from in a result row."""

    tag: str
    vr: str
    kind: str  # "json": an element of a JSON column; "count", "modalities": a computed column; "online"
    field: str = ""


def _patient_count(level: Level, tag: str) -> Coalesce:
    """NumberOfPatientRelated{Studies,Series,Instances} as a correlated sub-select over the studies."""
    aggregate = {
        "q_patient_studies": Count("pk"),
        "q_patient_series": Sum("number_of_series"),
        "q_patient_instances": Sum("number_of_instances"),
    }[PATIENT_COUNT_ALIASES[tag]]
    per_patient = (
        Study.objects.filter(patient=OuterRef(_PATIENT_OF[level])).order_by().values("patient").annotate(n=aggregate)
    )
    return Coalesce(Subquery(per_patient.values("n")), 0, output_field=IntegerField())


def _json_field_for(query_level: Level, attribute: Attribute) -> str | None:
    """Which JSON column of a result row holds ``attribute``: instance metadata holds everything of its
    instance; study JSON holds the patient's attributes as the study's instances gave them."""
    if attribute.level.depth > query_level.depth:
        return None
    if query_level in (IM, P):
        return _JSON_FIELD[query_level]
    if query_level is SE and _json_owner(attribute, query_level) is SE:
        return "attributes"
    return "attributes" if query_level is ST else "study__attributes"


def _return_plan(query: Query) -> tuple[list[_Source], dict[str, Any]]:
    """What each return key is built from, and the annotations the statement needs for it."""
    level = query.level
    tags = list(query.return_tags)
    if query.include_all:
        tags += [
            tag for tag in (*PATIENT_COUNT_ALIASES, *QIDO_DEFAULTS[level]) if attribute_for_tag(tag).level is level
        ]
    plan: list[_Source] = []
    annotations: dict[str, Any] = {}
    for tag in _unique(tags):
        attribute = attribute_for_tag(tag)
        if tag == INSTANCE_AVAILABILITY:
            plan.append(_Source(tag, attribute.vr, "online"))
        elif attribute.computed and attribute.level.depth <= level.depth:
            if tag in PATIENT_COUNT_ALIASES:
                annotations[PATIENT_COUNT_ALIASES[tag]] = _patient_count(level, tag)
                plan.append(_Source(tag, attribute.vr, "count", PATIENT_COUNT_ALIASES[tag]))
            else:
                path = _PATH[level][attribute.level] + str(attribute.column)
                kind = "modalities" if attribute.matching is Matching.MULTI_TEXT else "count"
                plan.append(_Source(tag, attribute.vr, kind, path))
        else:
            plan.append(_Source(tag, attribute.vr, "json", _json_field_for(level, attribute) or ""))
    return plan, annotations


def _element(source: _Source, row: dict[str, Any]) -> dict[str, Any] | None:
    """One DICOM JSON element of a result (PS3.18 F.2.2); None leaves it out. An absent attribute is
    returned empty, ``{"vr": ..}`` with no Value, as C-FIND returns requested keys (PS3.4 C.2.2.1.2)."""
    empty = {"vr": source.vr}
    if source.kind == "online":
        return {"vr": source.vr, "Value": [_ONLINE]}
    if source.kind == "modalities":
        modalities = (row[source.field] or "").split()
        return {"vr": source.vr, "Value": modalities} if modalities else empty
    if source.kind == "count":
        count = row[source.field]
        return empty if count is None else {"vr": source.vr, "Value": [count]}
    element = (row.get(source.field) or {}).get(source.tag) if source.field else None
    if element is None:
        return empty
    if "BulkDataURI" in element:
        return None  # QIDO and C-FIND results carry no bulk data (PS3.18 10.6.3.3.1)
    return element


def _result(query: Query, plan: list[_Source], row: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if query.include_all:
        own = row[_JSON_FIELD[query.level]] or {}
        result.update((tag, element) for tag, element in own.items() if "BulkDataURI" not in element)
    for source in plan:
        element = _element(source, row)
        if element is not None and (source.tag not in result or "Value" in element):
            result[source.tag] = element
    if result.get(SPECIFIC_CHARACTER_SET, {}).get("Value"):
        result[SPECIFIC_CHARACTER_SET] = {"vr": "CS", "Value": [_UNICODE]}
    return dict(sorted(result.items()))


def query_execute(
    query: Query, *, organization: Organization, limit: int | None = None, offset: int = 0
) -> tuple[list[dict[str, Any]], bool]:
    """Run ``query`` in ``organization``: the results in order from ``offset``, at most ``limit`` of them,
    and whether more matched beyond them. One SELECT, joined to the higher levels, without per-row queries.
    """
    level = query.level
    condition = Q(**{_ORGANIZATION[level]: organization})
    for key in query.keys:
        condition &= _condition(key, level, query.fuzzy)
    plan, annotations = _return_plan(query)
    fields = {source.field for source in plan if source.field}
    if query.include_all:
        fields.add(_JSON_FIELD[level])
    queryset = (
        _MODELS[level]
        .objects.filter(condition)
        .annotate(**annotations)
        .order_by(*_ORDER[level])
        .values(*sorted(fields) or ["pk"])
    )
    end = None if limit is None else offset + limit + 1
    rows = list(queryset[offset:end])
    truncated = limit is not None and len(rows) > limit
    return [_result(query, plan, row) for row in rows[:limit]], truncated


# --- C-FIND responses -----------------------------------------------------------------------------


def _python_codecs(character_sets: list[str]) -> list[str]:
    # pydicom names GB2312 in ISO 2022 "iso_ir_58", which is not a Python codec.
    return ["gb2312" if codec == "iso_ir_58" else codec for codec in convert_encodings(character_sets)]


def _encodable(text: str, codecs: list[str]) -> bool:
    """Whether every character of ``text`` exists in one of the character sets (code extensions)."""
    for char in text:
        if char.isascii():
            continue
        for codec in codecs:
            try:
                char.encode(codec)
                break
            except (UnicodeEncodeError, LookupError):
                continue
        else:
            return False
    return True


def _texts(dataset: Dataset) -> Iterable[str]:
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                yield from _texts(item)
        elif isinstance(element.value, str | MultiValue) or element.VR == "PN":
            yield str(element.value)


def dataset_from_json(dicom_json: dict[str, Any], *, character_set: str | list[str] | None) -> Dataset:
    """A query result as a Dataset for a C-FIND response, in the character set the identifier named.

    When the request's character set cannot hold the result's text, the response is in UTF-8
    (ISO_IR 192), which the SCP may choose (PS3.4 C.4.1.1.3.1 lets the response's Specific Character Set
    differ from the request's). pydicom writes GB2312 without the ISO 2022 escape sequence
    (PS3.5 6.1.2.5.3), so text for ISO 2022 IR 58 is encoded here and kept as bytes.
    """
    elements = {tag: element for tag, element in dicom_json.items() if "BulkDataURI" not in element}
    elements.pop(SPECIFIC_CHARACTER_SET, None)
    dataset = Dataset.from_json(elements)
    requested = [character_set] if isinstance(character_set, str) else list(character_set or [""])
    texts = list(_texts(dataset))
    if not all(_encodable(text, _python_codecs(requested)) for text in texts):
        requested = [_UNICODE]
    if requested != [""]:
        dataset.SpecificCharacterSet = requested if len(requested) > 1 else requested[0]
    if "ISO 2022 IR 58" in requested and not all(text.isascii() for text in texts):
        _encode_iso2022_ir58(dataset)
    return dataset


def _encode_iso2022_ir58(dataset: Dataset) -> None:
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                _encode_iso2022_ir58(item)
        elif element.VR in ("PN", "LO", "SH", "ST", "LT", "UC", "UT") and element.value not in (None, ""):
            text = "\\".join(map(str, element.value)) if isinstance(element.value, MultiValue) else str(element.value)
            if not text.isascii():
                dataset[element.tag] = DataElement(element.tag, element.VR, encode_iso2022_ir58(text))
