from django.core.management.base import BaseCommand, CommandError

from pacs.models import ApiToken, User


class Command(BaseCommand):
    help = "Issue a bearer token for a user (for external viewers and scripts); it is printed once."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="what the token is for")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user {options['username']!r}") from None
        _token, key = ApiToken.issue(user=user, name=options["name"])
        self.stdout.write(key)
