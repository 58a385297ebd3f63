"""Which attributes belong to which level of the DICOM information model (PS3.3 C.7, PS3.4 C.6).

The index keeps, per study and per series, the DICOM JSON of the attributes of its level taken from the
instances it received. The query engine returns attributes from these, never from files.
"""

from __future__ import annotations

from pydicom.datadict import tag_for_keyword

PATIENT_KEYWORDS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "TypeOfPatientID",
    "IssuerOfPatientIDQualifiersSequence",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientSex",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "EthnicGroup",
    "Occupation",
    "AdditionalPatientHistory",
    "PatientComments",
    "PatientSpeciesDescription",
    "PatientBreedDescription",
    "ResponsiblePerson",
    "ResponsibleOrganization",
    "PatientIdentityRemoved",
    "MedicalRecordLocator",
    "MedicalAlerts",
    "Allergies",
    "PregnancyStatus",
)

STUDY_KEYWORDS = (
    "SpecificCharacterSet",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "IssuerOfAccessionNumberSequence",
    "StudyID",
    "StudyDescription",
    "ReferringPhysicianName",
    "PhysiciansOfRecord",
    "NameOfPhysiciansReadingStudy",
    "ProcedureCodeSequence",
    "AdmittingDiagnosesDescription",
    "ReasonForPerformedProcedureCodeSequence",
    "InstitutionName",
    "TimezoneOffsetFromUTC",
    "RequestAttributesSequence",
)

SERIES_KEYWORDS = (
    "SeriesInstanceUID",
    "Modality",
    "SeriesNumber",
    "SeriesDescription",
    "SeriesDate",
    "SeriesTime",
    "BodyPartExamined",
    "Laterality",
    "PerformingPhysicianName",
    "OperatorsName",
    "ProtocolName",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedProcedureStepID",
    "PerformedProcedureStepDescription",
    "RequestAttributesSequence",
    "FrameOfReferenceUID",
    "Manufacturer",
    "ManufacturerModelName",
    "StationName",
    "InstitutionName",
    "InstitutionalDepartmentName",
    "PatientPosition",
    "AnatomicalOrientationType",
    "SeriesType",
)


def _tags(keywords: tuple[str, ...]) -> frozenset[str]:
    tags = []
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise ValueError(f"unknown DICOM keyword {keyword}")
        tags.append(f"{tag:08X}")
    return frozenset(tags)


PATIENT_TAGS = _tags(PATIENT_KEYWORDS)
STUDY_TAGS = _tags(STUDY_KEYWORDS) | PATIENT_TAGS
SERIES_TAGS = _tags(SERIES_KEYWORDS) | {f"{tag_for_keyword('SpecificCharacterSet'):08X}"}


def subset(dicom_json: dict[str, dict], tags: frozenset[str]) -> dict[str, dict]:
    """The elements of a DICOM JSON dataset whose tags are in ``tags``."""
    return {tag: value for tag, value in dicom_json.items() if tag in tags}
