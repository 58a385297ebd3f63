"""Bounded load: a list of jobs worked off by N threads, each with its own keep-alive HTTP session.

A run stops when the jobs are done or its time limit has passed, whichever comes first; a job that
fails is counted and its error kept (the first few), and a run with too many failures stops early.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import requests

Job = TypeVar("Job")
MAX_ERRORS = 20
_KEPT_ERRORS = 3


@dataclass
class LoadResult:
    """What a run got done: units (instances, frames) in ``seconds``, and what went wrong."""

    units: int = 0
    seconds: float = 0.0
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def rate(self) -> float | None:
        return self.units / self.seconds if self.units and self.seconds > 0 else None

    def problems(self) -> str | None:
        """A one-line account of failures and an early stop, or None when all went well."""
        parts = []
        if self.failures:
            parts.append(f"{self.failures} failed requests, e.g. {'; '.join(self.errors)}")
        if self.timed_out:
            parts.append("stopped at the time limit")
        return "; ".join(parts) or None


class _Runner(Generic[Job]):
    def __init__(self, jobs: Sequence[Job], work: Callable[[requests.Session, Job], int], time_limit: float) -> None:
        self.jobs = jobs
        self.work = work
        self.deadline = 0.0
        self.time_limit = time_limit
        self.next_index = 0
        self.lock = threading.Lock()
        self.result = LoadResult()

    def take(self) -> Job | None:
        with self.lock:
            if self.result.failures >= MAX_ERRORS or self.next_index >= len(self.jobs):
                return None
            if time.monotonic() > self.deadline:
                self.result.timed_out = True
                return None
            job = self.jobs[self.next_index]
            self.next_index += 1
            return job

    def thread_main(self, session_factory: Callable[[], requests.Session]) -> None:
        with session_factory() as session:
            while (job := self.take()) is not None:
                try:
                    units = self.work(session, job)
                except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                    with self.lock:
                        self.result.failures += 1
                        if len(self.result.errors) < _KEPT_ERRORS:
                            self.result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    continue
                with self.lock:
                    self.result.units += units


def run_parallel(
    jobs: Sequence[Job],
    *,
    workers: int,
    work: Callable[[requests.Session, Job], int],
    session_factory: Callable[[], requests.Session],
    time_limit: float,
) -> LoadResult:
    """Work off ``jobs`` with ``workers`` threads; ``work`` returns the units a job completed."""
    runner = _Runner(jobs, work, time_limit)
    threads = [
        threading.Thread(target=runner.thread_main, args=(session_factory,), daemon=True, name=f"load-{index}")
        for index in range(workers)
    ]
    start = time.monotonic()
    runner.deadline = start + time_limit
    for thread in threads:
        thread.start()
    for thread in threads:
        # A request in flight at the deadline gets its own timeout's worth of grace.
        thread.join(timeout=time_limit + 120)
    runner.result.seconds = time.monotonic() - start
    return runner.result
