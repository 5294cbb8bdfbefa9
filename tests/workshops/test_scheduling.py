"""Sessions are given in the workshop's own clock, stored in UTC; publishing checks the whole schedule."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from participants.models import OutboundEmail
from tests.factories import WorkshopFactory, WorkshopSessionFactory
from workshops import services
from workshops.calendar import workshop_calendar
from workshops.models import Enrolment, Workshop, WorkshopSession

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 12, 8)  # a Tuesday, two weeks after NOW; Toronto is on EST (UTC−5) then


def two_day_workshop(**fields) -> Workshop:
    """Two 7 h days from 09:00 to 16:00 in Toronto: the 14 h a CSPO workshop needs."""
    workshop = WorkshopFactory(title="CSPO Toronto", **fields)
    for day in range(2):
        starts_at = datetime(2026, 12, 8, 14, 0, tzinfo=UTC) + timedelta(days=day)
        WorkshopSessionFactory(workshop=workshop, starts_at=starts_at, ends_at=starts_at + timedelta(hours=7))
    return workshop


def enrol(workshop: Workshop, name: str, *, now: datetime = NOW) -> Enrolment:
    return services.enrol(workshop=workshop, email=f"{name.lower()}@example.org", full_name=name, now=now)


def test_schedule_session_converts_the_workshop_clock_to_utc(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, time_zone="America/Toronto")

    winter = services.schedule_session(workshop=workshop, day=FIRST_DAY, starts=time(9), ends=time(17), by=trainer)
    summer = services.schedule_session(
        workshop=workshop, day=date(2027, 6, 8), starts=time(9), ends=time(12, 30), by=trainer
    )

    winter.refresh_from_db()
    summer.refresh_from_db()
    assert (winter.starts_at, winter.ends_at) == (
        datetime(2026, 12, 8, 14, 0, tzinfo=UTC),
        datetime(2026, 12, 8, 22, 0, tzinfo=UTC),
    )
    assert (summer.starts_at, summer.ends_at) == (
        datetime(2027, 6, 8, 13, 0, tzinfo=UTC),  # Toronto is on EDT (UTC−4) in June
        datetime(2027, 6, 8, 16, 30, tzinfo=UTC),
    )


def test_schedule_session_uses_daylight_saving_time_when_the_workshop_zone_does(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, time_zone="Europe/London")

    session = services.schedule_session(
        workshop=workshop, day=date(2027, 6, 8), starts=time(9), ends=time(17), by=trainer
    )

    session.refresh_from_db()
    assert (session.starts_at, session.ends_at) == (
        datetime(2027, 6, 8, 8, 0, tzinfo=UTC),
        datetime(2027, 6, 8, 16, 0, tzinfo=UTC),
    )
    assert f"{session.local_starts_at:%H:%M %Z}" == "09:00 BST"


def test_schedule_session_ending_before_it_starts_is_refused(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)

    with pytest.raises(ValidationError) as refused:
        services.schedule_session(workshop=workshop, day=FIRST_DAY, starts=time(13), ends=time(9), by=trainer)

    assert refused.value.messages == ["A session must end after it starts."]
    assert workshop.sessions.count() == 0


def test_schedule_session_overlapping_another_is_refused_with_a_friendly_message(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    services.schedule_session(workshop=workshop, day=FIRST_DAY, starts=time(9), ends=time(13), by=trainer)

    with pytest.raises(ValidationError) as refused:
        services.schedule_session(workshop=workshop, day=FIRST_DAY, starts=time(12), ends=time(17), by=trainer)

    assert refused.value.messages == ["This session overlaps another session of the same workshop."]
    assert workshop.sessions.count() == 1


def test_schedule_session_moving_a_session_onto_another_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    second_day = workshop.sessions.last()

    with pytest.raises(ValidationError) as refused:
        services.schedule_session(
            workshop=workshop, day=FIRST_DAY, starts=time(15), ends=time(18), by=trainer, session=second_day
        )

    assert refused.value.messages == ["This session overlaps another session of the same workshop."]
    second_day.refresh_from_db()
    assert second_day.starts_at == datetime(2026, 12, 9, 14, 0, tzinfo=UTC)


def test_schedule_session_back_to_back_with_another_is_allowed(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    services.schedule_session(workshop=workshop, day=FIRST_DAY, starts=time(9), ends=time(12), by=trainer)

    services.schedule_session(workshop=workshop, day=FIRST_DAY, starts=time(12), ends=time(16), by=trainer)

    assert workshop.sessions.count() == 2


def test_schedule_session_at_a_time_the_clocks_skip_is_refused(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, time_zone="America/Toronto")

    with pytest.raises(ValidationError) as refused:
        services.schedule_session(
            workshop=workshop, day=date(2027, 3, 14), starts=time(2, 30), ends=time(6), by=trainer
        )

    assert refused.value.messages == [
        "02:30 on 14 Mar 2027 does not exist in America/Toronto: the clocks change that night."
    ]
    assert workshop.sessions.count() == 0


def test_schedule_session_on_the_night_the_clocks_change_stores_the_real_hours(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, time_zone="America/Toronto")

    session = services.schedule_session(
        workshop=workshop, day=date(2027, 3, 14), starts=time(1), ends=time(5), by=trainer
    )

    session.refresh_from_db()
    assert (session.starts_at, session.ends_at) == (
        datetime(2027, 3, 14, 6, 0, tzinfo=UTC),
        datetime(2027, 3, 14, 9, 0, tzinfo=UTC),
    )
    assert session.duration == timedelta(hours=3)


def test_schedule_session_returns_a_session_with_the_real_hours_on_the_night_the_clocks_change(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, time_zone="America/Toronto")

    session = services.schedule_session(
        workshop=workshop, day=date(2027, 3, 14), starts=time(1), ends=time(5), by=trainer
    )

    assert session.duration == timedelta(hours=3)


def test_schedule_session_moving_a_session_of_a_published_workshop_emails_each_enrolled_person_once(
    trainer, django_capture_on_commit_callbacks
):
    workshop = two_day_workshop(lead_trainer=trainer, capacity=5)
    enrol(workshop, "Ann")
    enrol(workshop, "Ben")
    dan = enrol(workshop, "Dan")
    services.cancel_enrolment(enrolment=dan, by=dan.participant, now=NOW)
    first_day = workshop.sessions.first()

    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_session(
            workshop=workshop, day=FIRST_DAY, starts=time(10), ends=time(17), by=trainer, session=first_day
        )

    assert sorted(message.to[0] for message in mail.outbox) == ["ann@example.org", "ben@example.org"]
    for message in mail.outbox:
        assert message.subject == "New times: CSPO Toronto"
        assert "  - Tuesday 8 December 2026, 10:00 to 17:00 EST\n" in message.body
        assert "  - Wednesday 9 December 2026, 09:00 to 16:00 EST\n" in message.body
        assert len(message.attachments) == 1
        calendar = message.attachments[0]
        assert calendar.mimetype == "text/calendar"
        assert re.findall(r"DTSTART:\S+", calendar.content) == [
            "DTSTART:20261208T150000Z",
            "DTSTART:20261209T140000Z",
        ]


def test_new_times_of_an_online_workshop_give_the_meeting_link_only_to_those_enrolled(
    trainer, django_capture_on_commit_callbacks
):
    link = "https://meet.example.com/cspo-toronto"
    workshop = two_day_workshop(lead_trainer=trainer, capacity=2, format=Workshop.Format.ONLINE, meeting_url=link)
    ann, ben = enrol(workshop, "Ann"), enrol(workshop, "Ben")
    cat, dan = enrol(workshop, "Cat"), enrol(workshop, "Dan")  # the waiting list
    services.cancel_enrolment(enrolment=ben, by=ben.participant, now=NOW)  # Cat is offered Ben's seat
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_session(
            workshop=workshop,
            day=FIRST_DAY,
            starts=time(10),
            ends=time(17),
            by=trainer,
            session=workshop.sessions.first(),
        )

    statuses = {e.participant.email: e.status for e in Enrolment.objects.filter(pk__in=[ann.pk, cat.pk, dan.pk])}
    assert statuses == {"ann@example.org": "enrolled", "cat@example.org": "offered", "dan@example.org": "waitlisted"}
    told = {m.to[0]: (link in m.body, [link in a.content for a in m.attachments]) for m in mail.outbox}
    assert told == {
        "ann@example.org": (True, [True]),
        "cat@example.org": (False, [False]),  # a seat offered, not taken: the link comes when it is
        "dan@example.org": (False, []),
    }
    assert "Live online: the link is sent to enrolled participants" in emails_of(mail.outbox, "cat@example.org")


def emails_of(outbox, address: str) -> str:
    return "".join(m.body for m in outbox if m.to == [address])


def test_schedule_session_saving_a_session_unchanged_emails_nobody(trainer, django_capture_on_commit_callbacks):
    workshop = two_day_workshop(lead_trainer=trainer)
    enrol(workshop, "Ann")
    first_day = workshop.sessions.first()

    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_session(
            workshop=workshop, day=FIRST_DAY, starts=time(9), ends=time(16), by=trainer, session=first_day
        )

    assert mail.outbox == []


def test_schedule_session_adding_a_session_to_a_published_workshop_emails_the_enrolled(
    trainer, django_capture_on_commit_callbacks
):
    workshop = two_day_workshop(lead_trainer=trainer)
    enrol(workshop, "Ann")

    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_session(workshop=workshop, day=date(2026, 12, 10), starts=time(9), ends=time(11), by=trainer)

    assert [message.to for message in mail.outbox] == [["ann@example.org"]]
    assert "  - Thursday 10 December 2026, 09:00 to 11:00 EST\n" in mail.outbox[0].body


def test_schedule_session_adding_a_session_to_a_draft_emails_nobody(trainer, django_capture_on_commit_callbacks):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)

    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_session(workshop=workshop, day=FIRST_DAY, starts=time(9), ends=time(16), by=trainer)

    assert workshop.sessions.count() == 1
    assert mail.outbox == []


def test_remove_session_of_a_published_workshop_emails_the_enrolled(trainer, django_capture_on_commit_callbacks):
    workshop = two_day_workshop(lead_trainer=trainer)
    extra = services.schedule_session(
        workshop=workshop, day=FIRST_DAY + timedelta(days=2), starts=time(9), ends=time(12), by=trainer
    )
    enrol(workshop, "Ann")

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_session(session=extra, by=trainer)

    assert workshop.sessions.count() == 2
    assert [message.to for message in mail.outbox] == [["ann@example.org"]]
    assert "Thursday 10 December" not in mail.outbox[0].body
    assert "Wednesday 9 December" in mail.outbox[0].body


def test_a_published_workshop_keeps_the_contact_hours_it_was_published_with(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)
    first, second = workshop.sessions.order_by("starts_at")
    planned = [(s.starts_at, s.ends_at) for s in (first, second)]

    with pytest.raises(ValidationError) as removing:
        services.remove_session(session=second, by=trainer)
    with pytest.raises(ValidationError) as shortening:
        services.schedule_session(
            workshop=workshop, day=FIRST_DAY, starts=time(9), ends=time(13), by=trainer, session=first
        )

    missing = "The sessions add up to 7 h, but a CSPO workshop needs at least 14 h: 7 h missing."
    assert removing.value.messages == [
        missing,
        "Move it instead, or add the session that replaces it first, then remove this one.",
    ]
    assert shortening.value.messages == [missing.replace("7 h,", "11 h,").replace("7 h missing", "3 h missing")]
    assert [(s.starts_at, s.ends_at) for s in workshop.sessions.order_by("starts_at")] == planned


def test_a_published_workshop_keeps_its_sessions_within_three_months(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)
    second = workshop.sessions.order_by("starts_at").last()
    planned = second.starts_at

    with pytest.raises(ValidationError) as moving:
        services.schedule_session(
            workshop=workshop, day=date(2027, 4, 8), starts=time(9), ends=time(16), by=trainer, session=second
        )

    assert moving.value.messages == ["All sessions must fall within three months of the first one."]
    assert workshop.sessions.order_by("starts_at").last().starts_at == planned


def test_a_draft_may_be_short_or_long_while_it_is_planned(trainer):
    workshop = two_day_workshop(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    second = workshop.sessions.order_by("starts_at").last()

    services.remove_session(session=second, by=trainer)
    services.schedule_session(workshop=workshop, day=date(2027, 4, 8), starts=time(9), ends=time(10), by=trainer)

    assert workshop.sessions.count() == 2


def test_schedule_session_of_a_cancelled_workshop_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)
    services.cancel_workshop(workshop=workshop, by=trainer)

    with pytest.raises(ValidationError) as refused:
        services.schedule_session(workshop=workshop, day=date(2026, 12, 10), starts=time(9), ends=time(11), by=trainer)

    assert refused.value.messages == ["This workshop is cancelled; its sessions are final."]
    assert workshop.sessions.count() == 2


def test_remove_session_of_a_cancelled_workshop_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)
    services.cancel_workshop(workshop=workshop, by=trainer)

    with pytest.raises(ValidationError) as refused:
        services.remove_session(session=workshop.sessions.last(), by=trainer)

    assert refused.value.messages == ["This workshop is cancelled; its sessions are final."]
    assert workshop.sessions.count() == 2


def test_publish_workshop_with_too_few_hours_says_how_many_are_missing(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    starts_at = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    WorkshopSessionFactory(workshop=workshop, starts_at=starts_at, ends_at=starts_at + timedelta(hours=8))

    with pytest.raises(ValidationError) as refused:
        services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert refused.value.messages == [
        "The sessions add up to 8 h, but a CSPO workshop needs at least 14 h: 6 h missing."
    ]
    workshop.refresh_from_db()
    assert workshop.status == Workshop.Status.DRAFT


def test_publish_workshop_with_a_past_session_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    yesterday = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    WorkshopSessionFactory(workshop=workshop, starts_at=yesterday, ends_at=yesterday + timedelta(hours=1))

    with pytest.raises(ValidationError) as refused:
        services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert refused.value.messages == ["The session of Mon 23 Nov 2026 09:00 is in the past."]


def test_publish_workshop_in_person_without_a_venue_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer, status=Workshop.Status.DRAFT, venue_address="  ")

    with pytest.raises(ValidationError) as refused:
        services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert refused.value.messages == ["An in-person workshop needs a venue address."]


def test_publish_workshop_online_without_a_meeting_link_is_refused(trainer):
    workshop = two_day_workshop(
        lead_trainer=trainer, status=Workshop.Status.DRAFT, format=Workshop.Format.ONLINE, venue_address=""
    )

    with pytest.raises(ValidationError) as refused:
        services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert refused.value.messages == ["A live online workshop needs a meeting link."]


def test_publish_workshop_without_sessions_is_refused(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT)

    with pytest.raises(ValidationError) as refused:
        services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert refused.value.messages == ["Add the sessions first: a workshop needs at least one session to be published."]


def test_publish_workshop_spread_over_more_than_three_months_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    much_later = datetime(2027, 3, 20, 14, 0, tzinfo=UTC)
    WorkshopSessionFactory(workshop=workshop, starts_at=much_later, ends_at=much_later + timedelta(hours=1))

    with pytest.raises(ValidationError) as refused:
        services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert refused.value.messages == ["All sessions must fall within three months of the first one."]


def test_publish_workshop_lists_every_problem_at_once(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, venue_address="")
    yesterday = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    WorkshopSessionFactory(workshop=workshop, starts_at=yesterday, ends_at=yesterday + timedelta(hours=8))

    assert services.publishing_problems(workshop, now=NOW) == [
        "The sessions add up to 8 h, but a CSPO workshop needs at least 14 h: 6 h missing.",
        "The session of Mon 23 Nov 2026 09:00 is in the past.",
        "An in-person workshop needs a venue address.",
    ]


def test_publish_workshop_with_a_valid_schedule_publishes_it(trainer, django_capture_on_commit_callbacks):
    workshop = two_day_workshop(lead_trainer=trainer, status=Workshop.Status.DRAFT)

    with django_capture_on_commit_callbacks(execute=True):
        published = services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert published.status == Workshop.Status.PUBLISHED
    workshop.refresh_from_db()
    assert workshop.status == Workshop.Status.PUBLISHED
    assert services.publishing_problems(workshop, now=NOW) == []
    assert mail.outbox == []


def test_publish_workshop_that_is_published_already_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)

    with pytest.raises(ValidationError) as refused:
        services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert refused.value.messages == ["Only a draft can be published; this workshop is Published."]


def test_create_workshop_makes_a_draft_led_by_its_creator(trainer, other_trainer):
    course = WorkshopFactory().course

    workshop = services.create_workshop(
        by=trainer,
        fields={"course": course, "title": "CSPO Ottawa", "venue_address": "", "status": Workshop.Status.PUBLISHED},
        co_trainers=[trainer, other_trainer],
    )

    assert workshop.status == Workshop.Status.DRAFT
    assert workshop.lead_trainer == trainer
    assert list(workshop.co_trainers.all()) == [other_trainer]
    assert WorkshopSession.objects.filter(workshop=workshop).count() == 0


def test_the_calendar_sent_after_a_move_replaces_the_earlier_one(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer)
    session = WorkshopSessionFactory(workshop=workshop)
    before = workshop_calendar(workshop, workshop.sessions.all())
    day = session.local_starts_at.date()

    services.schedule_session(workshop=workshop, day=day, starts=time(9), ends=time(17), by=trainer, session=session)

    workshop.refresh_from_db()
    after = workshop_calendar(workshop, workshop.sessions.all())
    sequence = [int(re.search(r"SEQUENCE:(\d+)", text).group(1)) for text in (before, after)]
    assert sequence[1] > sequence[0]


def test_schedule_session_moving_a_session_tells_the_waiting_list_without_a_calendar_file(
    trainer, django_capture_on_commit_callbacks
):
    workshop = two_day_workshop(lead_trainer=trainer, capacity=1)
    enrol(workshop, "Ann")
    eve = enrol(workshop, "Eve")
    assert eve.status == Enrolment.Status.WAITLISTED
    first_day = workshop.sessions.first()

    with django_capture_on_commit_callbacks(execute=True):
        services.schedule_session(
            workshop=workshop, day=FIRST_DAY, starts=time(10), ends=time(17), by=trainer, session=first_day
        )

    told = {message.to[0]: message for message in mail.outbox}
    assert sorted(told) == ["ann@example.org", "eve@example.org"]
    waiting = told["eve@example.org"]
    assert waiting.subject == "New times: CSPO Toronto"
    assert "  - Tuesday 8 December 2026, 10:00 to 17:00 EST\n" in waiting.body
    assert "You are still on the waiting list" in waiting.body
    assert waiting.attachments == []
    assert len(told["ann@example.org"].attachments) == 1
    assert "waiting list" not in told["ann@example.org"].body


# --- Changing the workshop's time zone ---------------------------------------------------------


def local_times(workshop: Workshop) -> list[str]:
    workshop = Workshop.objects.get(pk=workshop.pk)
    return [
        f"{s.local_starts_at:%a %d %H:%M}–{s.local_ends_at:%H:%M %Z}" for s in workshop.sessions.order_by("starts_at")
    ]


def test_update_workshop_to_another_time_zone_keeps_the_sessions_clock_times(
    trainer, django_capture_on_commit_callbacks
):
    workshop = two_day_workshop(lead_trainer=trainer, time_zone="America/Toronto", capacity=5)
    enrol(workshop, "Ann")
    version = workshop.schedule_version

    with django_capture_on_commit_callbacks(execute=True):
        services.update_workshop(workshop=workshop, by=trainer, fields={"time_zone": "Europe/Berlin"})

    assert local_times(workshop) == ["Tue 08 09:00–16:00 CET", "Wed 09 09:00–16:00 CET"]
    assert [s.starts_at for s in workshop.sessions.order_by("starts_at")] == [
        datetime(2026, 12, 8, 8, 0, tzinfo=UTC),
        datetime(2026, 12, 9, 8, 0, tzinfo=UTC),
    ]
    assert Workshop.objects.get(pk=workshop.pk).schedule_version == version + 1
    (message,) = mail.outbox
    assert (message.to, message.subject) == (["ann@example.org"], "New times: CSPO Toronto")
    assert "  - Tuesday 8 December 2026, 09:00 to 16:00 CET\n" in message.body
    assert re.findall(r"DTSTART:\S+", message.attachments[0].content) == [
        "DTSTART:20261208T080000Z",
        "DTSTART:20261209T080000Z",
    ]


def test_update_workshop_to_a_zone_west_keeps_the_clock_times_of_back_to_back_sessions(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, time_zone="Europe/Berlin")
    for starts, ends in ((time(9), time(12)), (time(12), time(16))):
        services.schedule_session(workshop=workshop, day=FIRST_DAY, starts=starts, ends=ends, by=trainer)

    services.update_workshop(workshop=workshop, by=trainer, fields={"time_zone": "America/Toronto"})

    assert local_times(workshop) == ["Tue 08 09:00–12:00 EST", "Tue 08 12:00–16:00 EST"]


def test_update_workshop_to_a_zone_where_a_session_time_does_not_exist_is_refused(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.DRAFT, time_zone="UTC")
    services.schedule_session(workshop=workshop, day=date(2027, 3, 14), starts=time(2, 30), ends=time(5), by=trainer)

    with pytest.raises(ValidationError) as refusal:
        services.update_workshop(workshop=workshop, by=trainer, fields={"time_zone": "America/Toronto"})

    assert refusal.value.message_dict == {
        "time_zone": ["02:30 on 14 Mar 2027 does not exist in America/Toronto: the clocks change that night."]
    }
    assert Workshop.objects.get(pk=workshop.pk).time_zone == "UTC"
    assert local_times(workshop) == ["Sun 14 02:30–05:00 UTC"]


def test_update_workshop_time_zone_once_the_workshop_has_begun_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer, time_zone="America/Toronto")
    WorkshopSession.objects.filter(workshop=workshop).update(starts_at=F("starts_at") - timedelta(days=30),
                                                             ends_at=F("ends_at") - timedelta(days=30))  # fmt: skip
    before = local_times(workshop)

    with pytest.raises(ValidationError) as refusal:
        services.update_workshop(workshop=workshop, by=trainer, fields={"time_zone": "Europe/Berlin"})

    assert refusal.value.message_dict == {
        "time_zone": ["The workshop has begun, so its time zone stays: its sessions took place at their times."]
    }
    assert local_times(workshop) == before


def test_update_workshop_time_zone_of_a_cancelled_workshop_is_refused(trainer):
    workshop = two_day_workshop(lead_trainer=trainer, time_zone="America/Toronto", status=Workshop.Status.CANCELLED)

    with pytest.raises(ValidationError) as refusal:
        services.update_workshop(workshop=workshop, by=trainer, fields={"time_zone": "Europe/Berlin"})

    assert refusal.value.message_dict == {"time_zone": ["This workshop is cancelled; its sessions are final."]}
    assert local_times(workshop) == ["Tue 08 09:00–16:00 EST", "Wed 09 09:00–16:00 EST"]


def test_update_workshop_keeping_its_time_zone_moves_nothing_and_emails_nobody(
    trainer, django_capture_on_commit_callbacks
):
    workshop = two_day_workshop(lead_trainer=trainer, time_zone="America/Toronto", capacity=5)
    enrol(workshop, "Ann")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.update_workshop(workshop=workshop, by=trainer, fields={"time_zone": "America/Toronto", "capacity": 6})

    assert local_times(workshop) == ["Tue 08 09:00–16:00 EST", "Wed 09 09:00–16:00 EST"]
    assert mail.outbox == []


# --- People hear of a change once, after the trainer's last step ------------------------------


def first_day_an_hour_later(workshop: Workshop, trainer) -> None:
    """The trainer moves the first day to 10:00-17:00."""
    first = workshop.sessions.order_by("starts_at").first()
    services.schedule_session(
        workshop=workshop, day=FIRST_DAY, starts=time(10), ends=time(17), by=trainer, session=first
    )


def told_of_new_times() -> list[tuple[str, str]]:
    return list(OutboundEmail.objects.filter(purpose="sessions_changed").values_list("to", "subject"))


def test_a_change_in_two_steps_is_told_once_with_the_times_it_ends_with(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)
    enrol(workshop, "Ann")
    second = workshop.sessions.order_by("starts_at").last()
    services.schedule_session(  # the trainer adds a third morning, then moves the second day to it
        workshop=workshop, day=FIRST_DAY + timedelta(days=2), starts=time(9), ends=time(16), by=trainer
    )
    services.remove_session(session=second, by=trainer)
    workshop.refresh_from_db()

    after_the_first_step = services.tell_schedule_change(workshop_id=workshop.pk, version=workshop.schedule_version - 1)
    after_the_last = services.tell_schedule_change(workshop_id=workshop.pk, version=workshop.schedule_version)
    again = services.tell_schedule_change(workshop_id=workshop.pk, version=workshop.schedule_version)

    assert (after_the_first_step, after_the_last, again) == (0, 1, 0)
    assert told_of_new_times() == [("ann@example.org", "New times: CSPO Toronto")]
    body = OutboundEmail.objects.get(purpose="sessions_changed").body
    assert "Thursday 10 December" in body
    assert "Wednesday 9 December" not in body


def test_a_change_to_a_workshop_cancelled_before_its_notice_tells_nobody_of_new_times(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)
    enrol(workshop, "Ann")
    first_day_an_hour_later(workshop, trainer)
    services.cancel_workshop(workshop=workshop, by=trainer)
    workshop.refresh_from_db()

    told = services.tell_schedule_change(workshop_id=workshop.pk, version=workshop.schedule_version)

    assert (told, told_of_new_times()) == (0, [])


def test_a_notice_whose_task_was_lost_is_sent_by_the_periodic_job(trainer):
    lost, fresh = two_day_workshop(lead_trainer=trainer), two_day_workshop(lead_trainer=trainer)
    for workshop in (lost, fresh):
        enrol(workshop, f"Ann{workshop.pk}")
        first_day_an_hour_later(workshop, trainer)
    earlier = timezone.now() - services.UNTOLD_AFTER  # the lost one's change, and Ann's enrolment before it
    Workshop.objects.filter(pk=lost.pk).update(schedule_changed_at=earlier)
    Enrolment.objects.filter(workshop=lost).update(created_at=earlier - timedelta(days=1))

    told = services.tell_untold_schedule_changes()

    assert told == 1
    assert told_of_new_times() == [(f"ann{lost.pk}@example.org", "New times: CSPO Toronto")]


def test_the_plan_before_publishing_is_nobody_s_news(trainer):
    workshop = two_day_workshop(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    services.schedule_session(
        workshop=workshop, day=FIRST_DAY + timedelta(days=2), starts=time(10), ends=time(17), by=trainer
    )

    published = services.publish_workshop(workshop=workshop, by=trainer, now=NOW)

    assert published.schedule_told_version == published.schedule_version == 1


def test_a_session_saved_unchanged_is_nobody_s_news_even_later(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)
    enrol(workshop, "Ann")
    first = workshop.sessions.order_by("starts_at").first()

    services.schedule_session(
        workshop=workshop, day=FIRST_DAY, starts=time(9), ends=time(16), by=trainer, session=first
    )
    later = services.tell_untold_schedule_changes(now=timezone.now() + services.UNTOLD_AFTER + timedelta(minutes=1))

    workshop.refresh_from_db()
    assert (workshop.schedule_version, later, told_of_new_times()) == (0, 0, [])


def test_someone_who_enrols_after_a_change_is_not_told_of_it_again(trainer):
    workshop = two_day_workshop(lead_trainer=trainer)
    enrol(workshop, "Ann")
    first_day_an_hour_later(workshop, trainer)
    enrol(workshop, "Ben", now=timezone.now())  # his confirmation already has the new times
    workshop.refresh_from_db()

    told = services.tell_schedule_change(workshop_id=workshop.pk, version=workshop.schedule_version)

    assert (told, told_of_new_times()) == (1, [("ann@example.org", "New times: CSPO Toronto")])
