"""``manage.py dimse``: run the DIMSE service until SIGTERM or SIGINT, then stop cleanly.

With ``--processes N`` (``DIMSE_PROCESSES``) the command binds the port, then forks N service processes
that accept from that one listening socket: one Python process uses one core. A new association goes
to a process that serves the fewest (``pacs.dimse.balance``). ``SO_REUSEPORT`` spread them by a hash of
the peer's address instead: with 4 modalities sending to 2 processes, one process often served 3 of
them (12.2 against 4.3 s of CPU in one benchmark run). The parent only forwards the stop signal and waits.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from pacs.dimse.balance import ProcessLoad, ProcessLoads
from pacs.dimse.server import DimseConfig, DimseServer
from pacs.runtime import startup_objects_freeze


class Command(BaseCommand):
    help = (
        "Run the DICOM DIMSE service (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET, Storage Commitment) until "
        "SIGTERM or SIGINT; running associations get DIMSE_SHUTDOWN_GRACE seconds to finish."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--port", type=int, help="TCP port (default: DIMSE_PORT)")
        parser.add_argument("--host", help="address to listen on (default: DIMSE_HOST)")
        parser.add_argument("--ae-title", help="the archive's AE title (default: DIMSE_AE_TITLE)")
        parser.add_argument(
            "--reuse-port", action="store_true", default=None, help="share the port with other dimse processes"
        )
        parser.add_argument(
            "--processes", type=int, help="service processes sharing the port (default: DIMSE_PROCESSES)"
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        title = options["ae_title"]
        if title is not None and not (0 < len(title) <= 16 and title.isascii() and "\\" not in title):
            raise CommandError(f"AE title {title!r} must be 1 to 16 ASCII characters without backslash")
        processes = options["processes"] or settings.DIMSE_PROCESSES
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        config = DimseConfig.from_settings(
            port=options["port"], host=options["host"], ae_title=title, reuse_port=options["reuse_port"]
        )
        # The system checks ran in this thread; the association threads open connections of their own,
        # and a forked child must not share the parent's.
        connections.close_all()
        if processes == 1:
            self._serve(config)
        else:
            self._supervise(config, processes)

    def _serve(
        self, config: DimseConfig, listening_socket: socket.socket | None = None, load: ProcessLoad | None = None
    ) -> None:
        server = DimseServer(config, listening_socket=listening_socket, load=load)
        try:
            server.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {config.host}:{config.port}: {exc.strerror}") from exc
        startup_objects_freeze()
        stopping = _stop_event()
        self.stdout.write(f"DIMSE service {config.ae_title} ready on {config.host}:{server.port}", ending="\n")
        self.stdout.flush()
        # A bounded wait: the main thread must return to the interpreter for the signal handler to run.
        while not stopping.wait(0.5):
            pass
        self.stdout.write("Stopping: no new associations; waiting for running ones to finish")
        server.stop()
        self.stdout.write("Stopped")

    def _supervise(self, config: DimseConfig, processes: int) -> None:
        try:
            listener = socket.create_server((config.host, config.port), reuse_port=config.reuse_port)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {config.host}:{config.port}: {exc.strerror}") from exc
        host, port = listener.getsockname()[:2]
        self.stdout.write(f"Starting {processes} DIMSE service processes on {host}:{port}")
        self.stdout.flush()
        loads = ProcessLoads(processes)
        with listener:
            children = [self._fork(config, listener, loads.of_process(index)) for index in range(processes)]
        stopping = _stop_event()
        exited: dict[int, int] = {}
        while len(exited) < len(children):
            if stopping.wait(0.5):
                for pid in children:
                    if pid not in exited:
                        _signal_quietly(pid, signal.SIGTERM)
                stopping.clear()
            for pid in children:
                if pid in exited:
                    continue
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    exited[pid] = os.waitstatus_to_exitcode(status)
                    if exited[pid] != 0:
                        # One process failing (the port taken, say) stops the others: a half service
                        # would hide the problem.
                        self.stderr.write(f"DIMSE process {pid} exited with {exited[pid]}; stopping the others")
                        for other in children:
                            if other not in exited:
                                _signal_quietly(other, signal.SIGTERM)
        if any(code != 0 for code in exited.values()):
            raise CommandError("A DIMSE service process failed; see the messages above")
        self.stdout.write("Stopped")

    def _fork(self, config: DimseConfig, listener: socket.socket, load: ProcessLoad) -> int:
        pid = os.fork()
        if pid:
            return pid
        code = 0
        try:
            self._serve(config, listener, load)
        except CommandError as exc:
            self.stderr.write(str(exc))
            code = 1
        except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def _stop_event() -> threading.Event:
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stopping


def _signal_quietly(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
