"""A participant's own enrolments, and seat offers from the waiting list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import queries, services
from ..models import Enrolment


def _own_enrolment(request, pk: int) -> Enrolment:
    """The signed-in person's enrolment; anyone else's is not found."""
    return get_object_or_404(
        Enrolment.objects.select_related("workshop__course", "workshop__lead_trainer"),
        pk=pk,
        participant=request.user,
    )


@login_required
def my_enrolment(request, pk: int):
    enrolment = _own_enrolment(request, pk)
    return render(request, "workshops/my_enrolment.html", queries.enrolment_page(enrolment))


@login_required
@require_POST
def cancel(request, pk: int):
    enrolment = _own_enrolment(request, pk)
    was_waiting = enrolment.status == Enrolment.Status.WAITLISTED
    try:
        services.cancel_enrolment(enrolment=enrolment, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "You left the waiting list." if was_waiting else "Your enrolment is cancelled.")
    return redirect("workshops:my_enrolment", pk=enrolment.pk)


@login_required
def prework_file(request, pk: int, item_pk: int):
    enrolment = _own_enrolment(request, pk)
    page = queries.enrolment_page(enrolment)
    item = next((item for item in page["prework_items"] if item.pk == item_pk and item.file), None)
    if item is None:
        raise Http404("No released pre-work file has this number.")
    return FileResponse(item.file.open("rb"), as_attachment=True, filename=item.file.name.rsplit("/", 1)[-1])


def offer(request, token: str):
    """The link in a seat-offer e-mail: signed, so it works without logging in."""
    enrolment = services.enrolment_from_offer_token(token)
    if enrolment is None:
        raise Http404("This offer link is not valid.")
    expired = enrolment.status == Enrolment.Status.OFFERED and enrolment.offer_expires_at <= timezone.now()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                services.accept_offer(enrolment=enrolment)
                messages.success(request, f"The seat is yours: you are enrolled in {enrolment.workshop}.")
            elif action == "decline":
                services.decline_offer(enrolment=enrolment)
                messages.info(request, "You declined the seat; it goes to the next person waiting.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("workshops:offer", token=token)
    return render(request, "workshops/offer.html", {"enrolment": enrolment, "expired": expired, "token": token})
