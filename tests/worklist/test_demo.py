"""``manage.py ris_demo``: today's worklist for the demo stations and completed exams for archived studies."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from pydicom.dataset import Dataset

from pacs.ingest import IngestOrigin, instance_ingest
from pacs.models import Organization
from pacs.synthetic import Patient, ct_series
from ris.models import Exam, ExamStatus
from worklist.models import LinkMethod, StudyLink
from worklist.query import worklist_exams


def test_ris_demo_schedules_today_and_links_the_demo_studies(transactional_db, capsys):
    organization = Organization.objects.create(slug=settings.PACS_DEFAULT_ORGANIZATION, name="Demo Hospital")
    origin = IngestOrigin(kind="import", organization=organization, description="demo data")
    for data in ct_series(Patient("Zhang^San=张三", "DEMO001", "19680312", "M"), slices=2, size=32):
        instance_ingest(source=data, origin=origin)
    (link,) = StudyLink.objects.all()
    assert link.exam is None  # stored before the RIS knew of it

    call_command("ris_demo")
    call_command("ris_demo")  # a second run adds nothing

    assert "5 orders scheduled for today, 1 completed" in capsys.readouterr().out
    link.refresh_from_db()
    assert link.exam is not None and link.method == LinkMethod.STUDY_UID
    assert link.exam.status == ExamStatus.COMPLETED and link.exam.patient.name == "张三"
    assert Exam.objects.filter(status__in=[ExamStatus.SCHEDULED, ExamStatus.ARRIVED]).count() == 5
    step = Dataset()
    step.ScheduledStationAETitle = "CT1"
    identifier = Dataset()
    identifier.ScheduledProcedureStepSequence = [step]
    assert worklist_exams(organization=organization, identifier=identifier).count() == 2
