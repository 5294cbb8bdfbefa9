"""The trainer's side: my workshops, scheduling a workshop session by session, publishing, cancelling."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from participants.permissions import administrator_required, trainer_required

from .. import queries, services
from ..forms import PREWORK_FILE_MAX_MB, PreworkItemForm, SessionForm, WorkshopForm
from ..models import CALENDAR_FROM, CALENDAR_UNTIL, Workshop
from ..permissions import get_managed_workshop


@trainer_required
def trainer_home(request):
    groups = queries.workshops_for_trainer(request.user, past_page=request.GET.get("past"))
    return render(request, "workshops/trainer_home.html", {"groups": groups, "past": groups.past})


@administrator_required
def overview(request):
    return render(request, "workshops/overview.html", {"overview": queries.overview()})


@trainer_required
def workshop_detail(request, pk: int):
    return _detail_page(request, get_managed_workshop(request.user, pk))


def _detail_page(request, workshop: Workshop, *, prework_form=None, prework_errors=()):
    """The page; with ``prework_errors``, pre-work refused, said at its form with what was typed kept."""
    context = queries.trainer_workshop_page(workshop) | {
        "prework_file_max_mb": PREWORK_FILE_MAX_MB,
        "prework_posted": prework_form.data if prework_errors else {},
        "prework_errors": prework_errors,
    }
    return render(request, "workshops/workshop_detail.html", context, status=400 if prework_errors else 200)


@trainer_required
def workshop_create(request):
    form = WorkshopForm(request.POST or None, lead_trainer=request.user)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "co_trainers"}
        try:
            workshop = services.create_workshop(
                by=request.user, fields=fields, co_trainers=form.cleaned_data["co_trainers"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Workshop saved as a draft. Now add its sessions.")
            return redirect("workshops:workshop_edit", pk=workshop.pk)
    return render(request, "workshops/workshop_form.html", {"form": form})


def _edit_page(
    request, workshop: Workshop, *, form=None, session_form=None, session_errors=None, key="new", status=200
):
    schedule = queries.schedule(workshop)
    if session_form is not None and key != "new":  # a session's row refused its move: it shows what was typed
        for session in schedule["sessions"]:
            if session.pk == key:
                session.posted = session_form.data
        session_form = None
    context = {
        **schedule,
        "workshop": workshop,
        "form": form or WorkshopForm(instance=workshop, lead_trainer=workshop.lead_trainer),
        "session_form": session_form or SessionForm(),
        "session_errors": session_errors or {},
        "calendar": {"from": CALENDAR_FROM, "until": CALENDAR_UNTIL},  # the days a session may be on
    }
    template = "workshops/workshop_edit.html#sessions" if request.htmx else "workshops/workshop_edit.html"
    return render(request, template, context, status=status)


@trainer_required
def workshop_edit(request, pk: int):
    workshop = get_managed_workshop(request.user, pk)
    if request.method != "POST":
        return _edit_page(request, workshop)
    form = WorkshopForm(request.POST, instance=workshop, lead_trainer=workshop.lead_trainer)
    if form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "co_trainers"}
        try:
            services.update_workshop(
                workshop=workshop, by=request.user, fields=fields, co_trainers=form.cleaned_data["co_trainers"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Workshop details saved.")
            return redirect("workshops:workshop_edit", pk=workshop.pk)
    workshop.refresh_from_db()
    return _edit_page(request, workshop, form=form)


def _after_session_change(request, workshop: Workshop, *, session_form=None, errors=None, key="new"):
    """A refusal shows at once, what was typed kept where it was typed (the new session's form, or the
    session's own row): htmx swaps the sessions region, without JavaScript the whole page is answered.
    A change made reloads the edit page without JavaScript."""
    if errors:
        return _edit_page(
            request, workshop, session_form=session_form, session_errors={key: errors}, key=key,
            status=200 if request.htmx else 400,  # htmx swaps only a 2xx answer
        )  # fmt: skip
    if request.htmx:
        return _edit_page(request, workshop)
    return redirect("workshops:workshop_edit", pk=workshop.pk)


def _schedule(request, workshop: Workshop, session=None):
    form = SessionForm(request.POST)
    key = session.pk if session else "new"
    if not form.is_valid():
        errors = [f"{form.fields[name].label or name.title()}: {' '.join(e)}" for name, e in form.errors.items()]
        return _after_session_change(request, workshop, session_form=form, errors=errors, key=key)
    try:
        services.schedule_session(workshop=workshop, by=request.user, session=session, **form.cleaned_data)
    except ValidationError as error:
        return _after_session_change(request, workshop, session_form=form, errors=error.messages, key=key)
    return _after_session_change(request, workshop)


@trainer_required
@require_POST
def session_add(request, pk: int):
    return _schedule(request, get_managed_workshop(request.user, pk))


@trainer_required
@require_POST
def session_update(request, pk: int, session_pk: int):
    workshop = get_managed_workshop(request.user, pk)
    return _schedule(request, workshop, get_object_or_404(workshop.sessions, pk=session_pk))


@trainer_required
@require_POST
def session_delete(request, pk: int, session_pk: int):
    workshop = get_managed_workshop(request.user, pk)
    session = get_object_or_404(workshop.sessions, pk=session_pk)
    try:
        services.remove_session(session=session, by=request.user)
    except ValidationError as error:
        return _after_session_change(request, workshop, errors=error.messages, key=session_pk)
    return _after_session_change(request, workshop)


@trainer_required
@require_POST
def workshop_publish(request, pk: int):
    workshop = get_managed_workshop(request.user, pk)
    try:
        services.publish_workshop(workshop=workshop, by=request.user)
    except ValidationError as error:
        for problem in error.messages:
            messages.error(request, problem)
        return redirect("workshops:workshop_edit", pk=workshop.pk)
    messages.success(request, "Published: the workshop is in the catalogue and open for enrolment.")
    return redirect("workshops:workshop_detail", pk=workshop.pk)


@trainer_required
def workshop_cancel(request, pk: int):
    workshop = get_managed_workshop(request.user, pk)
    if request.method == "POST":
        try:
            told = services.cancel_workshop(workshop=workshop, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Workshop cancelled; {told} people are being told by e-mail.")
        return redirect("workshops:workshop_detail", pk=workshop.pk)
    return render(request, "workshops/workshop_cancel.html", queries.trainer_workshop_page(workshop))


@trainer_required
@require_POST
def prework_add(request, pk: int):
    workshop = get_managed_workshop(request.user, pk)
    form = PreworkItemForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_page(
            request, workshop, prework_form=form, prework_errors=[" ".join(e) for e in form.errors.values()]
        )
    try:
        item, told = services.add_prework_item(workshop=workshop, by=request.user, **form.cleaned_data)
    except ValidationError as error:
        return _detail_page(request, workshop, prework_form=form, prework_errors=error.messages)
    sent = f" and sent to the {told} participant{pluralize(told)} who had the pre-work already" if told else ""
    messages.success(request, f"Pre-work “{item.title}” added{sent}.")
    return redirect("workshops:workshop_detail", pk=workshop.pk)


@trainer_required
@require_POST
def prework_delete(request, pk: int, item_pk: int):
    workshop = get_managed_workshop(request.user, pk)
    services.remove_prework_item(item=get_object_or_404(workshop.prework_items, pk=item_pk), by=request.user)
    messages.success(request, "Pre-work removed.")
    return redirect("workshops:workshop_detail", pk=workshop.pk)
