"""The matching rules of PS3.4 C.2.2.2, one function each, turning a key's value into a database condition.

Every function takes the left-hand side as a Django expression (a column ``F("study_date")`` or a value
inside the stored DICOM JSON ``KT("attributes__0008103E__Value__0")``), so the worklist can reuse them
over its own columns. Malformed values raise :class:`QueryError`; the callers turn it into a C-FIND
failure status or an HTTP 400.

Matching is case-sensitive (PS3.4 C.2.2.2.1) except where a function says otherwise. Wild card patterns
become ``LIKE`` with escaping on PostgreSQL; SQLite's ``LIKE`` ignores ASCII case, so there the pattern
becomes a ``GLOB``, which is case-sensitive and has the same ``*`` and ``?`` as DICOM.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.db.models import BooleanField, Expression, F, Func, Lookup, Q, TextField
from django.db.models.functions import Upper
from django.db.models.lookups import Exact, GreaterThanOrEqual, In, LessThanOrEqual

from pacs import names


class QueryError(ValueError):
    """A key whose value cannot be matched: a malformed date, an unknown attribute, a bad parameter."""


# --- universal and wild card (PS3.4 C.2.2.2.3, C.2.2.2.4) ------------------------------------------


def is_universal(value: str) -> bool:
    """A zero-length value, or ``*`` alone, matches everything (C.2.2.2.3, C.2.2.2.4)."""
    return value == "" or set(value) == {"*"}


def has_wildcards(value: str) -> bool:
    return "*" in value or "?" in value


def like_pattern(value: str) -> str:
    """A DICOM wild card pattern as SQL ``LIKE`` with ``\\`` as escape: ``*`` → ``%``, ``?`` → ``_``."""
    out = []
    for char in value:
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def glob_pattern(value: str) -> str:
    """A DICOM wild card pattern as SQLite ``GLOB``: ``*`` and ``?`` are shared; ``[`` is quoted."""
    return value.replace("[", "[[]")


class WildcardMatch(Lookup):
    """``lhs`` matches the DICOM wild card pattern in ``rhs``, case-sensitively."""

    lookup_name = "dicom_wildcard"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} LIKE %s ESCAPE '\\'", [*lhs_params, like_pattern(self.rhs)]

    def as_sqlite(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} GLOB %s", [*lhs_params, glob_pattern(self.rhs)]


def single_value(lhs: Expression | F, value: Any) -> Q:
    """Single Value Matching (C.2.2.2.1)."""
    return Q(Exact(lhs, value))


def wildcard(lhs: Expression | F, pattern: str) -> Q:
    """Wild Card Matching (C.2.2.2.4): ``*`` any sequence of characters, ``?`` exactly one."""
    return Q(WildcardMatch(lhs, pattern))


def text(lhs: Expression | F, value: str) -> Q:
    """Single value or wild card matching of a string attribute, whichever ``value`` calls for."""
    return wildcard(lhs, value) if has_wildcards(value) else single_value(lhs, value)


def any_of_values(lhs: Expression | F, value: str, *, separator: str = " ") -> Q:
    """A multi-valued attribute stored as ``separator``-joined text matches when one of its values does.

    Several values in the key (``CT\\MR``) match entities with any of them, as ModalitiesInStudy
    matching does in practice (PS3.4 C.6.2.1.2 leaves it to the SCP).
    """
    condition = Q()
    for one in _split_list(value):
        condition |= (
            text(lhs, one)
            | wildcard(lhs, f"{one}{separator}*")
            | wildcard(lhs, f"*{separator}{one}")
            | wildcard(lhs, f"*{separator}{one}{separator}*")
        )
    return condition


# --- UIDs (PS3.4 C.2.2.2.2) -----------------------------------------------------------------------

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def uid_list(lhs: Expression | F, value: str) -> Q:
    """Single value or List of UID Matching (C.2.2.2.2): ``\\``-separated, or comma-separated in QIDO."""
    uids = _split_list(value)
    for uid in uids:
        if len(uid) > 64 or not _UID.match(uid):
            raise QueryError(f"{uid!r} is not a UID")
    return single_value(lhs, uids[0]) if len(uids) == 1 else Q(In(lhs, uids))


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\\,]", value) if part.strip()]


# --- dates and times (PS3.4 C.2.2.2.5) ------------------------------------------------------------

_DA = re.compile(r"^\d{8}$")
_TM = re.compile(r"^([01]\d|2[0-3])([0-5]\d(([0-5]\d|60)(\.\d{1,6})?)?)?$")
_DT = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$")


def _range_bounds(value: str, valid: re.Pattern[str], what: str) -> tuple[str | None, str | None]:
    """The bounds of ``a-b``, ``-b`` or ``a-``; a single value ``a`` is both bounds.

    A DT value may end in a negative UTC offset (``...-0500``), so a hyphen only separates a range when
    what stands on each side of it is a valid value or nothing.
    """
    if valid.match(value):
        return value, value
    for index, char in enumerate(value):
        if char != "-":
            continue
        start, end = value[:index], value[index + 1 :]
        if (start or end) and all(not bound or valid.match(bound) for bound in (start, end)):
            return start or None, end or None
    raise QueryError(f"{value!r} is not a {what} or a {what} range")


def _between(lhs: Expression | F, start: Any, end: Any) -> Q:
    if start is not None and start == end:
        return single_value(lhs, start)
    condition = Q()
    if start is not None:
        condition &= Q(GreaterThanOrEqual(lhs, start))
    if end is not None:
        condition &= Q(LessThanOrEqual(lhs, end))
    return condition


def _to_date(text_value: str) -> date:
    try:
        return date(int(text_value[:4]), int(text_value[4:6]), int(text_value[6:8]))
    except ValueError:
        raise QueryError(f"{text_value!r} is not a valid date") from None


def date_range(lhs: Expression | F, value: str, *, date_column: bool) -> Q:
    """Single value or Range Matching of a DA key (C.2.2.2.5.1): ``YYYYMMDD``, ``a-b``, ``-b``, ``a-``.

    ``date_column`` says the left-hand side is a DateField; otherwise it holds DA strings, which order
    like the dates they are.
    """
    start, end = _range_bounds(value, _DA, "date")
    for bound in (start, end):
        if bound is not None:
            _to_date(bound)
    if date_column:
        return _between(lhs, start and _to_date(start), end and _to_date(end))
    return _between(lhs, start, end)


def _upper_bound(bound: str, full_length: int) -> str:
    """The greatest stored string a partial upper bound covers: ``12`` up to ``12`` then all nines.

    TM and DT strings of the same value grow by appending digits, so comparing text orders them, and an
    upper bound padded with nines includes every more precise value it is a prefix of.
    """
    return bound + "9" * max(0, full_length - len(bound))


def time_range(lhs: Expression | F, value: str) -> Q:
    """Single value or Range Matching of a TM key (C.2.2.2.5.1) over TM strings ``HHMMSS.FFFFFF``."""
    start, end = _range_bounds(value, _TM, "time")
    if start is not None and start == end:
        return single_value(lhs, start)
    return _between(lhs, start, end and _upper_bound(end, len("HHMMSS.FFFFFF")))


def datetime_range(lhs: Expression | F, value: str) -> Q:
    """Single value or Range Matching of a DT key (C.2.2.2.5.1) over DT strings.

    UTC offsets in the key are not applied: stored values are compared as the modality wrote them, in
    its local time, as they are for DA and TM.
    """
    start, end = _range_bounds(value, _DT, "date-time")
    start = start and re.sub(r"[+-]\d{4}$", "", start)
    end = end and re.sub(r"[+-]\d{4}$", "", end)
    if start is not None and start == end:
        return single_value(lhs, start)
    return _between(lhs, start, end and _upper_bound(end, len("YYYYMMDDHHMMSS.FFFFFF")))


# --- numbers --------------------------------------------------------------------------------------


def number(lhs: Expression | F, value: str) -> Q:
    """Single Value Matching of an IS, DS or binary number key."""
    try:
        parsed: int | float = int(value)
    except ValueError:
        try:
            parsed = float(value)
        except ValueError:
            raise QueryError(f"{value!r} is not a number") from None
    return single_value(lhs, parsed)


# --- person names (PS3.4 C.2.2.2.1, PS3.5 6.2.1) --------------------------------------------------

_PINYIN_QUERY = re.compile(r"^[A-Za-z*?]+$")


def person_name_groups(lhs: Expression | F, value: str, *, fuzzy: bool = False) -> Q:
    """Match a PN key against a column holding the whole value, ``Alphabetic=Ideographic=Phonetic``.

    A key without ``=`` matches when any one component group matches it, so ``张三`` finds
    ``Zhang^San=张三``; a key with ``=`` is matched group by group, an empty group matching anything.
    With ``fuzzy`` the key is folded (upper case, no accents) and ``lhs`` must hold folded text.
    """
    key = names.fold(value) if fuzzy else value
    if "=" in key:
        groups = list(names.split_groups(key))
        while groups and not groups[-1]:
            groups.pop()  # trailing empty groups may be left out of stored values (PS3.5 6.2.1)
        pattern = "=".join(group or "*" for group in groups)
        return wildcard(lhs, pattern) | wildcard(lhs, f"{pattern}=*")
    return text(lhs, key) | wildcard(lhs, f"{key}=*") | wildcard(lhs, f"*={key}") | wildcard(lhs, f"*={key}=*")


def person_name_json(groups: Sequence[Expression | F], value: str, *, fuzzy: bool = False) -> Q:
    """Match a PN key against the Alphabetic, Ideographic and Phonetic groups held apart (DICOM JSON).

    With ``fuzzy`` the comparison ignores case; accents are only ignored where a folded column exists.
    """
    key = names.fold(value) if fuzzy else value
    sides = [Upper(group) if fuzzy else group for group in groups]
    if "=" in key:
        condition = Q()
        for side, part in zip(sides, names.split_groups(key), strict=True):
            if not is_universal(part):
                condition &= text(side, part)
        return condition
    condition = Q()
    for side in sides:
        condition |= text(side, key)
    return condition


def pinyin(columns: Sequence[Expression | F], value: str) -> Q | None:
    """The documented pinyin extension (``pacs.names``): a key of Latin letters and wild cards only also
    matches the upper-case pinyin and initials columns, ignoring case. None when the key is not such."""
    if not _PINYIN_QUERY.match(value):
        return None
    condition = Q()
    for column in columns:
        condition |= text(column, value.upper())
    return condition


# --- values inside DICOM JSON --------------------------------------------------------------------


class JsonValue(Func):
    """A value inside a JSON column by path, as SQL text or number: ``["00080080", "Value", 0]``.

    Django's key transforms take a key of digits only for an array index, and most tags are digits
    only ("00080080"), so the path is written here with every object key quoted.
    """

    arity = 1
    output_field = TextField()

    def __init__(self, json_column: Expression | F, path: Sequence[str | int]) -> None:
        super().__init__(json_column)
        self.path = list(path)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"(({column})::jsonb #>> %s::text[])", [*params, [str(step) for step in self.path]]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"json_extract({column}, %s)", [*params, _sqlite_path(self.path)]


def _sqlite_path(path: Sequence[str | int]) -> str:
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f'."{step}"' for step in path)


# --- sequences (PS3.4 C.2.2.2.6) ------------------------------------------------------------------


class JsonSequenceItemMatch(Func):
    """True when one item of a sequence inside a DICOM JSON column matches every given item key.

    The sequence's items are expanded in a correlated sub-select (``json_each`` on SQLite,
    ``jsonb_array_elements`` on PostgreSQL), so the whole query remains one statement. Each item key is
    compared with the first value of the item's attribute, by single value or wild card matching.
    """

    arity = 1
    output_field = BooleanField()

    def __init__(self, json_column: Expression | F, sequence_tag: str, item_keys: dict[str, str]) -> None:
        super().__init__(json_column)
        self.sequence_tag, self.item_keys = sequence_tag, dict(item_keys)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        conditions, operands = [], []
        for item_tag, value in self.item_keys.items():
            if has_wildcards(value):
                conditions.append("(item #>> %s::text[]) LIKE %s ESCAPE '\\'")
                operands += [[item_tag, "Value", "0"], like_pattern(value)]
            else:
                conditions.append("(item #>> %s::text[]) = %s")
                operands += [[item_tag, "Value", "0"], value]
        # Only fixed SQL and the compiled column go into the text; every value is a parameter.
        sql = (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements(({column})::jsonb #> %s::text[]) AS item"  # noqa: S608
            f" WHERE {' AND '.join(conditions)})"
        )
        return sql, [*params, [self.sequence_tag, "Value"], *operands]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        conditions, operands = [], []
        for item_tag, value in self.item_keys.items():
            operator, operand = ("GLOB", glob_pattern(value)) if has_wildcards(value) else ("=", value)
            conditions.append(f"json_extract(item.value, %s) {operator} %s")
            operands += [_sqlite_path([item_tag, "Value", 0]), operand]
        sql = f"EXISTS (SELECT 1 FROM json_each({column}, %s) AS item WHERE {' AND '.join(conditions)})"  # noqa: S608
        return sql, [*params, _sqlite_path([self.sequence_tag, "Value"]), *operands]


def sequence_item(json_column: Expression | F, sequence_tag: str, item_keys: dict[str, str]) -> Q:
    """Sequence Matching (C.2.2.2.6): one item of the sequence matches every non-universal item key.

    An item of only universal keys (or no item) is universal matching of the sequence: no condition.
    """
    keys = {tag: value for tag, value in item_keys.items() if not is_universal(value)}
    return Q(JsonSequenceItemMatch(json_column, sequence_tag, keys)) if keys else Q()
