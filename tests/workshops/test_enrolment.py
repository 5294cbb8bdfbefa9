"""Enrolment: a seat or the waiting list, seat offers, their expiry, cancellations, and the last-seat race."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from participants.models import OutboundEmail
from tests.factories import WorkshopFactory, WorkshopSessionFactory
from workshops import services
from workshops.models import Enrolment, Workshop
from workshops.queries import waitlist_position

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
FIRST_START = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)  # 09:00 in Toronto, two weeks ahead


def published_workshop(**fields) -> Workshop:
    """A published two-day workshop (2 × 7 h) starting two weeks after NOW."""
    workshop = WorkshopFactory(title="CSPO Toronto", **fields)
    for day in range(2):
        starts_at = FIRST_START + timedelta(days=day)
        WorkshopSessionFactory(workshop=workshop, starts_at=starts_at, ends_at=starts_at + timedelta(hours=7))
    return workshop


def enrol(workshop: Workshop, name: str, *, now: datetime = NOW) -> Enrolment:
    return services.enrol(workshop=workshop, email=f"{name.lower()}@example.org", full_name=name, now=now)


def emails_to(name: str) -> list:
    return [message for message in mail.outbox if message.to == [f"{name.lower()}@example.org"]]


def offer_link_token(body: str) -> str:
    return re.search(r"Take the seat: \S+/offers/([^/\s]+)/", body).group(1)


def test_enrol_with_a_free_seat_gives_a_seat_and_a_confirmation(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=2)

    with django_capture_on_commit_callbacks(execute=True):
        enrolment = enrol(workshop, "Ann")

    assert enrolment.status == Enrolment.Status.ENROLLED
    assert enrolment.waitlisted_at is None
    assert [message.subject for message in mail.outbox] == ["You are enrolled: CSPO Toronto"]
    assert mail.outbox[0].to == ["ann@example.org"]


def test_enrol_in_a_full_workshop_joins_the_waiting_list(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1)
    enrol(workshop, "Ann")

    with django_capture_on_commit_callbacks(execute=True):
        enrolment = enrol(workshop, "Ben")

    assert enrolment.status == Enrolment.Status.WAITLISTED
    assert enrolment.waitlisted_at == NOW
    assert waitlist_position(enrolment) == 1
    assert [message.subject for message in mail.outbox] == ["You are on the waiting list: CSPO Toronto"]
    assert "waiting list (number 1)" in mail.outbox[0].body


def test_enrol_twice_returns_the_same_enrolment_and_sends_one_email(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=2)

    with django_capture_on_commit_callbacks(execute=True):
        first = enrol(workshop, "Ann")
        second = services.enrol(workshop=workshop, email="ANN@example.org", full_name="Ann Again", now=NOW)

    assert second.pk == first.pk
    assert second.status == Enrolment.Status.ENROLLED
    assert Enrolment.objects.filter(workshop=workshop).count() == 1
    assert len(mail.outbox) == 1


def test_enrol_again_after_cancelling_takes_a_free_seat_again(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1)
    first = enrol(workshop, "Ann")
    services.cancel_enrolment(enrolment=first, by=first.participant, now=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        again = enrol(workshop, "Ann", now=NOW + timedelta(hours=1))

    assert again.pk == first.pk
    assert again.status == Enrolment.Status.ENROLLED
    assert again.cancelled_at is None
    assert [message.subject for message in mail.outbox] == ["You are enrolled: CSPO Toronto"]


def test_enrol_again_after_leaving_the_waiting_list_joins_its_end():
    workshop = published_workshop(capacity=1)
    enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    enrol(workshop, "Cat", now=NOW + timedelta(minutes=2))
    services.cancel_enrolment(enrolment=ben, by=ben.participant, now=NOW + timedelta(minutes=3))

    ben_again = enrol(workshop, "Ben", now=NOW + timedelta(minutes=4))

    assert ben_again.status == Enrolment.Status.WAITLISTED
    assert ben_again.waitlisted_at == NOW + timedelta(minutes=4)
    assert waitlist_position(ben_again) == 2


def test_waitlist_position_follows_the_order_people_joined():
    workshop = published_workshop(capacity=1)
    enrol(workshop, "Ann")

    waiting = [enrol(workshop, name, now=NOW + timedelta(minutes=n)) for n, name in enumerate(["Ben", "Cat", "Dan"])]

    assert [waitlist_position(enrolment) for enrolment in waiting] == [1, 2, 3]


def test_waitlist_position_of_people_who_joined_at_the_same_moment_follows_the_row_order():
    workshop = published_workshop(capacity=1)
    enrol(workshop, "Ann")

    waiting = [enrol(workshop, name) for name in ["Ben", "Cat", "Dan"]]

    assert [waitlist_position(enrolment) for enrolment in waiting] == [1, 2, 3]


def test_waitlist_position_is_none_for_a_seat():
    workshop = published_workshop(capacity=1)

    assert waitlist_position(enrol(workshop, "Ann")) is None


def test_cancel_enrolment_offers_the_seat_to_the_first_person_waiting(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1, offer_hours=24)
    ann = enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    cat = enrol(workshop, "Cat", now=NOW + timedelta(minutes=2))
    cancelled_at = NOW + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_enrolment(enrolment=ann, by=ann.participant, now=cancelled_at)

    ben.refresh_from_db()
    cat.refresh_from_db()
    assert ben.status == Enrolment.Status.OFFERED
    assert ben.offer_expires_at == cancelled_at + timedelta(hours=24)
    assert cat.status == Enrolment.Status.WAITLISTED
    assert waitlist_position(cat) == 1
    assert [message.to for message in mail.outbox] == [["ben@example.org"]]
    offer = mail.outbox[0]
    assert offer.subject == "A seat is free for you: CSPO Toronto"
    assert "take it by\nWednesday 25 November 2026, 11:00 EST." in offer.body  # 16:00 UTC, in Toronto
    assert services.enrolment_from_offer_token(offer_link_token(offer.body)) == ben


def test_cancel_enrolment_of_a_waiting_person_offers_no_seat(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1)
    enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    cat = enrol(workshop, "Cat", now=NOW + timedelta(minutes=2))

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_enrolment(enrolment=ben, by=ben.participant, now=NOW + timedelta(hours=1))

    cat.refresh_from_db()
    assert cat.status == Enrolment.Status.WAITLISTED
    assert waitlist_position(cat) == 1
    assert mail.outbox == []


def test_enrol_while_a_seat_is_offered_joins_the_waiting_list():
    workshop = published_workshop(capacity=1)
    ann = enrol(workshop, "Ann")
    enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW + timedelta(hours=1))

    dan = enrol(workshop, "Dan", now=NOW + timedelta(hours=2))

    assert dan.status == Enrolment.Status.WAITLISTED


def test_accept_offer_enrols_and_sends_the_confirmation_with_a_calendar(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1, offer_hours=24)
    ann = enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        accepted = services.accept_offer(enrolment=ben, now=NOW + timedelta(hours=2))

    assert accepted.status == Enrolment.Status.ENROLLED
    assert accepted.offer_expires_at is None
    assert [message.subject for message in mail.outbox] == ["You are enrolled: CSPO Toronto"]
    assert mail.outbox[0].to == ["ben@example.org"]
    assert len(mail.outbox[0].attachments) == 1
    calendar = mail.outbox[0].attachments[0]
    assert calendar.filename == f"cspo-workshop-{workshop.pk}.ics"
    assert calendar.mimetype == "text/calendar"
    assert re.findall(r"DTSTART:\S+", calendar.content) == ["DTSTART:20261208T140000Z", "DTSTART:20261209T140000Z"]


def test_accept_offer_twice_sends_one_confirmation(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1)
    ann = enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        services.accept_offer(enrolment=ben, now=NOW + timedelta(hours=2))
        again = services.accept_offer(enrolment=ben, now=NOW + timedelta(hours=3))

    assert again.status == Enrolment.Status.ENROLLED
    assert len(mail.outbox) == 1


def test_accept_offer_after_it_expired_is_refused_with_a_clear_message(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1, offer_hours=24)
    ann = enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as refused:
        services.accept_offer(enrolment=ben, now=NOW + timedelta(hours=24))

    assert refused.value.messages == ["This offer has expired and the seat went to the next person waiting."]
    ben.refresh_from_db()
    assert ben.status == Enrolment.Status.OFFERED
    assert mail.outbox == []


def test_expire_offers_cancels_the_lapsed_offer_and_offers_the_seat_to_the_next_person(
    django_capture_on_commit_callbacks,
):
    workshop = published_workshop(capacity=1, offer_hours=24)
    ann = enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    cat = enrol(workshop, "Cat", now=NOW + timedelta(minutes=2))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW)
    lapsed = NOW + timedelta(hours=25)

    with django_capture_on_commit_callbacks(execute=True):
        expired = services.expire_offers(now=lapsed)

    ben.refresh_from_db()
    cat.refresh_from_db()
    assert expired == 1
    assert (ben.status, ben.cancelled_at, ben.offer_expires_at) == (Enrolment.Status.CANCELLED, lapsed, None)
    assert (cat.status, cat.offer_expires_at) == (Enrolment.Status.OFFERED, lapsed + timedelta(hours=24))
    assert [message.subject for message in emails_to("Ben")] == ["Your seat offer has expired: CSPO Toronto"]
    assert [message.subject for message in emails_to("Cat")] == ["A seat is free for you: CSPO Toronto"]
    assert services.enrolment_from_offer_token(offer_link_token(emails_to("Cat")[0].body)) == cat
    assert len(mail.outbox) == 2


def test_expire_offers_leaves_an_offer_that_is_still_open():
    workshop = published_workshop(capacity=1, offer_hours=24)
    ann = enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW)

    expired = services.expire_offers(now=NOW + timedelta(hours=23))

    ben.refresh_from_db()
    assert expired == 0
    assert ben.status == Enrolment.Status.OFFERED


def test_expire_offers_run_twice_changes_nothing_the_second_time(django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1, offer_hours=24)
    ann = enrol(workshop, "Ann")
    enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    enrol(workshop, "Cat", now=NOW + timedelta(minutes=2))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW)
    lapsed = NOW + timedelta(hours=25)
    services.expire_offers(now=lapsed)
    before = list(Enrolment.objects.filter(workshop=workshop).values_list("pk", "status", "offer_expires_at"))
    emails_before = OutboundEmail.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        expired = services.expire_offers(now=lapsed)

    assert expired == 0
    assert list(Enrolment.objects.filter(workshop=workshop).values_list("pk", "status", "offer_expires_at")) == before
    assert OutboundEmail.objects.count() == emails_before
    assert mail.outbox == []


def test_update_workshop_capacity_increase_offers_the_new_seats(trainer, django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1, lead_trainer=trainer)
    enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    cat = enrol(workshop, "Cat", now=NOW + timedelta(minutes=2))
    dan = enrol(workshop, "Dan", now=NOW + timedelta(minutes=3))

    with django_capture_on_commit_callbacks(execute=True):
        updated = services.update_workshop(workshop=workshop, by=trainer, fields={"capacity": 3})

    assert updated.capacity == 3
    assert [Enrolment.objects.get(pk=e.pk).status for e in (ben, cat, dan)] == [
        Enrolment.Status.OFFERED,
        Enrolment.Status.OFFERED,
        Enrolment.Status.WAITLISTED,
    ]
    assert sorted(message.to[0] for message in mail.outbox) == ["ben@example.org", "cat@example.org"]
    assert {message.subject for message in mail.outbox} == {"A seat is free for you: CSPO Toronto"}


def test_update_workshop_without_a_capacity_increase_offers_nothing(trainer, django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1, lead_trainer=trainer)
    enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))

    with django_capture_on_commit_callbacks(execute=True):
        services.update_workshop(workshop=workshop, by=trainer, fields={"description": "Bring a laptop."})

    ben.refresh_from_db()
    assert ben.status == Enrolment.Status.WAITLISTED
    assert mail.outbox == []


def test_cancel_enrolment_after_the_workshop_started_is_refused_for_a_participant():
    workshop = published_workshop(capacity=2)
    ann = enrol(workshop, "Ann")

    with pytest.raises(ValidationError) as refused:
        services.cancel_enrolment(enrolment=ann, by=ann.participant, now=FIRST_START + timedelta(hours=1))

    assert refused.value.messages == ["The workshop has started; only the training company can change enrolments now."]
    ann.refresh_from_db()
    assert ann.status == Enrolment.Status.ENROLLED


def test_cancel_enrolment_after_the_workshop_started_is_allowed_for_an_administrator(administrator):
    workshop = published_workshop(capacity=2)
    ann = enrol(workshop, "Ann")

    cancelled = services.cancel_enrolment(enrolment=ann, by=administrator, now=FIRST_START + timedelta(hours=1))

    assert cancelled.status == Enrolment.Status.CANCELLED
    assert cancelled.cancelled_at == FIRST_START + timedelta(hours=1)


def test_enrol_after_the_workshop_started_is_refused():
    workshop = published_workshop(capacity=2)

    with pytest.raises(ValidationError) as refused:
        enrol(workshop, "Ann", now=FIRST_START)

    assert refused.value.messages == ["This workshop has started; enrolment is closed."]


def test_cancel_workshop_emails_everyone_enrolled_offered_or_waiting_once(trainer, django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=2, lead_trainer=trainer)
    enrol(workshop, "Ann")
    eve = enrol(workshop, "Eve")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    enrol(workshop, "Cat", now=NOW + timedelta(minutes=2))
    dan = enrol(workshop, "Dan", now=NOW + timedelta(minutes=3))
    services.cancel_enrolment(enrolment=dan, by=dan.participant, now=NOW + timedelta(minutes=4))
    services.cancel_enrolment(enrolment=eve, by=eve.participant, now=NOW + timedelta(minutes=5))
    ben.refresh_from_db()
    assert ben.status == Enrolment.Status.OFFERED

    with django_capture_on_commit_callbacks(execute=True):
        told = services.cancel_workshop(workshop=workshop, by=trainer)

    workshop.refresh_from_db()
    assert workshop.status == Workshop.Status.CANCELLED
    assert told == 3
    assert sorted(message.to[0] for message in mail.outbox) == ["ann@example.org", "ben@example.org", "cat@example.org"]
    assert {message.subject for message in mail.outbox} == {"Cancelled: CSPO Toronto"}
    assert "You were on its waiting list" in emails_to("Cat")[0].body
    assert "contact you about your payment" in emails_to("Ann")[0].body


def test_cancel_workshop_twice_is_refused_and_emails_nobody_again(trainer, django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=2, lead_trainer=trainer)
    enrol(workshop, "Ann")
    services.cancel_workshop(workshop=workshop, by=trainer)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as refused:
        services.cancel_workshop(workshop=workshop, by=trainer)

    assert refused.value.messages == ["This workshop is cancelled already."]
    assert mail.outbox == []


def test_enrol_in_a_cancelled_workshop_is_refused(trainer):
    workshop = published_workshop(capacity=2, lead_trainer=trainer)
    services.cancel_workshop(workshop=workshop, by=trainer)

    with pytest.raises(ValidationError) as refused:
        enrol(workshop, "Ann")

    assert refused.value.messages == ["This workshop is not open for enrolment."]


def test_accept_offer_of_a_cancelled_workshop_is_refused(trainer, django_capture_on_commit_callbacks):
    workshop = published_workshop(capacity=1, lead_trainer=trainer)
    ann = enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW)
    services.cancel_workshop(workshop=workshop, by=trainer)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.accept_offer(enrolment=ben, now=NOW + timedelta(hours=1))

    ben.refresh_from_db()
    assert ben.status == Enrolment.Status.OFFERED
    assert mail.outbox == []


def test_expire_offers_of_a_cancelled_workshop_sends_no_offer_expired_email(
    trainer, django_capture_on_commit_callbacks
):
    workshop = published_workshop(capacity=1, lead_trainer=trainer, offer_hours=24)
    ann = enrol(workshop, "Ann")
    enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW)
    services.cancel_workshop(workshop=workshop, by=trainer)

    with django_capture_on_commit_callbacks(execute=True):
        services.expire_offers(now=NOW + timedelta(hours=25))

    assert mail.outbox == []


# --- Two people at the same moment (PostgreSQL row locks) ----------------------------------------

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite has no row locks and lets one writer in at a time anyway",
)


def enrol_at_the_same_moment(workshop: Workshop, names: list[str]) -> list[Enrolment]:
    """Each name enrols from its own thread and database connection; a barrier lets them all open
    their transaction and read the workshop before any of them enrols or commits."""
    everyone_inside = threading.Barrier(len(names), timeout=10)

    def take_a_seat(name: str) -> Enrolment:
        try:
            with transaction.atomic():
                assert Workshop.objects.get(pk=workshop.pk).capacity == workshop.capacity
                everyone_inside.wait()
                return enrol(workshop, name)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = [pool.submit(take_a_seat, name) for name in names]
    return [future.result(timeout=30) for future in futures]  # re-raises whatever a thread raised


@pytest.mark.django_db(transaction=True)
@needs_postgresql
def test_two_people_taking_the_last_seat_at_once_get_one_seat_and_one_waitlist_place():
    workshop = published_workshop(capacity=1)

    results = enrol_at_the_same_moment(workshop, ["Ann", "Ben"])  # both threads finished without error

    assert sorted(enrolment.status for enrolment in results) == [Enrolment.Status.ENROLLED, Enrolment.Status.WAITLISTED]
    seats_held = Enrolment.objects.filter(workshop=workshop, status__in=Enrolment.SEAT_HOLDING).count()
    assert seats_held == 1
    assert seats_held <= workshop.capacity
    assert sorted(message.subject for message in mail.outbox) == [
        "You are enrolled: CSPO Toronto",
        "You are on the waiting list: CSPO Toronto",
    ]


@pytest.mark.django_db(transaction=True)
@needs_postgresql
def test_one_person_enrolling_twice_at_once_gets_one_enrolment_and_one_email():
    workshop = published_workshop(capacity=5)

    results = enrol_at_the_same_moment(workshop, ["Ann", "Ann"])

    assert results[0].pk == results[1].pk
    assert Enrolment.objects.filter(workshop=workshop).count() == 1
    assert [message.subject for message in mail.outbox] == ["You are enrolled: CSPO Toronto"]


@pytest.mark.django_db(transaction=True)
@needs_postgresql
def test_people_enrolling_in_two_workshops_of_one_course_do_not_wait_for_each_other():
    toronto, ottawa = published_workshop(capacity=5), published_workshop(capacity=5)
    assert toronto.course_id == ottawa.course_id
    ben_enrolled = threading.Event()

    def ben_enrols_in_ottawa() -> None:
        try:
            enrol(ottawa, "Ben")
            ben_enrolled.set()
        finally:
            connection.close()

    ben = threading.Thread(target=ben_enrols_in_ottawa)
    with transaction.atomic():  # Ann's enrolment in Toronto, not yet committed
        enrol(toronto, "Ann")
        ben.start()
        enrolled_meanwhile = ben_enrolled.wait(timeout=5)
    ben.join(timeout=10)

    assert enrolled_meanwhile
    assert Enrolment.objects.filter(status=Enrolment.Status.ENROLLED).count() == 2
