"""Network services for people: echo and query a known AE, and create and run transfers to and from it.

Everything is scoped to one organization: only its RemoteAEs can be used, only its studies sent, and
retrieved studies arrive in it (the remote AE's organization decides where what it stores goes).
Echo and query are short and answered in the request; transfers are queued and run by the worker
(``network.tasks``), writing their progress to the row as they go.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from pydicom.dataset import Dataset

from network.models import Transfer, TransferKind, TransferStatus
from pacs.dimse import scu
from pacs.models import Organization, RemoteAE, Study, User
from pacs.retrieve.errors import NotFound
from pacs.retrieve.instances import StoredInstance, instances_select

logger = logging.getLogger(__name__)

# Progress is written at most this often: a 2,000-slice series would otherwise cost 2,000 updates.
PROGRESS_INTERVAL_SECONDS = 0.25


class NetworkError(Exception):
    """A request that cannot be done, with a message for the person who asked."""


def remote_aes_of(organization: Organization) -> QuerySet[RemoteAE]:
    return RemoteAE.objects.filter(organization=organization).order_by("ae_title")


def remote_ae_get(organization: Organization, pk: int | str | None) -> RemoteAE:
    try:
        return remote_aes_of(organization).get(pk=int(pk or 0))
    except (RemoteAE.DoesNotExist, ValueError, TypeError):
        raise NetworkError(_("Choose one of your organization's known AEs.")) from None


# --- echo and query ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EchoOutcome:
    ok: bool
    message: str


def remote_echo(remote: RemoteAE) -> EchoOutcome:
    try:
        result = scu.echo(remote)
    except scu.ScuError as exc:
        return EchoOutcome(False, str(exc))
    if result.ok:
        return EchoOutcome(
            True, _("%(ae)s answered C-ECHO in %(ms).0f ms.") % {"ae": remote, "ms": result.milliseconds}
        )
    return EchoOutcome(
        False,
        _("%(ae)s answered C-ECHO with status %(status)s.") % {"ae": remote, "status": scu.status_text(result.status)},
    )


@dataclass(frozen=True)
class StudyQuery:
    """The query form's fields; empty ones match everything."""

    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""
    date_from: date | None = None
    date_to: date | None = None
    modality: str = ""

    def keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        name = self.patient_name.strip()
        if name:
            # A plain name matches as a prefix, as people expect from a search box (PS3.4 C.2.2.2.4).
            keys["PatientName"] = name if any(c in name for c in "*?") else f"{name}*"
        if self.patient_id.strip():
            keys["PatientID"] = self.patient_id.strip()
        if self.accession_number.strip():
            keys["AccessionNumber"] = self.accession_number.strip()
        if self.date_from or self.date_to:
            start = self.date_from.strftime("%Y%m%d") if self.date_from else ""
            end = self.date_to.strftime("%Y%m%d") if self.date_to else ""
            keys["StudyDate"] = start if start == end else f"{start}-{end}"
        if self.modality.strip():
            keys["ModalitiesInStudy"] = self.modality.strip().upper()
        return keys


@dataclass
class RemoteStudy:
    study_uid: str
    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    accession_number: str = ""
    description: str = ""
    modalities: str = ""
    series_count: str = ""
    instance_count: str = ""
    series: list[RemoteSeries] = field(default_factory=list)


@dataclass
class RemoteSeries:
    series_uid: str
    modality: str = ""
    number: str = ""
    description: str = ""
    instance_count: str = ""


def _text(dataset: Dataset, keyword: str) -> str:
    value = dataset.get(keyword)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or value.__class__.__name__ == "MultiValue":
        return "\\".join(str(item) for item in value)
    return str(value).strip()


def _date_text(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


def _remote_find(remote: RemoteAE, **query: Any) -> list[Dataset]:
    """C-FIND on the remote AE; :class:`NetworkError` with the reason when it cannot be queried."""
    try:
        return scu.find(remote, **query)
    except scu.ScuError as exc:
        raise NetworkError(str(exc)) from exc


def remote_query_studies(remote: RemoteAE, query: StudyQuery, *, limit: int = 200) -> list[RemoteStudy]:
    """C-FIND at the study level; :class:`NetworkError` with the reason when the peer cannot be queried."""
    found = _remote_find(remote, level="STUDY", keys=query.keys(), limit=limit)
    studies = [
        RemoteStudy(
            study_uid=_text(dataset, "StudyInstanceUID"),
            patient_name=_text(dataset, "PatientName"),
            patient_id=_text(dataset, "PatientID"),
            study_date=_date_text(_text(dataset, "StudyDate")),
            accession_number=_text(dataset, "AccessionNumber"),
            description=_text(dataset, "StudyDescription"),
            modalities=_text(dataset, "ModalitiesInStudy"),
            series_count=_text(dataset, "NumberOfStudyRelatedSeries"),
            instance_count=_text(dataset, "NumberOfStudyRelatedInstances"),
        )
        for dataset in found
    ]
    studies = [study for study in studies if study.study_uid]
    studies.sort(key=lambda study: (study.study_date, study.patient_name), reverse=True)
    return studies


def remote_query_series(remote: RemoteAE, study_uid: str) -> list[RemoteSeries]:
    """C-FIND at the series level within one study."""
    found = _remote_find(remote, level="SERIES", keys={"StudyInstanceUID": study_uid})
    series = [
        RemoteSeries(
            series_uid=_text(dataset, "SeriesInstanceUID"),
            modality=_text(dataset, "Modality"),
            number=_text(dataset, "SeriesNumber"),
            description=_text(dataset, "SeriesDescription"),
            instance_count=_text(dataset, "NumberOfSeriesRelatedInstances"),
        )
        for dataset in found
    ]

    def number(item: RemoteSeries) -> tuple[int, str]:
        return (int(item.number) if item.number.lstrip("-").isdigit() else 1 << 30, item.series_uid)

    return sorted((item for item in series if item.series_uid), key=number)


# --- creating transfers -----------------------------------------------------------------------------


def _enqueue(transfer: Transfer) -> None:
    from network.tasks import transfer_run_task

    transaction.on_commit(lambda: transfer_run_task.delay(transfer.pk))


def transfer_send_create(
    *,
    organization: Organization,
    user: User | None,
    remote: RemoteAE,
    study_uids: list[str],
    series_uid: str | None = None,
) -> Transfer:
    """Queue a C-STORE of the studies (or of one series of the first study) to ``remote``."""
    if remote.organization_id != organization.pk:
        raise NetworkError(_("Choose one of your organization's known AEs."))
    study_uids = [uid.strip() for uid in study_uids if uid.strip()]
    if not study_uids:
        raise NetworkError(_("Nothing to send: no study was given."))
    studies = list(
        Study.objects.filter(organization=organization, study_instance_uid__in=study_uids).select_related("patient")
    )
    missing = sorted(set(study_uids) - {study.study_instance_uid for study in studies})
    if missing:
        raise NetworkError(_("No such study in your organization: %(uids)s") % {"uids": ", ".join(missing)})
    if series_uid and len(study_uids) != 1:
        raise NetworkError(_("A series is sent from one study at a time."))
    if series_uid and not studies[0].series.filter(series_instance_uid=series_uid).exists():
        raise NetworkError(_("No such series in this study: %(uid)s") % {"uid": series_uid})
    description = "; ".join(
        " ".join(part for part in (study.patient.patient_name, study.study_description) if part)
        or study.study_instance_uid
        for study in studies
    )
    with transaction.atomic():
        transfer = Transfer.objects.create(
            organization=organization,
            user=user,
            kind=TransferKind.SEND,
            remote_ae=remote,
            remote_ae_title=remote.ae_title,
            study_uids=study_uids,
            series_uids=[series_uid] if series_uid else [],
            description=description[:300],
        )
        _enqueue(transfer)
    return transfer


def transfer_retrieve_create(
    *,
    organization: Organization,
    user: User | None,
    remote: RemoteAE,
    study_uid: str,
    series_uids: list[str] | None = None,
    description: str = "",
    query: dict | None = None,
) -> Transfer:
    """Queue a C-MOVE of a study (or some of its series) from ``remote`` to the archive."""
    if remote.organization_id != organization.pk:
        raise NetworkError(_("Choose one of your organization's known AEs."))
    if not study_uid.strip():
        raise NetworkError(_("Nothing to retrieve: no study was given."))
    if not remote.allow_store:
        # The peer sends the instances back on an association of its own, which we would refuse.
        raise NetworkError(
            _("%(ae)s may not store to this archive, so it cannot send the study back; allow it to store first.")
            % {"ae": remote.ae_title}
        )
    with transaction.atomic():
        transfer = Transfer.objects.create(
            organization=organization,
            user=user,
            kind=TransferKind.RETRIEVE,
            remote_ae=remote,
            remote_ae_title=remote.ae_title,
            study_uids=[study_uid.strip()],
            series_uids=[uid for uid in (series_uids or []) if uid],
            description=description[:300],
            query=query or {},
        )
        _enqueue(transfer)
    return transfer


def transfers_of(organization: Organization) -> QuerySet[Transfer]:
    return Transfer.objects.filter(organization=organization)


def transfer_json(transfer: Transfer) -> dict:
    return {
        "id": transfer.pk,
        "kind": transfer.kind,
        "kind_display": str(transfer.get_kind_display()),
        "remote_ae": transfer.remote_ae_title,
        "description": transfer.description,
        "status": transfer.status,
        "status_display": str(transfer.get_status_display()),
        "total": transfer.total,
        "completed": transfer.completed,
        "failed": transfer.failed,
        "warning": transfer.warning,
        "percent": transfer.percent,
        "failed_sop_uids": transfer.failed_sop_uids,
        "error_message": transfer.error_message,
        "finished": transfer.is_finished,
    }


# --- running transfers (the worker) -----------------------------------------------------------------


class _Progress:
    """Writes counts to the transfer row, throttled, always the last ones."""

    def __init__(self, transfer: Transfer) -> None:
        self.pk = transfer.pk
        self._last = 0.0

    def write(self, *, force: bool = False, **values: object) -> None:
        now = time.monotonic()
        if force or now - self._last >= PROGRESS_INTERVAL_SECONDS:
            Transfer.objects.filter(pk=self.pk).update(**values)
            self._last = now


def transfer_run(transfer_id: int) -> Transfer | None:
    """Run a queued transfer to its end; a finished one is left as it is (the task may be delivered twice).

    One found ``running`` was interrupted (its worker died before acknowledging): it starts over, which
    is safe because the peer keeps one copy per SOP Instance UID whether it receives it once or twice.
    """
    transfer = Transfer.objects.filter(pk=transfer_id).select_related("remote_ae", "organization").first()
    if transfer is None or transfer.is_finished:
        return transfer
    Transfer.objects.filter(pk=transfer.pk).update(
        status=TransferStatus.RUNNING,
        started_at=timezone.now(),
        completed=0,
        failed=0,
        warning=0,
        failed_sop_uids=[],
        error_message="",
    )
    try:
        if transfer.remote_ae is None:
            raise NetworkError(_("The remote AE %(ae)s no longer exists.") % {"ae": transfer.remote_ae_title})
        if transfer.kind == TransferKind.SEND:
            outcome = _run_send(transfer)
        else:
            outcome = _run_retrieve(transfer)
    except (NetworkError, scu.ScuError) as exc:
        outcome = {"status": TransferStatus.FAILED, "error_message": str(exc)}
    except Exception as exc:
        logger.exception("Transfer %s failed", transfer.pk)
        outcome = {"status": TransferStatus.FAILED, "error_message": _("Unexpected error: %(error)s") % {"error": exc}}
    Transfer.objects.filter(pk=transfer.pk).update(finished_at=timezone.now(), **outcome)
    transfer.refresh_from_db()
    logger.info("Transfer %s %s: %s", transfer.pk, transfer.status, transfer.error_message or "ok")
    return transfer


def _instances_to_send(transfer: Transfer) -> list[StoredInstance]:
    instances: list[StoredInstance] = []
    series_uid = transfer.series_uids[0] if transfer.series_uids else None
    for study_uid in transfer.study_uids:
        try:
            instances.extend(
                instances_select(organization=transfer.organization, study_uid=study_uid, series_uid=series_uid)
            )
        except NotFound as exc:
            raise NetworkError(str(exc)) from exc
    return instances


def _run_send(transfer: Transfer) -> dict:
    instances = _instances_to_send(transfer)
    Transfer.objects.filter(pk=transfer.pk).update(total=len(instances))
    writer = _Progress(transfer)

    def progress(state: scu.StoreProgress) -> None:
        writer.write(
            force=state.done == state.total,
            completed=state.completed,
            failed=state.failed,
            warning=state.warning,
        )

    result = scu.store(transfer.remote_ae, instances, progress=progress)
    outcome: dict = {
        "total": result.total,
        "completed": result.completed,
        "failed": result.failed,
        "warning": result.warning,
        "failed_sop_uids": result.failed_sop_uids,
    }
    if result.failed == 0:
        outcome["status"] = TransferStatus.DONE
    else:
        outcome["status"] = TransferStatus.FAILED if result.failed == result.total else TransferStatus.PARTIAL
        outcome["error_message"] = _("%(failed)d of %(total)d instances were not stored; last reason: %(reason)s") % {
            "failed": result.failed,
            "total": result.total,
            "reason": _failure_reason(result),
        }
    return outcome


def _failure_reason(result: scu.StoreProgress) -> str:
    status = scu.status_text(result.last_status) if result.last_status is not None else ""
    return " ".join(part for part in (status, result.last_reason) if part) or _("unknown")


def _run_retrieve(transfer: Transfer) -> dict:
    writer = _Progress(transfer)

    def progress(state: scu.MoveProgress) -> None:
        values: dict = {"completed": state.completed, "failed": state.failed, "warning": state.warning}
        if state.total is not None:
            values["total"] = state.total
        writer.write(force=state.remaining == 0, **values)

    result = scu.move(
        transfer.remote_ae,
        study_uid=transfer.study_uids[0],
        series_uids=transfer.series_uids,
        destination=settings.DIMSE_AE_TITLE,
        progress=progress,
    )
    done = result.completed + result.failed + result.warning
    outcome: dict = {
        "total": result.total if result.total is not None else done,
        "completed": result.completed,
        "failed": result.failed,
        "warning": result.warning,
        "failed_sop_uids": result.failed_sop_uids,
    }
    if result.status == scu.SUCCESS and result.failed == 0:
        outcome["status"] = TransferStatus.DONE
        if done == 0:
            outcome["status"] = TransferStatus.FAILED
            outcome["error_message"] = _("%(ae)s found nothing to send for this request.") % {
                "ae": transfer.remote_ae_title
            }
    elif result.completed + result.warning > 0:
        outcome["status"] = TransferStatus.PARTIAL
        outcome["error_message"] = _retrieve_message(transfer, result)
    else:
        outcome["status"] = TransferStatus.FAILED
        outcome["error_message"] = _retrieve_message(transfer, result)
    return outcome


def _retrieve_message(transfer: Transfer, result: scu.MoveProgress) -> str:
    message = _("%(ae)s answered %(status)s; %(failed)d instances failed.") % {
        "ae": transfer.remote_ae_title,
        "status": scu.status_text(result.status),
        "failed": result.failed,
    }
    if result.error_comment:
        message += " " + result.error_comment
    if result.status == 0xA801:
        message += " " + _("It does not know our AE title %(ae)s as a move destination.") % {
            "ae": settings.DIMSE_AE_TITLE
        }
    elif result.failed and not result.completed:
        # Nothing arrived: most often our DIMSE service is down or the peer has the wrong port for it.
        message += " " + _(
            "Check that the archive's DIMSE service (%(ae)s, port %(port)s) is running and reachable from %(peer)s."
        ) % {"ae": settings.DIMSE_AE_TITLE, "port": settings.DIMSE_PORT, "peer": transfer.remote_ae_title}
    return message
