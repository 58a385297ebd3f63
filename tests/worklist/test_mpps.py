"""MPPS SCP (PS3.4 F.7, F.8): a pynetdicom SCU reports steps; the exam follows; performed series are kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, generate_uid
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from ris.models import Exam, ExamStatus
from tests.dimse.conftest import ARCHIVE_AE, MODALITY_AE, Archive
from tests.worklist.conftest import Scheduled
from worklist.models import PerformedProcedureStep, StepStatus
from worklist.services.mpps import MppsError, performed_step_create, performed_step_update


def step_started(exam: Exam | None, *, accession: str = "") -> Dataset:
    """The N-CREATE attribute list a modality sends when it starts a step (PS3.4 Table F.7.2-1)."""
    scheduled = Dataset()
    scheduled.StudyInstanceUID = exam.study_instance_uid if exam else generate_uid()
    scheduled.AccessionNumber = exam.accession_number if exam else accession
    scheduled.ReferencedStudySequence = []
    scheduled.RequestedProcedureID = scheduled.AccessionNumber
    scheduled.ScheduledProcedureStepID = scheduled.AccessionNumber
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ScheduledStepAttributesSequence = [scheduled]
    ds.PatientName = "ZHANG^SAN=张^三"
    ds.PatientID = exam.patient.patient_id if exam else "X"
    ds.PerformedStationAETitle = "CT1"
    ds.PerformedProcedureStepStartDate = "20261123"
    ds.PerformedProcedureStepStartTime = "090500"
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.Modality = "CT"
    ds.PerformedSeriesSequence = []
    return ds


def step_finished(status: str, *, series: int = 0, reason: str = "") -> Dataset:
    """The N-SET modification list that ends a step (PS3.4 Table F.7.2-1, N-SET column)."""
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = "20261123"
    ds.PerformedProcedureStepEndTime = "092000"
    items = []
    for number in range(series):
        item = Dataset()
        item.SeriesInstanceUID = generate_uid()
        item.SeriesDescription = f"Axial {number}"
        item.RetrieveAETitle = ARCHIVE_AE
        item.PerformingPhysicianName = ""
        item.OperatorsName = ""
        item.ProtocolName = "HEAD"
        image = Dataset()
        image.ReferencedSOPClassUID = CTImageStorage
        image.ReferencedSOPInstanceUID = generate_uid()
        item.ReferencedImageSequence = [image, image]
        items.append(item)
    ds.PerformedSeriesSequence = items
    if reason:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "110514", "DCM", reason
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [code]
    return ds


@pytest.fixture
def mpps(archive: Archive, modality) -> Iterator[Association]:
    """An association from the modality with the MPPS context."""
    ae = AE(ae_title=MODALITY_AE)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    association = ae.associate(archive.host, archive.port, ae_title=ARCHIVE_AE)
    assert association.is_established
    yield association
    association.release()


def status_of(exam: Exam) -> str:
    exam.refresh_from_db()
    return exam.status


def test_an_order_through_in_progress_and_completed(mpps: Association, scheduled: Scheduled):
    exam, uid = scheduled.zhang_ct, generate_uid()
    status, _attributes = mpps.send_n_create(step_started(exam), ModalityPerformedProcedureStep, uid)
    assert status.Status == 0x0000
    # Not checked in at the desk: the modality's start means the patient arrived.
    assert status_of(exam) == ExamStatus.IN_PROGRESS
    assert [c.to_status for c in exam.status_changes.all()][-2:] == [ExamStatus.ARRIVED, ExamStatus.IN_PROGRESS]
    assert exam.status_changes.last().source == "mpps"

    status, _ = mpps.send_n_set(step_finished("COMPLETED", series=2), ModalityPerformedProcedureStep, uid)
    assert status.Status == 0x0000
    assert status_of(exam) == ExamStatus.COMPLETED
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert step.exam == exam and step.status == StepStatus.COMPLETED
    assert step.calling_ae_title == MODALITY_AE and step.station_ae_title == "CT1"
    assert sorted(s.series_description for s in step.series.all()) == ["Axial 0", "Axial 1"]
    assert {s.number_of_images for s in step.series.all()} == {2}

    # A finished step may no longer be updated (PS3.4 F.7.2.2.2).
    status, _ = mpps.send_n_set(step_finished("COMPLETED"), ModalityPerformedProcedureStep, uid)
    assert status.Status == 0x0110


def test_discontinued_cancels_the_order(mpps: Association, scheduled: Scheduled):
    exam, uid = scheduled.li_dx, generate_uid()
    assert mpps.send_n_create(step_started(exam), ModalityPerformedProcedureStep, uid)[0].Status == 0x0000
    finished = step_finished("DISCONTINUED", reason="Patient refused to continue procedure")
    assert mpps.send_n_set(finished, ModalityPerformedProcedureStep, uid)[0].Status == 0x0000
    assert status_of(exam) == ExamStatus.CANCELLED
    assert exam.status_changes.last().note == "discontinued at the modality: Patient refused to continue procedure"


def test_an_in_progress_update_keeps_the_step_open(mpps: Association, scheduled: Scheduled):
    exam, uid = scheduled.zhao_walk_in, generate_uid()
    mpps.send_n_create(step_started(exam), ModalityPerformedProcedureStep, uid)
    update = Dataset()
    update.PerformedSeriesSequence = step_finished("COMPLETED", series=1).PerformedSeriesSequence
    assert mpps.send_n_set(update, ModalityPerformedProcedureStep, uid)[0].Status == 0x0000
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert step.status == StepStatus.IN_PROGRESS and step.series.count() == 1
    assert status_of(exam) == ExamStatus.IN_PROGRESS


def test_refusals(mpps: Association, scheduled: Scheduled):
    uid = generate_uid()
    assert mpps.send_n_create(step_started(scheduled.zhang_ct), ModalityPerformedProcedureStep, uid)[0].Status == 0
    # The same SOP Instance again, a step that does not exist, a status that is not one.
    assert mpps.send_n_create(step_started(scheduled.zhang_ct), ModalityPerformedProcedureStep, uid)[0].Status == 0x0111
    assert (
        mpps.send_n_set(step_finished("COMPLETED"), ModalityPerformedProcedureStep, generate_uid())[0].Status == 0x0112
    )
    assert mpps.send_n_set(step_finished("DONE"), ModalityPerformedProcedureStep, uid)[0].Status == 0x0106
    completed_at_start = step_started(scheduled.li_dx)
    completed_at_start.PerformedProcedureStepStatus = "COMPLETED"
    status = mpps.send_n_create(completed_at_start, ModalityPerformedProcedureStep, generate_uid())[0].Status
    assert status == 0x0106


def test_an_unscheduled_step_changes_no_exam(org_alpha, scheduled: Scheduled):
    step = performed_step_create(
        organization=org_alpha,
        sop_instance_uid=generate_uid(),
        attributes=step_started(None, accession="UNKNOWN1"),
        calling_ae_title="CT1",
    )
    assert step.exam is None
    assert step.attributes["00100010"]["Value"][0] == {"Alphabetic": "ZHANG^SAN", "Ideographic": "张^三"}
    performed_step_update(
        organization=org_alpha, sop_instance_uid=step.sop_instance_uid, modifications=step_finished("COMPLETED")
    )
    assert Exam.objects.filter(status=ExamStatus.COMPLETED).count() == 0


def test_an_exam_cancelled_at_the_desk_does_not_fail_the_modality(org_alpha, scheduled: Scheduled):
    step = performed_step_create(
        organization=org_alpha,
        sop_instance_uid=generate_uid(),
        attributes=step_started(scheduled.qian_cancelled),
        calling_ae_title="CT1",
    )
    assert step.exam == scheduled.qian_cancelled
    assert status_of(scheduled.qian_cancelled) == ExamStatus.CANCELLED


def test_a_create_without_sop_instance_uid_is_refused(org_alpha, scheduled: Scheduled):
    with pytest.raises(MppsError) as refused:
        performed_step_create(
            organization=org_alpha, sop_instance_uid="", attributes=step_started(None), calling_ae_title="CT1"
        )
    assert refused.value.status == 0x0120
