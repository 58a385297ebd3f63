from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pacs.models import Organization
from ris.demo import ris_demo_setup


class Command(BaseCommand):
    help = (
        "Demo RIS data after `bootstrap`: rooms with station AE titles, orders scheduled for today (a "
        "worklist for the stations CT1, DR1, MR1, US1) and completed exams for the demo studies. Safe to rerun."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        organization = Organization.objects.filter(slug=settings.PACS_DEFAULT_ORGANIZATION).first()
        if organization is None:
            raise CommandError("Run `manage.py bootstrap` first: the default organization does not exist.")
        demo = ris_demo_setup(organization=organization)
        self.stdout.write(
            f"{organization.name}: {demo.scheduled_today} orders scheduled for today, "
            f"{demo.completed} completed exams for archived studies."
        )
