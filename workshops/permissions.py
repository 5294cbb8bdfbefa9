"""Per-object access to workshops: one place, used by every workshop view."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from .models import Workshop


def can_manage_workshop(user, workshop: Workshop) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or workshop.is_taught_by(user)


PUBLIC_STATUSES = (Workshop.Status.PUBLISHED, Workshop.Status.RUNNING, Workshop.Status.COMPLETED)


def can_view_workshop(user, workshop: Workshop) -> bool:
    """Published, running and completed workshops are public; drafts and cancelled ones are seen
    by their trainers and administrators only."""
    return workshop.status in PUBLIC_STATUSES or can_manage_workshop(user, workshop)


def get_managed_workshop(user, pk: int) -> Workshop:
    """The workshop if ``user`` may manage it; otherwise 404, so its existence is not revealed.
    The rule of ``can_manage_workshop`` asked in the one query that loads it (every sheet cell save
    starts here): the co-trainers are not loaded to find the user among them."""
    workshops = Workshop.objects.select_related("course", "lead_trainer")
    if not (user.is_authenticated and user.is_active):
        workshops = workshops.none()
    elif not user.is_staff:
        workshops = workshops.filter(Q(lead_trainer=user) | Q(pk__in=user.co_trained_workshops.values("pk")))
    try:
        return workshops.get(pk=pk)
    except Workshop.DoesNotExist:
        raise Http404("No workshop of yours has this number.") from None
