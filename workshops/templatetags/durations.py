from __future__ import annotations

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def hours_minutes(value: timedelta | None) -> str:
    """A duration as people say contact time: “14 h”, “13 h 15”, “0 h”."""
    if not value:
        return "0 h"
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d}" if minutes else f"{hours} h"
