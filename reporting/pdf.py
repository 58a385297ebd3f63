"""The signed report as a PDF (A4, WeasyPrint): organization header and logo, patient and exam, findings,
impression, measurements, key images, signatures and times, with Chinese fonts embedded.

The layout is a Django template (``ReportingSettings.pdf_template``, by default
``reporting/report_pdf.html``), so a hospital changes it by overriding that template or naming its own.
"""

from __future__ import annotations

import base64

from django.template.loader import render_to_string
from django.utils import timezone, translation

from reporting.files import file_read
from reporting.models import ReportVersion
from reporting.selectors import key_images_by_ids, report_measurements, report_sections, reporting_settings


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode()


def report_version_html(*, version: ReportVersion) -> str:
    """The version as the HTML the PDF is made from."""
    report = version.report
    exam = report.exam
    config = reporting_settings(organization_id=report.organization_id)
    sections = [
        {**section, "html": version.sections.get(str(section["key"]), "")} for section in report_sections(report=report)
    ]
    return render_to_string(
        config.pdf_template or "reporting/report_pdf.html",
        {
            "organization": exam.organization,
            "logo": _data_uri(config.logo) if config.logo else "",
            "version": version,
            "report": report,
            "exam": exam,
            "patient": exam.patient,
            "orders": exam.orders.select_related("procedure"),
            "sections": sections,
            "measurements": [
                row for row in report_measurements(report=report, values=version.measurements) if row.value is not None
            ],
            "key_images": [
                {"image": image, "src": _data_uri(file_read(image.png_path))}
                for image in key_images_by_ids(ids=version.key_image_ids)
            ],
            "printed_at": timezone.localtime(),
        },
    )


def report_version_pdf(*, version: ReportVersion, language: str = "zh-hans") -> bytes:
    """The PDF of ``version`` in ``language`` (Chinese by default: it is the hospital's document)."""
    # WeasyPrint loads Pango and its fonts on import: only processes that print pay for it.
    from weasyprint import HTML

    with translation.override(language):
        html = report_version_html(version=version)
    return HTML(string=html).write_pdf()
