"""The attendance sheet's cells, written by Python rather than by template nodes: a 40 × 4 sheet has
160 cell forms, and drawn by the template language they cost about a quarter of a millisecond each,
most of the page's time (bench/findings.md). The markup is the one the page always had."""

from __future__ import annotations

import functools

from django import template
from django.utils.safestring import SafeString, mark_safe

from cspo.rows import escape
from participants.models import AttendanceMark
from workshops.templatetags.durations import hours_minutes

register = template.Library()

NOT_STARTED = mark_safe('<span class="muted">Not started</span>')


def _csrf_input(context) -> str:
    """The hidden CSRF field, built once per rendering: ``csrf_token`` is the same for every form."""
    memo = context.render_context
    if "attendance_sheet_csrf" not in memo:
        memo["attendance_sheet_csrf"] = (
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(context.get("csrf_token", ""))}">'
        )
    return memo["attendance_sheet_csrf"]


@functools.cache
def _presence_options(current: str) -> str:
    """The select's options with ``current`` chosen: a handful of strings, written once each."""
    return "".join(
        f'<option value="{value}"{" selected" if value and value == current else ""}>{escape(label)}</option>'
        for value, label in [("", "—"), *AttendanceMark.Presence.choices]
    )


@register.simple_tag(takes_context=True)
def sheet_cells(context, row) -> SafeString:
    """The row's cells, one ``<td>`` a session."""
    return mark_safe(
        "".join(f'<td class="sheet-cell">{sheet_cell(context, cell, row.enrolment)}</td>' for cell in row.cells)
    )


@register.simple_tag(takes_context=True)
def sheet_cell(context, cell, enrolment) -> SafeString:
    """One session's marks for one participant: a form that saves itself (htmx) or with its button.
    ``error`` and ``saved`` in the context say how the last save of this cell went."""
    if not cell.is_open:
        return NOT_STARTED
    error, saved = cell.error or context.get("error"), context.get("saved")
    values = cell.values
    cell_id = f"{enrolment.pk}-{cell.session.pk}"
    who = f"{escape(enrolment.participant.full_name)}, {escape(cell.day)}"
    url = escape(cell.save_url)
    reason = ""
    if context.get("needs_reason"):
        reason = (
            f'<label class="visually-hidden" for="r-{cell_id}">Reason for the change</label>'
            f'<input name="reason" id="r-{cell_id}" class="reason" maxlength="300" placeholder="Reason for the change"'
            f' required value="{escape(values["reason"])}">'
        )
    # Every value below is escaped or a number.
    return mark_safe(
        f'<form method="post" class="cell-form" data-state="{"invalid" if error else "saved" if saved else ""}"'
        f' action="{url}" hx-post="{url}"'
        ' hx-trigger="change, submit, retry" hx-target="this" hx-swap="outerHTML" hx-sync="this:replace">'
        f"{_csrf_input(context)}"
        f'<label class="visually-hidden" for="p-{cell_id}">Attendance of {who}</label>'
        f'<select name="presence" id="p-{cell_id}" class="presence">{_presence_options(values["presence"])}</select>'
        f'<label class="visually-hidden" for="m-{cell_id}">Minutes late or left early, {who}</label>'
        f'<input type="number" name="minutes" id="m-{cell_id}" class="minutes" min="0" inputmode="numeric"'
        f' placeholder="min" value="{escape(values["minutes"])}">'
        f'<label class="participated"><input type="checkbox" name="participated" class="active"'
        f"{' checked' if values['participated'] else ''}>"
        f' Active<span class="visually-hidden"> participation, {who}</span></label>'
        f'<label class="visually-hidden" for="n-{cell_id}">Note, {who}</label>'
        f'<input name="note" id="n-{cell_id}" class="note" maxlength="200" placeholder="Note"'
        f' value="{escape(values["note"])}">'
        f"{reason}"
        f'<span class="cell-state" role="status">{escape(error) if error else "Saved" if saved else ""}</span>'
        '<button type="submit" class="save-button button small">Save</button>'
        "</form>"
    )


@register.simple_tag(takes_context=True)
def sheet_progress(context, row) -> SafeString:
    """A row's contact time against the minimum, and whether it can still be reached; sent out of
    band (``oob``) with each cell save so that the row's figures follow the change."""
    progress, pk = row.progress, row.enrolment.pk
    minimum = progress.minimum_minutes
    out_of_band = ' hx-swap-oob="true"' if context.get("oob") else ""
    return mark_safe(  # the words are ours, the rest numbers
        f'<div id="progress-{pk}" class="progress status-{progress.status}"{out_of_band}>'
        f"<span><strong>{hours_minutes(progress.attended)}</strong> of {hours_minutes(progress.minimum)}</span>"
        f'<meter min="0" max="{minimum}" low="{minimum}" optimum="{minimum}" value="{progress.attended_minutes}"'
        ' aria-hidden="true"></meter>'
        f'<span class="badge badge-{progress.status}" title="{escape(progress.status_explained)}">'
        f"{escape(progress.status_label)}</span>"
        f'<span class="muted">Active in {progress.sessions_participated} of {progress.sessions_attended}'
        " sessions attended</span></div>"
    )


@register.simple_tag(takes_context=True)
def sheet_understanding(context, row) -> SafeString:
    """Whether the participant demonstrated understanding of the course's role (the Product Owner's
    for a CSPO), with the reason when not; ``posted`` is what the trainer typed when it could not be
    saved."""
    enrolment = row.enrolment
    understanding = getattr(enrolment, "understanding", None)
    error, saved = row.understanding_error or context.get("error"), context.get("saved")
    posted = row.understanding_posted or context.get("posted")
    chosen = posted.get("demonstrated") if posted else None
    yes = chosen == "yes" or (not chosen and understanding is not None and understanding.demonstrated)
    no = chosen == "no" or (not chosen and understanding is not None and not understanding.demonstrated)
    reason = posted.get("reason", "") if posted else getattr(understanding, "reason", "")
    pk, url = enrolment.pk, escape(row.understanding_url)
    return mark_safe(  # every value is escaped or a number
        '<form method="post" class="understanding-form"'
        f' data-state="{"invalid" if error else "saved" if saved else ""}" action="{url}" hx-post="{url}"'
        ' hx-trigger="change, submit, retry" hx-target="this" hx-swap="outerHTML" hx-sync="this:replace">'
        f"{_csrf_input(context)}"
        f'<label class="visually-hidden" for="u-{pk}">Did {escape(enrolment.participant.full_name)} demonstrate'
        f" understanding of the {escape(context['workshop'].course.role)} role?</label>"
        f'<select name="demonstrated" id="u-{pk}"><option value="">Not confirmed yet</option>'
        f'<option value="yes"{" selected" if yes else ""}>Demonstrated</option>'
        f'<option value="no"{" selected" if no else ""}>Not demonstrated</option></select>'
        f'<label class="visually-hidden" for="ur-{pk}">Why not</label>'
        f'<input name="reason" id="ur-{pk}" maxlength="300" placeholder="Why not" value="{escape(reason)}">'
        f'<span class="cell-state" role="status">{escape(error) if error else "Saved" if saved else ""}</span>'
        '<button type="submit" class="save-button button small">Save</button></form>'
    )
