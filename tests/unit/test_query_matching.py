"""The matching rules of PS3.4 C.2.2.2 as pure functions: patterns, ranges, and the conditions they build."""

from __future__ import annotations

import io
from datetime import date

import pydicom
import pytest
from django.db.models import F, Q
from django.db.models.lookups import Exact, GreaterThanOrEqual, In, LessThanOrEqual
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from pacs.charsets import strip_escape_sequences
from pacs.query import matching
from pacs.query.attributes import Level, Matching, attribute_for_tag, parse_attribute_id, tag_hex
from pacs.query.engine import dataset_from_json, query_from_identifier
from pacs.query.matching import QueryError, WildcardMatch


def lookups(condition: Q) -> list[object]:
    """The lookups of a condition, flattened, to compare what was built."""
    found: list[object] = []
    for child in condition.children:
        found.extend(lookups(child) if isinstance(child, Q) else [child])
    return found


def operands(condition: Q) -> list[object]:
    """The right-hand sides of a condition's lookups (Django wraps plain values in ``Value``)."""
    return [getattr(lookup.rhs, "value", lookup.rhs) for lookup in lookups(condition)]  # type: ignore[attr-defined]


# --- universal and wild card ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "universal"), [("", True), ("*", True), ("**", True), ("A*", False), ("?", False)])
def test_universal_matching(value, universal):
    assert matching.is_universal(value) is universal


@pytest.mark.parametrize(
    ("pattern", "like"),
    [
        ("Doe*", "Doe%"),
        ("D?e", "D_e"),
        ("100%_\\", "100\\%\\_\\\\"),
        ("*张*", "%张%"),
    ],
)
def test_wildcards_become_like_with_escaping(pattern, like):
    assert matching.like_pattern(pattern) == like


def test_wildcards_become_glob_with_brackets_quoted():
    assert matching.glob_pattern("A[1]*?") == "A[[]1]*?"


def test_text_uses_single_value_without_wildcards_and_wildcard_otherwise():
    assert matching.text(F("patient_id"), "P1") == Q(Exact(F("patient_id"), "P1"))
    assert matching.text(F("patient_id"), "P*") == Q(WildcardMatch(F("patient_id"), "P*"))


def test_multi_valued_text_matches_any_value_in_the_list():
    condition = matching.any_of_values(F("modalities_in_study"), "CT\\MR")
    patterns = sorted(map(str, operands(condition)))
    assert patterns == sorted(["CT", "CT *", "* CT", "* CT *", "MR", "MR *", "* MR", "* MR *"])


# --- UIDs -----------------------------------------------------------------------------------------


def test_single_uid_and_uid_list():
    assert matching.uid_list(F("uid"), "1.2.3") == Q(Exact(F("uid"), "1.2.3"))
    assert matching.uid_list(F("uid"), "1.2.3\\1.2.4") == Q(In(F("uid"), ["1.2.3", "1.2.4"]))
    assert matching.uid_list(F("uid"), "1.2.3,1.2.4") == Q(In(F("uid"), ["1.2.3", "1.2.4"]))


@pytest.mark.parametrize("value", ["1.2.*", "abc", "1..2", "1." + "2" * 70])
def test_malformed_uids_are_refused(value):
    with pytest.raises(QueryError):
        matching.uid_list(F("uid"), value)


# --- dates and times ------------------------------------------------------------------------------


def test_date_single_value_and_ranges_on_a_date_column():
    column = F("study_date")
    assert matching.date_range(column, "20240102", date_column=True) == Q(Exact(column, date(2024, 1, 2)))
    assert matching.date_range(column, "20240101-20240131", date_column=True) == Q(
        GreaterThanOrEqual(column, date(2024, 1, 1))
    ) & Q(LessThanOrEqual(column, date(2024, 1, 31)))
    assert matching.date_range(column, "-20240131", date_column=True) == Q() & Q(
        LessThanOrEqual(column, date(2024, 1, 31))
    )
    assert matching.date_range(column, "20240101-", date_column=True) == Q() & Q(
        GreaterThanOrEqual(column, date(2024, 1, 1))
    )


def test_date_range_on_da_strings_compares_text():
    condition = matching.date_range(F("json"), "20240101-20240131", date_column=False)
    assert operands(condition) == ["20240101", "20240131"]


@pytest.mark.parametrize("value", ["2024-01-01", "20241301", "2024010", "20240101-2024", "-", "yesterday"])
def test_malformed_dates_are_refused(value):
    with pytest.raises(QueryError):
        matching.date_range(F("study_date"), value, date_column=True)


def test_time_range_upper_bound_covers_more_precise_values():
    condition = matching.time_range(F("study_time"), "08-1230")
    assert operands(condition) == ["08", "1230" + "9" * 9]
    assert matching.time_range(F("study_time"), "101010") == Q(Exact(F("study_time"), "101010"))


@pytest.mark.parametrize("value", ["25", "10:10", "1010101", "abc-"])
def test_malformed_times_are_refused(value):
    with pytest.raises(QueryError):
        matching.time_range(F("study_time"), value)


def test_datetime_ranges_and_utc_offsets():
    condition = matching.datetime_range(F("dt"), "20240101-202401021200")
    assert operands(condition) == ["20240101", "202401021200" + "9" * 9]
    # A negative UTC offset is part of a single value, not a range.
    assert matching.datetime_range(F("dt"), "20240101120000-0500") == Q(Exact(F("dt"), "20240101120000"))
    condition = matching.datetime_range(F("dt"), "20240101120000-0500-20240102")
    assert operands(condition) == ["20240101120000", "20240102" + "9" * 13]


def test_numbers():
    assert matching.number(F("series_number"), "3") == Q(Exact(F("series_number"), 3))
    assert matching.number(F("thickness"), "2.5") == Q(Exact(F("thickness"), 2.5))
    with pytest.raises(QueryError):
        matching.number(F("series_number"), "three")


# --- person names ---------------------------------------------------------------------------------


def test_person_name_key_matches_any_component_group():
    condition = matching.person_name_groups(F("name"), "张三")
    assert operands(condition) == ["张三", "张三=*", "*=张三", "*=张三=*"]


def test_person_name_key_with_groups_is_matched_group_by_group():
    condition = matching.person_name_groups(F("name"), "Zhang*=张三")
    assert operands(condition) == ["Zhang*=张三", "Zhang*=张三=*"]


def test_fuzzy_person_name_key_is_folded():
    condition = matching.person_name_groups(F("folded"), "müller^zoë", fuzzy=True)
    assert lookups(condition)[0] == Exact(F("folded"), "MULLER^ZOE")


@pytest.mark.parametrize(("value", "applies"), [("zhang*", True), ("zs", True), ("Zhang^San", False), ("张*", False)])
def test_pinyin_extension_only_for_latin_letters_and_wildcards(value, applies):
    condition = matching.pinyin([F("pinyin"), F("initials")], value)
    assert (condition is not None) is applies
    if applies:
        assert set(operands(condition)) == {value.upper()}


# --- sequences ------------------------------------------------------------------------------------


def test_sequence_matching_with_only_universal_item_keys_is_universal():
    assert matching.sequence_item(F("attributes"), "0040A370", {"00401001": "", "00321060": "*"}) == Q()
    condition = matching.sequence_item(F("attributes"), "0040A370", {"00401001": "RP1", "00321060": ""})
    (lookup,) = lookups(condition)
    assert lookup.item_keys == {"00401001": "RP1"}


# --- attributes and identifiers -------------------------------------------------------------------


def test_attribute_ids_are_keywords_or_tags():
    assert parse_attribute_id("PatientID") == "00100020"
    assert parse_attribute_id("0020000d") == "0020000D"
    for bad in ("NoSuchKeyword", "0011ZZZZ", "99990010"):
        with pytest.raises(ValueError):
            parse_attribute_id(bad)


def test_attributes_know_their_level_and_matching():
    assert attribute_for_tag(tag_hex("StudyDate")).column == "study_date"
    institution = attribute_for_tag(tag_hex("InstitutionName"))
    assert (institution.level, institution.matching, institution.column) == (Level.STUDY, Matching.TEXT, None)
    assert attribute_for_tag(tag_hex("AcquisitionDateTime")).level is Level.IMAGE
    assert attribute_for_tag(tag_hex("ModalitiesInStudy")).computed


def test_identifier_keys_and_return_keys():
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.SpecificCharacterSet = "ISO_IR 192"
    identifier.PatientName = "Zhang*"
    identifier.StudyDate = "20240101-"
    identifier.StudyInstanceUID = ""
    identifier.ModalitiesInStudy = ["CT", "MR"]
    query = query_from_identifier(identifier, "STUDY", model="STUDY")
    assert query.return_tags == ["0020000D", "00080020", "00080061", "00100010"]
    assert {key.attribute.keyword: key.value for key in query.keys} == {
        "PatientName": "Zhang*",
        "StudyDate": "20240101-",
        "StudyInstanceUID": "",
        "ModalitiesInStudy": "CT\\MR",
    }


def test_identifier_refuses_keys_below_the_level_and_patient_level_in_study_root():
    identifier = Dataset()
    identifier.SOPInstanceUID = "1.2.3"
    with pytest.raises(QueryError):
        query_from_identifier(identifier, "STUDY", model="STUDY")
    with pytest.raises(QueryError):
        query_from_identifier(Dataset(), "PATIENT", model="STUDY")


def test_dataset_from_json_keeps_the_requested_character_set_when_it_can():
    result = {
        "00080005": {"vr": "CS", "Value": ["ISO_IR 192"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Zhang^San", "Ideographic": "张三"}]},
        "7FE00010": {"vr": "OW", "BulkDataURI": "bulk/7FE00010"},
    }
    assert dataset_from_json(result, character_set="GB18030").SpecificCharacterSet == "GB18030"
    assert "PixelData" not in dataset_from_json(result, character_set="GB18030")
    # Latin-1 cannot hold Chinese characters: the response is in UTF-8 instead.
    assert dataset_from_json(result, character_set="ISO_IR 100").SpecificCharacterSet == "ISO_IR 192"
    iso2022 = dataset_from_json(result, character_set=["", "ISO 2022 IR 58"])
    assert iso2022.SpecificCharacterSet == ["", "ISO 2022 IR 58"]
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, iso2022)
    assert b"Zhang^San=\x1b$)A\xd5\xc5\xc8\xfd" in buffer.getvalue()
    reread = pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True)
    assert strip_escape_sequences(str(reread.PatientName)) == "Zhang^San=张三"
    ascii_only = {"00100020": {"vr": "LO", "Value": ["P1"]}}
    assert "SpecificCharacterSet" not in dataset_from_json(ascii_only, character_set=None)
