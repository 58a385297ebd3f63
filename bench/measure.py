"""One server's measurements, in the order that builds up its archive: load, settle, query, retrieve.

1. STOW-RS the small instances: the first half with 1 client, the second half with 4 clients.
2. The CT series: by C-STORE over one association when DIMSE is measured (then the extra small
   instances over 4 associations), else by STOW-RS with 4 clients.
3. Wait for the server's background work (our Celery queue) to drain.
4. QIDO-RS (and C-FIND) latency over a fixed set of varied study queries, after one warm-up round.
5. WADO-RS series metadata of the CT: the first request, then requests until two in a row agree
   within 20 % (our metadata cache has been built), then the median of five.
6. WADO-RS frames: frame 1 of every CT instance, one per request, over 6 connections.
7. C-MOVE of the CT study to a storescp the benchmark runs.

Every step is bounded in time; a step that fails is recorded with its reason and the next one runs.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import requests

from bench import dcmtk, dicomweb
from bench.data import BenchData
from bench.load import LoadResult, run_parallel
from bench.report import Measurement, ServerResults
from bench.servers import Target

STOW_INSTANCES_PER_REQUEST = 5
# A memory-backed file system, for the C-MOVE destination's files.
MEMORY_DIR = Path("/dev/shm")  # noqa: S108 - only mkdtemp folders of its own are made in it
CT_STOW_INSTANCES_PER_REQUEST = 2
FRAME_CONNECTIONS = 6
QIDO_ROUNDS = 5
CFIND_ROUNDS = 3
METADATA_SAMPLES = 5
LOAD_TIME_LIMIT = 900.0
FRAMES_TIME_LIMIT = 240.0
SETTLE_TIME_LIMIT = 600.0
METADATA_WARM_LIMIT = 120.0


def study_queries(data: BenchData) -> list[dict[str, str]]:
    """Study searches a study list makes: name wildcards, date ranges, modality, patient ID, accession."""
    return [
        {"PatientName": "WANG*"},
        {"PatientName": "ZH*"},
        {"PatientName": "L*", "StudyDate": "20200101-20221231"},
        {"StudyDate": "20210101-20210630"},
        {"ModalitiesInStudy": "MR"},
        {"ModalitiesInStudy": "CT", "StudyDate": "20230101-20241231"},
        {"PatientID": data.sample_patient_id},
        {"AccessionNumber": f"SA{data.profile.small_studies // 2:08d}"},
    ]


def p95(samples: list[float]) -> float:
    """The 95th percentile by the nearest-rank method."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _chunks(paths: list[Path], size: int) -> list[list[Path]]:
    return [paths[index : index + size] for index in range(0, len(paths), size)]


def _query_text(query: dict[str, str]) -> str:
    return "&".join(f"{key}={value}" for key, value in query.items())


class ServerMeasurer:
    """Runs the steps against one target and collects a :class:`ServerResults`."""

    def __init__(
        self, target: Target, data: BenchData, *, with_dimse: bool, move_port: int, scratch_dir: Path, log_dir: Path
    ) -> None:
        self.target = target
        self.data = data
        self.with_dimse = with_dimse and target.dicom is not None
        self.move_port = move_port
        self.scratch_dir = scratch_dir
        self.log_dir = log_dir
        self.results = ServerResults(name=target.name)

    def log(self, message: str) -> None:
        print(f"[{self.target.name}] {message}", flush=True)

    def step(self, key: str, what: str, run: Callable[[], Measurement], *, also: tuple[str, ...] = ()) -> None:
        """Run one step; an exception becomes the error of ``key`` (and of the ``also`` keys the step
        would have measured too), and the run goes on."""
        self.log(f"{what}...")
        try:
            measurement = run()
        except Exception as exc:  # noqa: BLE001 - a failed step is reported, not fatal
            self.log(f"{what} failed: {exc}")
            (self.log_dir / f"{self.target.name}-{key}-error.txt").write_text(traceback.format_exc())
            first_line = (str(exc).splitlines() or [""])[0]
            measurement = Measurement(error=f"{type(exc).__name__}: {first_line[:300]}")
            for other in also:
                self.results.measurements.setdefault(other, measurement)
        self.results.measurements[key] = measurement
        if measurement.value is not None:
            self.log(f"{what}: {measurement.value:.1f}" + (f" ({measurement.note})" if measurement.note else ""))

    def run(self) -> ServerResults:
        """All steps in order; the machine's load average before and after goes into the remarks."""
        load_before = os.getloadavg()[0]
        half = len(self.data.small_files) // 2
        self.step("stow_1", "STOW-RS, 1 client", lambda: self._stow(self.data.small_files[:half], 1))
        self.step("stow_4", "STOW-RS, 4 clients", lambda: self._stow(self.data.small_files[half:], 4))
        if self.with_dimse:
            self.step("cstore_1", "C-STORE of the CT, 1 association", lambda: self._store([self.data.ct.folder]))
            self.step("cstore_4", "C-STORE, 4 associations", lambda: self._store(self.data.extra_folders))
        else:
            ct_files = sorted(self.data.ct.folder.glob("*.dcm"))
            stow_ct = functools.partial(self._stow, ct_files, 4, CT_STOW_INSTANCES_PER_REQUEST)
            self.step("stow_ct", "STOW-RS of the CT, 4 clients", stow_ct)
        if self.target.settle is not None:
            waited = self.target.settle(SETTLE_TIME_LIMIT)
            self.results.remarks.append(f"waited {waited:.1f} s for background tasks after loading")
        self.step("qido_p95", "QIDO-RS study searches", self._qido, also=("qido_median",))
        if self.with_dimse:
            self.step("cfind_median", "C-FIND study searches", self._cfind)
        self.step("metadata", "WADO-RS series metadata", self._metadata, also=("metadata_first",))
        self.step("frames", "WADO-RS frames", self._frames)
        if self.with_dimse:
            self.step("cmove", "C-MOVE of the CT", self._move)
        self.results.remarks.append(
            f"1-minute load average {load_before:.1f} before the steps, {os.getloadavg()[0]:.1f} after "
            f"(on {os.cpu_count()} CPUs; above that, other processes shared the machine)"
        )
        return self.results

    def _session(self) -> requests.Session:
        return dicomweb.session_factory(self.target)

    def _from_load(self, result: LoadResult, unit: str) -> Measurement:
        problems = result.problems()
        if result.rate is None:
            return Measurement(error=problems or "nothing done")
        note = f"{result.units} {unit} in {result.seconds:.1f} s"
        return Measurement(value=result.rate, note=f"{note}; {problems}" if problems else "")

    def _stow(self, files: list[Path], clients: int, per_request: int = STOW_INSTANCES_PER_REQUEST) -> Measurement:
        result = run_parallel(
            _chunks(files, per_request),
            workers=clients,
            work=lambda session, chunk: dicomweb.stow(session, self.target, chunk),
            session_factory=self._session,
            time_limit=LOAD_TIME_LIMIT,
        )
        self.log(f"  {result.units} of {len(files)} instances in {result.seconds:.1f} s")
        return self._from_load(result, "instances")

    def _store(self, folders: list[Path]) -> Measurement:
        assert self.target.dicom is not None
        run = dcmtk.store(self.target.dicom, folders, time_limit=LOAD_TIME_LIMIT)
        self.log(f"  {run.count} instances in {run.seconds:.1f} s")
        return Measurement(value=run.rate)

    def _qido(self) -> Measurement:
        queries = study_queries(self.data)
        with self._session() as session:
            for query in queries:
                dicomweb.search_studies(session, self.target, query)
            samples: dict[str, list[float]] = {_query_text(query): [] for query in queries}
            matches: dict[str, int] = {}
            for _ in range(QIDO_ROUNDS):
                for query in queries:
                    timed = dicomweb.search_studies(session, self.target, query)
                    samples[_query_text(query)].append(timed.seconds * 1000)
                    matches[_query_text(query)] = timed.items
        every = [sample for values in samples.values() for sample in values]
        self.results.query_details["QIDO-RS"] = [
            (text, statistics.median(values), matches[text]) for text, values in samples.items()
        ]
        self.results.measurements["qido_median"] = Measurement(value=statistics.median(every))
        return Measurement(value=p95(every))

    def _cfind(self) -> Measurement:
        assert self.target.dicom is not None
        queries = study_queries(self.data)
        for query in queries:
            dcmtk.find_studies(self.target.dicom, query)
        samples: dict[str, list[float]] = {_query_text(query): [] for query in queries}
        matches: dict[str, int] = {}
        for _ in range(CFIND_ROUNDS):
            for query in queries:
                run = dcmtk.find_studies(self.target.dicom, query)
                samples[_query_text(query)].append(run.seconds * 1000)
                matches[_query_text(query)] = run.count
        self.results.query_details["C-FIND (findscu, wall time)"] = [
            (text, statistics.median(values), matches[text]) for text, values in samples.items()
        ]
        return Measurement(value=statistics.median([sample for values in samples.values() for sample in values]))

    def _metadata(self) -> Measurement:
        ct = self.data.ct
        expected = len(ct.sop_uids)
        with self._session() as session:

            def request() -> float:
                timed = dicomweb.series_metadata(session, self.target, ct.study_uid, ct.series_uid)
                if timed.items != expected:
                    raise dicomweb.DicomWebError(f"series metadata has {timed.items} of {expected} instances")
                return timed.seconds * 1000

            first = request()
            self.results.measurements["metadata_first"] = Measurement(value=first)
            previous, current = first, request()
            deadline = time.monotonic() + METADATA_WARM_LIMIT
            warm_ups = 1
            while abs(current - previous) > 0.2 * min(current, previous) and time.monotonic() < deadline:
                previous, current = current, request()
                warm_ups += 1
            samples = [request() for _ in range(METADATA_SAMPLES)]
        note = f"{warm_ups} warm-up requests" if warm_ups > 1 else ""
        return Measurement(value=statistics.median(samples), note=note)

    def _frames(self) -> Measurement:
        ct = self.data.ct
        min_bytes = ct.rows * ct.columns * 2
        result = run_parallel(
            ct.sop_uids,
            workers=FRAME_CONNECTIONS,
            work=lambda session, sop_uid: dicomweb.frame(
                session, self.target, ct.study_uid, ct.series_uid, sop_uid, min_bytes
            ),
            session_factory=self._session,
            time_limit=FRAMES_TIME_LIMIT,
        )
        self.log(f"  {result.units} frames in {result.seconds:.1f} s")
        return self._from_load(result, "frames")

    def _move(self) -> Measurement:
        assert self.target.dicom is not None
        # The destination writes into memory where the machine has it: on disk, storescp creating 2,000
        # files was what bounded both servers' rate alike (about 700/s here), not their sending.
        in_memory = MEMORY_DIR.is_dir()
        parent = Path(tempfile.mkdtemp(prefix="pacs-bench-moved-", dir=MEMORY_DIR)) if in_memory else self.scratch_dir
        log_path = self.log_dir / f"storescp-{self.target.name}.log"
        try:
            with dcmtk.move_destination(self.move_port, parent / f"moved-{self.target.name}", log_path) as received:
                run = dcmtk.move_study(
                    self.target.dicom,
                    self.data.ct.study_uid,
                    received,
                    expected=len(self.data.ct.sop_uids),
                    time_limit=LOAD_TIME_LIMIT,
                )
        finally:
            if in_memory:
                shutil.rmtree(parent, ignore_errors=True)
        self.log(f"  {run.count} instances in {run.seconds:.1f} s")
        return Measurement(value=run.rate)
