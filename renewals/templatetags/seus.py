from __future__ import annotations

from django import template

from ..models import seus as seus_text

register = template.Library()


@register.filter
def seus(value) -> str:
    """20, 6.5, 1.25: SEUs as people write them."""
    return seus_text(value) if value is not None else ""
