"""Helpers for table rows written by Python rather than by template nodes (the attendance sheet, the
trainer's workshop tables, the SEU ledger, the expiry dashboard): a page of dozens of rows, each of a
dozen tags and filters, spent most of its time in the template language (bench/findings.md)."""

from __future__ import annotations

from datetime import date
from html import escape as _escape

from django.urls import reverse
from django.utils import dateformat

# Reversed once per rendering with this number in place of the primary key, then filled in for each
# row: ``reverse()`` costs about 20 µs.
_PK = 918273645


def escape(value) -> str:
    """Django's ``escape`` (the same ``html.escape`` of the text) without its lazy-string wrapper,
    which cost more than the escaping."""
    return _escape(str(value))


def url_of(context, name: str, pk: int) -> str:
    """``reverse(name, args=[pk])``, reversed once per rendering of ``context``."""
    memo = context.render_context.setdefault("cspo_rows_urls", {})
    if name not in memo:
        memo[name] = reverse(name, args=[_PK]).split(str(_PK))
    before, after = memo[name]
    return f"{before}{pk}{after}"


def short_date(context, day: date) -> str:
    """``day|date:"j M Y"``, the month's name (translated) looked up once per rendering."""
    months = context.render_context.setdefault("cspo_rows_months", {})
    if day.month not in months:
        months[day.month] = dateformat.format(day, "M")
    return f"{day.day} {months[day.month]} {day.year}"
