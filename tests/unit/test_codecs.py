"""The codec module and frames by offset, against every pixel-data file that ships with pydicom."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import generate_frames
from pydicom.uid import (
    MPEG2MPML,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
)

from pacs.ingest import DicomStatusError
from pacs.models import Instance
from pacs.retrieve import codecs, frames, instances
from pacs.retrieve.errors import BadRequest
from tests.conftest import PYDICOM_TEST_FILES


def _pixel_files() -> list[Path]:
    """The test files with pixel data that pydicom itself can decode (the broken ones are not ours to fix)."""
    found = []
    for path in sorted(PYDICOM_TEST_FILES.glob("*.dcm")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                dataset = pydicom.dcmread(path)
                if "PixelData" not in dataset or "TransferSyntaxUID" not in dataset.file_meta:
                    continue
                dataset.pixel_array  # noqa: B018 - only whether it decodes
            except Exception:  # noqa: BLE001, S112
                continue
        found.append(path)
    return found


PIXEL_FILES = _pixel_files()


def _reference(path: Path) -> tuple[pydicom.Dataset, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(path)
        return dataset, dataset.pixel_array


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_test_data_covers_the_syntaxes():
    syntaxes = {str(pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in PIXEL_FILES}
    assert len(PIXEL_FILES) > 50
    assert len(syntaxes) >= 12
    assert all(codecs.can_decode(syntax) for syntax in syntaxes)


# pydicom warns about the oddities these files were made to show (padding, a wrong VR encoding).
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("path", PIXEL_FILES, ids=lambda p: p.name)
def test_every_syntax_transcodes_to_explicit_vr_little_endian(path):
    original, expected = _reference(path)
    # Read before converting: the conversion works in place, so ``original`` would follow any change.
    sop_instance_uid = str(original.SOPInstanceUID)
    converted = codecs.dataset_transcode(original, ExplicitVRLittleEndian)
    data = codecs.dataset_to_part10(converted)
    result = pydicom.dcmread(io.BytesIO(data))
    assert result.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert result.SOPInstanceUID == sop_instance_uid  # the same instance, in another encoding
    assert result.file_meta.MediaStorageSOPInstanceUID == sop_instance_uid
    np.testing.assert_array_equal(result.pixel_array, expected)


@pytest.mark.parametrize("target", [ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, RLELossless])
def test_other_targets_round_trip(target):
    original, expected = _reference(PYDICOM_TEST_FILES / "JPEG2000.dcm")
    sop_instance_uid = str(original.SOPInstanceUID)
    data = codecs.dataset_to_part10(codecs.dataset_transcode(original, target))
    result = pydicom.dcmread(io.BytesIO(data))
    assert result.file_meta.TransferSyntaxUID == target
    assert result.SOPInstanceUID == sop_instance_uid
    np.testing.assert_array_equal(result.pixel_array, expected)


def test_big_endian_words_are_swapped():
    original, expected = _reference(PYDICOM_TEST_FILES / "MR_small_bigendian.dcm")
    data = codecs.dataset_to_part10(codecs.dataset_transcode(original, ExplicitVRLittleEndian))
    result = pydicom.dcmread(io.BytesIO(data))
    np.testing.assert_array_equal(result.pixel_array, expected)
    assert result.PixelData == expected.astype("<i2").tobytes()


def test_what_cannot_be_produced_is_a_codec_error_not_a_crash():
    original, _ = _reference(PYDICOM_TEST_FILES / "CT_small.dcm")
    assert not codecs.can_decode(MPEG2MPML)
    assert not codecs.can_transcode(ExplicitVRLittleEndian, JPEGBaseline8Bit)
    with pytest.raises(codecs.CodecError) as caught:
        codecs.dataset_transcode(original, JPEGBaseline8Bit)
    assert caught.value.http_status == 406
    with pytest.raises(codecs.CodecError):
        codecs.frame_array(b"not a codestream", transfer_syntax=UID("1.2.840.10008.1.2.4.80"), image=_image(original))


def _image(dataset: pydicom.Dataset) -> codecs.ImagePixel:
    return codecs.ImagePixel(
        rows=dataset.Rows,
        columns=dataset.Columns,
        samples_per_pixel=dataset.SamplesPerPixel,
        bits_allocated=dataset.BitsAllocated,
        bits_stored=dataset.BitsStored,
        pixel_representation=dataset.PixelRepresentation,
        photometric_interpretation=dataset.PhotometricInterpretation,
        planar_configuration=dataset.get("PlanarConfiguration", 0),
    )


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("path", PIXEL_FILES, ids=lambda p: p.name)
def test_frames_by_offset_equal_pydicom_frames(path, org_alpha, ingest):
    try:
        (result,) = ingest(org_alpha, path)
    except DicomStatusError as exc:
        pytest.skip(f"refused at ingest: {exc}")
    row = Instance.objects.get(pk=result.instance_id)
    stored = instances.instance_get(
        organization=org_alpha,
        study_uid=result.study_instance_uid,
        series_uid=result.series_instance_uid,
        sop_uid=result.sop_instance_uid,
        with_frame_index=True,
    )
    dataset, expected = _reference(path)
    count = stored.number_of_frames
    numbers = list(range(1, count + 1))
    syntax = UID(row.transfer_syntax_uid)
    expected_frames = expected if count > 1 else expected[np.newaxis]

    decoded = list(frames.frames_read(stored, numbers, keep_stored=False))
    assert all(frame.transfer_syntax == ExplicitVRLittleEndian for frame in decoded)
    for frame, reference in zip(decoded, expected_frames, strict=True):
        array = codecs.frame_array(frame.data, transfer_syntax=ExplicitVRLittleEndian, image=_decoded_image(dataset))
        np.testing.assert_array_equal(array, reference)

    if syntax.is_encapsulated:
        kept = list(frames.frames_read(stored, numbers, keep_stored=True))
        assert [frame.data for frame in kept] == list(generate_frames(dataset.PixelData, number_of_frames=count))
        assert all(frame.transfer_syntax == syntax for frame in kept)
    elif row.frame_index:
        native = b"".join(frame.data for frame in decoded)
        assert native == dataset.PixelData[: len(native)]


def _decoded_image(dataset: pydicom.Dataset) -> codecs.ImagePixel:
    """Decoded colour frames are RGB, pixel-interleaved, whatever the stored photometric interpretation."""
    image = _image(dataset)
    if image.samples_per_pixel == 3 and UID(dataset.file_meta.TransferSyntaxUID).is_compressed:
        return codecs.ImagePixel(**{**image.__dict__, "photometric_interpretation": "RGB", "planar_configuration": 0})
    return image


@pytest.mark.django_db
def test_frame_numbers_are_checked(org_alpha):
    assert frames.frame_numbers_parse("1,3", number_of_frames=3) == [1, 3]
    for text, count in [("0", 3), ("4", 3), ("1,x", 3), ("1", 0)]:
        with pytest.raises(BadRequest):
            frames.frame_numbers_parse(text, number_of_frames=count)
