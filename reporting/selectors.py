"""Reads of the reporting app: settings, template choice, quality problems, priors, phrase trees."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q, QuerySet
from django.utils.translation import get_language

from pacs.models import Study, User
from reporting.measurements import MeasurementRow, measurements_evaluate
from reporting.models import DEFAULT_SECTIONS, KeyImage, Phrase, Report, ReportingSettings, ReportTemplate
from reporting.quality import QualityInput, QualityProblem, quality_check, terms_merge
from reporting.text import html_to_text
from ris.models import Exam


def reporting_settings(*, organization_id: int) -> ReportingSettings:
    """The organization's settings, or the defaults (unsaved) when it has none."""
    found = ReportingSettings.objects.filter(organization_id=organization_id).first()
    return found or ReportingSettings(organization_id=organization_id)


def template_for_exam(*, exam: Exam) -> ReportTemplate | None:
    """The active template that fits the exam best: same modality and body part, then modality only."""
    order = exam.orders.order_by("pk").first()
    body_part = order.body_part if order else ""
    candidates = ReportTemplate.objects.filter(organization_id=exam.organization_id, active=True).filter(
        Q(modality=exam.modality) | Q(modality="")
    )
    ranked = sorted(
        candidates, key=lambda t: (t.modality != exam.modality, t.body_part != body_part, t.body_part != "", t.pk)
    )
    fitting = [t for t in ranked if t.body_part in ("", body_part)]
    return fitting[0] if fitting else None


def templates_for_organization(*, organization_id: int, modality: str = "") -> QuerySet[ReportTemplate]:
    templates = ReportTemplate.objects.filter(organization_id=organization_id, active=True)
    return templates.filter(Q(modality=modality) | Q(modality="")) if modality else templates


def report_sections(*, report: Report) -> list[dict[str, object]]:
    """The sections of the report's template, with the title in the current language."""
    declared = report.template.sections if report.template else DEFAULT_SECTIONS
    chinese = (get_language() or "").lower().startswith("zh")
    return [
        {**section, "label": (section.get("title_zh") if chinese else None) or section.get("title") or section["key"]}
        for section in declared
    ]


def report_measurements(*, report: Report, values: dict[str, object] | None = None) -> list[MeasurementRow]:
    fields = report.template.measurement_fields if report.template else []
    return measurements_evaluate(fields=fields, values=report.measurements if values is None else values)


def exam_description(*, exam: Exam) -> str:
    """What was ordered, in words the rules read: procedure names and body parts."""
    return " ".join(f"{order.procedure.name} {order.body_part}" for order in exam.orders.select_related("procedure"))


def report_quality_problems(*, report: Report) -> list[QualityProblem]:
    """Run the organization's quality rules over the report as it stands."""
    config = reporting_settings(organization_id=report.organization_id).quality_config or {}
    sections = report_sections(report=report)
    data = QualityInput(
        sections={key: html_to_text(text) for key, text in report.sections.items()},
        patient_sex=report.exam.patient.sex,
        exam_text=exam_description(exam=report.exam),
        required=[(str(s["key"]), str(s["label"])) for s in sections if s.get("required")],
        terms=terms_merge(config=config),
    )
    disabled = config.get("disabled") or []
    return quality_check(data=data, disabled=[str(code) for code in disabled])


def key_images_current(*, report: Report) -> QuerySet[KeyImage]:
    return report.key_images.filter(removed_at__isnull=True)


def key_images_by_ids(*, ids: Sequence[int]) -> list[KeyImage]:
    found = {image.pk: image for image in KeyImage.objects.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


def exam_priors(*, exam: Exam) -> QuerySet[Exam]:
    """The patient's other exams, newest first, with their reports when there are any."""
    return (
        Exam.objects.filter(organization_id=exam.organization_id, patient_id=exam.patient_id)
        .exclude(pk=exam.pk)
        .select_related("report")
        .prefetch_related("orders__procedure")
        .order_by("-created_at")
    )


def phrases_visible(*, user: User, modality: str = "") -> list[Phrase]:
    """Shared phrases and the user's own, as a forest: each root with ``tree_children`` filled in."""
    rows = Phrase.objects.filter(organization_id=user.organization_id).filter(Q(owner__isnull=True) | Q(owner=user))
    if modality:
        rows = rows.filter(Q(modality="") | Q(modality=modality))
    nodes = list(rows)
    by_parent: dict[int | None, list[Phrase]] = {}
    for node in nodes:
        by_parent.setdefault(node.parent_id, []).append(node)
    for node in nodes:
        node.tree_children = by_parent.get(node.pk, [])  # type: ignore[attr-defined]
    known = {node.pk for node in nodes}
    return [node for node in nodes if node.parent_id is None or node.parent_id not in known]


def reports_for_organization(*, organization_id: int) -> QuerySet[Report]:
    """Reports with what lists show (patient, exam, critical flag), critical ones first."""
    return (
        Report.objects.filter(organization_id=organization_id)
        .select_related("exam__patient", "approved_by")
        .order_by("-critical", "-updated_at")
    )


def report_readable(*, report: Report) -> tuple[dict[str, str], int | None, list[KeyImage]]:
    """What a reader of another exam's report sees: the latest signed version (text, number, key images),
    or the working copy while nothing is signed yet."""
    signed = report.versions.order_by("-number").first()
    if signed is not None:
        return signed.sections, signed.number, key_images_by_ids(ids=signed.key_image_ids)
    return report.sections, None, list(key_images_current(report=report))


def exam_history(*, exam: Exam, limit: int = 20) -> list[dict[str, object]]:
    """The patient's prior exams with their reports, for comparison beside the editor, newest first."""
    rows: list[dict[str, object]] = []
    for prior in exam_priors(exam=exam)[:limit]:
        report = getattr(prior, "report", None)
        entry: dict[str, object] = {
            "exam": prior.pk,
            "date": prior.status_changed_at.date().isoformat() if prior.status_changed_at else "",
            "accession_number": prior.accession_number,
            "modality": prior.modality,
            "procedures": [order.procedure.name for order in prior.orders.all()],
            "study_instance_uid": prior.study_instance_uid,
            "report": None,
        }
        if report is not None:
            sections, signed, images = report_readable(report=report)
            entry["report"] = {
                "id": report.pk,
                "status": report.status,
                "status_label": str(report.get_status_display()),
                "critical": report.critical,
                "signed_version": signed,
                "sections": [
                    {"key": str(s["key"]), "label": str(s["label"]), "html": sections.get(str(s["key"]), "")}
                    for s in report_sections(report=report)
                ],
                "key_images": [{"id": image.pk, "caption": image.caption} for image in images],
            }
        rows.append(entry)
    known = {exam.study_instance_uid, *(row["study_instance_uid"] for row in rows)}
    rows.extend(_archive_only_priors(exam=exam, known=known))
    rows.sort(key=lambda row: str(row["date"]), reverse=True)
    return rows[:limit]


def _archive_only_priors(*, exam: Exam, known: set[object], limit: int = 20) -> list[dict[str, object]]:
    """Stored studies of the same patient that no exam of the RIS produced (sent from elsewhere, or
    before the RIS was in use): images to compare with, without a report."""
    studies = (
        Study.objects.filter(organization_id=exam.organization_id, patient__patient_id=exam.patient.patient_id)
        .exclude(study_instance_uid__in=[uid for uid in known if uid])
        .order_by("-study_date", "-pk")[:limit]
    )
    return [
        {
            "exam": None,
            "date": study.study_date.isoformat() if study.study_date else "",
            "accession_number": study.accession_number,
            "modality": study.modalities_in_study,
            "procedures": [study.study_description] if study.study_description else [],
            "study_instance_uid": study.study_instance_uid,
            "report": None,
        }
        for study in studies
    ]
