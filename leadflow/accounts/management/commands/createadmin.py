import secrets

from django.core.management.base import BaseCommand, CommandError

from leadflow.accounts.models import Role, User
from leadflow.accounts.services import AccountError, create_user


class Command(BaseCommand):
    help = "Create an admin account with a generated password and print its login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", nargs="?", default="admin")
        parser.add_argument("--reset", action="store_true", help="give an existing admin a new password")

    def handle(self, *args, username: str, reset: bool, **options) -> None:
        password = secrets.token_urlsafe(12)
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            if not reset:
                raise CommandError(f"{username!r} exists already; add --reset to give it a new password.")
            existing.set_password(password)
            existing.role, existing.is_staff, existing.is_superuser = Role.ADMIN, True, True
            existing.save()
        else:
            try:
                create_user(username=username, password=password, role=Role.ADMIN)
            except AccountError as error:
                raise CommandError(error.message) from error
        self.stdout.write(f"Admin login: {username} / {password}")
