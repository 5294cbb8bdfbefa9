"""A workshop's public page: who sees it, what it shows, its calendar file, and enrolling from it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from participants.models import User
from tests.factories import EnrolmentFactory, WorkshopFactory, WorkshopSessionFactory
from tests.pages import texts_of
from workshops.models import Enrolment, Workshop

pytestmark = pytest.mark.django_db

MEETING_LINK = "https://meet.example/cspo-secret-room"


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def workshop_with_sessions(*, sessions: int = 2, in_days: int = 10, **fields) -> Workshop:
    workshop = WorkshopFactory(**fields)
    first = timezone.now().replace(microsecond=0) + timedelta(days=in_days)
    for day in range(sessions):
        WorkshopSessionFactory(workshop=workshop, starts_at=first + timedelta(days=day))
    return workshop


# --- Who sees the page ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Workshop.Status.PUBLISHED, Workshop.Status.RUNNING, Workshop.Status.COMPLETED])
def test_public_page_is_open_to_anyone_once_published(client, status):
    workshop = workshop_with_sessions(title="CSPO in Toronto", status=status)

    response = client.get(f"/workshops/{workshop.pk}/")

    assert response.status_code == 200
    assert "<h1>CSPO in Toronto</h1>" in response.content.decode()


@pytest.mark.parametrize("status", [Workshop.Status.DRAFT, Workshop.Status.CANCELLED])
@pytest.mark.parametrize("visitor", [None, "participant", "other_trainer"])
def test_public_page_of_a_draft_or_cancelled_workshop_is_not_found_for_others(
    client, login, request, trainer, status, visitor
):
    workshop = workshop_with_sessions(lead_trainer=trainer, status=status)
    if visitor:
        login(request.getfixturevalue(visitor))

    page = client.get(f"/workshops/{workshop.pk}/")
    calendar = client.get(f"/workshops/{workshop.pk}/calendar.ics")

    assert page.status_code == 404
    assert calendar.status_code == 404


@pytest.mark.parametrize("viewer", ["trainer", "administrator"])
def test_public_page_of_a_draft_is_visible_to_its_trainers_and_administrators(login, request, trainer, viewer):
    workshop = workshop_with_sessions(lead_trainer=trainer, status=Workshop.Status.DRAFT)

    response = login(request.getfixturevalue(viewer)).get(f"/workshops/{workshop.pk}/")

    assert response.status_code == 200
    assert "only its trainers and administrators see this page" in response.content.decode()
    assert '<form method="post" action="/workshops/' not in response.content.decode()


def test_public_page_of_a_draft_is_visible_to_a_co_trainer(login, trainer, other_trainer):
    workshop = workshop_with_sessions(lead_trainer=trainer, status=Workshop.Status.DRAFT)
    workshop.co_trainers.add(other_trainer)

    response = login(other_trainer).get(f"/workshops/{workshop.pk}/")

    assert response.status_code == 200


# --- What it shows ------------------------------------------------------------------------------


def test_public_page_shows_what_a_person_needs_before_enrolling(client, trainer, other_trainer):
    workshop = workshop_with_sessions(
        title="CSPO in Toronto",
        description="Two days on product ownership.",
        lead_trainer=trainer,
        price="1295.00",
        capacity=12,
    )
    workshop.co_trainers.add(other_trainer)
    EnrolmentFactory(workshop=workshop)

    page = client.get(f"/workshops/{workshop.pk}/").content.decode()

    assert "<p>Two days on product ownership.</p>" in page
    assert "<dt>Trainers</dt><dd>Tess Trainer, Otto Trainer</dd>" in page
    assert texts_of(page, "where") == ["100 Queen St W, Toronto"]
    assert texts_of(page, "contact-time") == ["16 h"]
    assert texts_of(page, "seats") == ["11 of 12 left"]
    assert "1295.00 CAD" in page
    assert f'<a href="/workshops/{workshop.pk}/calendar.ics" download>Add to calendar (.ics)</a>' in page
    assert '<button type="submit" class="button primary">Enrol</button>' in page


def test_public_page_never_shows_the_meeting_link(client):
    workshop = workshop_with_sessions(format=Workshop.Format.ONLINE, venue_address="", meeting_url=MEETING_LINK)

    page = client.get(f"/workshops/{workshop.pk}/").content.decode()
    calendar = client.get(f"/workshops/{workshop.pk}/calendar.ics").content.decode()

    assert texts_of(page, "where") == ["Live online: the link is sent to enrolled participants."]
    assert MEETING_LINK not in page
    assert MEETING_LINK not in calendar


def test_public_page_of_a_full_workshop_offers_the_waiting_list(client):
    workshop = workshop_with_sessions(capacity=1)
    EnrolmentFactory(workshop=workshop)

    page = client.get(f"/workshops/{workshop.pk}/").content.decode()

    assert texts_of(page, "seats") == ["Full — join the waiting list"]
    assert '<button type="submit" class="button primary">Join the waiting list</button>' in page


def test_public_page_prefills_the_form_for_a_signed_in_person(login, participant):
    workshop = workshop_with_sessions()

    page = login(participant).get(f"/workshops/{workshop.pk}/").content.decode()

    assert 'value="Pat Participant"' in page
    assert re.search(r'<input type="email" name="email" value="pat@example.org"[^>]* readonly[^>]*>', page)


def test_public_page_shows_a_signed_in_persons_place_instead_of_the_form(login, participant):
    workshop = workshop_with_sessions(capacity=1)
    EnrolmentFactory(workshop=workshop)
    waiting = EnrolmentFactory(
        workshop=workshop, participant=participant, status=Enrolment.Status.WAITLISTED, waitlisted_at=timezone.now()
    )

    page = login(participant).get(f"/workshops/{workshop.pk}/").content.decode()

    assert texts_of(page, "your-enrolment") == [
        "Your place: Waiting list, number 1 on the waiting list. See your enrolment"
    ]
    assert f'href="/me/enrolments/{waiting.pk}/"' in page
    assert f'action="/workshops/{workshop.pk}/enrol/"' not in page


def test_public_page_of_a_started_workshop_says_enrolment_is_closed(client):
    workshop = workshop_with_sessions(in_days=-1, sessions=3)

    page = client.get(f"/workshops/{workshop.pk}/").content.decode()

    assert "This workshop has started; enrolment is closed." in page
    assert f'action="/workshops/{workshop.pk}/enrol/"' not in page


# --- Enrolling ----------------------------------------------------------------------------------


def test_enrolling_creates_an_account_and_sends_one_confirmation_with_the_calendar(
    client, django_capture_on_commit_callbacks
):
    workshop = workshop_with_sessions(title="CSPO in Toronto", sessions=2)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/workshops/{workshop.pk}/enrol/", {"full_name": "Robin Roe", "email": " Robin.Roe@Example.ORG "}
        )

    assert response.status_code == 302
    assert response["Location"] == f"/workshops/{workshop.pk}/"
    robin = User.objects.get(email="robin.roe@example.org")
    assert robin.full_name == "Robin Roe"
    assert not robin.has_usable_password()
    assert Enrolment.objects.get(participant=robin).status == Enrolment.Status.ENROLLED
    assert len(mail.outbox) == 1
    confirmation = mail.outbox[0]
    assert confirmation.to == ["robin.roe@example.org"]
    assert confirmation.subject == "You are enrolled: CSPO in Toronto"
    [(name, content, mimetype)] = confirmation.attachments
    assert name == f"cspo-workshop-{workshop.pk}.ics"
    assert mimetype == "text/calendar"
    assert content.count("BEGIN:VEVENT") == 2


def test_enrolling_with_an_address_longer_than_an_account_keeps_is_refused_in_the_form(client):
    workshop = workshop_with_sessions()
    address = "robin." + "r" * 240 + "@example.org"  # 258 characters: a valid address, too long to keep

    response = client.post(f"/workshops/{workshop.pk}/enrol/", {"full_name": "Robin Roe", "email": address})

    assert "Ensure this value has at most 254 characters (it has 258)." in response.content.decode()
    assert not Enrolment.objects.exists()


def test_enrolling_says_where_the_confirmation_goes(client):
    workshop = workshop_with_sessions()

    response = client.post(
        f"/workshops/{workshop.pk}/enrol/", {"full_name": "Robin Roe", "email": "Robin@Example.org"}, follow=True
    )

    assert messages_of(response) == [
        "You are enrolled. A confirmation with a calendar file is on its way to robin@example.org."
    ]


def test_enrolling_in_a_full_workshop_joins_the_waiting_list(client, django_capture_on_commit_callbacks):
    workshop = workshop_with_sessions(capacity=1)
    EnrolmentFactory(workshop=workshop)
    EnrolmentFactory(workshop=workshop, status=Enrolment.Status.WAITLISTED, waitlisted_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/workshops/{workshop.pk}/enrol/", {"full_name": "Robin Roe", "email": "robin@example.org"}, follow=True
        )

    robin = Enrolment.objects.get(participant__email="robin@example.org")
    assert robin.status == Enrolment.Status.WAITLISTED
    assert messages_of(response) == [
        "The workshop is full: you are number 2 on the waiting list. "
        "If a seat frees up, we offer it to you by e-mail at robin@example.org."
    ]
    assert [message.to for message in mail.outbox] == [["robin@example.org"]]


def test_enrolling_after_the_workshop_started_is_refused_with_a_clear_message(
    client, django_capture_on_commit_callbacks
):
    workshop = workshop_with_sessions(in_days=-1, sessions=3)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/workshops/{workshop.pk}/enrol/", {"full_name": "Robin Roe", "email": "robin@example.org"}
        )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["This workshop has started; enrolment is closed."]
    assert "This workshop has started; enrolment is closed." in response.content.decode()
    assert not Enrolment.objects.filter(workshop=workshop).exists()
    assert mail.outbox == []


def test_a_refused_enrolment_page_sends_a_time_zone_choice_back_to_the_workshop_page(client):
    workshop = workshop_with_sessions()

    page = client.post(f"/workshops/{workshop.pk}/enrol/", {"full_name": "", "email": ""}).content.decode()

    assert f'<input type="hidden" name="next" value="/workshops/{workshop.pk}/" id="id_next">' in page
    assert "timezone.js" not in page  # its reload would post the form again


def test_enrolling_needs_a_name_and_a_real_address(client):
    workshop = workshop_with_sessions()

    response = client.post(f"/workshops/{workshop.pk}/enrol/", {"full_name": "", "email": "not an address"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "full_name": ["This field is required."],
        "email": ["Enter a valid email address."],
    }
    assert not User.objects.filter(full_name="").exists()


def test_a_signed_in_person_enrols_themselves_whatever_address_is_posted(login, participant):
    workshop = workshop_with_sessions()

    login(participant).post(
        f"/workshops/{workshop.pk}/enrol/", {"full_name": "Pat Participant", "email": "someone.else@example.org"}
    )

    assert list(Enrolment.objects.values_list("participant__email", flat=True)) == ["pat@example.org"]
    assert not User.objects.filter(email="someone.else@example.org").exists()


def test_enrolling_twice_keeps_one_enrolment(client):
    workshop = workshop_with_sessions()
    form = {"full_name": "Robin Roe", "email": "robin@example.org"}

    client.post(f"/workshops/{workshop.pk}/enrol/", form)
    client.post(f"/workshops/{workshop.pk}/enrol/", {**form, "email": "ROBIN@example.org"})

    assert Enrolment.objects.filter(workshop=workshop).count() == 1


def test_enrolling_needs_a_post_with_a_csrf_token():
    workshop = workshop_with_sessions()
    browser = Client(enforce_csrf_checks=True)

    assert browser.get(f"/workshops/{workshop.pk}/enrol/").status_code == 405
    assert (
        browser.post(f"/workshops/{workshop.pk}/enrol/", {"full_name": "R", "email": "r@example.org"}).status_code
        == 403
    )


def test_enrolling_in_a_draft_is_not_found(client):
    workshop = workshop_with_sessions(status=Workshop.Status.DRAFT)

    response = client.post(f"/workshops/{workshop.pk}/enrol/", {"full_name": "Robin", "email": "robin@example.org"})

    assert response.status_code == 404
    assert not User.objects.filter(email="robin@example.org").exists()


# --- The calendar file --------------------------------------------------------------------------


def test_calendar_download_is_an_ics_file_with_an_event_per_session(client, settings):
    settings.CSPO_SITE_URL = "https://cspo.example"
    workshop = workshop_with_sessions(sessions=3)

    response = client.get(f"/workshops/{workshop.pk}/calendar.ics")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="cspo-workshop-{workshop.pk}.ics"'
    body = response.content.decode()
    assert body.count("BEGIN:VEVENT") == 3
    assert body.count(f"URL:https://cspo.example/workshops/{workshop.pk}/") == 3


def test_calendar_location_keeps_the_venue_address_line_breaks_inside_one_line(client):
    workshop = workshop_with_sessions(sessions=1, venue_address="Suite 400\r\n100 King St\rToronto")

    body = client.get(f"/workshops/{workshop.pk}/calendar.ics").content.decode()

    lines = body.replace("\r\n ", "").split("\r\n")  # unfolded content lines
    assert [line for line in lines if line.startswith("LOCATION:")] == ["LOCATION:Suite 400\\n100 King St\\nToronto"]
    assert [line for line in lines if "\r" in line or "\n" in line] == []
