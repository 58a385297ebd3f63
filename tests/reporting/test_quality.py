"""Quality rules over real report sentences, Chinese and English."""

from __future__ import annotations

from reporting.quality import QualityInput, quality_check, terms_merge


def codes(**kwargs: object) -> list[str]:
    return [problem.code for problem in quality_check(data=QualityInput(**kwargs))]  # type: ignore[arg-type]


def test_clean_chinese_report_has_no_problems() -> None:
    sections = {
        "findings": "右膝关节内侧半月板后角见线样高信号影达关节面，前后交叉韧带走行连续，关节腔少量积液。",
        "impression": "右膝关节内侧半月板后角撕裂（III度），关节腔少量积液。",
    }
    assert codes(sections=sections, patient_sex="M", exam_text="MR 右膝关节平扫 KNEE") == []


def test_uterus_in_a_male_patient() -> None:
    problems = quality_check(
        data=QualityInput(
            sections={
                "findings": "膀胱充盈良好，子宫大小形态正常，双侧附件区未见异常。",
                "impression": "盆腔未见明显异常。",
            },
            patient_sex="M",
            exam_text="CT 盆腔平扫 PELVIS",
        )
    )
    sex = [p for p in problems if p.code == "sex"]
    assert [p.excerpt for p in sex] == ["子宫", "附件区"]
    assert sex[0].section == "findings" and sex[0].start == 7 and sex[0].end == 9


def test_prostate_in_a_female_patient_english() -> None:
    sections = {
        "findings": "The prostate is mildly enlarged. The bladder wall is smooth.",
        "impression": "Mild prostatomegaly.",
    }
    assert codes(sections=sections, patient_sex="F", exam_text="CT pelvis") == ["sex"]
    assert codes(sections=sections, patient_sex="M", exam_text="CT pelvis") == []


def test_laterality_contradiction_chinese() -> None:
    problems = quality_check(
        data=QualityInput(
            sections={"findings": "右膝关节内侧半月板后角撕裂。", "impression": "右侧膝关节半月板损伤。"},
            patient_sex="M",
            exam_text="MR 左膝关节平扫 KNEE",
        )
    )
    assert [(p.code, p.excerpt) for p in problems] == [("laterality", "右膝"), ("laterality", "右侧膝")]


def test_laterality_contradiction_english_and_other_parts_ignored() -> None:
    sections = {
        "findings": "Tear of the posterior horn of the medial meniscus of the right knee. Right hip not imaged.",
        "impression": "Medial meniscal tear.",
    }
    problems = quality_check(data=QualityInput(sections=sections, exam_text="MR Left knee without contrast"))
    assert [(p.code, p.excerpt) for p in problems] == [("laterality", "right knee")]


def test_no_side_in_the_order_means_no_laterality_check() -> None:
    assert (
        codes(
            sections={"findings": "右肺上叶见小结节。", "impression": "右肺上叶小结节。"}, exam_text="CT 胸部平扫 CHEST"
        )
        == []
    )


def test_body_part_mismatch() -> None:
    sections = {"findings": "脑实质内未见异常密度影，肝脏形态大小正常。", "impression": "颅脑CT平扫未见异常。"}
    problems = quality_check(data=QualityInput(sections=sections, exam_text="CT 头颅平扫 HEAD 颅内"))
    assert [(p.code, p.excerpt) for p in problems] == [("body_part", "肝脏")]
    english = {"findings": "The liver is normal in size.", "impression": "Normal brain."}
    assert codes(sections=english, exam_text="CT brain HEAD") == ["body_part"]


def test_chest_ct_may_mention_the_upper_abdomen() -> None:
    sections = {"findings": "双肺纹理清晰，所见肝脏内见低密度灶。", "impression": "肝内低密度灶，建议进一步检查。"}
    assert codes(sections=sections, exam_text="CT 胸部平扫 CHEST") == []


def test_empty_required_section() -> None:
    problems = quality_check(
        data=QualityInput(
            sections={"findings": "双肺纹理清晰。", "impression": "  "},
            required=[("findings", "检查所见"), ("impression", "诊断意见")],
        )
    )
    assert [(p.code, p.section) for p in problems] == [("required", "impression")]
    assert "诊断意见" in problems[0].message


def test_normal_impression_over_a_lesion_chinese() -> None:
    sections = {"findings": "右肺上叶尖段见一直径约8mm结节，边缘毛糙。", "impression": "胸部CT平扫未见明显异常。"}
    problems = quality_check(data=QualityInput(sections=sections))
    assert [(p.code, p.section, p.excerpt) for p in problems] == [
        ("contradiction", "impression", "未见明显异常"),
        ("contradiction", "findings", "结节"),
    ]


def test_negated_lesions_are_not_contradictions() -> None:
    zh = {
        "findings": "双肺未见结节及肿块，纵隔内无肿大淋巴结，胸腔未见积液。",
        "impression": "胸部CT平扫未见明显异常。",
    }
    assert codes(sections=zh) == []
    en = {
        "findings": "No focal nodule or mass. The lungs are clear without effusion. Lungs are not consolidated.",
        "impression": "No acute abnormality.",
    }
    assert codes(sections=en) == []


def test_normal_impression_over_a_lesion_english() -> None:
    sections = {
        "findings": "There is a 12 mm spiculated nodule in the right upper lobe. No pleural effusion.",
        "impression": "No significant abnormality.",
    }
    problems = quality_check(data=QualityInput(sections=sections))
    assert {(p.section, p.excerpt) for p in problems} == {
        ("impression", "No significant abnormality"),
        ("findings", "nodule"),
    }


def test_configuration_adds_words_and_disables_rules() -> None:
    sections = {"findings": "左肾见一枚小错构瘤。", "impression": "未见异常。"}
    assert codes(sections=sections) == []
    terms = terms_merge(config={"terms": {"lesion": {"zh": ["错构瘤"]}}})
    assert codes(sections=sections, terms=terms) == ["contradiction", "contradiction"]
    assert quality_check(data=QualityInput(sections=sections, terms=terms), disabled=["contradiction"]) == []
