from django.core.management.base import BaseCommand, CommandError

from leadflow.accounts.models import ApiToken, User
from leadflow.accounts.services import AccountError, create_token, parse_scopes, revoke_token


class Command(BaseCommand):
    help = "Create, list or revoke personal API tokens."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("user")
        create.add_argument("--scopes", default="read", help="comma-separated: read,write")
        create.add_argument("--name", default="")
        listing = sub.add_parser("list", help="list a user's tokens")
        listing.add_argument("user")
        revoke = sub.add_parser("revoke", help="revoke a token by its hint (first characters)")
        revoke.add_argument("hint")

    def handle(self, *args, action: str, **options) -> None:
        getattr(self, f"_{action}")(**options)

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _create(self, *, user: str, scopes: str, name: str, **_) -> None:
        try:
            token, raw = create_token(user=self._user(user), scopes=parse_scopes(scopes), name=name)
        except AccountError as error:
            raise CommandError(error.message) from error
        self.stdout.write(raw)
        self.stderr.write(
            f"Token {token.hint}… for {user} with scopes {','.join(token.scopes)}. It is shown this once; store it now."
        )

    def _list(self, *, user: str, **_) -> None:
        for token in ApiToken.objects.filter(user=self._user(user)):
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            self.stdout.write(f"{token.hint}…  {','.join(token.scopes):12}  {state}  {token.name}")

    def _revoke(self, *, hint: str, **_) -> None:
        tokens = list(ApiToken.objects.filter(hint__startswith=hint, revoked_at__isnull=True)[:2])
        if len(tokens) != 1:
            raise CommandError("No single active token starts with that; give more characters.")
        revoke_token(token=tokens[0])
        self.stdout.write(f"Revoked {tokens[0].hint}…")
