"""The trainer reviews eligibility, overrides with a justification, and submits the list."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from participants.permissions import administrator_required, trainer_required
from workshops.models import Enrolment
from workshops.permissions import get_managed_workshop

from .. import queries, services


@trainer_required
def review(request, pk: int):
    return _review_page(request, get_managed_workshop(request.user, pk))


def _review_page(request, workshop, *, refused_override: dict | None = None, refused_reopen: dict | None = None):
    """The page; with ``refused_override``, an override refused (``enrolment_pk``, ``participant``, the
    ``justification`` as typed, ``errors``), or ``refused_reopen`` (the ``reason`` as typed, ``errors``):
    said above, with the text kept where it was typed to correct."""
    decisions = queries.eligibility(workshop)
    to_certify = [d for d in decisions if d.eligible and d.certification is None]
    return render(
        request,
        "certification/review.html",
        {
            "workshop": workshop,
            "decisions": decisions,
            "eligible": [d for d in decisions if d.eligible],
            "not_eligible": [d for d in decisions if not d.eligible],
            "to_certify": to_certify,
            "submission": queries.open_submission(workshop),
            "refused_override": refused_override,
            "refused_reopen": refused_reopen,
        },
        status=400 if refused_override or refused_reopen else 200,
    )


@trainer_required
@require_POST
def override(request, pk: int, enrolment_pk: int):
    workshop = get_managed_workshop(request.user, pk)
    enrolment = get_object_or_404(
        workshop.enrolments.select_related("participant"), pk=enrolment_pk, status=Enrolment.Status.ENROLLED
    )
    enrolment.workshop = workshop
    justification = request.POST.get("justification", "")
    try:
        services.override_eligibility(enrolment=enrolment, by=request.user, justification=justification)
    except ValidationError as error:
        refused = {"enrolment_pk": enrolment.pk, "participant": enrolment.participant, "justification": justification,
                   "errors": error.messages}  # fmt: skip
        return _review_page(request, workshop, refused_override=refused)
    messages.success(request, f"{enrolment.participant} is eligible by your decision, which is recorded.")
    return redirect("certification:review", pk=workshop.pk)


@trainer_required
@require_POST
def submit(request, pk: int):
    workshop = get_managed_workshop(request.user, pk)
    try:
        expected = {int(value) for value in request.POST.getlist("expected")}
    except ValueError:
        expected = set()
    try:
        submission = services.submit_workshop(workshop=workshop, by=request.user, expected=expected)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        count = submission.certifications.count()
        messages.success(
            request, f"Submitted: {count} participants will receive an e-mail to activate their certification."
        )
    return redirect("certification:review", pk=workshop.pk)


@administrator_required
@require_POST
def reopen(request, pk: int):
    workshop = get_managed_workshop(request.user, pk)
    reason = request.POST.get("reason", "")
    try:
        services.reopen_workshop(workshop=workshop, by=request.user, reason=reason)
    except ValidationError as error:
        return _review_page(request, workshop, refused_reopen={"reason": reason, "errors": error.messages})
    messages.success(request, "Reopened: the sheet can be changed again, and the workshop submitted again.")
    return redirect("certification:review", pk=workshop.pk)
