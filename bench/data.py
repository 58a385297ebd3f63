"""Benchmark data: generated deterministically into ``bench/work/{profile}/`` and reused between runs.

Three sets, all Part 10 files in Explicit VR Little Endian:

- ``ct/``: one CT series of 512×512 16-bit slices (a torso phantom in Hounsfield units) with the
  geometry a viewer needs: position, orientation, spacing, frame of reference;
- ``small/``: small 64×64 instances (4 per study) over many studies, with varied patient names,
  IDs, birth dates, study dates and modalities, for STOW-RS and then QIDO-RS and C-FIND;
- ``extra/0..3/``: more small instances in four folders, one per association of the parallel C-STORE.

Every UID comes from ``generate_uid`` with fixed entropy sources and every random choice from a seeded
generator, so two runs (and two machines) produce byte-identical files. ``manifest.json`` records what
was generated; a folder whose manifest does not match the generator version and profile is rebuilt.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MRImageStorage,
    UltrasoundImageStorage,
    generate_uid,
)

WORK_DIR = Path(__file__).resolve().parent / "work"
# Bump when the generated files change, so cached folders are rebuilt.
GENERATOR_VERSION = 1
EXTRA_FOLDERS = 4
INSTANCES_PER_STUDY = 4


@dataclass(frozen=True)
class Profile:
    """The sizes of one benchmark run."""

    name: str
    ct_slices: int
    small_instances: int
    extra_instances: int

    @property
    def small_studies(self) -> int:
        return self.small_instances // INSTANCES_PER_STUDY


FULL = Profile(name="full", ct_slices=2000, small_instances=10_000, extra_instances=2000)
QUICK = Profile(name="quick", ct_slices=200, small_instances=1000, extra_instances=200)


@dataclass(frozen=True)
class CtSeries:
    """The big CT series: its UIDs (instances in slice order) and its folder."""

    study_uid: str
    series_uid: str
    sop_uids: list[str]
    folder: Path
    rows: int
    columns: int


@dataclass(frozen=True)
class BenchData:
    """Everything a run loads and queries, from the manifest of one profile's folder."""

    profile: Profile
    ct: CtSeries
    small_files: list[Path]
    extra_folders: list[Path]
    sample_patient_id: str

    @property
    def extra_files(self) -> list[Path]:
        return sorted(path for folder in self.extra_folders for path in folder.glob("*.dcm"))


# Patient names: common Chinese surnames and given names in pinyin, and a few others.
_SURNAMES = [
    "WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "WU", "ZHOU", "XU", "SUN", "MA", "ZHU",
    "HU", "GUO", "HE", "GAO", "LIN", "LUO", "ZHENG", "LIANG", "XIE", "SONG", "TANG", "SMITH", "MUELLER",
    "GARCIA", "NGUYEN", "KIM",
]  # fmt: skip
_GIVEN_NAMES = [
    "WEI", "FANG", "NA", "XIUYING", "MIN", "JING", "LI", "QIANG", "LEI", "JUN", "YANG", "YONG", "YAN", "JIE",
    "TAO", "MING", "CHAO", "XIULAN", "XIA", "PING", "GANG", "GUILAN", "XIAOMING", "HAO", "YU", "ANNA", "JOHN",
]  # fmt: skip
# Modality, SOP class, study description, series per study (each study holds INSTANCES_PER_STUDY).
_MODALITIES = [
    ("CT", CTImageStorage, "CT CHEST", 2),
    ("MR", MRImageStorage, "MR BRAIN", 2),
    ("CR", ComputedRadiographyImageStorage, "CHEST PA", 1),
    ("DX", DigitalXRayImageStorageForPresentation, "KNEE 2 VIEWS", 1),
    ("US", UltrasoundImageStorage, "US ABDOMEN", 1),
    ("MG", DigitalMammographyXRayImageStorageForPresentation, "MAMMO SCREENING", 1),
]
_FIRST_STUDY_DATE = date(2019, 1, 1)
_STUDY_DAYS = 6 * 365


def bench_data(profile: Profile, *, log: bool = True) -> BenchData:
    """The data of ``profile``, generated into ``bench/work/{profile.name}`` unless already there."""
    folder = WORK_DIR / profile.name
    manifest_path = folder / "manifest.json"
    manifest = _manifest_read(manifest_path)
    if manifest is None or manifest.get("version") != GENERATOR_VERSION or manifest.get("profile") != asdict(profile):
        if log:
            print(f"Generating benchmark data into {folder} (cached for later runs)...", flush=True)
        if folder.exists():
            shutil.rmtree(folder)
        manifest = _generate(profile, folder)
        # Written last: an interrupted generation has no manifest and starts over next time.
        manifest_path.write_text(json.dumps(manifest, indent=1))
    ct = manifest["ct"]
    data = BenchData(
        profile=profile,
        ct=CtSeries(
            study_uid=ct["study_uid"],
            series_uid=ct["series_uid"],
            sop_uids=ct["sop_uids"],
            folder=folder / "ct",
            rows=ct["rows"],
            columns=ct["columns"],
        ),
        small_files=sorted((folder / "small").glob("*.dcm")),
        extra_folders=[folder / "extra" / str(index) for index in range(EXTRA_FOLDERS)],
        sample_patient_id=manifest["sample_patient_id"],
    )
    if len(data.small_files) != profile.small_instances or len(data.extra_files) != profile.extra_instances:
        raise RuntimeError(f"{folder} is incomplete; delete it and run again")
    return data


def _manifest_read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _generate(profile: Profile, folder: Path) -> dict:
    ct_folder = folder / "ct"
    ct_folder.mkdir(parents=True)
    sop_uids: list[str] = []
    ct_study_uid = _uid("ct", "study")
    ct_series_uid = _uid("ct", "series")
    for index, ds in enumerate(_ct_slices(profile.ct_slices, ct_study_uid, ct_series_uid)):
        sop_uids.append(ds.SOPInstanceUID)
        _write(ds, ct_folder / f"{index + 1:05d}.dcm")

    small_folder = folder / "small"
    small_folder.mkdir()
    patients = _patients("small", profile.small_studies)
    for index, ds in enumerate(_small_instances("small", profile.small_studies, patients)):
        _write(ds, small_folder / f"{index:06d}.dcm")

    extra_studies = profile.extra_instances // INSTANCES_PER_STUDY
    extra_patients = _patients("extra", extra_studies)
    per_folder = -(-profile.extra_instances // EXTRA_FOLDERS)
    for index, ds in enumerate(_small_instances("extra", extra_studies, extra_patients)):
        target = folder / "extra" / str(index // per_folder)
        target.mkdir(parents=True, exist_ok=True)
        _write(ds, target / f"{index:06d}.dcm")

    # A patient with several studies, for the patient ID query.
    counts: dict[str, int] = {}
    for patient in (patients[study % len(patients)] for study in range(profile.small_studies)):
        counts[patient[1]] = counts.get(patient[1], 0) + 1
    sample_patient_id = max(sorted(counts), key=lambda patient_id: counts[patient_id])
    return {
        "version": GENERATOR_VERSION,
        "profile": asdict(profile),
        "ct": {
            "study_uid": ct_study_uid,
            "series_uid": ct_series_uid,
            "sop_uids": sop_uids,
            "rows": 512,
            "columns": 512,
        },
        "sample_patient_id": sample_patient_id,
    }


def _uid(*parts: object) -> str:
    """A UID that depends only on ``parts`` (a 2.25-style hash under pydicom's root)."""
    return generate_uid(entropy_srcs=["pacs-bench", *map(str, parts)])


def _write(ds: Dataset, path: Path) -> None:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)


def _common(
    *,
    patient: tuple[str, str, str, str],
    study_uid: str,
    series_uid: str,
    modality: str,
    study_date: str,
    study_time: str,
    accession: str,
    study_description: str,
    series_number: int,
) -> Dataset:
    """The patient, study, series and equipment attributes every generated instance carries."""
    name, patient_id, birth_date, sex = patient
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth_date
    ds.PatientSex = sex
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = study_date
    ds.StudyTime = study_time
    ds.AccessionNumber = accession
    ds.StudyID = accession[-6:]
    ds.StudyDescription = study_description
    ds.ReferringPhysicianName = "LIN^HUA"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDate = study_date
    ds.SeriesTime = study_time
    ds.Modality = modality
    ds.Manufacturer = "PACS bench"
    ds.InstitutionName = "Bench General Hospital"
    ds.StationName = f"{modality}01"
    ds.ContentDate = study_date
    ds.ContentTime = study_time
    return ds


# Ellipsoids of the torso phantom: (centre x, centre y, radius x, radius y, z from, z to, HU), in a unit
# square, z in [0, 1] from head to feet; painted in order, later ones over earlier ones.
_TORSO = [
    (0.0, 0.05, 0.85, 0.6, 0.0, 1.0, 40),  # soft tissue
    (0.0, 0.05, 0.8, 0.55, 0.0, 1.0, -90),  # fat under the skin
    (0.0, 0.05, 0.7, 0.47, 0.0, 1.0, 45),  # muscle and organs
    (-0.33, -0.02, 0.27, 0.33, 0.05, 0.45, -820),  # right lung
    (0.33, -0.02, 0.27, 0.33, 0.05, 0.45, -820),  # left lung
    (0.05, 0.05, 0.2, 0.18, 0.15, 0.4, 55),  # heart
    (-0.25, 0.0, 0.3, 0.25, 0.45, 0.6, 60),  # liver
    (0.06, 0.25, 0.05, 0.05, 0.05, 0.85, 250),  # aorta with contrast
    (0.0, 0.4, 0.08, 0.08, 0.0, 1.0, 700),  # vertebrae
    (0.0, 0.4, 0.04, 0.04, 0.0, 1.0, 20),  # spinal canal
    (0.1, -0.1, 0.04, 0.04, 0.52, 0.56, 120),  # a lesion
]


def _ct_slices(count: int, study_uid: str, series_uid: str) -> Iterator[Dataset]:
    """The CT series, feet-first numbering from the top: InstanceNumber 1 is the most superior slice."""
    size = 512
    spacing = 0.625
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    masks = [((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1 for cx, cy, rx, ry, _, _, _ in _TORSO]
    rng = np.random.default_rng(20240601)
    frame_of_reference = _uid("ct", "frame-of-reference")
    patient = ("ZHANG^WEI", "BENCH-CT-0001", "19620314", "M")
    for index in range(count):
        z = (index + 0.5) / count
        hu = np.full((size, size), -1000, dtype=np.int16)
        for mask, (_, _, _, _, z_from, z_to, value) in zip(masks, _TORSO, strict=True):
            if z_from <= z <= z_to:
                hu[mask] = value
        noisy = hu.astype(np.int32) + rng.integers(-12, 13, size=(size, size))
        stored = np.clip(noisy + 1024, 0, 4095).astype(np.uint16)
        location = round(-index * spacing, 3)
        ds = _common(
            patient=patient,
            study_uid=study_uid,
            series_uid=series_uid,
            modality="CT",
            study_date="20240601",
            study_time="101500",
            accession="BENCHCT000001",
            study_description="CT CHEST ABDOMEN PELVIS",
            series_number=3,
        )
        ds.SeriesDescription = "Axial 0.625mm"
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = _uid("ct", "instance", index)
        ds.InstanceNumber = index + 1
        ds.AcquisitionNumber = 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.BodyPartExamined = "CHEST"
        ds.PatientPosition = "FFS"
        ds.FrameOfReferenceUID = frame_of_reference
        ds.PositionReferenceIndicator = ""
        ds.ImagePositionPatient = [-250.0, -250.0, location]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceLocation = location
        ds.SliceThickness = spacing
        ds.SpacingBetweenSlices = spacing
        ds.PixelSpacing = [500 / size, 500 / size]
        ds.KVP = 120
        ds.XRayTubeCurrent = 250
        ds.ExposureTime = 500
        ds.ConvolutionKernel = "STANDARD"
        ds.GantryDetectorTilt = 0
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = size
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 400
        ds.PixelData = stored.tobytes()
        yield ds


def _patients(namespace: str, studies: int) -> list[tuple[str, str, str, str]]:
    """About 0.6 patients per study, so that many patients have more than one study."""
    rng = random.Random(f"{namespace}-patients")  # noqa: S311 - reproducible data, not secrets
    patients = []
    for index in range(max(1, studies * 3 // 5)):
        birth = date(1935, 1, 1) + timedelta(days=rng.randrange(80 * 365))
        patients.append(
            (
                f"{rng.choice(_SURNAMES)}^{rng.choice(_GIVEN_NAMES)}",
                f"{namespace[0].upper()}{index:07d}",
                birth.strftime("%Y%m%d"),
                rng.choice("MF"),
            )
        )
    return patients


def _small_instances(namespace: str, studies: int, patients: list[tuple[str, str, str, str]]) -> Iterator[Dataset]:
    """``INSTANCES_PER_STUDY`` small instances for each of ``studies`` studies, in study order."""
    rng = random.Random(f"{namespace}-studies")  # noqa: S311 - reproducible data, not secrets
    ramp = np.add.outer(np.arange(64, dtype=np.uint16), np.arange(64, dtype=np.uint16))
    for study in range(studies):
        modality, sop_class, description, series_count = rng.choice(_MODALITIES)
        study_date = (_FIRST_STUDY_DATE + timedelta(days=rng.randrange(_STUDY_DAYS))).strftime("%Y%m%d")
        study_time = f"{rng.randrange(7, 20):02d}{rng.randrange(60):02d}{rng.randrange(60):02d}"
        study_uid = _uid(namespace, "study", study)
        for number in range(INSTANCES_PER_STUDY):
            series = number * series_count // INSTANCES_PER_STUDY
            ds = _common(
                patient=patients[study % len(patients)],
                study_uid=study_uid,
                series_uid=_uid(namespace, "series", study, series),
                modality=modality,
                study_date=study_date,
                study_time=study_time,
                accession=f"{namespace[0].upper()}A{study:08d}",
                study_description=description,
                series_number=series + 1,
            )
            ds.SeriesDescription = f"{description} {series + 1}"
            ds.SOPClassUID = sop_class
            ds.SOPInstanceUID = _uid(namespace, "instance", study, number)
            ds.InstanceNumber = number + 1
            ds.ImageType = ["ORIGINAL", "PRIMARY"]
            if modality in ("CT", "MR"):
                ds.FrameOfReferenceUID = _uid(namespace, "frame-of-reference", study)
                ds.ImagePositionPatient = [-100.0, -100.0, float(number * 5)]
                ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
                ds.SliceThickness = 5.0
            ds.PixelSpacing = [0.5, 0.5]
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows = ds.Columns = 64
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            ds.PixelData = (ramp * 16 + (study + number) % 256).astype(np.uint16).tobytes()
            yield ds
