import io

import pydicom
import pytest

from pacs.charsets import encode_iso2022_ir58, strip_escape_sequences
from pacs.names import fold, pinyin_forms, split_groups


def test_escape_sequences_are_removed_and_text_kept():
    assert strip_escape_sequences("Wang^Wu=\x1b$)A王五") == "Wang^Wu=王五"
    assert strip_escape_sequences("plain") == "plain"


def test_iso2022_ir58_encoding_is_decoded_by_pydicom_to_the_same_characters():
    from pydicom.dataset import Dataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    encoded = encode_iso2022_ir58("Zhang^San=张三")
    assert encoded == b"Zhang^San=\x1b$)A\xd5\xc5\xc8\xfd"
    ds = Dataset()
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 58"]
    ds.add_new("PatientName", "PN", encoded)
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, ds)
    decoded = pydicom.dcmread(io.BytesIO(buffer.getvalue()), force=True).PatientName
    assert strip_escape_sequences(str(decoded)) == "Zhang^San=张三"


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [("Zhang^San=张三", "ZHANGSAN", "ZS"), ("张三丰", "ZHANGSANFENG", "ZSF"), ("Smith^John", "", "")],
)
def test_pinyin_forms(name, full, initials):
    assert pinyin_forms(name) == (full, initials)


def test_groups_and_folding():
    assert split_groups("A^B=阿^贝") == ("A^B", "阿^贝", "")
    assert fold("Müller^Zoë") == "MULLER^ZOE"
