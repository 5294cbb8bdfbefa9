"""The public catalogue: what is listed, its filters, seats, and times in the visitor's own zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from participants.models import User
from tests.factories import CourseFactory, EnrolmentFactory, WorkshopFactory, WorkshopSessionFactory
from tests.pages import texts_of
from workshops.models import Enrolment, Workshop

pytestmark = pytest.mark.django_db

TORONTO = ZoneInfo("America/Toronto")


def listed_titles(response) -> list[str]:
    return [workshop.title for workshop in response.context["workshops"]]


def upcoming_workshop(*, in_days: int = 10, sessions: int = 1, **fields) -> Workshop:
    workshop = WorkshopFactory(**fields)
    first = timezone.now().replace(microsecond=0) + timedelta(days=in_days)
    for day in range(sessions):
        WorkshopSessionFactory(workshop=workshop, starts_at=first + timedelta(days=day))
    return workshop


def workshop_starting(local_start: datetime, **fields) -> Workshop:
    workshop = WorkshopFactory(**fields)
    WorkshopSessionFactory(workshop=workshop, starts_at=local_start, ends_at=local_start + timedelta(hours=8))
    return workshop


# --- What is listed -----------------------------------------------------------------------------


def test_catalogue_lists_published_workshops_soonest_first(client):
    upcoming_workshop(title="Later", in_days=30)
    upcoming_workshop(title="Sooner", in_days=5)

    response = client.get("/workshops/")

    assert response.status_code == 200
    assert listed_titles(response) == ["Sooner", "Later"]


def test_catalogue_leaves_out_drafts_cancelled_and_started_workshops(client):
    upcoming_workshop(title="Open")
    upcoming_workshop(title="Draft", status=Workshop.Status.DRAFT)
    upcoming_workshop(title="Cancelled", status=Workshop.Status.CANCELLED)
    upcoming_workshop(title="Started yesterday", in_days=-1, sessions=3)
    upcoming_workshop(title="Running", in_days=-1, status=Workshop.Status.RUNNING)

    response = client.get("/workshops/")

    assert listed_titles(response) == ["Open"]
    assert "Draft" not in response.content.decode()


def test_catalogue_shows_what_a_visitor_needs_to_choose(client):
    workshop = upcoming_workshop(
        title="CSPO in Toronto", price="1295.00", lead_trainer__full_name="Tess Trainer", format="in_person"
    )

    page = client.get("/workshops/").content.decode()

    assert f'<a href="/workshops/{workshop.pk}/">CSPO in Toronto</a>' in page
    assert "Tess Trainer" in page
    assert "In person" in page
    assert "1295.00 CAD" in page
    assert texts_of(page, "seats") == ["20 seats left"]


def test_catalogue_counts_seats_left_and_says_when_a_workshop_is_full(client):
    almost_full = upcoming_workshop(title="Almost full", capacity=3, in_days=5)
    EnrolmentFactory(workshop=almost_full)
    EnrolmentFactory(
        workshop=almost_full, status=Enrolment.Status.OFFERED, offer_expires_at=timezone.now() + timedelta(days=1)
    )
    EnrolmentFactory(workshop=almost_full, status=Enrolment.Status.CANCELLED)
    full = upcoming_workshop(title="Full", capacity=1, in_days=6)
    EnrolmentFactory(workshop=full)

    page = client.get("/workshops/").content.decode()

    assert texts_of(page, "seats") == ["1 seat left", "Full — join the waiting list"]


# --- Filters ------------------------------------------------------------------------------------


def test_catalogue_filters_by_course(client):
    upcoming_workshop(title="Product owners", course=CourseFactory(kind="CSPO"))
    upcoming_workshop(title="Scrum masters", course=CourseFactory(kind="CSM", title="Certified ScrumMaster"))

    response = client.get("/workshops/", {"course": "CSM"})

    assert listed_titles(response) == ["Scrum masters"]


def test_catalogue_filters_by_format(client):
    upcoming_workshop(title="In a room", format=Workshop.Format.IN_PERSON)
    upcoming_workshop(title="On a screen", format=Workshop.Format.ONLINE, meeting_url="https://meet.example/room")

    response = client.get("/workshops/", {"format": "online"})

    assert listed_titles(response) == ["On a screen"]


def test_catalogue_filters_by_the_month_of_the_first_session(client):
    workshop_starting(datetime(2027, 2, 27, 9, tzinfo=TORONTO), title="February")
    workshop_starting(datetime(2027, 3, 13, 9, tzinfo=TORONTO), title="March")
    workshop_starting(datetime(2027, 4, 3, 9, tzinfo=TORONTO), title="April")

    response = client.get("/workshops/", {"month": "2027-03"})

    assert listed_titles(response) == ["March"]


def test_catalogue_combines_the_filters(client):
    march = datetime(2027, 3, 13, 9, tzinfo=TORONTO)
    workshop_starting(march, title="March online", format="online", meeting_url="https://meet.example/room")
    workshop_starting(march + timedelta(days=7), title="March in person")
    workshop_starting(
        march + timedelta(days=31), title="April online", format="online", meeting_url="https://m.example"
    )

    response = client.get("/workshops/", {"course": "CSPO", "format": "online", "month": "2027-03"})

    assert listed_titles(response) == ["March online"]


def test_catalogue_with_a_bad_month_says_so_and_lists_every_month(client):
    upcoming_workshop(title="Open")

    response = client.get("/workshops/", {"month": "garbage"})

    assert response.status_code == 200
    assert listed_titles(response) == ["Open"]
    assert response.context["form"].errors == {
        "month": ["“garbage” is not a month such as 2027-03; showing every month."]
    }
    assert "“garbage” is not a month such as 2027-03; showing every month." in response.content.decode()


@pytest.mark.parametrize("month", ["2027-13", "2027-00", "9999-12", "0001-01", "March 2027, please", "２０２７-０３"])
def test_catalogue_with_an_impossible_month_is_not_an_error_page(client, month):
    upcoming_workshop(title="Open")

    response = client.get("/workshops/", {"month": month})

    assert response.status_code == 200
    assert listed_titles(response) == ["Open"]
    assert list(response.context["form"].errors) == ["month"]


def test_catalogue_with_an_unknown_course_says_so_and_keeps_the_other_filters(client):
    upcoming_workshop(title="In a room")
    upcoming_workshop(title="On a screen", format="online", meeting_url="https://meet.example/room")

    response = client.get("/workshops/", {"course": "NOPE", "format": "online"})

    assert listed_titles(response) == ["On a screen"]
    assert response.context["form"].errors == {"course": ["There is no course “NOPE”; showing every course."]}


def test_catalogue_filter_form_works_with_and_without_javascript(client):
    page = client.get("/workshops/").content.decode()

    assert '<form method="get" action="/workshops/" role="search"' in page
    assert 'hx-get="/workshops/" hx-target="#results" hx-swap="outerHTML" hx-push-url="true"' in page
    for name in ("course", "format", "month"):
        assert f'<label for="id_{name}">' in page


def test_catalogue_htmx_request_gets_only_the_results(client):
    upcoming_workshop(title="Open")

    response = client.get("/workshops/", {"format": "in_person"}, headers={"HX-Request": "true"})

    page = response.content.decode().strip()
    assert page.startswith('<section id="results"')
    assert page.endswith("</section>")
    assert "<h1>" not in page
    assert re.findall(r'<h3 id="workshop-\d+"><a [^>]+>([^<]+)</a>', page) == ["Open"]
    assert "HX-Request" in response["Vary"]


def test_catalogue_htmx_history_restore_gets_the_whole_page(client):
    response = client.get("/workshops/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<h1>Workshops</h1>" in response.content.decode()


def test_catalogue_query_count_does_not_grow_with_the_number_of_workshops(client, django_assert_num_queries):
    client.cookies["tz"] = "Europe/Paris"

    def add_workshops(count: int) -> None:
        for _ in range(count):
            workshop = upcoming_workshop(in_days=5 + Workshop.objects.count() * 3, sessions=2)
            EnrolmentFactory(workshop=workshop)

    def catalogue_page():
        # As the first visitor after a change sees it: the kept page was dropped (the factories
        # write without the services, which drop it themselves).
        cache.clear()
        # the course choices, the number of workshops and the soonest start, a page of workshops
        # with their figures, and their sessions
        with django_assert_num_queries(4):
            return client.get("/workshops/", {"format": "in_person"})

    add_workshops(2)
    small = catalogue_page()
    add_workshops(10)
    large = catalogue_page()

    assert len(small.context["workshops"]) == 2
    assert len(large.context["workshops"]) == 12


def test_catalogue_shows_twenty_workshops_a_page_keeping_the_filters(client):
    for number in range(23):
        upcoming_workshop(in_days=5 + number * 3, title=f"Workshop {number:02d}")

    first = client.get("/workshops/", {"format": "in_person"})
    second = client.get("/workshops/", {"format": "in_person", "page": 2})

    first_page = first.content.decode()
    assert [w.title for w in first.context["workshops"]] == [f"Workshop {n:02d}" for n in range(20)]
    assert [w.title for w in second.context["workshops"]] == ["Workshop 20", "Workshop 21", "Workshop 22"]
    assert "23 workshops open for enrolment" in first_page
    assert 'href="?format=in_person&amp;page=2" rel="next"' in first_page
    assert "Page 1 of 2" in first_page


# --- The visitor's time zone --------------------------------------------------------------------


def test_catalogue_shows_each_session_in_the_visitors_zone_too(client):
    workshop_starting(datetime(2027, 1, 15, 9, tzinfo=TORONTO), title="Winter")
    client.cookies["tz"] = "Europe/Paris"

    page = client.get("/workshops/").content.decode()

    assert texts_of(page, "session") == ["Fri 15 Jan 2027, 09:00–17:00 EST Your time: Fri 15 Jan 2027, 15:00–23:00 CET"]


def test_catalogue_shows_one_time_when_the_visitor_is_in_the_workshops_zone(client):
    workshop_starting(datetime(2027, 1, 15, 9, tzinfo=TORONTO), title="Winter")
    client.cookies["tz"] = "America/Toronto"

    page = client.get("/workshops/").content.decode()

    assert texts_of(page, "session") == ["Fri 15 Jan 2027, 09:00–17:00 EST"]


def test_catalogue_uses_a_signed_in_persons_saved_zone_when_there_is_no_cookie(login, participant):
    workshop_starting(datetime(2027, 1, 15, 9, tzinfo=TORONTO), title="Winter")
    User.objects.filter(pk=participant.pk).update(time_zone="Asia/Tokyo")

    page = login(participant).get("/workshops/").content.decode()

    assert texts_of(page, "session") == [
        "Fri 15 Jan 2027, 09:00–17:00 EST Your time: Fri 15 Jan 2027, 23:00 – Sat 16 Jan, 07:00 JST"
    ]


def test_catalogue_prefers_the_cookie_to_the_saved_zone(login, participant):
    workshop_starting(datetime(2027, 1, 15, 9, tzinfo=TORONTO), title="Winter")
    User.objects.filter(pk=participant.pk).update(time_zone="Asia/Tokyo")
    client = login(participant)
    client.cookies["tz"] = "Europe/Paris"

    page = client.get("/workshops/").content.decode()

    assert texts_of(page, "session") == ["Fri 15 Jan 2027, 09:00–17:00 EST Your time: Fri 15 Jan 2027, 15:00–23:00 CET"]


def test_catalogue_ignores_a_cookie_that_is_not_a_time_zone(client):
    workshop_starting(datetime(2027, 1, 15, 9, tzinfo=TORONTO), title="Winter")
    client.cookies["tz"] = "Mars/Olympus_Mons"

    response = client.get("/workshops/")

    assert response.context["visitor_zone"] is None
    assert texts_of(response.content.decode(), "session") == ["Fri 15 Jan 2027, 09:00–17:00 EST"]


def test_catalogue_asks_the_browser_for_the_zone_only_while_it_is_unknown(client):
    unknown = client.get("/workshops/").content.decode()
    client.cookies["tz"] = "Europe/Paris"
    known = client.get("/workshops/").content.decode()

    assert '<script src="/static/js/timezone.js" defer></script>' in unknown
    assert "timezone.js" not in known


def test_choose_time_zone_sets_the_cookie_for_a_year(client):
    response = client.post("/time-zone/", {"time_zone": "Europe/Paris", "next": "/workshops/?format=online"})

    assert response.status_code == 302
    assert response["Location"] == "/workshops/?format=online"
    cookie = response.cookies["tz"]
    assert cookie.value == "Europe/Paris"
    assert cookie["max-age"] == 365 * 24 * 60 * 60
    assert cookie["samesite"] == "Lax"


def test_choose_time_zone_remembers_it_for_a_signed_in_person(login, participant):
    response = login(participant).post("/time-zone/", {"time_zone": "Asia/Kolkata", "next": "/workshops/"})

    participant.refresh_from_db()
    assert participant.time_zone == "Asia/Kolkata"
    assert response.cookies["tz"].value == "Asia/Kolkata"


def test_choose_time_zone_refuses_a_name_that_is_not_a_zone_and_changes_nothing(login, participant):
    User.objects.filter(pk=participant.pk).update(time_zone="Europe/Paris")
    client = login(participant)

    response = client.post("/time-zone/", {"time_zone": "Mars/Olympus_Mons", "next": "/workshops/"}, follow=True)

    participant.refresh_from_db()
    assert participant.time_zone == "Europe/Paris"
    assert "tz" not in client.cookies
    assert [str(m) for m in response.context["messages"]] == [
        "“Mars/Olympus_Mons” is not a time zone name such as America/Toronto or Europe/London."
    ]


def test_choose_time_zone_never_sends_the_visitor_to_another_site(client):
    response = client.post("/time-zone/", {"time_zone": "Europe/Paris", "next": "https://evil.example/"})

    assert response["Location"] == "/workshops/"


def test_choose_time_zone_is_protected_against_cross_site_posts():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/time-zone/", {"time_zone": "Europe/Paris"})

    assert response.status_code == 403
    assert "tz" not in response.cookies


def test_choose_time_zone_offers_a_labelled_menu_with_the_current_zone(client):
    client.cookies["tz"] = "America/Argentina/Buenos_Aires"

    page = client.get("/workshops/").content.decode()

    assert '<label for="id_time_zone">Show times in</label>' in page
    assert '<option value="America/Argentina/Buenos_Aires" selected>' in page
    assert '<option value="Europe/Paris">' in page
