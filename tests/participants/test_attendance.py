"""Attendance and participation: the marks behind the trainer's sheet, their history, each row's
progress against the course minimum, the trainer's judgement of understanding, and the periodic
job that moves workshops to running and completed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from participants.models import AttendanceMark, MarkChange, UnderstandingConfirmation
from participants.queries import attendance_sheet, mark_history, sheet_row
from participants.services import NOT_MARKED, confirm_understanding, mark_everyone_present, record_mark
from tests.concurrency import wait_until_another_connection_waits_for_a_lock
from tests.factories import (
    EnrolmentFactory,
    UserFactory,
    WorkshopFactory,
    WorkshopSessionFactory,
    workshop_with_daily_sessions,
)
from workshops.models import Enrolment, Workshop
from workshops.services import advance_workshop_statuses, cancel_enrolment, cancel_workshop

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_days(trainer):
    """Two seven-hour sessions, both over: 14 h, the CSPO minimum."""
    return workshop_with_daily_sessions(7, 7, lead_trainer=trainer)


@pytest.fixture
def enrolment(two_days, participant):
    workshop, _ = two_days
    return EnrolmentFactory(workshop=workshop, participant=participant)


# --- Recording a mark -------------------------------------------------------------------------


def test_record_mark_attended_time_is_the_session_length_less_late_and_left_early(trainer, two_days, enrolment):
    _, (monday, tuesday) = two_days

    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="late", minutes=30)
    record_mark(enrolment=enrolment, session=tuesday, by=trainer, presence="left_early", minutes=45)

    progress = sheet_row(enrolment).progress
    assert progress.attended == timedelta(hours=12, minutes=45)
    assert progress.attended_minutes == 765


def test_attendance_mark_attended_subtracts_both_late_and_left_early_minutes(two_days, enrolment):
    _, (monday, _) = two_days
    mark = AttendanceMark(enrolment=enrolment, session=monday, presence="late", late_minutes=20, left_early_minutes=40)

    assert mark.attended(monday.duration) == timedelta(hours=6)


@pytest.mark.parametrize("presence", ["late", "left_early"])
@pytest.mark.parametrize("minutes", [421, 0, -5])
def test_record_mark_refuses_minutes_outside_the_session_and_saves_nothing(
    trainer, two_days, enrolment, presence, minutes
):
    _, (monday, _) = two_days

    with pytest.raises(ValidationError) as refusal:
        record_mark(enrolment=enrolment, session=monday, by=trainer, presence=presence, minutes=minutes)

    which = "late" if presence == "late" else "left early"
    assert refusal.value.messages == [f"Give the minutes {which}: a whole number from 1 to 420, the session's length."]
    assert AttendanceMark.objects.count() == 0
    assert MarkChange.objects.count() == 0


def test_record_mark_refusal_leaves_the_existing_mark_and_history_as_they_were(trainer, two_days, enrolment):
    _, (monday, _) = two_days
    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="late", minutes=30)

    with pytest.raises(ValidationError):
        record_mark(enrolment=enrolment, session=monday, by=trainer, presence="late", minutes=999)

    mark = AttendanceMark.objects.get()
    assert (mark.presence, mark.late_minutes) == ("late", 30)
    assert MarkChange.objects.count() == 1


def test_record_mark_refuses_participation_when_absent(trainer, two_days, enrolment):
    _, (monday, _) = two_days

    with pytest.raises(ValidationError) as refusal:
        record_mark(enrolment=enrolment, session=monday, by=trainer, presence="absent", participated=True)

    assert refusal.value.messages == ["Someone absent cannot have participated; mark them present first."]
    assert AttendanceMark.objects.count() == 0
    assert MarkChange.objects.count() == 0


def test_record_mark_refuses_a_session_that_has_not_started(trainer, participant):
    workshop, (future,) = workshop_with_daily_sessions(
        7, days_from_now=2, status=Workshop.Status.PUBLISHED, lead_trainer=trainer
    )
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)

    with pytest.raises(ValidationError) as refusal:
        record_mark(enrolment=enrolment, session=future, by=trainer, presence="present")

    assert refusal.value.messages == ["This session has not started yet; marks can be entered once it starts."]
    assert AttendanceMark.objects.count() == 0


def test_record_mark_accepts_a_session_once_it_has_started(trainer, participant):
    workshop, (session,) = workshop_with_daily_sessions(
        7, days_from_now=2, status=Workshop.Status.PUBLISHED, lead_trainer=trainer
    )
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)

    mark = record_mark(
        enrolment=enrolment, session=session, by=trainer, presence="present", now=session.starts_at + timedelta(hours=1)
    )

    assert mark.presence == "present"


@pytest.mark.parametrize("status", [Enrolment.Status.WAITLISTED, Enrolment.Status.CANCELLED])
def test_record_mark_refuses_someone_not_enrolled(trainer, two_days, status):
    workshop, (monday, _) = two_days
    waiting = EnrolmentFactory(workshop=workshop, status=status, waitlisted_at=timezone.now())

    with pytest.raises(ValidationError) as refusal:
        record_mark(enrolment=waiting, session=monday, by=trainer, presence="present")

    assert refusal.value.messages == ["Only enrolled participants of this workshop can be marked."]


def test_record_mark_refuses_a_cancelled_workshop(trainer, participant):
    workshop, (monday,) = workshop_with_daily_sessions(7, status=Workshop.Status.CANCELLED, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)

    with pytest.raises(ValidationError) as refusal:
        record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present")

    assert refusal.value.messages == ["This workshop is cancelled; there is nothing to mark."]


# --- History ----------------------------------------------------------------------------------


def test_record_mark_records_who_changed_what_from_what(trainer, two_days, enrolment):
    _, (monday, _) = two_days

    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present", note="Quiet")
    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="late", minutes=15, participated=True)

    first, second = MarkChange.objects.order_by("pk")
    assert first.changed_by == trainer
    assert first.before is None
    assert first.after == {
        "presence": "present",
        "late_minutes": 0,
        "left_early_minutes": 0,
        "participated": False,
        "note": "Quiet",
    }
    assert second.before == first.after
    assert second.after == {
        "presence": "late",
        "late_minutes": 15,
        "left_early_minutes": 0,
        "participated": True,
        "note": "",
    }


def test_record_mark_with_the_same_values_again_records_nothing(trainer, two_days, enrolment):
    _, (monday, _) = two_days
    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="late", minutes=10, note="Bus")

    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="late", minutes=10, note=" Bus ")

    assert MarkChange.objects.count() == 1


def test_record_mark_by_two_trainers_on_different_cells_of_one_row_both_persist(
    trainer, other_trainer, two_days, enrolment
):
    workshop, (monday, tuesday) = two_days
    workshop.co_trainers.add(other_trainer)

    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present")
    record_mark(enrolment=enrolment, session=tuesday, by=other_trainer, presence="late", minutes=20)

    marks = AttendanceMark.objects.order_by("session__starts_at")
    assert [(m.presence, m.late_minutes, m.updated_by) for m in marks] == [
        ("present", 0, trainer),
        ("late", 20, other_trainer),
    ]


def test_record_mark_on_one_cell_by_two_trainers_keeps_the_later_and_both_in_the_history(
    trainer, other_trainer, two_days, enrolment
):
    workshop, (monday, _) = two_days
    workshop.co_trainers.add(other_trainer)

    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present")
    record_mark(enrolment=enrolment, session=monday, by=other_trainer, presence="absent")

    mark = AttendanceMark.objects.get()
    assert (mark.presence, mark.updated_by) == ("absent", other_trainer)
    assert [(c.changed_by, c.after["presence"]) for c in mark_history(enrolment)] == [
        (other_trainer, "absent"),
        (trainer, "present"),
    ]


def test_record_mark_after_completion_without_a_reason_is_refused(trainer, participant):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, status=Workshop.Status.COMPLETED, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)

    with pytest.raises(ValidationError) as refusal:
        record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present", reason="  ")

    assert refusal.value.messages == ["The workshop is completed: give a reason for this change."]
    assert AttendanceMark.objects.count() == 0
    assert MarkChange.objects.count() == 0


def test_record_mark_after_completion_records_the_reason(trainer, participant):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, status=Workshop.Status.COMPLETED, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)

    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present", reason=" Sign-in sheet found ")

    assert MarkChange.objects.get().reason == "Sign-in sheet found"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            {"reason": "Sign-in sheet found. " * 15},
            "The reason for the change is too long: 314 characters, at most 300.",
        ),
        ({"note": "Left for a call. " * 12}, "The note is too long: 203 characters, at most 200."),
        ({"reason": "Sign-in\x00sheet"}, "The reason for the change contains a character that cannot be stored (NUL)"),
    ],
)
def test_record_mark_refuses_text_that_cannot_be_kept_and_saves_nothing(trainer, participant, typed, message):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, status=Workshop.Status.COMPLETED, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)

    with pytest.raises(ValidationError) as refusal:
        record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present", **{"reason": "Found", **typed})

    assert refusal.value.messages[0].startswith(message)
    assert (AttendanceMark.objects.count(), MarkChange.objects.count()) == (0, 0)


def test_marking_everyone_present_with_a_reason_too_long_says_so_and_marks_nobody(login, trainer):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, status=Workshop.Status.COMPLETED, lead_trainer=trainer)
    EnrolmentFactory.create_batch(2, workshop=workshop)

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/sheet/sessions/{monday.pk}/present/", {"reason": "x" * 301}, follow=True
    )

    assert "The reason for the change is too long: 301 characters, at most 300." in response.content.decode()
    assert AttendanceMark.objects.count() == 0


# --- Everyone present -------------------------------------------------------------------------


def test_mark_everyone_present_marks_only_the_unmarked_enrolled_participants(trainer, two_days, enrolment):
    workshop, (monday, _) = two_days
    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="late", minutes=30)
    unmarked = EnrolmentFactory.create_batch(2, workshop=workshop)
    EnrolmentFactory(workshop=workshop, status=Enrolment.Status.WAITLISTED, waitlisted_at=timezone.now())
    EnrolmentFactory(workshop=workshop, status=Enrolment.Status.CANCELLED)

    count = mark_everyone_present(session=monday, by=trainer)

    assert count == 2
    marks = {m.enrolment_id: (m.presence, m.late_minutes) for m in AttendanceMark.objects.filter(session=monday)}
    assert marks == {
        enrolment.pk: ("late", 30),
        unmarked[0].pk: ("present", 0),
        unmarked[1].pk: ("present", 0),
    }
    assert MarkChange.objects.count() == 3


def test_mark_everyone_present_a_second_time_marks_nobody(trainer, two_days, enrolment):
    _, (monday, _) = two_days
    mark_everyone_present(session=monday, by=trainer)

    assert mark_everyone_present(session=monday, by=trainer) == 0
    assert MarkChange.objects.count() == 1


def test_mark_everyone_present_refuses_a_session_that_has_not_started(trainer, participant):
    workshop, (future,) = workshop_with_daily_sessions(
        7, days_from_now=2, status=Workshop.Status.PUBLISHED, lead_trainer=trainer
    )
    EnrolmentFactory(workshop=workshop, participant=participant)

    with pytest.raises(ValidationError):
        mark_everyone_present(session=future, by=trainer)

    assert AttendanceMark.objects.count() == 0


# --- Progress against the minimum -------------------------------------------------------------


def test_progress_is_complete_with_the_minimum_attended(trainer, two_days, enrolment):
    _, sessions = two_days
    for session in sessions:
        record_mark(enrolment=enrolment, session=session, by=trainer, presence="present")

    progress = sheet_row(enrolment).progress

    assert (progress.attended, progress.status, progress.status_label) == (timedelta(hours=14), "complete", "Complete")


def test_progress_is_at_risk_when_the_sessions_left_cannot_reach_the_minimum(trainer, two_days, enrolment):
    _, (monday, _) = two_days
    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="absent")

    progress = sheet_row(enrolment).progress

    assert (progress.attended, progress.possible, progress.status) == (timedelta(), timedelta(hours=7), "at_risk")


def test_progress_is_at_risk_when_late_minutes_leave_it_short(trainer, two_days, enrolment):
    _, (monday, tuesday) = two_days
    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present")
    record_mark(enrolment=enrolment, session=tuesday, by=trainer, presence="late", minutes=1)

    assert sheet_row(enrolment).progress.status == "at_risk"


def test_progress_is_on_track_while_the_unmarked_sessions_can_still_reach_the_minimum(trainer, participant):
    workshop, (monday, tuesday, _) = workshop_with_daily_sessions(7, 7, 7, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)
    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="absent")
    record_mark(enrolment=enrolment, session=tuesday, by=trainer, presence="present")

    progress = sheet_row(enrolment).progress

    assert (progress.attended, progress.possible, progress.status) == (
        timedelta(hours=7),
        timedelta(hours=14),
        "on_track",
    )


def test_progress_counts_the_sessions_participated_in(trainer, participant):
    workshop, sessions = workshop_with_daily_sessions(7, 7, 7, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)
    record_mark(enrolment=enrolment, session=sessions[0], by=trainer, presence="present", participated=True)
    record_mark(enrolment=enrolment, session=sessions[1], by=trainer, presence="late", minutes=5)
    record_mark(enrolment=enrolment, session=sessions[2], by=trainer, presence="absent")

    progress = sheet_row(enrolment).progress

    assert (progress.sessions_participated, progress.sessions_attended) == (1, 2)


def test_attendance_sheet_gives_each_enrolled_participant_a_row_with_progress(trainer, two_days):
    workshop, sessions = two_days
    ann = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Ann"))
    bob = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Bob"))
    EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Cy"), status=Enrolment.Status.CANCELLED)
    for session in sessions:
        record_mark(enrolment=ann, session=session, by=trainer, presence="present")
    record_mark(enrolment=bob, session=sessions[0], by=trainer, presence="absent")

    sheet = attendance_sheet(workshop)

    assert [(r.enrolment.participant.full_name, r.progress.status) for r in sheet["rows"]] == [
        ("Ann", "complete"),
        ("Bob", "at_risk"),
    ]
    assert sheet["needs_reason"] is False


# --- Understanding of the role ----------------------------------------------------------------


def test_confirm_understanding_not_demonstrated_needs_a_reason(trainer, enrolment):
    with pytest.raises(ValidationError) as refusal:
        confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=False, reason=" ")

    assert refusal.value.messages == ["Say why the participant did not demonstrate understanding."]
    assert UnderstandingConfirmation.objects.count() == 0


def test_confirm_understanding_not_demonstrated_records_the_reason(trainer, enrolment):
    confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=False, reason="Could not order a backlog")

    confirmation = UnderstandingConfirmation.objects.get()
    assert (confirmation.demonstrated, confirmation.reason, confirmation.confirmed_by) == (
        False,
        "Could not order a backlog",
        trainer,
    )


def test_confirm_understanding_changed_to_demonstrated_drops_the_reason(trainer, other_trainer, enrolment):
    confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=False, reason="Absent for the exercise")

    confirm_understanding(enrolment=enrolment, by=other_trainer, demonstrated=True, reason="Absent for the exercise")

    confirmation = UnderstandingConfirmation.objects.get()
    assert (confirmation.demonstrated, confirmation.reason, confirmation.confirmed_by) == (True, "", other_trainer)


def test_confirm_understanding_is_refused_before_the_workshop_starts(trainer, participant):
    workshop, _ = workshop_with_daily_sessions(
        7, 7, days_from_now=3, status=Workshop.Status.PUBLISHED, lead_trainer=trainer
    )
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)

    with pytest.raises(ValidationError) as refusal:
        confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=True)

    assert refusal.value.messages == ["Understanding is confirmed once the workshop has started."]
    assert UnderstandingConfirmation.objects.count() == 0


# --- Workshops move to running and completed --------------------------------------------------


def test_advance_workshop_statuses_starts_a_published_workshop_when_its_first_session_starts():
    workshop, (first, _) = workshop_with_daily_sessions(7, 7, days_from_now=1, status=Workshop.Status.PUBLISHED)

    before = advance_workshop_statuses(now=first.starts_at - timedelta(seconds=1))
    workshop.refresh_from_db()
    status_before = workshop.status
    at_start = advance_workshop_statuses(now=first.starts_at)
    workshop.refresh_from_db()

    assert (before, status_before) == (0, Workshop.Status.PUBLISHED)
    assert (at_start, workshop.status) == (1, Workshop.Status.RUNNING)


def test_advance_workshop_statuses_completes_a_running_workshop_a_day_after_its_last_session_ends():
    workshop, (_, last) = workshop_with_daily_sessions(7, 7, days_from_now=-1, status=Workshop.Status.RUNNING)

    # The trainer has a day after the last session to finish the sheet before changes need a reason.
    before = advance_workshop_statuses(now=last.ends_at + timedelta(hours=24) - timedelta(seconds=1))
    workshop.refresh_from_db()
    status_before = workshop.status
    after_a_day = advance_workshop_statuses(now=last.ends_at + timedelta(hours=24))
    workshop.refresh_from_db()

    assert (before, status_before) == (0, Workshop.Status.RUNNING)
    assert (after_a_day, workshop.status) == (1, Workshop.Status.COMPLETED)


def test_advance_workshop_statuses_keeps_a_workshop_running_during_its_last_session():
    workshop, (_, last) = workshop_with_daily_sessions(7, 7, days_from_now=-1, status=Workshop.Status.RUNNING)

    changed = advance_workshop_statuses(now=last.starts_at + timedelta(hours=1))
    workshop.refresh_from_db()

    assert (changed, workshop.status) == (0, Workshop.Status.RUNNING)


@pytest.mark.parametrize("status", [Workshop.Status.DRAFT, Workshop.Status.CANCELLED, Workshop.Status.COMPLETED])
def test_advance_workshop_statuses_leaves_drafts_cancelled_and_completed_workshops_alone(status):
    workshop, (_, last) = workshop_with_daily_sessions(7, 7, days_from_now=-5, status=status)

    changed = advance_workshop_statuses(now=last.ends_at + timedelta(days=1))
    workshop.refresh_from_db()

    assert (changed, workshop.status) == (0, status)


def test_advance_workshop_statuses_leaves_a_published_workshop_without_sessions_alone():
    workshop = WorkshopFactory(status=Workshop.Status.PUBLISHED)

    changed = advance_workshop_statuses()
    workshop.refresh_from_db()

    assert (changed, workshop.status) == (0, Workshop.Status.PUBLISHED)


# --- Two trainers at the same moment ----------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks of PostgreSQL")
def test_record_mark_by_two_trainers_at_once_on_an_empty_cell_keeps_the_later_and_both_in_the_history(
    transactional_db, trainer, other_trainer, participant
):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, lead_trainer=trainer)
    workshop.co_trainers.add(other_trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)
    problems = []

    def second_trainer_saves() -> None:
        try:
            record_mark(enrolment=enrolment, session=monday, by=other_trainer, presence="late", minutes=10)
        except Exception as problem:  # noqa: BLE001 - the test reports what the other thread met
            problems.append(problem)
        finally:
            connection.close()

    second = threading.Thread(target=second_trainer_saves)
    with transaction.atomic():
        record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present")
        second.start()
        wait_until_another_connection_waits_for_a_lock()
    second.join(timeout=10)

    assert problems == []
    mark = AttendanceMark.objects.get()
    assert (mark.presence, mark.late_minutes, mark.updated_by) == ("late", 10, other_trainer)
    assert [c.changed_by for c in mark_history(enrolment)] == [other_trainer, trainer]


def test_confirm_understanding_changes_are_in_the_participants_history(trainer, other_trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.RUNNING)
    WorkshopSessionFactory(workshop=workshop, starts_at=timezone.now() - timedelta(days=1))
    enrolment = EnrolmentFactory(workshop=workshop)

    confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=False, reason="Quiet all day")
    confirm_understanding(enrolment=enrolment, by=other_trainer, demonstrated=True)
    confirm_understanding(enrolment=enrolment, by=other_trainer, demonstrated=True)  # no change

    history = [(c.changed_by, c.before, c.after) for c in mark_history(enrolment)]
    assert history == [
        (other_trainer, {"demonstrated": False, "reason": "Quiet all day"}, {"demonstrated": True, "reason": ""}),
        (trainer, None, {"demonstrated": False, "reason": "Quiet all day"}),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks of PostgreSQL")
def test_two_trainers_marking_different_participants_at_once_do_not_wait_for_each_other(
    transactional_db, trainer, other_trainer
):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, lead_trainer=trainer)
    workshop.co_trainers.add(other_trainer)
    ada, ben = EnrolmentFactory.create_batch(2, workshop=workshop)
    saved = threading.Event()

    def second_trainer_saves() -> None:
        try:
            record_mark(enrolment=ben, session=monday, by=other_trainer, presence="present")
            saved.set()
        finally:
            connection.close()

    second = threading.Thread(target=second_trainer_saves)
    with transaction.atomic():  # the first trainer's save, not yet committed
        record_mark(enrolment=ada, session=monday, by=trainer, presence="present")
        second.start()
        saved_meanwhile = saved.wait(timeout=5)
    second.join(timeout=10)

    assert saved_meanwhile
    assert AttendanceMark.objects.count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks of PostgreSQL")
def test_a_workshop_cancelled_as_the_status_job_runs_stays_cancelled(transactional_db, trainer):
    workshop, _ = workshop_with_daily_sessions(7, 7, days_from_now=-1, status=Workshop.Status.PUBLISHED)
    changed = []

    def the_job_runs() -> None:
        try:
            changed.append(advance_workshop_statuses())
        finally:
            connection.close()

    job = threading.Thread(target=the_job_runs)
    with transaction.atomic():  # the cancellation, not yet committed
        cancel_workshop(workshop=workshop, by=trainer)
        job.start()
        wait_until_another_connection_waits_for_a_lock()
    job.join(timeout=10)
    workshop.refresh_from_db()

    assert (changed, workshop.status) == ([0], Workshop.Status.CANCELLED)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks of PostgreSQL")
def test_a_mark_saved_as_an_administrator_cancels_that_enrolment_waits_then_is_refused(
    transactional_db, trainer, administrator, participant
):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)
    refused = []

    def trainer_marks() -> None:
        try:
            record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present")
        except ValidationError as problem:
            refused.extend(problem.messages)
        finally:
            connection.close()

    marking = threading.Thread(target=trainer_marks)
    with transaction.atomic():  # the administrator's change holds the workshop first, as each enrolment change does
        Workshop.objects.select_for_update().get(pk=workshop.pk)
        marking.start()
        wait_until_another_connection_waits_for_a_lock()
        cancel_enrolment(enrolment=Enrolment.objects.get(pk=enrolment.pk), by=administrator)
    marking.join(timeout=10)

    assert refused == [NOT_MARKED]
    assert not AttendanceMark.objects.exists()
