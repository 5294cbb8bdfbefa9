from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError

from certification.queries import certifications_of
from cspo.regions import kept_region, source_digest
from workshops.models import Enrolment
from workshops.permissions import get_managed_workshop
from workshops.queries import enrolments_of

from . import queries, services
from .forms import MarkForm, QueuedPasswordResetForm, UnderstandingForm
from .permissions import is_administrator, is_trainer, trainer_required


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, the e-mail sent by a worker. Its link is made in the worker and stored nowhere, so it
    has no outbox row to wait in: with the broker away, whoever asks is asked to try again."""

    form_class = QueuedPasswordResetForm

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except OperationalError:
            form.add_error(None, "We could not send the e-mail just now. Please try again in a few minutes.")
            response = self.render_to_response(self.get_context_data(form=form), status=503)
            response["Retry-After"] = "120"
            return response


@login_required
def home(request):
    """Each role lands on its own page; a person with several roles reaches the others from the menu."""
    if is_administrator(request.user):
        return redirect("workshops:overview")
    if is_trainer(request.user):
        return redirect("workshops:trainer_home")
    return redirect("participants:my_home")


@login_required
def my_home(request):
    return render(
        request,
        "participants/my_home.html",
        {"enrolments": enrolments_of(request.user), "certifications": certifications_of(request.user)},
    )


# --- The trainer's attendance sheet -----------------------------------------------------------


def _sheet_parts(request, pk: int, enrolment_pk: int | None = None):
    workshop = get_managed_workshop(request.user, pk)
    enrolment = None
    if enrolment_pk is not None:
        enrolment = queries.enrolment_in(workshop, enrolment_pk)
        if enrolment is None:
            raise Http404("No enrolment of this workshop has this number.")
    return workshop, enrolment


# What renders the sheet's table: a change to any of these retires every kept table (cspo/regions.py).
SHEET_CODE = source_digest("templates/participants/sheet.html", "participants/templatetags/attendance_sheet.py",
                           "participants/queries.py", "participants/models.py", "participants/urls.py",
                           "workshops/models.py", "workshops/templatetags/durations.py", "cspo/rows.py")  # fmt: skip


def _sheet_context(request, workshop, *, refused: tuple[int, int | None, dict, str] | None = None) -> dict:
    """The sheet's table, kept between changes: a trainer's reload, a co-trainer's page and the room's
    tablets read it again without building 200 rows and 160 cell forms while no mark changed. With
    ``refused`` (enrolment, session or None for the understanding, what was typed, why), what could
    not be saved is drawn with what this trainer typed: that table is theirs alone, drawn and not kept."""
    now = timezone.now()

    def render_table(csrf_token: str) -> str:
        context = queries.attendance_sheet(workshop, now=now) | {"csrf_token": csrf_token}
        if refused is not None:
            enrolment_pk, session_pk, posted, error = refused  # no session: the understanding was refused
            for row in (row for row in context["rows"] if row.enrolment.pk == enrolment_pk):
                if session_pk is None:
                    row.understanding_posted, row.understanding_error = posted, error
                for cell in (cell for cell in row.cells if cell.session.pk == session_pk):
                    cell.posted, cell.error = posted, error
        return render_to_string("participants/sheet.html#table", context)

    if refused is not None:
        table = render_table(get_token(request))
    else:
        table = kept_region(
            request, name=f"sheet:{workshop.pk}", code=SHEET_CODE, render=render_table,
            fingerprint=lambda: queries.sheet_fingerprint(workshop, now=now),
        )  # fmt: skip
    return {"workshop": workshop, "table": table, "needs_reason": workshop.changes_need_a_reason}


@trainer_required
def sheet(request, pk: int):
    workshop, _ = _sheet_parts(request, pk)
    return render(request, "participants/sheet.html", _sheet_context(request, workshop))


def _answer_with_row(
    request, workshop, enrolment, *, partial: str, session_pk=None, error="", posted=None, sessions=None
):
    """htmx gets the changed region (and the row's progress out of band); a plain form post goes
    back to the sheet, or when refused, is answered the sheet with the cell as typed and why."""
    if not request.htmx:
        if not error:
            return redirect("participants:sheet", pk=workshop.pk)
        messages.error(request, f"{enrolment.participant}: {error}")
        refused = (enrolment.pk, session_pk, posted or {}, error)
        return render(
            request, "participants/sheet.html", _sheet_context(request, workshop, refused=refused), status=400
        )
    row = queries.sheet_row(enrolment, sessions=sessions)
    cell = next((c for c in row.cells if c.session.pk == session_pk), None)
    if cell is not None and posted is not None:
        cell.posted = posted
    context = {
        "workshop": workshop,
        "row": row,
        "cell": cell,
        "error": error,
        "posted": posted,
        "saved": not error,
        "oob": True,
        "needs_reason": workshop.changes_need_a_reason,
    }
    return render(request, f"participants/sheet.html#{partial}", context)


@trainer_required
@require_POST
def save_mark(request, pk: int, enrolment_pk: int, session_pk: int):
    workshop, enrolment = _sheet_parts(request, pk, enrolment_pk)
    sessions = queries.sessions_of(workshop)  # read once: the answer's row shows them all
    session = next((s for s in sessions if s.pk == session_pk), None)
    if session is None:
        raise Http404("No session of this workshop has this number.")
    form = MarkForm(request.POST)
    error = ""
    if not form.is_valid():
        error = " ".join(" ".join(errors) for errors in form.errors.values())
    else:
        data = form.cleaned_data
        try:
            services.record_mark(
                enrolment=enrolment, session=session, by=request.user, presence=data["presence"],
                minutes=data["minutes"] or 0, participated=data["participated"], note=data["note"],
                reason=data["reason"],
            )  # fmt: skip
        except ValidationError as problem:
            error = " ".join(problem.messages)
    return _answer_with_row(
        request, workshop, enrolment, partial="cell", session_pk=session.pk, error=error,
        posted=form.data if error else None, sessions=sessions,
    )  # fmt: skip


@trainer_required
@require_POST
def mark_session_present(request, pk: int, session_pk: int):
    workshop, _ = _sheet_parts(request, pk)
    session = get_object_or_404(workshop.sessions, pk=session_pk)
    session.workshop = workshop
    try:
        count = services.mark_everyone_present(session=session, by=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as problem:
        messages.error(request, " ".join(problem.messages))
    else:
        messages.success(request, f"{count} marked present for {session.local_starts_at:%a %-d %b}.")
    if request.htmx:
        return render(request, "participants/sheet.html#sheet", _sheet_context(request, workshop))
    return redirect("participants:sheet", pk=workshop.pk)


@trainer_required
@require_POST
def save_understanding(request, pk: int, enrolment_pk: int):
    workshop, enrolment = _sheet_parts(request, pk, enrolment_pk)
    form = UnderstandingForm(request.POST)
    error = ""
    if not form.is_valid():
        error = " ".join(" ".join(errors) for errors in form.errors.values())
    else:
        try:
            services.confirm_understanding(enrolment=enrolment, by=request.user, **form.cleaned_data)
        except ValidationError as problem:
            error = " ".join(problem.messages)
    enrolment = Enrolment.objects.select_related("participant", "understanding").get(pk=enrolment.pk)
    enrolment.workshop = workshop
    return _answer_with_row(
        request, workshop, enrolment, partial="understanding", error=error, posted=form.data if error else None
    )


@trainer_required
def mark_history(request, pk: int, enrolment_pk: int):
    workshop, enrolment = _sheet_parts(request, pk, enrolment_pk)
    return render(
        request,
        "participants/mark_history.html",
        {"workshop": workshop, "enrolment": enrolment, "changes": queries.mark_history(enrolment)},
    )
