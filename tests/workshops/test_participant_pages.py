"""A participant's own workshop page, leaving the waiting list, and answering a seat offer by link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from tests.factories import EnrolmentFactory, UserFactory, WorkshopFactory, WorkshopSessionFactory
from workshops import services
from workshops.models import Enrolment, PreworkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolment(participant):
    workshop = WorkshopFactory(title="CSPO Toronto", capacity=1)
    WorkshopSessionFactory(workshop=workshop, starts_at=timezone.now() + timedelta(days=3))
    return EnrolmentFactory(participant=participant, workshop=workshop)


@pytest.fixture
def released_file(enrolment, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    item = PreworkItem(workshop=enrolment.workshop, title="Canvas")
    item.file.save("canvas.pdf", ContentFile(b"%PDF-1.4 canvas"), save=True)
    return item


def test_participant_sees_their_workshop_with_released_prework(login, participant, enrolment, released_file):
    response = login(participant).get(f"/me/enrolments/{enrolment.pk}/")

    assert response.status_code == 200
    assert response.context["prework_released"] is True
    assert [item.title for item in response.context["prework_items"]] == ["Canvas"]
    assert "100 Queen St W, Toronto" in response.content.decode()


def test_participant_downloads_their_released_prework_file(login, participant, enrolment, released_file):
    response = login(participant).get(f"/me/enrolments/{enrolment.pk}/prework/{released_file.pk}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 canvas"


def test_someone_elses_enrolment_page_and_files_are_not_found(login, enrolment, released_file):
    stranger = UserFactory()
    client = login(stranger)

    pages = [f"/me/enrolments/{enrolment.pk}/", f"/me/enrolments/{enrolment.pk}/prework/{released_file.pk}/"]

    assert [client.get(page).status_code for page in pages] == [404, 404]
    assert client.post(f"/me/enrolments/{enrolment.pk}/cancel/").status_code == 404
    enrolment.refresh_from_db()
    assert enrolment.status == Enrolment.Status.ENROLLED


def test_a_trainer_cannot_open_a_participants_enrolment_page(login, trainer, enrolment):
    assert login(trainer).get(f"/me/enrolments/{enrolment.pk}/").status_code == 404


def test_anonymous_visitor_is_sent_to_login_for_an_enrolment_page(client, enrolment):
    response = client.get(f"/me/enrolments/{enrolment.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_participant_cancels_and_the_seat_is_offered_to_the_next_person(
    login, participant, enrolment, django_capture_on_commit_callbacks
):
    waiting = services.enrol(workshop=enrolment.workshop, email="ben@example.org", full_name="Ben Waiting")

    with django_capture_on_commit_callbacks(execute=True):
        response = login(participant).post(f"/me/enrolments/{enrolment.pk}/cancel/", follow=True)

    waiting.refresh_from_db()
    assert [str(m) for m in response.context["messages"]] == ["Your enrolment is cancelled."]
    assert waiting.status == Enrolment.Status.OFFERED


def test_a_waiting_person_leaves_the_list(client, enrolment):
    waiting = services.enrol(workshop=enrolment.workshop, email="ben@example.org", full_name="Ben Waiting")
    client.force_login(waiting.participant)

    response = client.post(f"/me/enrolments/{waiting.pk}/cancel/", follow=True)

    waiting.refresh_from_db()
    assert [str(m) for m in response.context["messages"]] == ["You left the waiting list."]
    assert waiting.status == Enrolment.Status.CANCELLED


def test_the_offer_link_takes_the_seat_without_logging_in(client, enrolment, django_capture_on_commit_callbacks):
    waiting = services.enrol(workshop=enrolment.workshop, email="ben@example.org", full_name="Ben Waiting")
    services.cancel_enrolment(enrolment=enrolment, by=enrolment.participant)
    token = services.offer_token(waiting)

    page = client.get(f"/offers/{token}/")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/offers/{token}/", {"action": "accept"})

    waiting.refresh_from_db()
    assert "Take the seat" in page.content.decode()
    assert waiting.status == Enrolment.Status.ENROLLED


def test_the_offer_link_declines_an_open_offer_and_the_seat_goes_on(client, enrolment):
    waiting = services.enrol(workshop=enrolment.workshop, email="ben@example.org", full_name="Ben Waiting")
    services.cancel_enrolment(enrolment=enrolment, by=enrolment.participant)

    response = client.post(f"/offers/{services.offer_token(waiting)}/", {"action": "decline"}, follow=True)

    waiting.refresh_from_db()
    assert [str(m) for m in response.context["messages"]] == [
        "You declined the seat; it goes to the next person waiting."
    ]
    assert waiting.status == Enrolment.Status.CANCELLED


def test_the_offer_link_once_the_seat_was_taken_cannot_give_it_up(client, enrolment):
    waiting = services.enrol(workshop=enrolment.workshop, email="ben@example.org", full_name="Ben Waiting")
    services.cancel_enrolment(enrolment=enrolment, by=enrolment.participant)
    link = f"/offers/{services.offer_token(waiting)}/"
    client.post(link, {"action": "accept"})

    response = client.post(link, {"action": "decline"}, follow=True)  # the old e-mail, clicked again

    waiting.refresh_from_db()
    assert [str(m) for m in response.context["messages"]][-1] == (
        "You took this seat already, so this link no longer declines it. To give it up, sign in and cancel your "
        "enrolment."
    )
    assert waiting.status == Enrolment.Status.ENROLLED
    assert "You are enrolled." in response.content.decode()


def test_the_offer_link_of_a_lapsed_offer_declines_nothing_and_says_so(client, enrolment):
    waiting = services.enrol(workshop=enrolment.workshop, email="ben@example.org", full_name="Ben Waiting")
    services.cancel_enrolment(enrolment=enrolment, by=enrolment.participant)
    link = f"/offers/{services.offer_token(waiting)}/"
    Enrolment.objects.filter(pk=waiting.pk).update(status=Enrolment.Status.WAITLISTED, waitlisted_at=timezone.now())

    response = client.post(link, {"action": "decline"}, follow=True)

    waiting.refresh_from_db()
    assert [str(m) for m in response.context["messages"]] == [
        "This offer is no longer open: it expired or was declined already."
    ]
    assert waiting.status == Enrolment.Status.WAITLISTED


def test_a_tampered_offer_link_is_not_found(client, enrolment):
    token = services.offer_token(enrolment)

    assert client.get(f"/offers/{token}x/").status_code == 404


def test_an_expired_offer_says_so_and_changes_nothing(client, enrolment):
    waiting = services.enrol(workshop=enrolment.workshop, email="ben@example.org", full_name="Ben Waiting")
    services.cancel_enrolment(enrolment=enrolment, by=enrolment.participant)
    Enrolment.objects.filter(pk=waiting.pk).update(offer_expires_at=timezone.now() - timedelta(minutes=1))

    response = client.post(f"/offers/{services.offer_token(waiting)}/", {"action": "accept"}, follow=True)

    waiting.refresh_from_db()
    assert [str(m) for m in response.context["messages"]] == [
        "This offer has expired and the seat went to the next person waiting."
    ]
    assert waiting.status == Enrolment.Status.OFFERED
