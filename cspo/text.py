"""Text a person typed, checked before it is stored."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Field


def typed_text(text: str, *, field: Field, label: str) -> str:
    """``text`` as it is stored in ``field``: without space around it, each line break one character
    (a browser posts a textarea's as two, though its maxlength counted one), and fitting the column,
    or a message saying what to change. PostgreSQL refuses longer text, or a NUL character in any."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in text:
        raise ValidationError(f"{label} contains a character that cannot be stored (NUL); type it again.")
    if field.max_length is not None and len(text) > field.max_length:
        raise ValidationError(
            f"{label} is too long: {len(text):,} characters, at most {field.max_length:,}. "
            "Shorten it, then send it again."
        )
    return text
