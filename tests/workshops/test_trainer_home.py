"""The trainer's home: running, upcoming and a page of past workshops, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import EnrolmentFactory, WorkshopFactory, WorkshopSessionFactory

pytestmark = pytest.mark.django_db


def workshop(trainer, title: str, *, starts_in: timedelta | None, hours: int = 8):
    made = WorkshopFactory(lead_trainer=trainer, title=title)
    if starts_in is not None:
        WorkshopSessionFactory(
            workshop=made,
            starts_at=timezone.now() + starts_in,
            ends_at=timezone.now() + starts_in + timedelta(hours=hours),
        )
    return made


def past_workshops(trainer, count: int) -> None:
    for days_ago in range(1, count + 1):
        workshop(trainer, f"{days_ago} days ago", starts_in=-timedelta(days=days_ago, hours=8))


def titles(workshops) -> list[str]:
    return [w.title for w in workshops]


def test_trainer_home_groups_running_upcoming_and_past_workshops(login, trainer, other_trainer):
    workshop(trainer, "Later", starts_in=timedelta(days=20))
    workshop(trainer, "No sessions yet", starts_in=None)
    workshop(trainer, "Sooner", starts_in=timedelta(days=2))
    workshop(trainer, "Running", starts_in=-timedelta(hours=2))
    workshop(trainer, "Last week", starts_in=-timedelta(days=7))
    co_trained = workshop(other_trainer, "Co-trained", starts_in=timedelta(days=5))
    co_trained.co_trainers.add(trainer)
    workshop(other_trainer, "Not mine", starts_in=timedelta(days=3))

    response = login(trainer).get("/trainer/")

    groups = response.context["groups"]
    assert titles(groups.running) == ["Running"]
    assert titles(groups.upcoming) == ["Sooner", "Co-trained", "Later", "No sessions yet"]
    assert titles(response.context["past"]) == ["Last week"]
    page = response.content.decode()
    assert "Not mine" not in page
    assert 'Co-trained</a>\n          <span class="muted">CSPO · Otto Trainer</span>' in page


def test_trainer_home_counts_seats_and_waiting_list_of_the_rows_shown(login, trainer):
    upcoming = workshop(trainer, "Upcoming", starts_in=timedelta(days=2))
    EnrolmentFactory.create_batch(2, workshop=upcoming)
    EnrolmentFactory(workshop=upcoming, status="waitlisted", waitlisted_at=timezone.now())
    past = workshop(trainer, "Past", starts_in=-timedelta(days=3))
    EnrolmentFactory(workshop=past)

    response = login(trainer).get("/trainer/")

    [shown_upcoming] = response.context["groups"].upcoming
    [shown_past] = response.context["past"]
    assert (shown_upcoming.seats_taken, shown_upcoming.waitlist_length) == (2, 1)
    assert (shown_past.seats_taken, shown_past.waitlist_length) == (1, 0)


@pytest.mark.parametrize(("asked", "shown"), [("99", 2), ("0", 2), ("-1", 2), ("two", 1), ("2", 2), ("1", 1)])
def test_trainer_home_past_page_out_of_range_or_not_a_number(login, trainer, asked, shown):
    past_workshops(trainer, 22)

    response = login(trainer).get("/trainer/", {"past": asked})

    assert response.context["past"].number == shown
    expected = [f"{n} days ago" for n in range(1, 21)] if shown == 1 else ["21 days ago", "22 days ago"]
    assert titles(response.context["past"]) == expected


@pytest.mark.parametrize("past", [3, 45])
def test_trainer_home_second_page_query_count_stays_flat(login, trainer, django_assert_num_queries, past):
    past_workshops(trainer, past)
    workshop(trainer, "Upcoming", starts_in=timedelta(days=2))
    client = login(trainer)

    # session, user, when each of the trainer's workshops runs, the figures of the rows shown
    with django_assert_num_queries(4):
        response = client.get("/trainer/", {"past": 2 if past > 20 else 1})

    assert len(response.context["past"]) == min(past, 20)
