from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pacs.importer import default_journal, import_items, import_run
from pacs.models import Organization


class Command(BaseCommand):
    help = "Import DICOM files from folders and zip archives; resumable (a journal skips what is done)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("paths", nargs="+", type=Path, help="files, folders or .zip archives")
        parser.add_argument("--organization", default=settings.PACS_DEFAULT_ORGANIZATION, help="organization code")
        parser.add_argument("--journal", type=Path, help="journal file (default: under var/imports/)")
        parser.add_argument("--restart", action="store_true", help="ignore the journal of an earlier run")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            organization = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with code {options['organization']!r}") from None
        try:
            items = import_items(options["paths"])
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        journal = options["journal"] or default_journal(options["paths"], organization)
        if options["restart"]:
            journal.unlink(missing_ok=True)

        with tqdm(total=len(items), unit="file", disable=options["verbosity"] == 0) as bar:
            summary = import_run(
                items=items, organization=organization, journal=journal, on_item=lambda item, outcome: bar.update()
            )

        counts = summary.outcomes
        self.stdout.write(
            f"{summary.total} files: {counts['stored']} stored, {counts['replaced']} replaced, "
            f"{counts['duplicate']} duplicate, {counts['refused']} refused, "
            f"{counts['skipped']} skipped (done in an earlier run)"
        )
        for key, reason in summary.refusals:
            self.stdout.write(f"  refused {key}: {reason}")
        self.stdout.write(f"Journal: {journal}")
