"""The catalogue is kept in the cache for every visitor alike, and never shows what has changed since."""

from __future__ import annotations

import re
import time
from datetime import time as clock_time
from datetime import timedelta

import pytest
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from tests.factories import EnrolmentFactory, WorkshopFactory, WorkshopSessionFactory
from tests.pages import texts_of
from workshops import services
from workshops.catalogue import kept_catalogue
from workshops.models import Enrolment, Workshop

pytestmark = pytest.mark.django_db


def upcoming_workshop(*, in_days: int = 10, **fields) -> Workshop:
    workshop = WorkshopFactory(**fields)
    WorkshopSessionFactory(workshop=workshop, starts_at=timezone.now().replace(microsecond=0) + timedelta(days=in_days))
    return workshop


def listed(page: str) -> list[str]:
    return re.findall(r'<h3 id="workshop-\d+"><a [^>]+>([^<]+)</a>', page)


def test_a_second_visitor_gets_the_same_page_without_reading_the_database(client, django_assert_num_queries):
    upcoming_workshop(title="Open")
    client.cookies["tz"] = "Europe/Paris"
    first = client.get("/workshops/", {"format": "in_person"}).content.decode()

    other = Client()
    other.cookies["tz"] = "Europe/Paris"
    with django_assert_num_queries(0):
        second = other.get("/workshops/", {"format": "in_person"}).content.decode()

    assert listed(second) == listed(first) == ["Open"]
    assert texts_of(second, "session") == texts_of(first, "session")


def test_each_visitor_gets_their_own_csrf_token_and_header(client, login, participant):
    upcoming_workshop(title="Open")
    anonymous = client.get("/workshops/").content.decode()

    signed_in = login(participant).get("/workshops/").content.decode()

    assert listed(signed_in) == listed(anonymous) == ["Open"]
    assert "Pat Participant" in signed_in
    assert "Pat Participant" not in anonymous
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    assert token.findall(signed_in) != token.findall(anonymous)


def test_visitors_in_other_zones_get_their_own_times(client):
    upcoming_workshop(title="Open")
    client.cookies["tz"] = "Europe/Paris"
    paris = texts_of(client.get("/workshops/").content.decode(), "session")

    client.cookies["tz"] = "Asia/Tokyo"
    tokyo = texts_of(client.get("/workshops/").content.decode(), "session")

    assert paris[0].endswith("CET") or paris[0].endswith("CEST")
    assert tokyo[0].endswith("JST")


def test_enrolling_changes_the_seats_left_at_once(client):
    workshop = upcoming_workshop(title="Open", capacity=3)
    assert texts_of(client.get("/workshops/").content.decode(), "seats") == ["3 seats left"]

    services.enrol(workshop=workshop, email="new@example.org", full_name="New Person")

    assert texts_of(client.get("/workshops/").content.decode(), "seats") == ["2 seats left"]


def test_cancelling_an_enrolment_gives_the_seat_back_at_once(client):
    workshop = upcoming_workshop(title="Open", capacity=1)
    enrolment = EnrolmentFactory(workshop=workshop)
    assert texts_of(client.get("/workshops/").content.decode(), "seats") == ["Full — join the waiting list"]

    services.cancel_enrolment(enrolment=enrolment, by=enrolment.participant)

    assert Enrolment.objects.get(pk=enrolment.pk).status == Enrolment.Status.CANCELLED
    assert texts_of(client.get("/workshops/").content.decode(), "seats") == ["1 seat left"]


def test_a_cancelled_workshop_leaves_the_catalogue_at_once(client):
    upcoming_workshop(title="Stays", in_days=20)
    cancelled = upcoming_workshop(title="Cancelled", in_days=10)
    assert listed(client.get("/workshops/").content.decode()) == ["Cancelled", "Stays"]

    services.cancel_workshop(workshop=cancelled, by=cancelled.lead_trainer)

    assert listed(client.get("/workshops/").content.decode()) == ["Stays"]


def test_a_published_workshop_enters_the_catalogue_at_once(client):
    upcoming_workshop(title="Listed", in_days=20)
    draft = upcoming_workshop(title="Draft", in_days=10, status=Workshop.Status.DRAFT)
    WorkshopSessionFactory(workshop=draft, starts_at=timezone.now().replace(microsecond=0) + timedelta(days=11))
    assert listed(client.get("/workshops/").content.decode()) == ["Listed"]

    services.publish_workshop(workshop=draft, by=draft.lead_trainer)

    assert listed(client.get("/workshops/").content.decode()) == ["Draft", "Listed"]


def test_a_moved_session_shows_its_new_time_at_once(client, trainer):
    workshop = upcoming_workshop(title="Open", lead_trainer=trainer)
    session = workshop.sessions.get()
    client.cookies["tz"] = "America/Toronto"
    before = texts_of(client.get("/workshops/").content.decode(), "session")

    day = (session.starts_at + timedelta(days=1)).astimezone(workshop.zone).date()  # a day later, 09:00-17:00
    services.schedule_session(
        workshop=workshop, session=session, day=day, starts=clock_time(9), ends=clock_time(17), by=trainer
    )

    after = texts_of(client.get("/workshops/").content.decode(), "session")
    assert after != before
    assert after == [workshop.sessions.get().times_in(workshop.zone)]


def test_a_workshop_that_starts_leaves_the_catalogue_though_nothing_was_written(client):
    upcoming_workshop(title="Later", in_days=3)
    soon = WorkshopFactory(title="Starting now")
    WorkshopSessionFactory(workshop=soon, starts_at=timezone.now() + timedelta(seconds=1.5))
    assert listed(client.get("/workshops/").content.decode()) == ["Starting now", "Later"]

    time.sleep(1.6)

    assert listed(client.get("/workshops/").content.decode()) == ["Later"]


def test_a_kept_page_answers_until_the_soonest_listed_workshop_starts_and_a_minute_at_most(client):
    workshop = upcoming_workshop(title="Open", in_days=10)
    start = workshop.sessions.get().starts_at
    client.get("/workshops/")
    shortly_after = timezone.now() + timedelta(seconds=1)

    assert kept_catalogue(QueryDict(""), None, now=shortly_after).regions is not None
    assert kept_catalogue(QueryDict(""), None, now=shortly_after + timedelta(seconds=60)).regions is None
    assert kept_catalogue(QueryDict(""), None, now=start).regions is None


def test_a_page_is_kept_for_the_soonest_workshop_of_the_whole_list_not_of_the_page(client):
    for number in range(21):
        upcoming_workshop(title=f"Workshop {number:02d}", in_days=3 + number)
    first_start = Workshop.objects.with_figures().order_by("first_starts_at").first().first_starts_at
    client.get("/workshops/", {"page": 2})

    page_two = QueryDict("page=2")
    assert kept_catalogue(page_two, None, now=timezone.now() + timedelta(seconds=1)).regions is not None
    assert kept_catalogue(page_two, None, now=first_start).regions is None


def test_an_address_the_pages_do_not_link_to_is_answered_but_not_kept(client, django_assert_num_queries):
    upcoming_workshop(title="Open")
    for query in ({"page": "9"}, {"month": "garbage"}, {"utm_source": "mail"}):
        client.get("/workshops/", query)

        with django_assert_num_queries(4):
            response = client.get("/workshops/", query)

        assert listed(response.content.decode()) == ["Open"]


def test_without_a_reachable_cache_the_catalogue_is_read_and_enrolment_goes_on(client, settings, participant, caplog):
    workshop = upcoming_workshop(title="Open", capacity=5)
    # A real Redis client, pointed at a port where nothing listens.
    settings.CACHES = {"default": {"BACKEND": "cspo.cache.ForgivingRedisCache", "LOCATION": "redis://127.0.0.1:9/0"}}

    before = client.get("/workshops/").content.decode()
    services.enrol(workshop=workshop, email=participant.email, full_name=participant.full_name)
    after = client.get("/workshops/").content.decode()

    assert listed(before) == listed(after) == ["Open"]
    assert texts_of(before, "seats") == ["5 seats left"]
    assert texts_of(after, "seats") == ["4 seats left"]
    assert Enrolment.objects.get(workshop=workshop).participant == participant
    assert "The cache is unavailable" in caplog.text
