"""Per-object access to workshops: one place, used by every workshop view."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404

from cspo.compiled import CompiledRead, numbers

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


# The rule of ``can_manage_workshop`` asked in the one query that loads the workshop: the co-trainers
# are not loaded to find the user among them. Every trainer page and every sheet cell save starts
# here, so the query is compiled once (``cspo.compiled``): compiling it cost more than running it.
_WORKSHOP, _TRAINER, _CO_TRAINER = numbers(3)
_ANY_WORKSHOP = CompiledRead(
    lambda pk: Workshop.objects.select_related("course", "lead_trainer").filter(pk=pk).order_by(), _WORKSHOP
)
_TAUGHT_WORKSHOP = CompiledRead(
    lambda pk, trainer, co_trainer: (
        Workshop.objects.select_related("course", "lead_trainer")
        .filter(
            Q(lead_trainer_id=trainer)
            | Q(pk__in=Workshop.co_trainers.through.objects.filter(user_id=co_trainer).values("workshop_id"))
        )
        .filter(pk=pk)
        .order_by()
    ),
    *(_WORKSHOP, _TRAINER, _CO_TRAINER),
)


def get_managed_workshop(user, pk: int) -> Workshop:
    """The workshop if ``user`` may manage it; otherwise 404, so its existence is not revealed."""
    found = []
    if user.is_authenticated and user.is_active:
        found = _ANY_WORKSHOP.objects(int(pk)) if user.is_staff else _TAUGHT_WORKSHOP.objects(int(pk), user.pk, user.pk)
    if not found:
        raise Http404("No workshop of yours has this number.")
    return found[0]
