"""The trainer schedules a workshop in the browser: details, sessions (htmx or plain forms), publish."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import ProtectedError
from django.utils import timezone

from participants.models import AttendanceMark
from participants.services import record_mark
from tests.factories import (
    CourseFactory,
    EnrolmentFactory,
    WorkshopFactory,
    WorkshopSessionFactory,
    workshop_with_daily_sessions,
)
from workshops.models import PreworkDelivery, PreworkItem, Workshop, WorkshopSession
from workshops.services import schedule_session, update_workshop

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _next_week() -> str:
    return (timezone.localdate() + timedelta(days=10)).isoformat()


def _day_after(day: str, days: int = 1) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


@pytest.fixture
def draft(trainer):
    return WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, title="CSPO in Toronto")


def test_trainer_creates_a_draft_workshop(login, trainer, other_trainer):
    course = CourseFactory()

    response = login(trainer).post(
        "/trainer/workshops/new/",
        {
            "course": course.pk,
            "title": "CSPO Ottawa",
            "format": "in_person",
            "venue_address": "1 Rideau St, Ottawa",
            "time_zone": "America/Toronto",
            "capacity": 16,
            "price": "1295.00",
            "currency": "CAD",
            "prework_days_before": 7,
            "offer_hours": 48,
            "co_trainers": [other_trainer.pk],
        },
    )

    workshop = Workshop.objects.get(title="CSPO Ottawa")
    assert response.status_code == 302
    assert response["Location"] == f"/trainer/workshops/{workshop.pk}/edit/"
    assert (workshop.status, workshop.lead_trainer, list(workshop.co_trainers.all())) == (
        Workshop.Status.DRAFT,
        trainer,
        [other_trainer],
    )


def test_pre_work_days_and_offer_hours_beyond_a_year_and_a_month_are_refused(login, trainer):
    details = {"course": CourseFactory().pk, "title": "CSPO Ottawa", "format": "in_person", "venue_address": "Ottawa",
               "time_zone": "America/Toronto", "capacity": 16, "price": "0", "currency": "CAD"}  # fmt: skip

    response = login(trainer).post(
        "/trainer/workshops/new/", {**details, "prework_days_before": 10**10, "offer_hours": 721}
    )

    errors = response.context["form"].errors
    assert errors["prework_days_before"] == ["Ensure this value is less than or equal to 365."]
    assert errors["offer_hours"] == ["Ensure this value is less than or equal to 720."]
    assert Workshop.objects.count() == 0


def test_bad_workshop_details_show_messages_and_save_nothing(login, trainer):
    response = login(trainer).post("/trainer/workshops/new/", {"title": "No course", "capacity": 0})

    assert response.status_code == 200
    assert response.context["form"].errors["course"] == ["This field is required."]
    assert "capacity" in response.context["form"].errors
    assert Workshop.objects.count() == 0


def test_adding_a_session_with_htmx_returns_the_sessions_region_with_the_running_total(login, trainer, draft):
    client = login(trainer)

    response = client.post(
        f"/trainer/workshops/{draft.pk}/sessions/", {"day": _next_week(), "starts": "09:00", "ends": "17:00"}, **HTMX
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="sessions"')
    assert "<strong>8 h</strong>" in page
    assert "6 h missing." in page
    session = draft.sessions.get()
    assert session.local_starts_at.strftime("%H:%M") == "09:00"
    assert session.duration == timedelta(hours=8)


def test_adding_a_session_without_javascript_redirects_back_to_the_edit_page(login, trainer, draft):
    response = login(trainer).post(
        f"/trainer/workshops/{draft.pk}/sessions/", {"day": _next_week(), "starts": "09:00", "ends": "12:30"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/trainer/workshops/{draft.pk}/edit/"
    assert draft.sessions.get().duration == timedelta(hours=3, minutes=30)


def test_an_overlapping_session_is_refused_with_a_message_in_the_region(login, trainer, draft):
    client = login(trainer)
    day = _next_week()
    client.post(f"/trainer/workshops/{draft.pk}/sessions/", {"day": day, "starts": "09:00", "ends": "17:00"})

    response = client.post(
        f"/trainer/workshops/{draft.pk}/sessions/", {"day": day, "starts": "16:00", "ends": "18:00"}, **HTMX
    )

    assert response.status_code == 200
    assert "This session overlaps another session of the same workshop." in response.content.decode()
    assert draft.sessions.count() == 1


def test_a_refused_move_keeps_what_was_typed_in_the_session_s_own_row(login, trainer, draft):
    client = login(trainer)
    day = _next_week()
    next_day = _day_after(day)
    for on in (day, next_day):
        client.post(f"/trainer/workshops/{draft.pk}/sessions/", {"day": on, "starts": "09:00", "ends": "17:00"})
    second = draft.sessions.order_by("starts_at").last()

    response = client.post(
        f"/trainer/workshops/{draft.pk}/sessions/{second.pk}/", {"day": day, "starts": "16:00", "ends": "18:00"}, **HTMX
    )

    page = response.content.decode()
    assert "This session overlaps another session of the same workshop." in page
    refused = f'aria-invalid="true" aria-describedby="s{second.pk}-errors"'
    assert f'id="s{second.pk}-day" {refused} autofocus name="day" value="{day}"' in page  # htmx focuses it
    assert f'id="s{second.pk}-starts" {refused} name="starts" value="16:00"' in page
    assert f'id="s{second.pk}-errors" tabindex="-1">' in page
    assert 'id="new-day" name="day" value=""' in page  # the new session's form is left empty
    assert draft.sessions.order_by("starts_at").last().local_starts_at.strftime("%Y-%m-%d %H:%M") == f"{next_day} 09:00"


def test_without_javascript_a_refused_session_answers_the_page_with_what_was_typed(login, trainer, draft):
    client = login(trainer)
    day = _next_week()
    client.post(f"/trainer/workshops/{draft.pk}/sessions/", {"day": day, "starts": "09:00", "ends": "17:00"})

    response = client.post(f"/trainer/workshops/{draft.pk}/sessions/", {"day": day, "starts": "16:00", "ends": "18:30"})

    page = response.content.decode()
    assert response.status_code == 400
    assert page.lstrip().startswith("<!doctype html>")
    assert "This session overlaps another session of the same workshop." in page
    refused = 'aria-invalid="true" aria-describedby="new-errors"'
    assert f'id="new-day" {refused} autofocus name="day" value="{day}"' in page
    assert f'id="new-ends" {refused} name="ends" value="18:30"' in page
    assert 'role="alert" id="new-errors"' in page
    assert draft.sessions.count() == 1


def test_a_session_ending_before_it_starts_is_refused(login, trainer, draft):
    response = login(trainer).post(
        f"/trainer/workshops/{draft.pk}/sessions/", {"day": _next_week(), "starts": "17:00", "ends": "09:00"}, **HTMX
    )

    assert "A session must end after it starts." in response.content.decode()
    assert draft.sessions.count() == 0


@pytest.mark.parametrize(
    ("day", "starts", "zone"),
    [("9999-12-31", "20:00", "America/Toronto"), ("0001-01-01", "00:00", "Asia/Tokyo"), ("2101-01-03", "09:00", "UTC")],
)
def test_a_session_on_a_day_beyond_the_calendar_is_refused(login, trainer, draft, day, starts, zone):
    draft.time_zone = zone
    draft.save()

    response = login(trainer).post(
        f"/trainer/workshops/{draft.pk}/sessions/", {"day": day, "starts": starts, "ends": "21:00"}, **HTMX
    )

    assert response.status_code == 200
    assert "Choose a day from 1 January 2000 to 31 December 2100." in response.content.decode()
    assert draft.sessions.count() == 0


def test_the_session_day_offers_only_days_of_the_calendar(login, trainer, draft):
    page = login(trainer).get(f"/trainer/workshops/{draft.pk}/edit/").content.decode()

    assert 'min="2000-01-01" max="2100-12-31"' in page


def test_moving_and_removing_a_session(login, trainer, draft):
    client = login(trainer)
    day = _next_week()
    client.post(f"/trainer/workshops/{draft.pk}/sessions/", {"day": day, "starts": "09:00", "ends": "17:00"})
    session = draft.sessions.get()

    client.post(
        f"/trainer/workshops/{draft.pk}/sessions/{session.pk}/",
        {"day": day, "starts": "10:00", "ends": "17:00"},
        **HTMX,
    )
    session.refresh_from_db()
    assert session.local_starts_at.strftime("%H:%M") == "10:00"

    client.post(f"/trainer/workshops/{draft.pk}/sessions/{session.pk}/delete/", **HTMX)
    assert draft.sessions.count() == 0


def test_a_session_with_attendance_marked_is_not_removed(login, trainer):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, lead_trainer=trainer)
    record_mark(enrolment=EnrolmentFactory(workshop=workshop), session=monday, by=trainer, presence="present")

    response = login(trainer).post(f"/trainer/workshops/{workshop.pk}/sessions/{monday.pk}/delete/", **HTMX)

    page = response.content.decode()
    assert "Attendance is marked for this session, so it cannot be removed" in page
    assert f'id="s{monday.pk}-errors" tabindex="-1" autofocus>' in page  # nothing to correct: the message has focus
    assert workshop.sessions.count() == 2
    assert AttendanceMark.objects.filter(session=monday).count() == 1


def test_removing_a_session_a_published_workshop_needs_is_refused_in_the_page(login, trainer):
    workshop, (_, tuesday) = workshop_with_daily_sessions(7, 7, days_from_now=7, status=Workshop.Status.PUBLISHED)
    workshop.co_trainers.add(trainer)

    response = login(trainer).post(f"/trainer/workshops/{workshop.pk}/sessions/{tuesday.pk}/delete/", **HTMX)

    page = html.unescape(response.content.decode())
    assert "The sessions add up to 7 h, but a CSPO workshop needs at least 14 h: 7 h missing." in page
    assert "Move it instead, or add the session that replaces it first, then remove this one." in page
    assert workshop.sessions.count() == 2


def test_publishing_is_refused_with_the_hours_missing(login, trainer, draft):
    client = login(trainer)
    client.post(f"/trainer/workshops/{draft.pk}/sessions/", {"day": _next_week(), "starts": "09:00", "ends": "17:00"})

    response = client.post(f"/trainer/workshops/{draft.pk}/publish/", follow=True)

    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        "The sessions add up to 8 h, but a CSPO workshop needs at least 14 h: 6 h missing.",
    ]
    draft.refresh_from_db()
    assert draft.status == Workshop.Status.DRAFT


def test_a_two_day_workshop_is_published(login, trainer, draft):
    client = login(trainer)
    day = _next_week()
    for each in (day, _day_after(day)):
        client.post(f"/trainer/workshops/{draft.pk}/sessions/", {"day": each, "starts": "09:00", "ends": "16:00"})

    response = client.post(f"/trainer/workshops/{draft.pk}/publish/")

    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.status == Workshop.Status.PUBLISHED


def test_cancelling_a_published_workshop_tells_everyone(login, trainer, django_capture_on_commit_callbacks):
    workshop = WorkshopFactory(lead_trainer=trainer, capacity=1)
    WorkshopSessionFactory(workshop=workshop)
    EnrolmentFactory(workshop=workshop)
    EnrolmentFactory(workshop=workshop, status="waitlisted", waitlisted_at=timezone.now())
    client = login(trainer)
    assert (
        "<strong>2</strong> enrolled and waiting people"
        in client.get(f"/trainer/workshops/{workshop.pk}/cancel/").content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/trainer/workshops/{workshop.pk}/cancel/")

    workshop.refresh_from_db()
    assert workshop.status == Workshop.Status.CANCELLED
    assert sorted(m.subject for m in mail.outbox) == [f"Cancelled: {workshop}"] * 2


def test_trainer_adds_a_prework_link_and_sees_it(login, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer)
    client = login(trainer)

    client.post(
        f"/trainer/workshops/{workshop.pk}/prework/", {"title": "The Scrum Guide", "url": "https://scrumguides.org"}
    )
    response = client.get(f"/trainer/workshops/{workshop.pk}/")

    assert [(i.title, i.url) for i in workshop.prework_items.all()] == [("The Scrum Guide", "https://scrumguides.org")]
    assert "The Scrum Guide" in response.content.decode()


def test_trainer_adding_prework_after_it_went_out_is_told_who_is_sent_it(
    login, trainer, django_capture_on_commit_callbacks
):
    workshop = WorkshopFactory(lead_trainer=trainer, title="CSPO Toronto")
    had_it, _not_sent_yet = EnrolmentFactory.create_batch(2, workshop=workshop)
    PreworkDelivery.objects.create(enrolment=had_it)
    client = login(trainer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/trainer/workshops/{workshop.pk}/prework/",
            {"title": "The Scrum Guide", "url": "https://scrumguides.org"},
            follow=True,
        )

    assert "Pre-work “The Scrum Guide” added and sent to the 1 participant who had the pre-work already." in (
        response.content.decode()
    )
    assert [m.to for m in mail.outbox] == [[had_it.participant.email]]


@pytest.mark.parametrize("status", [Workshop.Status.COMPLETED, Workshop.Status.CANCELLED])
def test_prework_of_a_completed_or_cancelled_workshop_is_final(login, trainer, status):
    workshop = WorkshopFactory(lead_trainer=trainer, status=status)
    EnrolmentFactory(workshop=workshop)
    client = login(trainer)

    response = client.post(
        f"/trainer/workshops/{workshop.pk}/prework/", {"title": "The Scrum Guide", "url": "https://scrumguides.org"}
    )

    assert response.status_code == 400
    assert f"This workshop is {status.label.lower()}; its pre-work is final." in response.content.decode()
    assert not PreworkItem.objects.exists()
    assert mail.outbox == []


def test_prework_needs_a_file_or_a_link(login, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer)

    response = login(trainer).post(f"/trainer/workshops/{workshop.pk}/prework/", {"title": "The Scrum Guide"})

    page = response.content.decode()
    assert response.status_code == 400
    assert "<p>The pre-work was not added:</p><p>Give either a file or a link (one of the two).</p>" in page
    assert 'name="title" value="The Scrum Guide"' in page  # what was typed stays
    assert PreworkItem.objects.count() == 0


def test_a_prework_file_over_25_mb_is_refused_with_the_way_round(login, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer)
    video = SimpleUploadedFile("welcome.mp4", b"\0" * (25 * 1024 * 1024 + 1), content_type="video/mp4")

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/prework/", {"title": "Welcome video", "file": video}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "The file is larger than 25 MB, the most a pre-work file can be: link to it instead." in page
    assert "Give a link or a file (at most 25 MB), not both." in page
    assert 'name="title" value="Welcome video"' in page
    assert PreworkItem.objects.count() == 0


TRAINER_URLS = [
    ("get", "/trainer/workshops/{w}/"),
    ("get", "/trainer/workshops/{w}/edit/"),
    ("post", "/trainer/workshops/{w}/edit/"),
    ("post", "/trainer/workshops/{w}/sessions/"),
    ("post", "/trainer/workshops/{w}/sessions/{s}/"),
    ("post", "/trainer/workshops/{w}/sessions/{s}/delete/"),
    ("post", "/trainer/workshops/{w}/publish/"),
    ("get", "/trainer/workshops/{w}/cancel/"),
    ("post", "/trainer/workshops/{w}/cancel/"),
    ("post", "/trainer/workshops/{w}/prework/"),
    ("post", "/trainer/workshops/{w}/prework/{p}/delete/"),
]


@pytest.mark.parametrize(("method", "url"), TRAINER_URLS)
def test_another_trainer_and_a_participant_are_refused(login, client, other_trainer, participant, method, url):
    workshop = WorkshopFactory(status=Workshop.Status.DRAFT)
    session = WorkshopSessionFactory(workshop=workshop)
    item = PreworkItem.objects.create(workshop=workshop, title="Guide", url="https://example.org")
    target = url.format(w=workshop.pk, s=session.pk, p=item.pk)
    data = {"day": _next_week(), "starts": "09:00", "ends": "17:00", "title": "x", "url": "https://x.org"}

    as_trainer = getattr(login(other_trainer), method)(target, data if method == "post" else None)
    client.logout()
    as_participant = getattr(login(participant), method)(target, data if method == "post" else None)

    assert (as_trainer.status_code, as_participant.status_code) == (404, 403)
    assert WorkshopSession.objects.get() == session
    assert (workshop.status, PreworkItem.objects.count()) == (Workshop.Status.DRAFT, 1)


@pytest.mark.parametrize("sessions", [2, 8])
def test_edit_page_query_count_stays_flat(login, trainer, django_assert_num_queries, sessions):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    WorkshopSessionFactory.create_batch(sessions, workshop=workshop)
    client = login(trainer)

    # session, user, workshop, co-trainers, sessions, co-trainer choices, courses, form's co-trainers
    with django_assert_num_queries(8):
        assert client.get(f"/trainer/workshops/{workshop.pk}/edit/").status_code == 200


@pytest.mark.parametrize("status", [Workshop.Status.RUNNING, Workshop.Status.COMPLETED])
def test_a_workshop_that_has_begun_keeps_its_course_but_its_other_details_can_change(trainer, status):
    workshop, _ = workshop_with_daily_sessions(7, 7, status=status, lead_trainer=trainer, title="CSPO Lisbon")
    course = workshop.course
    other_course = CourseFactory(kind="CSM", title="Certified ScrumMaster")

    with pytest.raises(ValidationError) as refused:
        update_workshop(workshop=workshop, by=trainer, fields={"course": other_course, "title": "CSM Lisbon"})
    updated = update_workshop(workshop=workshop, by=trainer, fields={"course": course, "title": "CSPO in Lisbon"})

    assert refused.value.message_dict == {
        "course": ["The workshop has begun, so its course stays: its attendance is judged by that course's rules."]
    }
    assert (updated.course, updated.title) == (course, "CSPO in Lisbon")


def test_a_published_workshop_whose_first_session_started_keeps_its_course(trainer):
    workshop, _ = workshop_with_daily_sessions(7, 7, days_from_now=-1, status=Workshop.Status.PUBLISHED,
                                               lead_trainer=trainer)  # fmt: skip

    with pytest.raises(ValidationError, match="The workshop has begun, so its course stays"):
        update_workshop(workshop=workshop, by=trainer, fields={"course": CourseFactory(kind="CSM")})


def test_edit_page_refuses_a_time_zone_where_a_session_time_does_not_exist_and_keeps_what_was_typed(login, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, time_zone="UTC", title="CSPO")
    schedule_session(workshop=workshop, day=date(2027, 3, 14), starts=time(2, 30), ends=time(5), by=trainer)
    client = login(trainer)
    form = client.get(f"/trainer/workshops/{workshop.pk}/edit/").context["form"]
    posted = {name: value for name, value in form.initial.items() if value not in (None, [])}
    posted |= {"course": workshop.course.pk, "time_zone": "America/Toronto", "title": "CSPO in Toronto"}

    response = client.post(f"/trainer/workshops/{workshop.pk}/edit/", posted)

    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "02:30 on 14 Mar 2027 does not exist in America/Toronto: the clocks change that night." in page
    assert 'value="CSPO in Toronto"' in page
    workshop.refresh_from_db()
    assert (workshop.time_zone, workshop.title) == ("UTC", "CSPO")


def test_the_admin_site_keeps_the_course_and_time_zone_of_a_workshop_that_has_begun(login, administrator, trainer):
    begun, _ = workshop_with_daily_sessions(7, 7, lead_trainer=trainer)
    draft = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    administrator.is_superuser = True  # the admin site's permissions
    administrator.save()
    client = login(administrator)

    begun_page = client.get(f"/admin/workshops/workshop/{begun.pk}/change/").content.decode()
    draft_page = client.get(f"/admin/workshops/workshop/{draft.pk}/change/").content.decode()

    assert 'name="course"' not in begun_page
    assert 'name="time_zone"' not in begun_page
    assert 'name="course"' in draft_page
    assert 'name="time_zone"' in draft_page


def test_a_session_with_marks_cannot_be_deleted_even_outside_the_trainer_s_page(trainer):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, lead_trainer=trainer)
    record_mark(enrolment=EnrolmentFactory(workshop=workshop), session=monday, by=trainer, presence="present")

    with pytest.raises(ProtectedError):
        monday.delete()

    assert AttendanceMark.objects.filter(session=monday).count() == 1


def test_a_session_beyond_the_calendar_is_refused_by_the_model_as_in_the_admin_site(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    starts_at = datetime(2101, 1, 3, 9, tzinfo=UTC)
    session = WorkshopSession(workshop=workshop, starts_at=starts_at, ends_at=starts_at + timedelta(hours=7))

    with pytest.raises(ValidationError) as refused:
        session.full_clean()

    assert refused.value.message_dict == {"starts_at": ["Choose a day from 1 January 2000 to 31 December 2100."]}


def test_a_workshop_whose_participants_were_submitted_is_not_cancelled(login, trainer):
    workshop, _ = workshop_with_daily_sessions(7, 7, lead_trainer=trainer)
    Workshop.objects.filter(pk=workshop.pk).update(sheet_locked_at=timezone.now())  # as submitting does

    response = login(trainer).post(f"/trainer/workshops/{workshop.pk}/cancel/", follow=True)

    workshop.refresh_from_db()
    assert [str(m) for m in response.context["messages"]] == [
        "Its participants were submitted for certification, so it is held, not cancelled; an administrator reopens "
        "the submission first."
    ]
    assert workshop.status == Workshop.Status.RUNNING
