"""Transfers run by the Celery worker. Tasks take ids and are safe to run twice (see ``transfer_run``)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def transfer_run_task(transfer_id: int) -> None:
    """Run one queued send or retrieve to its end, writing progress to the transfer as it goes."""
    from network.services import transfer_run

    transfer_run(transfer_id)
