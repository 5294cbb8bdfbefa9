"""The SEU ledger and renewal (certificants), any holder's ledger and payments (administrators),
and the expiry dashboard with its export (administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from certification.exports import csv_chunks
from participants.permissions import administrator_required

from . import permissions, queries, services
from .forms import PaymentForm, RecordPaymentForm, SeuEntryForm
from .models import seus


def _ledger_context(holder, *, form=None, payment_form=None, record_form=None, today=None, page_number=None) -> dict:
    quote, page = queries.ledger(holder, today=today, page_number=page_number)
    return {
        "holder": holder,
        "quote": quote,
        "entries": page.object_list,
        "entries_page": page,
        "renewals": queries.renewals_of(holder),
        "form": form or SeuEntryForm(initial={"earned_on": quote.today}),
        "payment_form": payment_form or PaymentForm(initial={"key": quote.key}),
        "record_form": record_form or RecordPaymentForm(initial={"key": quote.key}),
    }


@login_required
@require_http_methods(["GET", "POST"])
def ledger(request):
    """The holder's renewal status, SEU entries and the form to log one (POST)."""
    form = None
    if request.method == "POST":
        form = SeuEntryForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                entry = services.log_seu_entry(holder=request.user, activity=form.activity())
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Logged {seus(entry.hours)} SEUs for “{entry.title}”.")
                if request.htmx:
                    form = None
                else:
                    return redirect("renewals:ledger")
    context = _ledger_context(request.user, form=form, page_number=request.GET.get("page"))
    if request.htmx:  # htmx swaps 2xx answers only: the errors must reach the page
        return render(request, "renewals/ledger.html#ledger", context)
    return render(request, "renewals/ledger.html", context, status=400 if form is not None and form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def edit_entry(request, pk: int):
    entry = permissions.own_entry(request.user, pk)
    form = SeuEntryForm(request.POST or None, request.FILES or None, entry=entry)
    problem = ""
    if entry.is_locked or entry.is_credited:
        problem = "This entry is kept as it is: " + (
            "a renewal used it." if entry.is_locked else "we credited it for attending our event."
        )
    elif request.method == "POST" and form.is_valid():
        try:
            services.update_seu_entry(entry=entry, activity=form.activity())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Entry saved.")
            return redirect("renewals:ledger")
    status = 400 if form.errors else 200
    return render(
        request, "renewals/entry_form.html", {"entry": entry, "form": form, "problem": problem}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def delete_entry(request, pk: int):
    entry = permissions.own_entry(request.user, pk)
    if request.method == "POST":
        try:
            services.delete_seu_entry(entry=entry)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Deleted “{entry.title}”.")
        return redirect("renewals:ledger")
    return render(request, "renewals/entry_delete.html", {"entry": entry})


@login_required
def evidence(request, pk: int):
    """The evidence file of an entry, for its holder and for administrators (audits) only."""
    entry = permissions.viewable_entry(request.user, pk)
    if not entry.evidence_file:
        raise Http404("This entry has no evidence file.")
    response = FileResponse(entry.evidence_file.open("rb"), as_attachment=True)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def pay(request):
    """The certificant pays the fee and renews; a repeat of the same payment renews nothing more."""
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            renewal = services.renew(
                holder=request.user,
                by=request.user,
                provider_name=form.cleaned_data["provider"],
                expected_key=form.cleaned_data["key"],
                details={"card_number": form.cleaned_data["card_number"]},
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            items = renewal.items.select_related("certification__course")
            renewed = ", ".join(f"{i.certification.course.kind} until {i.new_expiry:%-d %B %Y}" for i in items)
            messages.success(request, f"Thank you: renewed {renewed}. Your new certificate is ready.")
            return redirect("certification:my_certifications")
    return render(request, "renewals/ledger.html", _ledger_context(request.user, payment_form=form), status=400)


@administrator_required
@require_http_methods(["GET", "POST"])
def holder_ledger(request, pk: int):
    """An administrator audits any holder's ledger and records a payment made outside cspo."""
    holder = permissions.holder_for_administrator(pk)
    record_form = None
    if request.method == "POST":
        record_form = RecordPaymentForm(request.POST)
        if record_form.is_valid():
            try:
                services.renew(
                    holder=holder,
                    by=request.user,
                    provider_name="manual",
                    expected_key=record_form.cleaned_data["key"],
                    details={"reference": record_form.cleaned_data["reference"]},
                )
            except ValidationError as error:
                record_form.add_error(None, error)
            else:
                messages.success(request, f"Payment recorded; {holder} is renewed.")
                return redirect("renewals:holder_ledger", pk=holder.pk)
    context = _ledger_context(holder, record_form=record_form, page_number=request.GET.get("page"))
    context["administering"] = True
    status = 400 if record_form is not None and record_form.errors else 200
    return render(request, "renewals/ledger.html", context, status=status)


def _dashboard_days(request) -> int:
    try:
        days = int(request.GET.get("days", 90))
    except ValueError:
        days = 90
    return days if days in queries.DASHBOARD_WINDOWS else 90


@administrator_required
def dashboard(request):
    today = timezone.localdate()
    days = _dashboard_days(request)
    page, rows = queries.expiring_page(today=today, days=days, page_number=request.GET.get("page"))
    summary, counted_at = queries.cached_expiry_summary(today=today)
    return render(
        request,
        "renewals/dashboard.html",
        {
            "summary": summary,
            "counted_at": counted_at,
            "days": days,
            "windows": queries.DASHBOARD_WINDOWS,
            "page": page,
            "rows": rows,
            "export_url": reverse("renewals:dashboard_export") + f"?days={days}",
        },
    )


@administrator_required
def dashboard_export(request):
    today = timezone.localdate()
    days = _dashboard_days(request)
    response = StreamingHttpResponse(
        csv_chunks(queries.expiring_rows(today=today, days=days)),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="expiring-{days}-days-{today:%Y-%m-%d}.csv"'},
    )
    response["Cache-Control"] = "private, no-store"
    return response
