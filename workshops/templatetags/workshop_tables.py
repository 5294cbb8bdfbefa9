"""A row of the trainer's workshop tables, written in Python: the template's tags and filters cost
about 0.2 ms a row, and a trainer's home shows dozens (bench/findings.md)."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.safestring import SafeString, mark_safe

from cspo.rows import escape, url_of

from ..models import Workshop
from .durations import hours_minutes

register = template.Library()


def _hours(value: Decimal) -> str:
    """As ``floatformat:"-2"``: 14, 13.50."""
    return f"{value:.2f}" if value % 1 else f"{int(value)}"


_FORMATS = dict(Workshop.Format.choices)
_STATUSES = dict(Workshop.Status.choices)


@register.simple_tag(takes_context=True)
def workshop_row(context, workshop: Workshop) -> SafeString:
    """The row of ``workshop`` (with its figures); the lead trainer is named when it is not the reader."""
    user = context.get("user")
    led_by = "" if user is not None and workshop.lead_trainer_id == user.pk else f" · {escape(workshop.lead_trainer)}"
    if workshop.first_starts_at:
        dates = f'{escape(workshop.dates)}\n          <span class="muted">{escape(workshop.time_zone)}</span>'
    else:
        dates = '<span class="muted">No sessions yet</span>'
    url = escape(url_of(context, "workshops:workshop_detail", workshop.pk))
    status = escape(workshop.status)
    status_label = escape(_STATUSES.get(workshop.status, workshop.status))
    return mark_safe(  # every value above is escaped, a number, or markup of this function
        "<tr>\n"
        f'        <th scope="row"><a href="{url}">{escape(workshop)}</a>\n'
        f'          <span class="muted">{escape(workshop.course.kind)}{led_by}</span></th>\n'
        f"        <td>{dates}</td>\n"
        f"        <td>{escape(_FORMATS.get(workshop.format, workshop.format))}</td>\n"
        f'        <td><span class="badge badge-{status}">{status_label}</span></td>\n'
        f'        <td class="num">{workshop.seats_taken} / {workshop.capacity}</td>\n'
        f'        <td class="num">{workshop.waitlist_length}</td>\n'
        f'        <td class="num">{hours_minutes(workshop.contact_time)} '
        f'<span class="muted">of {_hours(workshop.course.minimum_contact_hours)} h</span></td>\n'
        "      </tr>"
    )
