"""QIDO-RS (PS3.18 10.6) against the live server, with dicomweb-client and plain HTTP."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from pacs.charsets import encode_iso2022_ir58
from pacs.models import Organization
from pacs.query.engine import query_execute, query_from_qido
from tests.conftest import PYDICOM_CHARSET_FILES, PYDICOM_TEST_FILES

RETRIEVE_URL, INSTANCE_AVAILABILITY = "00081190", "00080056"
STUDY_UID, SERIES_UID, SOP_UID = "0020000D", "0020000E", "00080018"
PATIENT_NAME, PATIENT_ID, STUDY_DATE = "00100010", "00100020", "00080020"
WARNING_TEXT = "The number of results exceeded the maximum supported by the server"


def instance(*, study: str, series: str, charset: str = "ISO_IR 192", **attributes: Any) -> bytes:
    """A small Secondary Capture instance as Part 10 bytes; keywords override the defaults."""
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    values = {
        "PatientName": "Doe^John",
        "PatientID": "P1",
        "StudyDate": "20240102",
        "StudyTime": "101010",
        "AccessionNumber": "A1",
        "Modality": "OT",
        "SeriesNumber": 1,
        "InstanceNumber": 1,
        **attributes,
    }
    for keyword, value in values.items():
        if keyword == "PatientName" and "ISO 2022 IR 58" in charset:
            # pydicom writes GB2312 without the ISO 2022 escape sequence this character set requires.
            ds.add_new("PatientName", "PN", encode_iso2022_ir58(value))
        else:
            setattr(ds, keyword, value)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = 4
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes(16)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def request_attributes(procedure_id: str) -> list[Dataset]:
    item = Dataset()
    item.RequestedProcedureID = procedure_id
    item.ScheduledProcedureStepID = f"SPS-{procedure_id}"
    return [item]


@dataclass
class Archive:
    """What the ``archive`` fixture stored: study UIDs by name, and the CT series of ``chest``."""

    chest: str
    knee: str
    zhang: str
    li: str
    wang: str
    chest_ct: str
    chest_sr: str


@pytest.fixture
def archive(ingest, org_alpha) -> Archive:  # type: ignore[no-untyped-def]
    """Five studies of five patients, in four character sets.

    chest (Doe^John, 2024-01-02): CT series 1 with instances 3, 1, 2 (stored in that order) and a
    request attributes item RP100; SR series 2 with one instance.
    """
    uids = {name: generate_uid() for name in ("chest", "knee", "zhang", "li", "wang", "chest_ct", "chest_sr")}
    chest = {
        "study": uids["chest"],
        "StudyDescription": "CHEST",
        "ReferringPhysicianName": "Ref^Physician",
        "InstitutionName": "General Hospital",
    }
    ct = {**chest, "series": uids["chest_ct"], "Modality": "CT", "SeriesDescription": "Axial"}
    ct["RequestAttributesSequence"] = request_attributes("RP100")
    ingest(
        org_alpha,
        *(instance(**ct, InstanceNumber=number, AcquisitionDateTime=f"2024010210{number}000") for number in (3, 1, 2)),
        instance(**chest, series=uids["chest_sr"], Modality="SR", SeriesNumber=2),
        instance(
            study=uids["knee"],
            series=generate_uid(),
            charset="ISO_IR 100",
            PatientName="Müller^Zoë",
            PatientID="P2",
            StudyDate="20240215",
            StudyTime="083000",
            AccessionNumber="A22",
            Modality="MR",
        ),
        instance(study=uids["zhang"], series=generate_uid(), PatientName="张三", PatientID="P3", StudyDate="20231120"),
        instance(
            study=uids["li"],
            series=generate_uid(),
            charset="GB18030",
            PatientName="Li^Si=李四",
            PatientID="P4",
            StudyDate="20230601",
        ),
        instance(
            study=uids["wang"],
            series=generate_uid(),
            charset="\\ISO 2022 IR 58",
            PatientName="Wang^Wu=王五",
            PatientID="P5",
            StudyDate="20230301",
        ),
    )
    return Archive(**uids)


def values(result: dict[str, Any], tag: str) -> list[Any]:
    return result.get(tag, {}).get("Value", [])


def study_uids(results: list[dict[str, Any]]) -> list[str]:
    return [values(result, STUDY_UID)[0] for result in results]


def search(http, path: str = "/dicomweb/studies", **params: Any) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- the three searches ---------------------------------------------------------------------------


def test_studies_newest_first_with_the_required_attributes(alpha_client, archive):
    results = alpha_client.search_for_studies()
    assert study_uids(results) == [archive.knee, archive.chest, archive.zhang, archive.li, archive.wang]
    chest = results[1]
    assert values(chest, PATIENT_NAME) == [{"Alphabetic": "Doe^John"}]
    assert values(chest, PATIENT_ID) == ["P1"]
    assert values(chest, STUDY_DATE) == ["20240102"]
    assert values(chest, "00080061") == ["CT", "SR"]  # ModalitiesInStudy
    assert values(chest, "00201206") == [2]  # NumberOfStudyRelatedSeries
    assert values(chest, "00201208") == [4]  # NumberOfStudyRelatedInstances
    assert values(chest, INSTANCE_AVAILABILITY) == ["ONLINE"]
    # dicomweb-client sends a Host header without the port, so only the path is compared.
    assert urlsplit(values(chest, RETRIEVE_URL)[0]).path == f"/dicomweb/studies/{archive.chest}"
    assert values(chest, "00080090") == [{"Alphabetic": "Ref^Physician"}]
    assert "00081030" not in chest  # StudyDescription is not a default return key
    # An attribute without a value is returned empty: its VR and no Value.
    assert results[0]["00080090"] == {"vr": "PN"}
    assert values(results[0], "00080005") == ["ISO_IR 192"]  # the JSON is Unicode, whatever was stored


def test_series_of_a_study_by_number_and_across_studies(alpha_client, archive):
    results = alpha_client.search_for_series(study_instance_uid=archive.chest)
    assert [values(r, SERIES_UID)[0] for r in results] == [archive.chest_ct, archive.chest_sr]
    ct = results[0]
    assert values(ct, "00080060") == ["CT"]
    assert values(ct, "00201209") == [3]  # NumberOfSeriesRelatedInstances
    assert values(ct, STUDY_UID) == [archive.chest]
    assert urlsplit(values(ct, RETRIEVE_URL)[0]).path == f"/dicomweb/studies/{archive.chest}/series/{archive.chest_ct}"
    assert values(values(ct, "00400275")[0], "00401001") == ["RP100"]  # RequestAttributesSequence
    assert PATIENT_NAME not in ct  # the study is named in the path: no study attributes
    everywhere = alpha_client.search_for_series(search_filters={"Modality": "CT"})
    assert {values(r, SERIES_UID)[0] for r in everywhere} == {archive.chest_ct}
    assert values(everywhere[0], PATIENT_NAME) == [{"Alphabetic": "Doe^John"}]  # study attributes come along
    assert len(alpha_client.search_for_series()) == 6


def test_instances_at_every_path_sorted_by_number(alpha_client, archive):
    in_series = alpha_client.search_for_instances(archive.chest, archive.chest_ct)
    assert [values(r, "00200013")[0] for r in in_series] == [1, 2, 3]
    first = in_series[0]
    assert values(first, "00080016") == [SecondaryCaptureImageStorage]
    assert values(first, "00280010") == [4]
    sop = values(first, SOP_UID)[0]
    path = f"/dicomweb/studies/{archive.chest}/series/{archive.chest_ct}/instances/{sop}"
    assert urlsplit(values(first, RETRIEVE_URL)[0]).path == path
    in_study = alpha_client.search_for_instances(archive.chest)
    assert len(in_study) == 4
    assert all(values(r, "00080060") for r in in_study)  # series attributes, the series being open
    everything = alpha_client.search_for_instances(search_filters={"PatientID": "P1", "InstanceNumber": "2"})
    assert [values(r, SOP_UID)[0] for r in everything] == [
        values(r, SOP_UID)[0] for r in in_series if values(r, "00200013") == [2]
    ]
    assert values(everything[0], PATIENT_NAME) == [{"Alphabetic": "Doe^John"}]


def test_pydicom_files_are_found_by_their_attributes(alpha_client, ingest, org_alpha):
    ingest(org_alpha, PYDICOM_TEST_FILES / "CT_small.dcm", PYDICOM_TEST_FILES / "MR_small.dcm")
    (ct,) = alpha_client.search_for_studies(search_filters={"PatientID": "1CT1"})
    assert values(ct, PATIENT_NAME) == [{"Alphabetic": "CompressedSamples^CT1"}]
    assert values(ct, "00080061") == ["CT"]
    (mr,) = alpha_client.search_for_instances(search_filters={"Modality": "MR"}, fields=["all"])
    assert "7FE00010" not in mr  # no bulk data in search results
    assert values(mr, "00280010") == [64]


# --- matching -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"PatientID": "P2"}, ["knee"]),  # single value
        ({"PatientID": "p2"}, []),  # case-sensitive
        ({"00100020": "P1"}, ["chest"]),  # a tag instead of a keyword
        ({"PatientName": "Doe*"}, ["chest"]),  # wild card
        ({"PatientName": "M?ller^Zo?"}, ["knee"]),  # ? is one character, accented or not
        ({"AccessionNumber": "A?2"}, ["knee"]),
        ({"PatientName": "*"}, ["knee", "chest", "zhang", "li", "wang"]),  # universal
        ({"PatientName": ""}, ["knee", "chest", "zhang", "li", "wang"]),
        ({"StudyDate": "20240101-20240131"}, ["chest"]),  # date range
        ({"StudyDate": "-20231231"}, ["zhang", "li", "wang"]),
        ({"StudyDate": "20240201-"}, ["knee"]),
        ({"StudyDate": "20231120"}, ["zhang"]),
        ({"StudyDate": "20240101-20240131", "StudyTime": "10-11"}, ["chest"]),  # time range
        ({"StudyTime": "0800-0900"}, ["knee"]),
        ({"ModalitiesInStudy": "SR"}, ["chest"]),  # one of several values
        ({"ModalitiesInStudy": "MR\\SR"}, ["knee", "chest"]),
        ({"InstitutionName": "General*"}, ["chest"]),  # held only in the study's JSON
        ({"ReferringPhysicianName": "Ref^*"}, ["chest"]),
        ({"StudyDescription": "CHEST"}, ["chest"]),
        ({"NumberOfStudyRelatedSeries": "2"}, ["chest"]),
    ],
)
def test_study_matching(alpha_http, archive, params, expected):
    assert study_uids(search(alpha_http, **params)) == [getattr(archive, name) for name in expected]


def test_uid_list_matching(alpha_http, archive):
    for separator in (",", "\\"):
        results = search(alpha_http, StudyInstanceUID=f"{archive.li}{separator}{archive.knee}")
        assert study_uids(results) == [archive.knee, archive.li]
    assert study_uids(search(alpha_http, **{"0020000d": archive.li})) == [archive.li]  # lower-case hex tag


def test_series_and_instance_matching(alpha_client, archive):
    assert alpha_client.search_for_series(archive.chest, search_filters={"SeriesNumber": "2"})[0][SERIES_UID][
        "Value"
    ] == [archive.chest_sr]
    by_sequence = alpha_client.search_for_series(
        search_filters={"RequestAttributesSequence.RequestedProcedureID": "RP1*"}
    )
    assert [values(r, SERIES_UID)[0] for r in by_sequence] == [archive.chest_ct]
    assert alpha_client.search_for_series(search_filters={"RequestAttributesSequence.RequestedProcedureID": "X"}) == []
    by_datetime = alpha_client.search_for_instances(
        archive.chest, search_filters={"AcquisitionDateTime": "202401021020-202401021030"}
    )
    assert [values(r, "00200013")[0] for r in by_datetime] == [2, 3]


def test_includefield_variants(alpha_http, archive):
    def one(**params):  # type: ignore[no-untyped-def]
        (result,) = search(alpha_http, PatientID="P1", **params)
        return result

    assert values(one(includefield="StudyDescription"), "00081030") == ["CHEST"]
    assert values(one(includefield="00081030"), "00081030") == ["CHEST"]
    both = one(includefield="StudyDescription,InstitutionName")
    assert values(both, "00081030") == ["CHEST"] and values(both, "00080080") == ["General Hospital"]
    repeated = alpha_http.get(
        "/dicomweb/studies?PatientID=P1&includefield=StudyDescription&includefield=00080080"
    ).json()[0]
    assert values(repeated, "00081030") == ["CHEST"] and values(repeated, "00080080") == ["General Hospital"]
    encoded = alpha_http.get("/dicomweb/studies?PatientID=P1&includefield=StudyDescription%2C00080080").json()[0]
    assert values(encoded, "00080080") == ["General Hospital"]
    everything = one(includefield="all")
    assert values(everything, "00081030") == ["CHEST"] and values(everything, "00201208") == [4]
    patient_counts = one(includefield="NumberOfPatientRelatedStudies,NumberOfPatientRelatedInstances")
    assert values(patient_counts, "00201200") == [1] and values(patient_counts, "00201204") == [4]


def test_fuzzy_matching_ignores_case_and_accents(alpha_client, archive):
    assert alpha_client.search_for_studies(search_filters={"PatientName": "doe^john"}) == []
    (found,) = alpha_client.search_for_studies(search_filters={"PatientName": "doe^john"}, fuzzymatching=True)
    assert values(found, STUDY_UID) == [archive.chest]
    assert alpha_client.search_for_studies(search_filters={"PatientName": "Muller*"}) == []
    (found,) = alpha_client.search_for_studies(search_filters={"PatientName": "muller*"}, fuzzymatching=True)
    assert values(found, STUDY_UID) == [archive.knee]
    (found,) = alpha_client.search_for_studies(search_filters={"PatientName": "Müller^Zoë"})
    assert values(found, PATIENT_NAME) == [{"Alphabetic": "Müller^Zoë"}]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("张三", "zhang"),  # characters, ISO_IR 192
        ("张*", "zhang"),
        ("李四", "li"),  # GB18030, the ideographic group
        ("Li^Si=李四", "li"),
        ("王五", "wang"),  # ISO 2022 IR 58
        ("*五", "wang"),
        ("zhangsan", "zhang"),  # pinyin, full and initials, any case
        ("zs", "zhang"),
        ("ZHANG*", "zhang"),
        ("lisi", "li"),
        ("ls", "li"),
        ("wang*", "wang"),
        ("ww", "wang"),
    ],
)
def test_chinese_names_by_characters_and_pinyin(alpha_client, archive, name, expected):
    results = alpha_client.search_for_studies(search_filters={"PatientName": name})
    assert study_uids(results) == [getattr(archive, expected)]


def test_chinese_names_come_back_as_characters(alpha_client, archive):
    by_id = {values(r, PATIENT_ID)[0]: values(r, PATIENT_NAME)[0] for r in alpha_client.search_for_studies()}
    assert by_id["P3"] == {"Alphabetic": "张三"}
    assert by_id["P4"] == {"Alphabetic": "Li^Si", "Ideographic": "李四"}
    assert by_id["P5"] == {"Alphabetic": "Wang^Wu", "Ideographic": "王五"}


def test_pydicom_gb18030_file_by_characters_and_pinyin(alpha_client, ingest, org_alpha):
    ingest(org_alpha, PYDICOM_CHARSET_FILES / "chrX2.dcm")
    for name in ("王^小东", "Wang^XiaoDong", "wangxiaodong", "wxd"):
        (result,) = alpha_client.search_for_studies(search_filters={"PatientName": name})
        assert values(result, PATIENT_NAME) == [{"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小东"}]


# --- paging ---------------------------------------------------------------------------------------


def test_limit_and_offset(alpha_http, archive):
    response = alpha_http.get("/dicomweb/studies", params={"limit": 2, "offset": 1})
    assert study_uids(response.json()) == [archive.chest, archive.zhang]
    assert "Warning" not in response.headers  # the client's own limit, not the server's


def test_server_maximum_truncates_with_a_warning(alpha_http, alpha_client, archive, settings):
    settings.QIDO_MAX_RESULTS = 2
    response = alpha_http.get("/dicomweb/studies")
    assert study_uids(response.json()) == [archive.knee, archive.chest]
    assert response.headers["Warning"].startswith("299 ")
    assert WARNING_TEXT in response.headers["Warning"]
    response = alpha_http.get("/dicomweb/studies", params={"limit": 10, "offset": 4})
    assert study_uids(response.json()) == [archive.wang]
    assert "Warning" not in response.headers  # nothing more to request
    assert len(alpha_client.search_for_studies(get_remaining=True)) == 5


# --- media types and errors -----------------------------------------------------------------------


def test_media_types(alpha_http, archive):
    response = alpha_http.get("/dicomweb/studies")
    assert response.headers["Content-Type"] == "application/dicom+json"
    response = alpha_http.get("/dicomweb/studies", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    response = alpha_http.get("/dicomweb/studies", headers={"Accept": "multipart/related; type=application/dicom+xml"})
    assert response.status_code == 406


def test_no_match_is_200_with_an_empty_array(alpha_client, alpha_http, archive):
    response = alpha_http.get("/dicomweb/studies", params={"PatientID": "nobody"})
    assert response.status_code == 200 and response.json() == []
    assert alpha_client.search_for_studies(search_filters={"PatientID": "nobody"}) == []


@pytest.mark.parametrize(
    "params",
    [
        {"NoSuchAttribute": "1"},
        {"StudyDate": "2024-01-01"},
        {"StudyDate": "20241301"},
        {"StudyTime": "2500"},
        {"StudyInstanceUID": "1.2.*"},
        {"SOPInstanceUID": "1.2.3"},  # an instance key in a study search
        {"NumberOfPatientRelatedStudies": "1"},  # return key only
        {"limit": "0"},
        {"offset": "-1"},
        {"fuzzymatching": "maybe"},
        {"includefield": "NoSuchAttribute"},
        {"StudyDescription.CodeValue": "x"},  # not a sequence
        {"RequestAttributesSequence": "x"},  # a sequence matches by its items' attributes
    ],
)
def test_bad_queries_are_400_with_a_reason(alpha_http, params):
    response = alpha_http.get("/dicomweb/studies", params=params)
    assert response.status_code == 400
    assert response.json()["error"]


def test_unknown_parent_is_404(alpha_http, archive):
    assert alpha_http.get(f"/dicomweb/studies/{generate_uid()}/series").status_code == 404
    assert alpha_http.get(f"/dicomweb/studies/{archive.chest}/series/{generate_uid()}/instances").status_code == 404
    assert alpha_http.get(f"/dicomweb/studies/{archive.chest}/series", params={"Modality": "XA"}).json() == []


# --- access ---------------------------------------------------------------------------------------


def test_organizations_see_only_their_own_studies(beta_http, alpha_http, archive, ingest, org_beta):
    assert search(beta_http) == []
    assert search(beta_http, StudyInstanceUID=archive.chest) == []
    assert beta_http.get(f"/dicomweb/studies/{archive.chest}/series").status_code == 404
    assert search(beta_http, "/dicomweb/instances") == []
    ingest(org_beta, instance(study=generate_uid(), series=generate_uid(), PatientID="P1"))
    assert len(search(beta_http, PatientID="P1")) == 1
    assert study_uids(search(alpha_http, PatientID="P1")) == [archive.chest]


def test_unauthenticated_is_401(anonymous_http):
    for path in ("/dicomweb/studies", "/dicomweb/series", "/dicomweb/instances"):
        assert anonymous_http.get(path).status_code == 401


# --- the engine in this process -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "params"),
    [
        ("STUDY", "includefield=all&includefield=NumberOfPatientRelatedSeries&PatientName=Doe*"),
        ("SERIES", "includefield=all&StudyDate=20240101-&RequestAttributesSequence.RequestedProcedureID=RP100"),
        ("IMAGE", "includefield=all&includefield=ModalitiesInStudy&PatientName=zs"),
        ("PATIENT", "includefield=all&PatientName=*"),
    ],
)
def test_every_search_is_one_database_query(archive, org_alpha, django_assert_num_queries, level, params):
    from django.http import QueryDict

    query = query_from_qido(QueryDict(params), level)
    with django_assert_num_queries(1):
        results, truncated = query_execute(query, organization=org_alpha, limit=100)
    assert results and not truncated


def test_other_organizations_results_are_not_counted(archive, org_alpha, org_beta):
    from django.http import QueryDict

    assert isinstance(org_beta, Organization)
    query = query_from_qido(QueryDict(""), "PATIENT")
    assert query_execute(query, organization=org_beta) == ([], False)
    results, _ = query_execute(query_from_qido(QueryDict("PatientID=P1"), "PATIENT"), organization=org_alpha)
    assert values(results[0], "00201200") == [1] and values(results[0], "00201202") == [2]
