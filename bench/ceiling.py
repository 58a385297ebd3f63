"""The C-STORE ceiling of pynetdicom itself, beside Orthanc in the same run.

``python -m bench.ceiling [--quick] [--rounds 2]`` (``make bench-ceiling``) sends the benchmark's CT over
one association and its small instances over 4 associations, as ``python -m bench`` does, to Orthanc and
to pynetdicom application entities whose C-STORE handler keeps nothing. Those run as the archive's DIMSE
service does in the benchmark: 2 processes, the same reactor waits (``pacs.dimse.reactor``), no PDU size
limit. Orthanc and the ceiling take turns, ``--rounds`` times each.

Why it exists: the C-STORE target of ``python -m bench`` is 1.5x Orthanc. An archive built on pynetdicom,
however little it does per instance, stays below the rate pynetdicom reaches doing nothing; this shows
where that is, and so how much time per instance the target leaves for storing it.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dcmtk  # noqa: E402
from bench.data import FULL, QUICK, BenchData, bench_data  # noqa: E402
from bench.processes import ManagedProcess, free_port, port_open, wait_until  # noqa: E402
from bench.servers import DicomPeer, ServerOptions, orthanc_running  # noqa: E402

CEILING_AE_TITLE = "PACS"
CEILING_PROCESSES = 2
TIME_LIMIT = 600.0
TARGET_RATIO = 1.5
PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = PROJECT_ROOT / "bench" / "results" / "ceiling"


def serve(port: int) -> None:
    """One ceiling process: accept every storage SOP class in every transfer syntax, keep nothing."""
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, StoragePresentationContexts, evt

    from pacs.dimse.reactor import reactor_waits_install

    reactor_waits_install()
    ae = AE(ae_title=CEILING_AE_TITLE)
    for context in StoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.maximum_pdu_size = 0
    ae.maximum_associations = 16
    ae.start_server(("127.0.0.1", port), block=True, evt_handlers=[(evt.EVT_C_STORE, lambda _event: 0x0000)])


def _store_spread(peers: list[DicomPeer], folders: list[Path]) -> float:
    """Instances/s of one storescu association per folder, folder ``i`` to ``peers[i % len(peers)]``."""
    by_peer: dict[int, list[Path]] = {}
    for index, folder in enumerate(folders):
        by_peer.setdefault(index % len(peers), []).append(folder)
    runs: list[dcmtk.ToolRun] = []
    errors: list[BaseException] = []

    def send(peer: DicomPeer, its_folders: list[Path]) -> None:
        try:
            runs.append(dcmtk.store(peer, its_folders, time_limit=TIME_LIMIT))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(peers[i], fs)) for i, fs in by_peer.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sum(run.count for run in runs) / max(run.seconds for run in runs)


def _measure(peers: list[DicomPeer], data: BenchData, results: dict[str, list[float]], who: str) -> None:
    results.setdefault(f"{who} ct", []).append(_store_spread(peers[:1], [data.ct.folder]))
    results.setdefault(f"{who} 4", []).append(_store_spread(peers, data.extra_folders))
    print(f"  {who}: CT {results[f'{who} ct'][-1]:.0f}/s, 4 associations {results[f'{who} 4'][-1]:.0f}/s", flush=True)


def _round(data: BenchData, results: dict[str, list[float]], log_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="pacs-ceiling-") as scratch:
        options = ServerOptions(
            log_dir=log_dir,
            scratch_dir=Path(scratch),
            web_workers=1,
            move_destination_port=free_port(),
            with_dimse=True,
            postgres_admin_url="",
            redis_url="",
        )
        with orthanc_running(options) as orthanc:
            assert orthanc.dicom is not None
            _measure([orthanc.dicom], data, results, "Orthanc")
    ports = [free_port() for _ in range(CEILING_PROCESSES)]
    with contextlib.ExitStack() as stack:
        for port in ports:
            process = stack.enter_context(
                ManagedProcess(
                    f"ceiling {port}",
                    [sys.executable, "-m", "bench.ceiling", "--serve", str(port)],
                    log_path=log_dir / f"ceiling-{port}.log",
                    cwd=PROJECT_ROOT,
                )
            )
            wait_until(lambda port=port: port_open(port), timeout=60, what="the ceiling SCP", process=process)
        _measure([DicomPeer(ae_title=CEILING_AE_TITLE, port=port) for port in ports], data, results, "pynetdicom")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick data set (200 CT slices)")
    parser.add_argument("--rounds", type=int, default=2, help="turns for each side (default 2)")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.rounds < 1:
        parser.error("--rounds must be at least 1")
    if arguments.serve:
        serve(arguments.serve)
        return 0
    missing = dcmtk.missing_tools()
    if missing:
        print(f"DCMTK tools missing: {', '.join(missing)} (apt-get install -y dcmtk)", file=sys.stderr)
        return 2
    data = bench_data(QUICK if arguments.quick else FULL)
    results: dict[str, list[float]] = {}
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True)
    for number in range(1, arguments.rounds + 1):
        print(f"Round {number} of {arguments.rounds}", flush=True)
        _round(data, results, LOG_DIR)
    print(_table(results, data))
    return 0


def _table(results: dict[str, list[float]], data: BenchData) -> str:
    """Medians, and the run's time per instance (1 / rate) at 1.5x Orthanc beside pynetdicom's own: the
    difference is all the archive may spend on an instance (parse, write, index) to meet the target."""
    rows = [
        "| C-STORE | pynetdicom, handler keeps nothing | Orthanc | ratio | 1.5x Orthanc | time per instance "
        "at 1.5x Orthanc | pynetdicom's own |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, what in (("ct", f"{data.profile.ct_slices} CT slices, 1 association"), ("4", "small, 4 associations")):
        ceiling = statistics.median(results[f"pynetdicom {key}"])
        orthanc = statistics.median(results[f"Orthanc {key}"])
        target = TARGET_RATIO * orthanc
        rows.append(
            f"| {what} | {ceiling:.0f}/s | {orthanc:.0f}/s | {ceiling / orthanc:.2f}x | {target:.0f}/s "
            f"| {1000 / target:.2f} ms | {1000 / ceiling:.2f} ms |"
        )
    return "\n".join(["", "Medians of the rounds (instances/s):", *rows])


if __name__ == "__main__":
    raise SystemExit(main())
