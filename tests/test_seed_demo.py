from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from certification.models import Certification
from participants.models import AttendanceMark, User
from renewals.models import Renewal, SeuEntry
from renewals.queries import quote
from workshops.models import Course, Enrolment, PreworkDelivery, Workshop, WorkshopSession
from workshops.queries import workshops_for_trainer

pytestmark = pytest.mark.django_db

MODELS = [User, Course, Workshop, WorkshopSession, Enrolment]


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_seed_demo_runs_twice_without_duplicating_anything():
    call_command("seed_demo", stdout=StringIO())
    first = _counts()

    call_command("seed_demo", stdout=StringIO())

    assert _counts() == first
    assert first["User"] == 43  # an administrator, two trainers, forty participants


def test_seed_demo_prints_the_demo_logins():
    out = StringIO()

    call_command("seed_demo", stdout=out)

    assert "admin@cspo.example" in out.getvalue()
    assert "trainer@cspo.example" in out.getvalue()
    assert "cspo-demo" in out.getvalue()


def test_seed_demo_has_past_running_and_upcoming_workshops_in_two_time_zones():
    call_command("seed_demo", stdout=StringIO())

    groups = workshops_for_trainer(User.objects.get(email="trainer@cspo.example"))

    assert len(groups.past) >= 1
    assert len(groups.running) >= 1
    assert len(groups.upcoming) >= 1
    assert set(Workshop.objects.values_list("time_zone", flat=True)) == {"America/Toronto", "Europe/London"}
    assert set(Course.objects.values_list("kind", flat=True)) == {"CSPO", "CSM", "A-CSPO", "LEAN-COFFEE"}


def test_seed_demo_has_a_full_workshop_with_a_waiting_list_and_released_prework():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    full = Workshop.objects.with_figures().get(title="CSM · Toronto, in person")
    assert (full.seats_left, full.waitlist_length) == (0, 3)
    running = Workshop.objects.get(title="CSPO · Live online, four afternoons")
    enrolled = running.enrolments.filter(status=Enrolment.Status.ENROLLED)
    assert PreworkDelivery.objects.filter(enrolment__in=enrolled).count() == enrolled.count() == 16


def test_seed_demo_has_a_half_marked_sheet_for_the_running_workshop():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    running = Workshop.objects.get(title="CSPO · Live online, four afternoons")
    marks = AttendanceMark.objects.filter(session__workshop=running)
    marked_sessions = set(marks.values_list("session_id", flat=True))
    assert marks.count() == running.enrolments.filter(status=Enrolment.Status.ENROLLED).count() == 16
    assert marked_sessions == {running.sessions.order_by("starts_at").first().pk}
    assert sorted(marks.exclude(presence="present").values_list("presence", flat=True)) == ["absent", "late", "late"]


def test_seed_demo_has_certifications_in_every_state():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())

    today = timezone.localdate()
    states = {certification.status(today) for certification in Certification.objects.all()}
    assert states == {"pending", "active", "expiring", "expired", "revoked"}
    assert Certification.objects.count() == 21


def test_seed_demo_has_certificants_at_every_stage_of_renewal(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    entries = SeuEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())

    def stage(number: int):
        return quote(User.objects.get(email=f"participant{number:02d}@cspo.example"))

    under_way, ready, renewed, expired = stage(13), stage(14), stage(15), stage(19)
    assert SeuEntry.objects.count() == entries
    assert 0 < under_way.seus_earned < under_way.seus_required
    assert ready.requirement_met
    assert ready.days_left <= 90
    assert Renewal.objects.get().holder.email == "participant15@cspo.example"
    assert renewed.days_left > 700
    assert renewed.seus_earned == 0
    assert expired.days_left < 0
    assert expired.covers_anything
    credited = SeuEntry.objects.filter(source_session__workshop__course__kind="LEAN-COFFEE")
    assert credited.count() >= 5
    assert set(credited.values_list("hours", flat=True)) == {1}
