"""A workshop across a daylight-saving change reads the same everywhere: its contact hours, the
confirmation e-mail, the public page and the calendar file.

In America/Toronto the clocks go forward at 02:00 on Sunday 14 March 2027: a Saturday session
at 09:00 is 14:00 UTC, the Sunday one at 09:00 is 13:00 UTC, and each lasts 8 hours.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from tests.factories import WorkshopFactory, WorkshopSessionFactory
from tests.pages import texts_of
from workshops import services
from workshops.models import Workshop

pytestmark = pytest.mark.django_db

TORONTO = ZoneInfo("America/Toronto")
SATURDAY, SUNDAY = date(2027, 3, 13), date(2027, 3, 14)


@pytest.fixture
def weekend_workshop(trainer) -> Workshop:
    """Scheduled by its trainer as two days of 09:00–17:00 Toronto time, then published."""
    workshop = WorkshopFactory(
        title="CSPO spring weekend", lead_trainer=trainer, time_zone="America/Toronto", status=Workshop.Status.DRAFT
    )
    for day in (SATURDAY, SUNDAY):
        services.schedule_session(workshop=workshop, day=day, starts=time(9), ends=time(17), by=trainer)
    return services.publish_workshop(workshop=workshop, by=trainer)


def test_weekend_across_the_clock_change_has_sixteen_contact_hours(weekend_workshop):
    workshop = Workshop.objects.with_figures().get(pk=weekend_workshop.pk)

    assert workshop.contact_time == timedelta(hours=16)
    assert [session.duration for session in workshop.sessions.all()] == [timedelta(hours=8), timedelta(hours=8)]


def test_weekend_across_the_clock_change_is_stored_at_the_right_utc_times(weekend_workshop):
    assert [session.starts_at.isoformat() for session in weekend_workshop.sessions.order_by("starts_at")] == [
        "2027-03-13T14:00:00+00:00",
        "2027-03-14T13:00:00+00:00",
    ]


def test_confirmation_email_gives_both_days_at_nine(client, weekend_workshop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/workshops/{weekend_workshop.pk}/enrol/", {"full_name": "Robin Roe", "email": "robin@example.org"}
        )

    [confirmation] = mail.outbox
    lines = confirmation.body.splitlines()
    assert "  - Saturday 13 March 2027, 09:00 to 17:00 EST" in lines
    assert "  - Sunday 14 March 2027, 09:00 to 17:00 EDT" in lines
    assert "  (times in America/Toronto)" in lines


def test_public_page_gives_both_days_at_nine(client, weekend_workshop):
    page = client.get(f"/workshops/{weekend_workshop.pk}/").content.decode()

    assert texts_of(page, "session") == [
        "Sat 13 Mar 2027 | 09:00 | 17:00 EST | 8 h",
        "Sun 14 Mar 2027 | 09:00 | 17:00 EDT | 8 h",
    ]
    assert texts_of(page, "contact-time") == ["16 h"]


def test_public_page_shifts_a_paris_visitors_times_when_only_toronto_changes_its_clocks(client, weekend_workshop):
    client.cookies["tz"] = "Europe/Paris"  # Paris moves its clocks two weeks later, on 28 March 2027

    page = client.get(f"/workshops/{weekend_workshop.pk}/").content.decode()

    assert texts_of(page, "session") == [
        "Sat 13 Mar 2027 | 09:00 | 17:00 EST | Sat 13 Mar, 15:00–23:00 CET | 8 h",
        "Sun 14 Mar 2027 | 09:00 | 17:00 EDT | Sun 14 Mar, 14:00–22:00 CET | 8 h",
    ]


def test_calendar_file_gives_both_days_in_utc(client, weekend_workshop):
    calendar = client.get(f"/workshops/{weekend_workshop.pk}/calendar.ics").content.decode()

    assert re.findall(r"^DTSTART:.*$", calendar, re.M) == ["DTSTART:20270313T140000Z\r", "DTSTART:20270314T130000Z\r"]
    assert re.findall(r"^DTEND:.*$", calendar, re.M) == ["DTEND:20270313T220000Z\r", "DTEND:20270314T210000Z\r"]


def test_catalogue_gives_both_days_at_nine(client, weekend_workshop):
    page = client.get("/workshops/").content.decode()

    assert texts_of(page, "session") == ["Sat 13 Mar 2027, 09:00–17:00 EST", "Sun 14 Mar 2027, 09:00–17:00 EDT"]


def test_a_session_across_the_clock_change_lasts_five_hours_not_six(client):
    workshop = WorkshopFactory(time_zone="America/Toronto")
    WorkshopSessionFactory(
        workshop=workshop,
        starts_at=datetime(2027, 3, 13, 22, tzinfo=TORONTO),
        ends_at=datetime(2027, 3, 14, 4, tzinfo=TORONTO),
    )

    figures = Workshop.objects.with_figures().get(pk=workshop.pk)
    page = client.get(f"/workshops/{workshop.pk}/").content.decode()

    assert figures.contact_time == timedelta(hours=5)
    assert texts_of(page, "session") == ["Sat 13 Mar 2027 | 22:00 | Sun 14 Mar, 04:00 EDT | 5 h"]
    assert texts_of(page, "contact-time") == ["5 h"]


def test_a_clock_time_the_change_skips_cannot_be_scheduled(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, time_zone="America/Toronto", status=Workshop.Status.DRAFT)

    with pytest.raises(ValidationError) as error:
        services.schedule_session(workshop=workshop, day=SUNDAY, starts=time(2, 30), ends=time(6), by=trainer)

    assert error.value.messages == [
        "02:30 on 14 Mar 2027 does not exist in America/Toronto: the clocks change that night."
    ]
    assert not workshop.sessions.exists()
