"""`leadflow find-duplicates`: look for likely duplicates among leads changed since the last run."""

import json

from django.core.management.base import BaseCommand

from leadflow.leads import duplicates


class Command(BaseCommand):
    help = (
        "Find possible duplicates of every lead created or changed since the last run (all leads with --all), "
        "in batches with constant memory. Run it every few minutes from cron or a timer; a stopped run resumes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="scan every lead, not only those changed")
        parser.add_argument("--batch-size", type=int, default=duplicates.BATCH_SIZE, help="leads per batch")
        parser.add_argument("--limit", type=int, default=None, help="stop after this many leads")
        parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")

    def handle(self, *args, **options) -> None:
        progress = None
        for progress in duplicates.scan(
            everything=options["all"], batch_size=max(1, options["batch_size"]), limit=options["limit"]
        ):
            if not progress.done and not options["json"] and options["verbosity"] > 0:
                self.stderr.write(
                    f"\r{progress.scanned} leads checked, {progress.pairs} possible duplicates", ending=""
                )
        summary = {"scanned": progress.scanned, "pairs": progress.pairs}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            if options["verbosity"] > 0 and progress.scanned:
                self.stderr.write("")
            self.stdout.write(
                f"Checked {summary['scanned']} leads; they are in {summary['pairs']} open possible-duplicate pairs."
            )
