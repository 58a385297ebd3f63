from django.core.management.base import BaseCommand

from pacs.demo import demo_setup
from pacs.env import env_str


class Command(BaseCommand):
    help = (
        "First-start set-up: the default organization, an admin login (DEMO_ADMIN_USERNAME, "
        "DEMO_ADMIN_PASSWORD) and, once, a few demo studies. Safe to run on every start."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--no-demo-studies", action="store_true", help="do not load demo studies")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        username = env_str("DEMO_ADMIN_USERNAME", "admin")
        password = env_str("DEMO_ADMIN_PASSWORD", "pacs-demo")
        setup = demo_setup(username=username, password=password, load_studies=not options["no_demo_studies"])
        if setup.studies_loaded:
            self.stdout.write(f"Loaded {setup.studies_loaded} demo studies into {setup.organization.name}.")
        if setup.password is not None:
            self.stdout.write(self.style.SUCCESS(f"Demo login created: {username} / {setup.password}"))
        else:
            self.stdout.write(f"Login: {username} (existing account; password unchanged)")
