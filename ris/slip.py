"""The registration slip handed to the patient: who, what, when and where, and the accession number as a
Code 128 barcode that the technologist's scanner reads back into the desk or queue screens."""

from __future__ import annotations

import base64
import io

import barcode
from barcode.writer import SVGWriter
from django.template.loader import render_to_string
from django.utils import timezone

from ris.models import Exam


def barcode_svg(text: str) -> str:
    """Code 128 of ``text`` as an SVG data URI, without the human-readable line (the slip prints it)."""
    buffer = io.BytesIO()
    barcode.Code128(text, writer=SVGWriter()).write(
        buffer, options={"write_text": False, "module_height": 12.0, "quiet_zone": 2.0}
    )
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def exam_slip_html(*, exam: Exam) -> str:
    """The slip as HTML; ``exam`` comes from a selector that loaded orders and the active appointment."""
    appointments = getattr(exam, "active_appointments", None)
    if appointments is None:
        appointments = list(exam.appointments.filter(cancelled_at__isnull=True).select_related("room"))
    return render_to_string(
        "ris/slip.html",
        {
            "exam": exam,
            "patient": exam.patient,
            "orders": exam.orders.all(),
            "appointment": appointments[0] if appointments else None,
            "barcode": barcode_svg(exam.accession_number),
            "printed_at": timezone.localtime(),
        },
    )


def exam_slip_pdf(*, exam: Exam) -> bytes:
    """The slip as a PDF, A6 portrait."""
    # WeasyPrint loads Pango and its fonts on import: only processes that print pay for it.
    from weasyprint import HTML

    return HTML(string=exam_slip_html(exam=exam)).write_pdf()
