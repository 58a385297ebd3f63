"""``manage.py remote_ae``: add, list and remove known DICOM application entities from scripts."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from pacs.models import Organization, RemoteAE


def _ae_title(value: str) -> str:
    # PS3.5 Table 6.2-1 (AE): up to 16 characters of the default repertoire, no backslash or control
    # characters; leading and trailing spaces are not significant.
    title = value.strip()
    if not 0 < len(title) <= 16 or not title.isascii() or "\\" in title or not title.isprintable():
        raise CommandError(f"AE title {value!r} must be 1 to 16 printable ASCII characters without backslash")
    return title


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise CommandError(f"Port {value!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise CommandError(f"Port {port} is not a TCP port")
    return port


class Command(BaseCommand):
    help = "Manage known DICOM AEs: who may associate, for which organization, and where C-MOVE may send."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="add an AE, or update it if its AE title is known")
        add.add_argument("ae_title")
        add.add_argument("host")
        add.add_argument("port")
        add.add_argument("--organization", default=settings.PACS_DEFAULT_ORGANIZATION, help="organization code")
        add.add_argument("--description", default="")
        add.add_argument("--no-store", action="store_true", help="may not send C-STORE")
        add.add_argument("--no-query", action="store_true", help="may not send C-FIND")
        add.add_argument("--no-retrieve", action="store_true", help="may not send C-MOVE or C-GET")
        listing = actions.add_parser("list", help="list the known AEs")
        listing.add_argument("--organization", help="only this organization's AEs")
        remove = actions.add_parser("remove", help="forget an AE")
        remove.add_argument("ae_title")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            self._list(options.get("organization"))
        else:
            self._remove(_ae_title(options["ae_title"]))

    def _add(self, options: dict) -> None:
        title = _ae_title(options["ae_title"])
        port = _port(options["port"])
        host = options["host"].strip()
        if not host:
            raise CommandError("The host must not be empty")
        try:
            organization = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with code {options['organization']!r}") from None
        with transaction.atomic():
            _remote, created = RemoteAE.objects.update_or_create(
                ae_title=title,
                defaults={
                    "organization": organization,
                    "host": host,
                    "port": port,
                    "description": options["description"],
                    "allow_store": not options["no_store"],
                    "allow_query": not options["no_query"],
                    "allow_retrieve": not options["no_retrieve"],
                },
            )
        self.stdout.write(f"{'Added' if created else 'Updated'} {title}@{host}:{port} for {organization.slug}")

    def _list(self, organization: str | None) -> None:
        remotes = RemoteAE.objects.select_related("organization").order_by("organization__slug", "ae_title")
        if organization:
            remotes = remotes.filter(organization__slug=organization)
        self.stdout.write(f"{'AE title':<16}  {'host:port':<28}  {'organization':<16}  rights  description")
        for remote in remotes:
            rights = "".join(
                flag if allowed else "-"
                for flag, allowed in (
                    ("S", remote.allow_store),
                    ("Q", remote.allow_query),
                    ("R", remote.allow_retrieve),
                )
            )
            address = f"{remote.host}:{remote.port}"
            organization = remote.organization.slug
            self.stdout.write(
                f"{remote.ae_title:<16}  {address:<28}  {organization:<16}  {rights:<6}  {remote.description}"
            )

    def _remove(self, title: str) -> None:
        deleted, _ = RemoteAE.objects.filter(ae_title=title).delete()
        if not deleted:
            raise CommandError(f"No AE with title {title!r}")
        self.stdout.write(f"Removed {title}")
