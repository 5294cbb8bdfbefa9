"""The holder's certificate, the public verification page, and an administrator's revocation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from participants.permissions import administrator_required, is_administrator

from .. import queries, services
from ..certificates import certificate_file
from ..models import Certification

# What a stranger checking a certificate needs to know; "expiring soon" is still valid.
VERDICTS = {"active": "Valid", "expiring": "Valid", "expired": "Expired", "revoked": "Revoked"}


def _own_certification(user, pk: int) -> Certification:
    """The holder's own activated certification; an administrator may open anyone's. Others get a
    404, so a number in the address tells nobody whose certification it is."""
    found = queries.shown_certification(pk)
    if not found or (found[0].holder_id != user.pk and not is_administrator(user)):
        raise Http404("No such certification.")
    return found[0]


@login_required
def certificate_pdf(request, pk: int):
    certification = _own_certification(request.user, pk)
    try:
        pdf = certificate_file(certification=certification)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("certification:my_certifications")
    filename = f"{certification.course.kind}-certificate-{certification.certificant_number}.pdf"
    response = FileResponse(pdf.open("rb"), content_type="application/pdf", filename=filename)
    response["Cache-Control"] = "private, no-cache"
    return response


def verify(request, number: str):
    certification = queries.verification(number)
    if certification is None:
        raise Http404("No certification has this number.")
    status = certification.status(timezone.localdate())
    response = render(
        request,
        "certification/verify.html",
        {"certification": certification, "status": status, "verdict": VERDICTS[status]},
    )
    response["X-Robots-Tag"] = "noindex"  # a person's name, for whoever has the number, not for search engines
    return response


@administrator_required
@require_http_methods(["GET", "POST"])
def revoke(request, pk: int):
    certification = get_object_or_404(
        Certification.objects.select_related("holder", "course").exclude(state=Certification.State.PENDING), pk=pk
    )
    if certification.state == Certification.State.REVOKED:
        messages.info(request, "This certification is revoked already.")
        return redirect("certification:verify", number=certification.certificant_number)
    errors: list[str] = []
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            services.revoke(certification=certification, by=request.user, reason=reason)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(
                request,
                f"{certification.holder.full_name}’s {certification.course.kind} certification "
                f"{certification.certificant_number} is revoked.",
            )
            return redirect("certification:verify", number=certification.certificant_number)
    return render(
        request,
        "certification/revoke.html",
        {"certification": certification, "errors": errors, "reason": reason},
        status=400 if errors else 200,
    )
