from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from certification.exports import eligibility_rows, write_csv, xlsx_file
from participants.models import User, normalize_email_address
from workshops.models import Course, Workshop


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"“{value}” is not a date such as 2025-03-31.") from None


class _Counted:
    """The rows, counted as they pass."""

    def __init__(self, rows: Iterator[list[str]]):
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[list[str]]:
        for row in self.rows:
            self.count += 1
            yield row


class Command(BaseCommand):
    help = (
        "Export eligibility lists (what the administrators' export page downloads), for a workshop, a trainer, "
        "a course and/or a range of first days. CSV goes to standard output unless --output is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workshop", type=int, help="A workshop's number.")
        parser.add_argument("--trainer", metavar="EMAIL", help="Workshops this trainer leads or co-trains.")
        parser.add_argument("--course", metavar="KIND", help="A course, such as CSPO.")
        parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="First day on or after this date.")
        parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="First day on or before this date.")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--output", metavar="PATH", help="The file to write; required for xlsx.")

    def handle(self, *args, **options) -> None:
        filters = {
            "workshop": self._workshop(options["workshop"]),
            "trainer": self._trainer(options["trainer"]),
            "course": self._course(options["course"]),
            "start": _day(options["start"]) if options["start"] else None,
            "end": _day(options["end"]) if options["end"] else None,
        }
        if filters["start"] and filters["end"] and filters["start"] > filters["end"]:
            raise CommandError("--to is before --from.")
        output = Path(options["output"]) if options["output"] else None
        if options["format"] == "xlsx" and output is None:
            raise CommandError("An XLSX export needs --output PATH.")
        rows = eligibility_rows(**filters)
        if output is None:
            try:
                count = write_csv(rows, self.stdout)
            except BrokenPipeError:  # the reader had enough (``| head``): not an error
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return
            self.stderr.write(f"{count - 1} participants exported.")  # standard output is the CSV
            return
        counted = _Counted(rows)
        # Written beside the target, then renamed: a scheduled job's reader never sees half a file.
        partial = output.with_name(f".{output.name}.part")
        try:
            if options["format"] == "xlsx":
                workbook = xlsx_file(counted)
                try:  # copied, not moved: the file gets the usual permissions, not the private temporary's
                    shutil.copyfile(workbook, partial)
                finally:
                    workbook.unlink()
            else:
                with partial.open("w", newline="", encoding="utf-8") as file:
                    write_csv(counted, file)
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(self.style.SUCCESS(f"{counted.count - 1} participants exported to {output}."))

    def _workshop(self, number: int | None) -> Workshop | None:
        if number is None:
            return None
        workshop = Workshop.objects.filter(pk=number).first()
        if workshop is None:
            raise CommandError(f"There is no workshop number {number}.")
        return workshop

    def _trainer(self, email: str | None) -> User | None:
        if not email:
            return None
        trainer = User.objects.filter(email=normalize_email_address(email)).first()
        if trainer is None:
            raise CommandError(f"Nobody has the e-mail address {email}.")
        return trainer

    def _course(self, kind: str | None) -> Course | None:
        if not kind:
            return None
        course = Course.objects.filter(kind__iexact=kind.strip()).first()
        if course is None:
            kinds = ", ".join(Course.objects.order_by("kind").values_list("kind", flat=True))
            raise CommandError(f"There is no course {kind}; the courses are {kinds}.")
        return course
