"""leadflow import FILE [--mapping NAME] [--dry-run] [--json]: import a CSV, XLSX or vCard file from this machine."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError

from leadflow.accounts.models import User
from leadflow.imports import queries, services
from leadflow.imports.access import is_admin
from leadflow.imports.mapping import MappingError, suggest_mapping
from leadflow.imports.models import ImportJob, JobStatus
from leadflow.imports.readers import ReadError
from leadflow.imports.services.files import register_path

BAR_WIDTH = 30
LOG_EVERY_S = 30


class ProgressBar:
    """A progress bar on stderr: redrawn in place on a terminal, otherwise a line every 10% or 30 seconds."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_drawn = 0.0
        self.last_tenth = -1

    def update(self, job: ImportJob) -> None:
        now = time.monotonic()
        tenth = int(job.progress * 10)
        if self.tty and now - self.last_drawn < 0.2:
            return
        if not self.tty and tenth == self.last_tenth and now - self.last_drawn < LOG_EVERY_S:
            return
        self.last_drawn, self.last_tenth = now, tenth
        filled = int(job.progress * BAR_WIDTH)
        rate = job.rows / max(now - self.started, 1e-6)
        line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {job.progress:4.0%} {job.rows:,} rows, {rate:,.0f} rows/s"
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Import leads from a CSV, XLSX or vCard file; without --mapping the suggested mapping is used."
    # The checks import every view and its libraries (the predictive score's among them): memory an
    # import of a large file then holds for nothing. `leadflow check` and the server still run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the CSV, XLSX or .vcf file to import")
        parser.add_argument("--mapping", default="", help="a mapping saved on the import page, by name")
        parser.add_argument("--dry-run", action="store_true", help="say what would happen and change nothing")
        parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
        parser.add_argument("--user", default="", help="import as this user (default: the operator, as an admin)")
        parser.add_argument("--errors", default="", help="write the error report (CSV) to this file")

    def handle(self, *args, **options) -> None:
        user = self._user(options["user"])
        try:
            file = register_path(path=options["file"], user=user)
        except (ReadError, OSError) as error:
            raise CommandError(f"{options['file']}: {error}") from error
        mapping = self._mapping(options["mapping"], file.headers, file.sample, user)
        try:
            job = services.start_import(
                file=file, mapping=mapping, user=user, dry_run=options["dry_run"],
                mapping_name=options["mapping"], enqueue=False,
            )  # fmt: skip
        except MappingError as error:
            raise CommandError(str(error)) from error
        bar = ProgressBar(sys.stderr)
        services.run_import(job, on_progress=bar.update)
        bar.close()
        if options["errors"]:
            with open(options["errors"], "w", newline="", encoding="utf-8") as report:
                report.writelines(queries.error_report(job))
        self._report(job, as_json=options["json"])
        if job.status == JobStatus.FAILED:
            raise CommandError(job.error)

    def _user(self, username: str) -> User | None:
        if not username:
            return None
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user called {username!r}.")
        return user

    def _mapping(self, name: str, headers: list[str], sample: list[list[str]], user):
        if not name:
            return suggest_mapping(headers, sample, admin=is_admin(user))
        mapping = queries.saved_mapping(name)
        if mapping is None:
            names = ", ".join(m.name for m in queries.mappings_for(headers)) or "none for these columns"
            raise CommandError(f"No saved mapping called {name!r} (saved for this file's columns: {names}).")
        return mapping

    def _report(self, job: ImportJob, *, as_json: bool) -> None:
        summary = job.summary()
        if as_json:
            self.stdout.write(json.dumps({**summary, "job": job.pk, "dry_run": job.dry_run}))
            return
        verb = "Checked" if job.dry_run else "Imported"
        self.stdout.write(
            f"{verb} {summary['rows']:,} rows of {job.file.name} in {summary['seconds']} s (job {job.pk}): "
            f"{summary['created']:,} new, {summary['updated']:,} updated, "
            f"{summary['duplicates']:,} duplicates in the file, {summary['errors']:,} with errors."
        )
        for row, column, reason in queries.problems_of(job, limit=10):
            self.stdout.write(f"  row {row}{f' ({column})' if column else ''}: {reason}")
        if job.errors > 10:
            self.stdout.write("  ... write them all with --errors report.csv")
