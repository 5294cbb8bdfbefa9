"""Who may see and change a ledger: its holder; administrators see any and record payments."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from participants.models import User
from participants.permissions import is_administrator

from .models import SeuEntry


def own_entry(user, pk: int) -> SeuEntry:
    """One of the user's own entries; anyone else's is not found (404), administrators included:
    they audit entries, but the holder's word is the holder's to change."""
    return get_object_or_404(SeuEntry.objects.select_related("holder", "category"), pk=pk, holder=user)


def viewable_entry(user, pk: int) -> SeuEntry:
    entries = SeuEntry.objects.select_related("holder")
    if is_administrator(user):
        return get_object_or_404(entries, pk=pk)
    return get_object_or_404(entries, pk=pk, holder=user)


def holder_for_administrator(pk: int) -> User:
    return get_object_or_404(User, pk=pk)
