"""Pages anyone may open: the catalogue, a workshop's page, its calendar file and enrolment."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe

from participants.services import remember_time_zone

from .. import queries, services
from ..calendar import ICS_MIMETYPE, calendar_filename, workshop_calendar
from ..catalogue import KeptCatalogue, Regions, cards, kept_catalogue
from ..forms_public import CatalogueFilterForm, EnrolmentForm, TimeZoneForm, is_time_zone
from ..models import Enrolment, Workshop, WorkshopSession
from ..permissions import can_view_workshop

TIME_ZONE_COOKIE = "tz"
TIME_ZONE_COOKIE_AGE = 365 * 24 * 60 * 60


def visitor_time_zone(request) -> str | None:
    """The zone the visitor's own times are shown in: the ``tz`` cookie (chosen, or detected by the
    browser), else a signed-in person's saved choice, else unknown."""
    chosen = request.COOKIES.get(TIME_ZONE_COOKIE, "")
    if is_time_zone(chosen):
        return chosen
    saved = getattr(request.user, "time_zone", "")
    return saved if saved and is_time_zone(saved) else None


def _time_zone_context(request, *, zone: str | None, back_to: str, shown_zone: str | None = None) -> dict:
    """``zone``: the visitor's (``visitor_time_zone``), or None when unknown."""
    return {
        "visitor_zone": zone,
        # Times are shown twice only when the visitor's zone differs from the workshop's.
        "show_visitor_zone": zone is not None and zone != shown_zone,
        "time_zone_form": TimeZoneForm(current=zone, initial={"next": back_to}),
        # Detecting the zone reloads the page, which must never repeat a form post.
        "detect_time_zone": zone is None and request.method == "GET",
    }


CATALOGUE_PAGE_SIZE = 20


@require_safe
def catalogue(request):
    now = timezone.now()
    zone = visitor_time_zone(request)
    kept = kept_catalogue(request.GET, zone, now=now)
    regions = kept.regions or _catalogue_regions(request, kept, zone=zone, now=now)
    if request.htmx and not request.htmx.history_restore_request:
        response = HttpResponse(regions.results)
    else:
        # The kept regions, and around them what is the visitor's own: the header, the time-zone form.
        context = {"filters": regions.filters, "results": regions.results}
        context |= _time_zone_context(request, zone=zone, back_to=request.get_full_path())
        response = render(request, "workshops/catalogue.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _catalogue_regions(request, kept: KeptCatalogue, *, zone: str | None, now) -> Regions:
    """The filter form and the results, rendered, and kept for the next visitor when the address is
    one the pages link to: valid filters and an existing page."""
    form = CatalogueFilterForm(request.GET)
    valid = form.is_valid()  # a filter that fails is reported in the page and left out
    shown = queries.catalogue_page(
        number=request.GET.get("page"), per_page=CATALOGUE_PAGE_SIZE, now=now, **form.filters()
    )
    context = {
        "form": form,
        "workshops": shown.page.object_list,
        "cards": cards(shown.page.object_list, zone),
        "page": shown.page,
    }
    regions = Regions(
        filters=mark_safe(render_to_string("workshops/catalogue.html#filters", context, request).strip()),
        results=mark_safe(render_to_string("workshops/catalogue.html#results", context, request).strip()),
    )
    if valid and request.GET.get("page", str(shown.page.number)) == str(shown.page.number):
        kept.keep(regions, soonest_start=shown.soonest_start, now=now)
    return regions


def _visible_workshop(user, pk: int) -> Workshop:
    """Published, running and completed workshops are public; a draft or a cancelled workshop is
    seen by its trainers and administrators only, and is not found for anyone else."""
    workshop = get_object_or_404(
        Workshop.objects.select_related("course", "lead_trainer")
        .prefetch_related("co_trainers", Prefetch("sessions", queryset=WorkshopSession.objects.order_by("starts_at")))
        .with_figures(),
        pk=pk,
    )
    if not can_view_workshop(user, workshop):
        raise Http404("No workshop has this number.")
    return workshop


def _detail_context(request, workshop: Workshop, form: EnrolmentForm | None = None) -> dict:
    enrolment = None
    if request.user.is_authenticated:
        enrolment = (
            Enrolment.objects.filter(workshop=workshop, participant=request.user)
            .exclude(status=Enrolment.Status.CANCELLED)
            .first()
        )
    closed_reason = services.enrolment_closed_reason(workshop, now=timezone.now())
    return {
        "workshop": workshop,
        "sessions": workshop.sessions.all(),
        "enrolment": enrolment,
        "position": queries.waitlist_position(enrolment) if enrolment else None,
        "enrolment_closed": closed_reason,
        "joins_waiting_list": workshop.seats_left == 0 or workshop.waitlist_length > 0,
        "form": form or EnrolmentForm(user=request.user),
        **_time_zone_context(
            request,
            zone=visitor_time_zone(request),
            back_to=reverse("workshops:public_detail", args=[workshop.pk]),
            shown_zone=workshop.time_zone,
        ),
    }


@require_safe
def public_detail(request, pk: int):
    workshop = _visible_workshop(request.user, pk)
    return render(request, "workshops/public_detail.html", _detail_context(request, workshop))


@require_safe
def calendar(request, pk: int):
    workshop = _visible_workshop(request.user, pk)
    url = services.absolute_url(reverse("workshops:public_detail", args=[workshop.pk]))
    response = HttpResponse(
        workshop_calendar(workshop, workshop.sessions.all(), url=url),  # no meeting link: it is public
        content_type=f"{ICS_MIMETYPE}; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{calendar_filename(workshop)}"'
    return response


def _enrolled_message(enrolment: Enrolment, email: str) -> str:
    if enrolment.status == Enrolment.Status.WAITLISTED:
        return (
            f"The workshop is full: you are number {queries.waitlist_position(enrolment)} on the waiting list. "
            f"If a seat frees up, we offer it to you by e-mail at {email}."
        )
    if enrolment.status == Enrolment.Status.OFFERED:
        return f"A seat is being held for you: the offer is in your e-mail at {email}."
    return f"You are enrolled. A confirmation with a calendar file is on its way to {email}."


@require_POST
def enrol(request, pk: int):
    workshop = _visible_workshop(request.user, pk)
    form = EnrolmentForm(request.POST, user=request.user)
    if form.is_valid():
        # A signed-in person enrols themselves: the read-only address is not taken from the post.
        email = request.user.email if request.user.is_authenticated else form.cleaned_data["email"]
        try:
            enrolment = services.enrol(
                workshop=workshop,
                email=email,
                full_name=form.cleaned_data["full_name"],
                by=request.user if request.user.is_authenticated else None,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _enrolled_message(enrolment, enrolment.participant.email))
            return redirect("workshops:public_detail", pk=workshop.pk)
    return render(request, "workshops/public_detail.html", _detail_context(request, workshop, form))


def _safe_next(request, target: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else reverse("workshops:catalogue")


@require_POST
def choose_time_zone(request):
    form = TimeZoneForm(request.POST, current=visitor_time_zone(request))
    response = redirect(_safe_next(request, request.POST.get("next", "")))
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("time_zone", ["Choose a time zone."])))
        return response
    zone = form.cleaned_data["time_zone"]
    if request.user.is_authenticated:
        remember_time_zone(user=request.user, time_zone=zone)
    # Not HttpOnly: static/js/timezone.js looks for it, so as not to detect the zone over a choice.
    response.set_cookie(
        TIME_ZONE_COOKIE, zone, max_age=TIME_ZONE_COOKIE_AGE, samesite="Lax", secure=request.is_secure()
    )
    messages.success(request, f"Times are now also shown in {zone}.")
    return response
