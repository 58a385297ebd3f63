"""The attributes the query engine knows, per level of the information model.

Each attribute has a level (PS3.4 C.6.1.1 Patient Root, C.6.2.1 Study Root), a VR, a matching rule
chosen by its VR (PS3.4 C.2.2.2), and where it lives in the index: an indexed column of the level's
model, a column computed by the index (ModalitiesInStudy, the Number Of ... Related ... attributes), or
only the DICOM JSON of the level (``Patient.attributes``, ``Study.attributes``, ``Series.attributes``,
``Instance.metadata``). Columns serve matching; returned values always come from the JSON, except the
computed attributes, which exist nowhere else.

Attributes without a row in :data:`INDEXED` are still matchable, through the level's JSON (first value
only); their level is found with :mod:`pacs.levels`, and anything not at the patient, study or series
level is an instance attribute.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum, StrEnum

from pydicom.datadict import dictionary_keyword, dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.tag import Tag

from pacs import levels


class Level(StrEnum):
    """Query/Retrieve levels (PS3.4 C.6), highest first."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"

    @property
    def depth(self) -> int:
        return list(Level).index(self)


class Matching(Enum):
    """Which matching rules of PS3.4 C.2.2.2 apply to an attribute's value."""

    UID = "uid"  # single value or list of UIDs (C.2.2.2.1, C.2.2.2.2)
    TEXT = "text"  # single value or wild card (C.2.2.2.1, C.2.2.2.4)
    PERSON_NAME = "person_name"  # as TEXT, by component group, optionally fuzzy (C.2.2.2.1)
    MULTI_TEXT = "multi_text"  # a multi-valued attribute matches when one of its values does
    DATE = "date"  # single value or range (C.2.2.2.5)
    TIME = "time"
    DATETIME = "datetime"
    NUMBER = "number"  # single value
    SEQUENCE = "sequence"  # C.2.2.2.6
    RETURN_ONLY = "return_only"  # a return key that cannot be matched


_TEXT_VRS = frozenset({"AE", "AS", "CS", "LO", "LT", "SH", "ST", "UC", "UR", "UT"})
_NUMBER_VRS = frozenset({"IS", "DS", "US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"})
_MATCHING_BY_VR = {
    "UI": Matching.UID,
    "PN": Matching.PERSON_NAME,
    "DA": Matching.DATE,
    "TM": Matching.TIME,
    "DT": Matching.DATETIME,
    "SQ": Matching.SEQUENCE,
    **{vr: Matching.TEXT for vr in _TEXT_VRS},
    **{vr: Matching.NUMBER for vr in _NUMBER_VRS},
}


@dataclass(frozen=True)
class Attribute:
    """One attribute as the engine sees it.

    ``column`` is a field of the level's model used for matching; ``computed`` columns (and the patient
    counts, which have no column and are aggregated from the studies) are also where the returned value
    comes from. ``folded_column`` and ``pinyin_columns`` serve Patient Name's fuzzy and pinyin matching.
    """

    tag: str
    keyword: str
    vr: str
    level: Level
    matching: Matching
    column: str | None = None
    computed: bool = False
    folded_column: str | None = None
    pinyin_columns: tuple[str, ...] = ()

    @property
    def is_date_column(self) -> bool:
        """Indexed dates are DateFields; dates inside the JSON are DICOM DA strings."""
        return self.matching is Matching.DATE and self.column is not None


def tag_hex(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise ValueError(f"unknown DICOM keyword {keyword}")
    return f"{tag:08X}"


def _indexed(keyword: str, level: Level, column: str | None, **options: object) -> Attribute:
    vr = dictionary_VR(tag_for_keyword(keyword))
    matching = options.pop("matching", _MATCHING_BY_VR[vr])
    return Attribute(tag_hex(keyword), keyword, vr, level, matching, column, **options)  # type: ignore[arg-type]


P, ST, SE, IM = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE

# The index's columns (pacs.models) and computed attributes.
INDEXED: dict[str, Attribute] = {
    a.tag: a
    for a in (
        _indexed(
            "PatientName",
            P,
            "patient_name",
            folded_column="patient_name_folded",
            pinyin_columns=("patient_name_pinyin", "patient_name_initials"),
        ),
        _indexed("PatientID", P, "patient_id"),
        _indexed("IssuerOfPatientID", P, "issuer_of_patient_id"),
        _indexed("PatientBirthDate", P, "birth_date"),
        _indexed("PatientSex", P, "sex"),
        _indexed("NumberOfPatientRelatedStudies", P, None, computed=True, matching=Matching.RETURN_ONLY),
        _indexed("NumberOfPatientRelatedSeries", P, None, computed=True, matching=Matching.RETURN_ONLY),
        _indexed("NumberOfPatientRelatedInstances", P, None, computed=True, matching=Matching.RETURN_ONLY),
        _indexed("StudyInstanceUID", ST, "study_instance_uid"),
        _indexed("StudyDate", ST, "study_date"),
        _indexed("StudyTime", ST, "study_time"),
        _indexed("AccessionNumber", ST, "accession_number"),
        _indexed("StudyID", ST, "study_id"),
        _indexed("StudyDescription", ST, "study_description"),
        _indexed("ReferringPhysicianName", ST, "referring_physician_name"),
        _indexed("ModalitiesInStudy", ST, "modalities_in_study", computed=True, matching=Matching.MULTI_TEXT),
        _indexed("NumberOfStudyRelatedSeries", ST, "number_of_series", computed=True),
        _indexed("NumberOfStudyRelatedInstances", ST, "number_of_instances", computed=True),
        _indexed("SeriesInstanceUID", SE, "series_instance_uid"),
        _indexed("Modality", SE, "modality"),
        _indexed("SeriesNumber", SE, "series_number"),
        _indexed("SeriesDescription", SE, "series_description"),
        _indexed("BodyPartExamined", SE, "body_part_examined"),
        _indexed("PerformedProcedureStepStartDate", SE, "performed_procedure_step_start_date"),
        _indexed("PerformedProcedureStepStartTime", SE, "performed_procedure_step_start_time"),
        _indexed("NumberOfSeriesRelatedInstances", SE, "number_of_instances", computed=True),
        _indexed("SOPInstanceUID", IM, "sop_instance_uid"),
        _indexed("SOPClassUID", IM, "sop_class_uid"),
        _indexed("InstanceNumber", IM, "instance_number"),
        _indexed("Rows", IM, "rows"),
        _indexed("Columns", IM, "columns"),
    )
}

# The patient counts are aggregated from the patient's studies; each gets an annotation of this name.
PATIENT_COUNT_ALIASES = {
    tag_hex("NumberOfPatientRelatedStudies"): "q_patient_studies",
    tag_hex("NumberOfPatientRelatedSeries"): "q_patient_series",
    tag_hex("NumberOfPatientRelatedInstances"): "q_patient_instances",
}

# Instance Availability (PS3.4 C.4.1.1.3.2): everything the index lists is on line.
INSTANCE_AVAILABILITY = tag_hex("InstanceAvailability")
SPECIFIC_CHARACTER_SET = tag_hex("SpecificCharacterSet")
QUERY_RETRIEVE_LEVEL = tag_hex("QueryRetrieveLevel")

UNIQUE_KEYS: dict[Level, str] = {
    P: tag_hex("PatientID"),
    ST: tag_hex("StudyInstanceUID"),
    SE: tag_hex("SeriesInstanceUID"),
    IM: tag_hex("SOPInstanceUID"),
}

# Attributes returned when a QIDO request does not ask for others: PS3.18 Table 10.6.3-3 (study),
# 10.6.3-4 (series), 10.6.3-5 (instance), without Retrieve URL, which the HTTP layer adds. The counts
# computed by the index are added to the study and series sets because viewers' study lists show them.
# The patient set follows PS3.4 C.6.1.1.2 for the study browser.
QIDO_DEFAULTS: dict[Level, tuple[str, ...]] = {
    P: tuple(
        tag_hex(k)
        for k in (
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientSex",
            "NumberOfPatientRelatedStudies",
            "NumberOfPatientRelatedSeries",
            "NumberOfPatientRelatedInstances",
        )
    ),
    ST: tuple(
        tag_hex(k)
        for k in (
            "SpecificCharacterSet",
            "StudyDate",
            "StudyTime",
            "AccessionNumber",
            "InstanceAvailability",
            "ModalitiesInStudy",
            "ReferringPhysicianName",
            "TimezoneOffsetFromUTC",
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientSex",
            "StudyInstanceUID",
            "StudyID",
            "NumberOfStudyRelatedSeries",
            "NumberOfStudyRelatedInstances",
        )
    ),
    SE: tuple(
        tag_hex(k)
        for k in (
            "SpecificCharacterSet",
            "Modality",
            "TimezoneOffsetFromUTC",
            "SeriesDescription",
            "SeriesInstanceUID",
            "SeriesNumber",
            "PerformedProcedureStepStartDate",
            "PerformedProcedureStepStartTime",
            "RequestAttributesSequence",
            "NumberOfSeriesRelatedInstances",
        )
    ),
    IM: tuple(
        tag_hex(k)
        for k in (
            "SpecificCharacterSet",
            "SOPClassUID",
            "SOPInstanceUID",
            "InstanceAvailability",
            "TimezoneOffsetFromUTC",
            "InstanceNumber",
            "Rows",
            "Columns",
            "BitsAllocated",
            "NumberOfFrames",
        )
    ),
}


def _json_level(tag: str) -> Level:
    """The level whose stored JSON holds ``tag`` (pacs.levels); the rest is per instance."""
    if tag in levels.PATIENT_TAGS:
        return P
    if tag in levels.STUDY_TAGS:
        return ST
    if tag in levels.SERIES_TAGS:
        return SE
    return IM


@functools.cache
def attribute_for_tag(tag: str) -> Attribute:
    """The engine's view of ``tag`` (eight upper-case hex digits); ValueError for unknown tags."""
    indexed = INDEXED.get(tag)
    if indexed is not None:
        return indexed
    number = int(tag, 16)
    try:
        vr = dictionary_VR(number)
        keyword = dictionary_keyword(number)
    except KeyError:
        raise ValueError(f"({tag[:4]},{tag[4:]}) is not an attribute of the DICOM data dictionary") from None
    # Ambiguous VRs ("US or SS", "OB or OW") are binary or numbers; the first is as good as any here.
    vr = vr.split(" or ")[0]
    matching = _MATCHING_BY_VR.get(vr, Matching.RETURN_ONLY)
    return Attribute(tag, keyword, vr, _json_level(tag), matching)


def parse_attribute_id(text: str) -> str:
    """A QIDO ``{attributeID}`` (PS3.18 8.3.4.1): a keyword or eight hex digits, as a tag string.

    Raises ValueError naming the text when it is neither.
    """
    text = text.strip()
    if len(text) == 8 and all(c in "0123456789abcdefABCDEF" for c in text):
        tag = text.upper()
        attribute_for_tag(tag)
        return tag
    tag_number = tag_for_keyword(text)
    if tag_number is None:
        raise ValueError(f"{text!r} is neither a DICOM keyword nor a tag")
    return f"{tag_number:08X}"


def describe(tag: str) -> str:
    """``Keyword (gggg,eeee)`` for messages."""
    keyword = keyword_for_tag(Tag(int(tag, 16))) or "attribute"
    return f"{keyword} ({tag[:4]},{tag[4:]})"
