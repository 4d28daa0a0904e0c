from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from leadflow.tracking import services
from leadflow.tracking.models import Site


class Command(BaseCommand):
    help = "Add or list the websites that carry the tracking snippet, and print each one's snippet."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a site and print its snippet")
        add.add_argument("name")
        add.add_argument("origins", nargs="+", help="https://www.example.com ...")
        add.add_argument("--no-consent", action="store_true", help="track without waiting for the visitor's consent")
        listing = sub.add_parser("list", help="list the sites and their snippets")
        for each in (add, listing):
            each.add_argument("--url", default="http://127.0.0.1:8000", help="Leadflow's public address")

    def handle(self, *args, action: str, url: str, **options) -> None:
        if action == "add":
            try:
                site = services.add_site(
                    name=options["name"], origins=options["origins"], require_consent=not options["no_consent"]
                )
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from error
            self.stdout.write(site.snippet(url))
            return
        for site in Site.objects.all():
            state = "" if site.is_active else " (inactive)"
            self.stdout.write(f"{site.name}{state}: {' '.join(site.origin_list)}\n  {site.snippet(url)}")
