"""Each role lands on its own home; nobody opens a page that is not theirs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import EnrolmentFactory, UserFactory, WorkshopFactory, WorkshopSessionFactory

pytestmark = pytest.mark.django_db

TRAINER_PAGES = ["/trainer/", "/trainer/workshops/{workshop}/"]
ADMINISTRATOR_PAGES = ["/overview/"]
SIGNED_IN_PAGES = ["/", "/me/", *TRAINER_PAGES, *ADMINISTRATOR_PAGES]


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_anonymous_visitor_is_sent_to_login(client, url):
    workshop = WorkshopFactory()

    response = client.get(url.format(workshop=workshop.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_trainer_lands_on_my_workshops(login, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, title="CSPO in Toronto")
    WorkshopSessionFactory(workshop=workshop)
    EnrolmentFactory(workshop=workshop)

    response = login(trainer).get("/", follow=True)

    assert response.redirect_chain == [("/trainer/", 302)]
    assert [w.title for w in response.context["groups"].upcoming] == ["CSPO in Toronto"]
    assert response.context["groups"].upcoming[0].seats_taken == 1


def test_participant_lands_on_my_certifications_and_enrolments(login, participant):
    EnrolmentFactory(participant=participant, workshop=WorkshopFactory(title="CSPO online"))

    response = login(participant).get("/", follow=True)

    assert response.redirect_chain == [("/me/", 302)]
    assert [e.workshop.title for e in response.context["enrolments"]] == ["CSPO online"]


def test_administrator_lands_on_the_overview(login, administrator):
    WorkshopSessionFactory(workshop=WorkshopFactory(title="Next CSPO"))

    response = login(administrator).get("/", follow=True)

    assert response.redirect_chain == [("/overview/", 302)]
    assert [w.title for w in response.context["overview"].upcoming] == ["Next CSPO"]
    assert response.context["overview"].workshops_by_status["Published"] == 1


def test_a_trainer_who_also_takes_a_course_sees_both_menus(login):
    both = UserFactory(is_trainer=True, is_participant=True)

    page = login(both).get("/trainer/").content.decode()

    assert 'href="/trainer/"' in page
    assert 'href="/me/"' in page


@pytest.mark.parametrize("url", [*TRAINER_PAGES, *ADMINISTRATOR_PAGES])
def test_participant_is_refused_trainer_and_administrator_pages(login, participant, url):
    workshop = WorkshopFactory()
    EnrolmentFactory(participant=participant, workshop=workshop)

    response = login(participant).get(url.format(workshop=workshop.pk))

    assert response.status_code == 403


def test_trainer_is_refused_the_administrator_overview(login, trainer):
    assert login(trainer).get("/overview/").status_code == 403


def test_another_trainers_workshop_is_not_found(login, trainer, other_trainer):
    workshop = WorkshopFactory(lead_trainer=other_trainer)

    response = login(trainer).get(f"/trainer/workshops/{workshop.pk}/")

    assert response.status_code == 404


def test_co_trainer_and_administrator_open_the_workshop(login, trainer, administrator, client):
    workshop = WorkshopFactory()
    workshop.co_trainers.add(trainer)

    assert login(trainer).get(f"/trainer/workshops/{workshop.pk}/").status_code == 200
    client.logout()
    assert login(administrator).get(f"/trainer/workshops/{workshop.pk}/").status_code == 200


def _workshops_with_people(trainer, count: int) -> None:
    for _ in range(count):
        workshop = WorkshopFactory(lead_trainer=trainer)
        WorkshopSessionFactory.create_batch(2, workshop=workshop)
        EnrolmentFactory.create_batch(3, workshop=workshop)


@pytest.mark.parametrize("workshops", [1, 8])
def test_trainer_home_query_count_stays_flat(login, trainer, django_assert_num_queries, workshops):
    _workshops_with_people(trainer, workshops)
    client = login(trainer)

    # session, user, when each of the trainer's workshops runs, the figures of the rows shown
    with django_assert_num_queries(4):
        assert client.get("/trainer/").status_code == 200


def test_trainer_home_shows_past_workshops_twenty_a_page_most_recent_first(login, trainer):
    now = timezone.now()
    for days_ago in range(1, 23):
        workshop = WorkshopFactory(lead_trainer=trainer, title=f"{days_ago} days ago")
        WorkshopSessionFactory(workshop=workshop, starts_at=now - timedelta(days=days_ago, hours=8))
    client = login(trainer)

    first = client.get("/trainer/")
    second = client.get("/trainer/", {"past": 2})

    assert [w.title for w in first.context["past"]] == [f"{n} days ago" for n in range(1, 21)]
    assert [w.title for w in second.context["past"]] == ["21 days ago", "22 days ago"]
    assert 'href="?past=2" rel="next"' in first.content.decode()


@pytest.mark.parametrize("enrolments", [1, 8])
def test_my_home_query_count_stays_flat(login, participant, django_assert_num_queries, enrolments):
    for _ in range(enrolments):
        workshop = WorkshopFactory()
        WorkshopSessionFactory.create_batch(2, workshop=workshop)
        EnrolmentFactory(participant=participant, workshop=workshop)
    client = login(participant)

    # session, user, enrolments with workshops, their sessions, certifications
    with django_assert_num_queries(5):
        assert client.get("/me/").status_code == 200


@pytest.mark.parametrize("workshops", [1, 8])
def test_overview_query_count_stays_flat(login, administrator, trainer, django_assert_num_queries, workshops):
    _workshops_with_people(trainer, workshops)
    client = login(administrator)

    # session, user, workshops by status, enrolments by status, people, upcoming workshops
    with django_assert_num_queries(6):
        assert client.get("/overview/").status_code == 200


@pytest.mark.parametrize("participants", [2, 12])
def test_workshop_page_query_count_stays_flat(login, trainer, django_assert_num_queries, participants):
    workshop = WorkshopFactory(lead_trainer=trainer)
    WorkshopSessionFactory.create_batch(2, workshop=workshop)
    EnrolmentFactory.create_batch(participants, workshop=workshop)
    client = login(trainer)

    # session, user, workshop, co-trainers, roster (with pre-work deliveries), sessions, pre-work items
    with django_assert_num_queries(7):
        assert client.get(f"/trainer/workshops/{workshop.pk}/").status_code == 200
