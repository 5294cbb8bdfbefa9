"""The public verification page's facts, kept ready: employers and clients look certificates up far
more often than certifications change. What the page states is drawn once and kept for a few
minutes and for the day only; the services that change what it states (revoking, renewing) drop it
when they commit, so a revocation shows at once. A holder's new name shows within five minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from .models import Certification
from .queries import verification

KEPT_SECONDS = 300
VERDICTS = {"active": "Valid", "expiring": "Valid", "expired": "Expired", "revoked": "Revoked"}


@dataclass(frozen=True)
class VerifiedFacts:
    pk: int
    number: str
    status: str
    facts: str  # the rendered statement, escaped when it was drawn

    @property
    def html(self) -> SafeString:
        return mark_safe(self.facts)


def _key(number: str) -> str:
    return f"certification:verify:{number}"


def verified_facts(number: str, *, today: date) -> VerifiedFacts | None:
    """What the page states about ``number`` today, or None when no certification has it."""
    kept = cache.get(_key(number))
    if kept is not None and kept[0] == today:
        return kept[1]
    certification = verification(number)
    if certification is None:
        return None
    status = certification.status(today)
    facts = render_to_string(
        "certification/verify.html#facts",
        {"certification": certification, "status": status, "verdict": VERDICTS[status]},
    )
    drawn = VerifiedFacts(certification.pk, certification.certificant_number, status, facts)
    cache.set(_key(number), (today, drawn), KEPT_SECONDS)
    return drawn


def forget_after_commit(certification: Certification) -> None:
    """Called by the services that change what the page states."""
    if certification.certificant_number:
        number = certification.certificant_number
        transaction.on_commit(lambda: cache.delete(_key(number)))
