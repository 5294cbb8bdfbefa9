"""Administrators enrol one person, or a whole roster from a CSV file, into a workshop."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from participants.models import User
from participants.permissions import administrator_required

from .. import services
from ..models import Enrolment
from ..permissions import get_managed_workshop
from ..roster_import import (
    EXAMPLE_HEADER,
    MAX_ROSTER_BYTES,
    MAX_ROSTER_ROWS,
    MEGABYTE,
    RosterRejected,
    progress_of,
    start_roster_import,
)

MAX_SIZE_LABEL = f"{MAX_ROSTER_BYTES / MEGABYTE:g} MB"


class EnrolPersonForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=User._meta.get_field("full_name").max_length, strip=True)
    email = forms.EmailField(label="E-mail", max_length=User._meta.get_field("email").max_length)


class RosterUploadForm(forms.Form):
    roster = forms.FileField(
        label="Roster file (CSV: name, e-mail)",
        # An empty file reaches the import, which says what a roster file needs.
        allow_empty_file=True,
        help_text=f"A .csv file of at most {MAX_SIZE_LABEL} and {MAX_ROSTER_ROWS:,} people.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_roster(self):
        roster = self.cleaned_data["roster"]
        if roster.size > MAX_ROSTER_BYTES:
            raise ValidationError(
                f"This file is larger than {MAX_SIZE_LABEL}, the most a roster file can be. "
                "Split it into smaller files."
            )
        return roster


def _enrolled_message(enrolment: Enrolment) -> str:
    person = f"{enrolment.participant.full_name} ({enrolment.participant.email})"
    if enrolment.status == Enrolment.Status.WAITLISTED:
        return f"The workshop is full: {person} is on the waiting list."
    if enrolment.status == Enrolment.Status.OFFERED:
        return f"{person} has been offered a seat and has until the offer expires to take it."
    return f"{person} is enrolled."


def _imported_message(job) -> str:
    return (
        f"Roster imported: {job.enrolled} enrolled, {job.waitlisted} put on the waiting list, "
        f"{job.already_there} already there (unchanged); "
        f"{job.accounts_created} new account{pluralize(job.accounts_created)} created."
    )


@administrator_required
@require_POST
def admin_enrol(request, pk: int):
    workshop = get_managed_workshop(request.user, pk)
    form = EnrolPersonForm(request.POST)
    if not form.is_valid():
        reasons = [f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()]
        messages.error(request, "Nobody was enrolled. " + " ".join(reasons))
        return redirect("workshops:workshop_detail", pk=workshop.pk)
    try:
        enrolment = services.enrol(
            workshop=workshop,
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data["full_name"],
            by=request.user,
        )
    except ValidationError as error:
        messages.error(request, "Nobody was enrolled. " + " ".join(error.messages))
    else:
        messages.success(request, _enrolled_message(enrolment))
    return redirect("workshops:workshop_detail", pk=workshop.pk)


@administrator_required
def roster_import(request, pk: int):
    workshop = get_managed_workshop(request.user, pk)
    form = RosterUploadForm()
    problems = ()
    if request.method == "POST":
        form = RosterUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["roster"]
            try:
                job = start_roster_import(workshop=workshop, data=upload.read(), filename=upload.name, by=request.user)
            except RosterRejected as rejected:
                problems = rejected.problems
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect("workshops:roster_import_status", pk=workshop.pk, import_pk=job.pk)
    return render(
        request,
        "workshops/roster_import.html",
        {
            "workshop": workshop,
            "form": form,
            "enrol_form": EnrolPersonForm(),
            "problems": problems,
            "example_header": EXAMPLE_HEADER,
            "max_rows": f"{MAX_ROSTER_ROWS:,}",
            "max_size": MAX_SIZE_LABEL,
        },
    )


@administrator_required
def roster_import_status(request, pk: int, import_pk: int):
    """How far a roster import got: htmx asks again every two seconds until it is done (without
    JavaScript, the page reloads itself), then the outcome, or why nothing was imported."""
    workshop = get_managed_workshop(request.user, pk)
    job = get_object_or_404(workshop.roster_imports, pk=import_pk)
    context = {
        "workshop": workshop,
        "job": job,
        "people": f"{job.rows:,} {'person' if job.rows == 1 else 'people'}",
        "percent": 100 if job.finished else progress_of(job) or 0,
        "in_the_file": any(problem.get("row") for problem in job.problems),
        "summary": _imported_message(job) if job.state == job.State.DONE else "",
    }
    if request.htmx:
        return render(request, "workshops/roster_import_status.html#progress", context)
    return render(request, "workshops/roster_import_status.html", context)
