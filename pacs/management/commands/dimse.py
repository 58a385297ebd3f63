"""``manage.py dimse``: run the DIMSE service until SIGTERM or SIGINT, then stop cleanly."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from pacs.dimse.server import DimseConfig, DimseServer


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

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        title = options["ae_title"]
        if title is not None and not (0 < len(title) <= 16 and title.isascii() and "\\" not in title):
            raise CommandError(f"AE title {title!r} must be 1 to 16 ASCII characters without backslash")
        config = DimseConfig.from_settings(
            port=options["port"], host=options["host"], ae_title=title, reuse_port=options["reuse_port"]
        )
        # The system checks ran in this thread; the association threads open connections of their own.
        connections.close_all()
        server = DimseServer(config)
        try:
            server.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {config.host}:{config.port}: {exc.strerror}") from exc

        stopping = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        self.stdout.write(f"DIMSE service {config.ae_title} ready on {config.host}:{server.port}", ending="\n")
        self.stdout.flush()
        # A bounded wait: the main thread must return to the interpreter for the signal handler to run.
        while not stopping.wait(0.5):
            pass
        self.stdout.write("Stopping: no new associations; waiting for running ones to finish")
        server.stop()
        self.stdout.write("Stopped")
