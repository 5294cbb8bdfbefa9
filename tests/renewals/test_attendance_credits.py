"""Attending one of our own sessions (another course, a Lean Coffee) credits SEUs to a holder of an
active certification: the attended time in quarter hours, within the day's cap, following the mark
the trainer records, once per session, and left alone once a renewal used it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from certification.services import revoke
from participants.models import AttendanceMark
from participants.services import record_mark
from renewals.models import RenewalPolicy, SeuEntry
from renewals.payments import TestProvider
from renewals.queries import quote
from renewals.services import STRANDED_CREDIT_AFTER, credit_attendance, credit_stranded_attendance, renew
from tests.factories import (
    CourseFactory,
    EnrolmentFactory,
    SeuEntryFactory,
    UserFactory,
    WorkshopFactory,
    WorkshopSessionFactory,
    certification_for,
    seu_category,
)
from workshops.models import Course, Enrolment, WorkshopSession

pytestmark = pytest.mark.django_db

ACTIVATED_ON = date(2024, 3, 1)  # the CSPO expires on 1 March 2026
SESSION_DAY = date(2025, 6, 10)
STARTS_AT = datetime(2025, 6, 10, 13, 0, tzinfo=UTC)  # 9:00 in Toronto, the workshops' time zone
MARKED_AT = datetime(2025, 6, 12, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _community_category_and_test_card(settings, monkeypatch):
    settings.CSPO_PAYMENT_PROVIDERS = ["test"]
    monkeypatch.setattr(TestProvider, "charges", [])
    policy = RenewalPolicy.current()
    policy.community_category = seu_category("Events")
    policy.save()


@pytest.fixture
def holder(participant, trainer):
    certification_for(participant, trainer, activated_on=ACTIVATED_ON)
    return participant


def lean_coffee_course() -> Course:
    return CourseFactory(
        kind="LEAN-COFFEE",
        title="Lean Coffee",
        is_community_event=True,
        renewal_level=None,
        minimum_contact_hours=Decimal("1"),
    )


def a_cspo_course() -> Course:
    return CourseFactory(kind="A-CSPO", title="Advanced Certified Scrum Product Owner")


def session_of(course: Course, *, trainer, hours: float, title: str = "") -> WorkshopSession:
    workshop = WorkshopFactory(course=course, lead_trainer=trainer, title=title)
    return WorkshopSessionFactory(workshop=workshop, starts_at=STARTS_AT, ends_at=STARTS_AT + timedelta(hours=hours))


def enrolled(person, session: WorkshopSession) -> Enrolment:
    return EnrolmentFactory(participant=person, workshop=session.workshop)


def mark(capture, enrolment, session, *, by, presence: str = "present", minutes: int = 0) -> None:
    """The trainer records the mark; the credit follows in a task once the mark is committed."""
    with capture(execute=True):
        record_mark(enrolment=enrolment, session=session, by=by, presence=presence, minutes=minutes, now=MARKED_AT)


@pytest.fixture
def lean_coffee(trainer):
    return session_of(lean_coffee_course(), trainer=trainer, hours=1.5, title="Lean Coffee June")


# --- The credit --------------------------------------------------------------------------------


def test_credit_attendance_present_at_a_lean_coffee_credits_its_hours(
    holder, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    enrolment = enrolled(holder, lean_coffee)

    mark(django_capture_on_commit_callbacks, enrolment, lean_coffee, by=trainer)

    entry = SeuEntry.objects.get()
    assert (entry.holder, entry.earned_on, entry.hours) == (holder, SESSION_DAY, Decimal("1.5"))
    assert (entry.source_session, entry.category, entry.renewal) == (lean_coffee, seu_category("Events"), None)
    assert entry.title == "Lean Coffee June, 10 Jun 2025 09:00"
    assert entry.description == "Credited by cspo for attending this event."
    assert entry.is_credited


def test_credit_attendance_counts_towards_the_renewal(holder, trainer, lean_coffee, django_capture_on_commit_callbacks):
    mark(django_capture_on_commit_callbacks, enrolled(holder, lean_coffee), lean_coffee, by=trainer)

    assert quote(holder, today=date(2025, 6, 16)).seus_earned == Decimal("1.5")


def test_credit_attendance_of_another_course_credits_the_attended_hours(
    holder, trainer, django_capture_on_commit_callbacks
):
    session = session_of(a_cspo_course(), trainer=trainer, hours=7, title="A-CSPO Toronto")

    mark(django_capture_on_commit_callbacks, enrolled(holder, session), session, by=trainer)

    entry = SeuEntry.objects.get()
    assert (entry.hours, entry.source_session) == (Decimal("7"), session)
    assert entry.description == "Credited by cspo for attending this course."


@pytest.mark.parametrize(
    ("presence", "minutes", "hours"),
    [
        ("late", 10, "1.75"),
        ("late", 15, "1.75"),
        ("late", 16, "1.5"),
        ("left_early", 45, "1.25"),
        ("late", 119, "0"),
    ],
)
def test_credit_attendance_is_the_attended_time_rounded_down_to_quarter_hours(
    holder, trainer, django_capture_on_commit_callbacks, presence, minutes, hours
):
    session = session_of(a_cspo_course(), trainer=trainer, hours=2)

    mark(
        django_capture_on_commit_callbacks,
        enrolled(holder, session),
        session,
        by=trainer,
        presence=presence,
        minutes=minutes,
    )

    assert list(SeuEntry.objects.values_list("hours", flat=True)) == ([Decimal(hours)] if Decimal(hours) else [])


def test_credit_attendance_absent_credits_nothing(holder, trainer, lean_coffee, django_capture_on_commit_callbacks):
    mark(django_capture_on_commit_callbacks, enrolled(holder, lean_coffee), lean_coffee, by=trainer, presence="absent")

    assert SeuEntry.objects.count() == 0


def test_credit_attendance_follows_a_changed_mark(holder, trainer, django_capture_on_commit_callbacks):
    session = session_of(a_cspo_course(), trainer=trainer, hours=7)
    enrolment = enrolled(holder, session)
    mark(django_capture_on_commit_callbacks, enrolment, session, by=trainer)
    credited = SeuEntry.objects.get()

    mark(django_capture_on_commit_callbacks, enrolment, session, by=trainer, presence="late", minutes=50)

    entry = SeuEntry.objects.get()
    assert (entry.pk, entry.hours) == (credited.pk, Decimal("6"))


def test_credit_attendance_present_then_absent_removes_the_credit(
    holder, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    enrolment = enrolled(holder, lean_coffee)
    mark(django_capture_on_commit_callbacks, enrolment, lean_coffee, by=trainer)
    assert SeuEntry.objects.count() == 1

    mark(django_capture_on_commit_callbacks, enrolment, lean_coffee, by=trainer, presence="absent")

    assert SeuEntry.objects.count() == 0


# --- Who gets a credit -------------------------------------------------------------------------


def test_credit_attendance_without_a_certification_credits_nothing(
    participant, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    mark(django_capture_on_commit_callbacks, enrolled(participant, lean_coffee), lean_coffee, by=trainer)

    assert SeuEntry.objects.count() == 0


def test_credit_attendance_with_a_pending_certification_credits_nothing(
    participant, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    certification_for(participant, trainer)

    mark(django_capture_on_commit_callbacks, enrolled(participant, lean_coffee), lean_coffee, by=trainer)

    assert SeuEntry.objects.count() == 0


def test_credit_attendance_with_a_revoked_certification_credits_nothing(
    participant, trainer, administrator, lean_coffee, django_capture_on_commit_callbacks
):
    certification = certification_for(participant, trainer, activated_on=ACTIVATED_ON)
    revoke(certification=certification, by=administrator, reason="Shared the exam answers")

    mark(django_capture_on_commit_callbacks, enrolled(participant, lean_coffee), lean_coffee, by=trainer)

    assert SeuEntry.objects.count() == 0


def test_credit_attendance_inside_the_grace_period_is_credited(
    participant, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    certification_for(participant, trainer, activated_on=date(2023, 5, 1))  # expired 1 May 2025, 40 days before

    mark(django_capture_on_commit_callbacks, enrolled(participant, lean_coffee), lean_coffee, by=trainer)

    assert SeuEntry.objects.get().hours == Decimal("1.5")


def test_credit_attendance_with_a_certification_expired_long_ago_credits_nothing(
    participant, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    certification_for(participant, trainer, activated_on=date(2020, 1, 6))  # expired 6 January 2022

    mark(django_capture_on_commit_callbacks, enrolled(participant, lean_coffee), lean_coffee, by=trainer)

    assert SeuEntry.objects.count() == 0


def test_credit_attendance_of_the_workshop_that_gave_the_certification_credits_nothing(
    participant, trainer, django_capture_on_commit_callbacks
):
    certification = certification_for(participant, trainer, activated_on=ACTIVATED_ON)
    session = WorkshopSessionFactory(
        workshop=certification.enrolment.workshop, starts_at=STARTS_AT, ends_at=STARTS_AT + timedelta(hours=7)
    )

    mark(django_capture_on_commit_callbacks, certification.enrolment, session, by=trainer)

    assert SeuEntry.objects.count() == 0


def test_credit_attendance_credits_each_holder_their_own_entry(
    holder, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    other = UserFactory(email="sam@example.org")
    certification_for(other, trainer, activated_on=ACTIVATED_ON)

    for person in (holder, other):
        mark(django_capture_on_commit_callbacks, enrolled(person, lean_coffee), lean_coffee, by=trainer)

    assert sorted(SeuEntry.objects.values_list("holder__email", flat=True)) == [holder.email, other.email]


# --- The daily cap, running twice, a renewal ---------------------------------------------------


def test_credit_attendance_is_capped_by_the_room_left_that_day(holder, trainer, django_capture_on_commit_callbacks):
    SeuEntryFactory(holder=holder, earned_on=SESSION_DAY, hours=Decimal("6.5"))
    session = session_of(a_cspo_course(), trainer=trainer, hours=3)

    mark(django_capture_on_commit_callbacks, enrolled(holder, session), session, by=trainer)

    assert SeuEntry.objects.get(source_session=session).hours == Decimal("1.5")


def test_credit_attendance_on_a_full_day_credits_nothing(
    holder, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    SeuEntryFactory(holder=holder, earned_on=SESSION_DAY, hours=Decimal("8"))

    mark(django_capture_on_commit_callbacks, enrolled(holder, lean_coffee), lean_coffee, by=trainer)

    assert SeuEntry.objects.filter(source_session=lean_coffee).count() == 0


def test_credit_attendance_cap_follows_the_policy(holder, trainer, django_capture_on_commit_callbacks):
    policy = RenewalPolicy.current()
    policy.daily_cap = Decimal("4")
    policy.save()
    session = session_of(a_cspo_course(), trainer=trainer, hours=7)

    mark(django_capture_on_commit_callbacks, enrolled(holder, session), session, by=trainer)

    assert SeuEntry.objects.get().hours == Decimal("4")


def test_credit_attendance_run_twice_leaves_one_entry(holder, trainer, lean_coffee, django_capture_on_commit_callbacks):
    enrolment = enrolled(holder, lean_coffee)
    mark(django_capture_on_commit_callbacks, enrolment, lean_coffee, by=trainer)
    first = SeuEntry.objects.get()

    again = credit_attendance(enrolment_id=enrolment.pk, session_id=lean_coffee.pk)

    entry = SeuEntry.objects.get()
    assert (again.pk, entry.pk, entry.hours) == (first.pk, first.pk, Decimal("1.5"))


def test_credit_attendance_keeps_an_entry_a_renewal_used(
    holder, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    enrolment = enrolled(holder, lean_coffee)
    mark(django_capture_on_commit_callbacks, enrolment, lean_coffee, by=trainer)
    for day in (date(2025, 5, 5), date(2025, 5, 6), date(2025, 5, 7)):
        SeuEntryFactory(holder=holder, earned_on=day, hours=Decimal("8"))
    today = date(2025, 6, 16)
    renewal = renew(
        holder=holder,
        by=holder,
        provider_name="test",
        expected_key=quote(holder, today=today).key,
        details={"card_number": TestProvider.ACCEPTED},
        today=today,
    )

    mark(django_capture_on_commit_callbacks, enrolment, lean_coffee, by=trainer, presence="absent")

    entry = SeuEntry.objects.get(source_session=lean_coffee)
    assert (entry.hours, entry.renewal) == (Decimal("1.5"), renewal)


def test_credit_attendance_for_a_session_without_a_mark_does_nothing(holder, lean_coffee):
    enrolment = enrolled(holder, lean_coffee)

    assert credit_attendance(enrolment_id=enrolment.pk, session_id=lean_coffee.pk) is None

    assert SeuEntry.objects.count() == 0


# --- A credit whose task was lost ----------------------------------------------------------------


def test_a_changed_mark_waits_for_its_credit_until_the_task_ran(
    holder, trainer, lean_coffee, django_capture_on_commit_callbacks
):
    enrolment = enrolled(holder, lean_coffee)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        record_mark(enrolment=enrolment, session=lean_coffee, by=trainer, presence="present", now=MARKED_AT)
    pending = AttendanceMark.objects.get().credit_pending
    for publish in queued:
        publish()

    assert pending is True
    assert AttendanceMark.objects.get().credit_pending is False
    assert SeuEntry.objects.get().hours == Decimal("1.5")


def test_the_periodic_job_credits_a_mark_whose_task_was_lost(holder, trainer, lean_coffee):
    enrolment = enrolled(holder, lean_coffee)
    record_mark(enrolment=enrolment, session=lean_coffee, by=trainer, presence="present", now=MARKED_AT)  # no task
    changed_at = AttendanceMark.objects.get().updated_at

    too_soon = credit_stranded_attendance(now=changed_at + STRANDED_CREDIT_AFTER - timedelta(seconds=1))
    credited = credit_stranded_attendance(now=changed_at + STRANDED_CREDIT_AFTER)
    again = credit_stranded_attendance(now=changed_at + STRANDED_CREDIT_AFTER * 10)

    assert (too_soon, credited, again) == (0, 1, 0)  # its own task may still come; then once
    assert SeuEntry.objects.get().hours == Decimal("1.5")
    assert AttendanceMark.objects.get().credit_pending is False


def test_the_periodic_job_leaves_a_mark_without_a_credit_to_make_followed(trainer, lean_coffee):
    newcomer = UserFactory()  # no certification: attending credits nothing, and nothing stays pending
    record_mark(enrolment=enrolled(newcomer, lean_coffee), session=lean_coffee, by=trainer, presence="present",
                now=MARKED_AT)  # fmt: skip
    later = AttendanceMark.objects.get().updated_at + STRANDED_CREDIT_AFTER

    assert (credit_stranded_attendance(now=later), credit_stranded_attendance(now=later)) == (1, 0)
    assert SeuEntry.objects.count() == 0


def test_credit_attendance_of_a_workshop_with_the_longest_title_shortens_the_entrys_title(
    holder, trainer, django_capture_on_commit_callbacks
):
    session = session_of(lean_coffee_course(), trainer=trainer, hours=1, title="Lean Coffee " + "x" * 188)

    mark(django_capture_on_commit_callbacks, enrolled(holder, session), session, by=trainer)

    title = SeuEntry.objects.get().title
    assert len(title) == SeuEntry._meta.get_field("title").max_length
    assert title.startswith("Lean Coffee xxx")
    assert title.endswith("xx, 10 Jun 2025 09:00")
