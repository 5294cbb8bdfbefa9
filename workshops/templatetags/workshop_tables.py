"""A row of the trainer's workshop tables, written in Python: the template's tags and filters cost
about 0.2 ms a row, and a trainer's home shows dozens (bench/findings.md)."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from ..models import Workshop
from .durations import hours_minutes

register = template.Library()


def _hours(value: Decimal) -> str:
    """As ``floatformat:"-2"``: 14, 13.50."""
    return f"{value:.2f}" if value % 1 else f"{int(value)}"


@register.simple_tag(takes_context=True)
def workshop_row(context, workshop: Workshop) -> SafeString:
    """The row of ``workshop`` (with its figures); the lead trainer is named when it is not the reader."""
    user = context.get("user")
    led_by = "" if user is not None and workshop.lead_trainer_id == user.pk else f" · {workshop.lead_trainer}"
    if workshop.first_starts_at:
        dates = format_html('{}\n          <span class="muted">{}</span>', workshop.dates, workshop.time_zone)
    else:
        dates = mark_safe('<span class="muted">No sessions yet</span>')
    return format_html(
        "<tr>\n"
        '        <th scope="row"><a href="{}">{}</a>\n'
        '          <span class="muted">{}{}</span></th>\n'
        "        <td>{}</td>\n"
        "        <td>{}</td>\n"
        '        <td><span class="badge badge-{}">{}</span></td>\n'
        '        <td class="num">{} / {}</td>\n'
        '        <td class="num">{}</td>\n'
        '        <td class="num">{} <span class="muted">of {} h</span></td>\n'
        "      </tr>",
        reverse("workshops:workshop_detail", args=[workshop.pk]),
        workshop,
        workshop.course.kind,
        led_by,
        dates,
        workshop.get_format_display(),
        workshop.status,
        workshop.get_status_display(),
        workshop.seats_taken,
        workshop.capacity,
        workshop.waitlist_length,
        hours_minutes(workshop.contact_time),
        _hours(workshop.course.minimum_contact_hours),
    )
