"""Synthetic but realistic DICOM series: demo data for a first start, test data, benchmark data.

The CT is a head phantom of ellipses in Hounsfield units (skull, brain, ventricles, a lesion) with the
geometry a viewer needs (positions, orientation, spacing), so stacks scroll and MPR reconstructs.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

from pacs.charsets import encode_iso2022_ir58

# (centre x, centre y, centre z, radius x, radius y, radius z, HU) in a unit cube, painted in order.
_HEAD = [
    (0.0, 0.0, 0.0, 0.72, 0.9, 0.85, 1000),  # skull
    (0.0, 0.0, 0.0, 0.66, 0.84, 0.79, 35),  # brain
    (-0.16, 0.05, 0.05, 0.08, 0.28, 0.3, 5),  # left ventricle
    (0.16, 0.05, 0.05, 0.08, 0.28, 0.3, 5),  # right ventricle
    (0.3, -0.35, 0.2, 0.1, 0.1, 0.1, 70),  # a hyperdense lesion
]


@dataclass(frozen=True)
class Patient:
    name: str
    patient_id: str
    birth_date: str
    sex: str
    charset: str = "ISO_IR 192"


def head_phantom_slice(rows: int, columns: int, z: float) -> np.ndarray:
    """One axial slice of the phantom at height ``z`` in [-1, 1], in HU."""
    y, x = np.mgrid[-1 : 1 : rows * 1j, -1 : 1 : columns * 1j]
    image = np.full((rows, columns), -1000, dtype=np.int16)
    for cx, cy, cz, rx, ry, rz, hu in _HEAD:
        inside = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 + ((z - cz) / rz) ** 2 <= 1
        image[inside] = hu
    return image


def _base(
    patient: Patient,
    *,
    study_uid: str,
    series_uid: str,
    modality: str,
    study_date: str,
    accession: str,
    study_description: str,
    series_description: str,
    series_number: int,
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = patient.charset
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    if "ISO 2022 IR 58" in patient.charset:
        # pydicom writes GB2312 without the escape sequence this character set requires.
        ds.add_new("PatientName", "PN", encode_iso2022_ir58(patient.name))
    else:
        ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.StudyDate = study_date
    ds.StudyTime = "093000"
    ds.SeriesDate = study_date
    ds.SeriesTime = "093500"
    ds.AccessionNumber = accession
    ds.StudyID = accession[-6:]
    ds.StudyDescription = study_description
    ds.SeriesDescription = series_description
    ds.ReferringPhysicianName = ""
    ds.Modality = modality
    ds.SeriesNumber = series_number
    ds.InstitutionName = "Demo Hospital"
    ds.Manufacturer = "PACS synthetic"
    return ds


def _to_part10(ds: Dataset) -> bytes:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def ct_series(
    patient: Patient,
    *,
    slices: int = 60,
    size: int = 256,
    study_uid: str | None = None,
    study_date: str = "20241105",
    accession: str = "CT0001",
    spacing: float = 2.5,
    extent: float = 1.0,
    unsigned: bool = False,
) -> Iterator[bytes]:
    """An axial CT head series as Part 10 files, one per slice, inferior to superior.

    ``extent`` is the half-height of the slab in phantom units: 1.0 starts and ends in the air beyond
    the skull (tests rely on that), smaller values keep every slice inside the head. ``unsigned`` stores
    12-bit unsigned values, as many scanners do, instead of signed 16-bit ones; the Hounsfield units
    are the same.
    """
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    frame_of_reference = generate_uid()
    pixel_spacing = 220.0 / size
    for index in range(slices):
        z = extent * (-1 + 2 * (index + 0.5) / slices)
        ds = _base(
            patient,
            study_uid=study_uid,
            series_uid=series_uid,
            modality="CT",
            study_date=study_date,
            accession=accession,
            study_description="CT HEAD",
            series_description="Axial 2.5mm",
            series_number=2,
        )
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = index + 1
        ds.FrameOfReferenceUID = frame_of_reference
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.BodyPartExamined = "HEAD"
        ds.ImagePositionPatient = [-110.0, -110.0, round(index * spacing, 3)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceLocation = round(index * spacing, 3)
        ds.SliceThickness = spacing
        ds.PixelSpacing = [pixel_spacing, pixel_spacing]
        ds.KVP = 120
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = size
        if unsigned:
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        else:
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 80
        stored = head_phantom_slice(size, size, z).astype(np.int32) + 1024
        ds.PixelData = (np.clip(stored, 0, 4095).astype(np.uint16) if unsigned else stored.astype(np.int16)).tobytes()
        yield _to_part10(ds)


def mr_series(
    patient: Patient, *, slices: int = 20, size: int = 192, study_date: str = "20241020", accession: str = "MR0001"
) -> Iterator[bytes]:
    study_uid, series_uid, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    for index in range(slices):
        z = -0.8 + 1.6 * index / max(slices - 1, 1)
        ds = _base(
            patient,
            study_uid=study_uid,
            series_uid=series_uid,
            modality="MR",
            study_date=study_date,
            accession=accession,
            study_description="MR BRAIN",
            series_description="T2 AX",
            series_number=3,
        )
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = index + 1
        ds.FrameOfReferenceUID = frame_of_reference
        ds.ImagePositionPatient = [-100.0, -100.0, round(index * 5.0, 3)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [200.0 / size, 200.0 / size]
        ds.SliceThickness = 5.0
        ds.BodyPartExamined = "BRAIN"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = size
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        hu = head_phantom_slice(size, size, z)
        # T2-like contrast: fluid bright, bone dark.
        signal = np.select([hu == 5, hu == 35, hu == 70, hu == 1000], [1800, 900, 1300, 80], 0)
        ds.PixelData = signal.astype(np.uint16).tobytes()
        ds.WindowCenter, ds.WindowWidth = 1000, 2000
        yield _to_part10(ds)


def chest_radiograph(
    patient: Patient, *, size: int = 512, study_date: str = "20241101", accession: str = "DX0001"
) -> bytes:
    ds = _base(
        patient,
        study_uid=generate_uid(),
        series_uid=generate_uid(),
        modality="DX",
        study_date=study_date,
        accession=accession,
        study_description="CHEST PA",
        series_description="PA",
        series_number=1,
    )
    ds.SOPClassUID = DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = 1
    ds.BodyPartExamined = "CHEST"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.PixelSpacing = [0.7, 0.7]
    ds.ImagerPixelSpacing = [0.7, 0.7]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    body = ((x / 0.85) ** 2 + (y / 0.95) ** 2 <= 1) * 2200
    lungs = (((x + 0.38) / 0.27) ** 2 + ((y + 0.05) / 0.6) ** 2 <= 1) | (
        ((x - 0.38) / 0.27) ** 2 + ((y + 0.05) / 0.6) ** 2 <= 1
    )
    image = body - lungs * 1500 + ((np.abs(x) < 0.07) & (y > -0.8)) * 1200
    ds.PixelData = np.clip(image, 0, 4095).astype(np.uint16).tobytes()
    ds.WindowCenter, ds.WindowWidth = 1600, 3000
    return _to_part10(ds)
