"""Chinese names: compound surnames stay whole and surnames are read as surnames, in the pinyin the
archive and the RIS search by and in the DICOM person name sent to modalities."""

from __future__ import annotations

import pytest

from pacs.names import chinese_person_name, family_and_given, pinyin_forms


@pytest.mark.parametrize(
    ("name", "family", "given"),
    [
        ("欧阳娜娜", "欧阳", "娜娜"),
        ("司马光", "司马", "光"),
        ("诸葛亮", "诸葛", "亮"),
        ("上官婉儿", "上官", "婉儿"),
        ("尉迟恭", "尉迟", "恭"),
        ("张三", "张", "三"),
        ("张三丰", "张", "三丰"),
        # Two characters are a surname and a given name, even when they could form a compound surname.
        ("欧阳", "欧", "阳"),
        ("王", "王", ""),
    ],
)
def test_family_and_given(name, family, given):
    assert family_and_given(name) == (family, given)


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("欧阳娜娜", "OUYANGNANA", "OYNN"),
        ("司马光", "SIMAGUANG", "SMG"),
        ("诸葛亮", "ZHUGELIANG", "ZGL"),
        ("尉迟恭", "YUCHIGONG", "YCG"),
        ("万俟卨", "MOQIXIE", "MQX"),
        # One-character surnames whose usual reading differs.
        ("单雄信", "SHANXIONGXIN", "SXX"),
        ("曾国藩", "ZENGGUOFAN", "ZGF"),
        ("解缙", "XIEJIN", "XJ"),
        ("查良镛", "ZHALIANGYONG", "ZLY"),
        ("仇英", "QIUYING", "QY"),
        # A DICOM PN: the ideographic group's "^" says where the family name ends.
        ("Shan^Tian=单^田", "SHANTIAN", "ST"),
        ("OUYANG^NANA=欧阳^娜娜", "OUYANGNANA", "OYNN"),
        ("张三", "ZHANGSAN", "ZS"),
        ("Smith^John", "", ""),
    ],
)
def test_pinyin_forms_read_surnames_as_surnames(name, full, initials):
    assert pinyin_forms(name) == (full, initials)


@pytest.mark.parametrize(
    ("name", "pn"),
    [
        ("欧阳娜娜", "OUYANG^NANA=欧阳^娜娜"),
        ("诸葛亮", "ZHUGE^LIANG=诸葛^亮"),
        ("上官婉儿", "SHANGGUAN^WANER=上官^婉儿"),
        ("单雄信", "SHAN^XIONGXIN=单^雄信"),
        ("张三", "ZHANG^SAN=张^三"),
        ("王", "WANG=王"),
        ("John Smith", "John Smith"),
        ("Zhang^San=张^三", "Zhang^San=张^三"),
    ],
)
def test_chinese_person_name(name, pn):
    assert chinese_person_name(name) == pn
