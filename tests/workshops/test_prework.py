"""Pre-work goes to each enrolled person once, ``prework_days_before`` days before the first session."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection, transaction

from participants.models import OutboundEmail
from tests.concurrency import wait_until_another_connection_waits_for_a_lock
from tests.factories import UserFactory, WorkshopFactory, WorkshopSessionFactory
from workshops import services, tasks
from workshops.models import Enrolment, PreworkDelivery, PreworkItem, Workshop
from workshops.queries import enrolment_page

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
FIRST_START = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
RELEASE = FIRST_START - timedelta(days=7)  # the workshops below send pre-work 7 days ahead


def workshop_with_prework(**fields) -> Workshop:
    workshop = WorkshopFactory(title="CSPO Toronto", prework_days_before=7, **fields)
    for day in range(2):
        starts_at = FIRST_START + timedelta(days=day)
        WorkshopSessionFactory(workshop=workshop, starts_at=starts_at, ends_at=starts_at + timedelta(hours=7))
    PreworkItem.objects.create(workshop=workshop, title="Product Owner guide", url="https://example.org/po-guide")
    PreworkItem.objects.create(workshop=workshop, title="Product canvas", file="prework/canvas.pdf")
    return workshop


def enrol(workshop: Workshop, name: str, *, now: datetime = NOW) -> Enrolment:
    return services.enrol(workshop=workshop, email=f"{name.lower()}@example.org", full_name=name, now=now)


def test_release_prework_sends_once_per_enrolment(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework()
    ann = enrol(workshop, "Ann")

    with django_capture_on_commit_callbacks(execute=True):
        first = services.release_prework(enrolment=ann, now=RELEASE)
        second = services.release_prework(enrolment=ann, now=RELEASE + timedelta(hours=1))

    assert second is None
    assert list(PreworkDelivery.objects.filter(enrolment=ann)) == [first]
    assert first.email == OutboundEmail.objects.get(purpose="prework")
    assert [message.subject for message in mail.outbox] == ["Pre-work for CSPO Toronto"]
    assert mail.outbox[0].to == ["ann@example.org"]
    assert "  - Product Owner guide: https://example.org/po-guide\n" in mail.outbox[0].body
    assert f"  - Product canvas: {services.absolute_url(f'/me/enrolments/{ann.pk}/')}\n" in mail.outbox[0].body


def test_release_prework_before_its_day_sends_nothing(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework()
    ann = enrol(workshop, "Ann")

    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.release_prework(enrolment=ann, now=RELEASE - timedelta(minutes=1))

    assert delivery is None
    assert PreworkDelivery.objects.count() == 0
    assert mail.outbox == []


def test_release_prework_without_items_sends_nothing(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework()
    workshop.prework_items.all().delete()
    ann = enrol(workshop, "Ann")

    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.release_prework(enrolment=ann, now=RELEASE)

    assert delivery is None
    assert mail.outbox == []


def test_release_prework_to_a_person_on_the_waiting_list_sends_nothing(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework(capacity=1)
    enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben")

    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.release_prework(enrolment=ben, now=RELEASE)

    assert delivery is None
    assert mail.outbox == []


def test_send_due_prework_sends_to_every_enrolled_person_and_nobody_else(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework(capacity=3)
    for name in ("Ann", "Ben", "Fay"):
        enrol(workshop, name)
    enrol(workshop, "Cat", now=NOW + timedelta(minutes=1))
    enrol(workshop, "Eve", now=NOW + timedelta(minutes=2))
    fay = Enrolment.objects.get(workshop=workshop, participant__email="fay@example.org")
    services.cancel_enrolment(enrolment=fay, by=fay.participant, now=NOW + timedelta(minutes=3))
    statuses = dict(workshop.enrolments.values_list("participant__email", "status"))
    assert statuses == {
        "ann@example.org": Enrolment.Status.ENROLLED,
        "ben@example.org": Enrolment.Status.ENROLLED,
        "cat@example.org": Enrolment.Status.OFFERED,
        "eve@example.org": Enrolment.Status.WAITLISTED,
        "fay@example.org": Enrolment.Status.CANCELLED,
    }

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_due_prework(now=RELEASE)

    assert sent == 2
    assert sorted(message.to[0] for message in mail.outbox) == ["ann@example.org", "ben@example.org"]
    assert {message.subject for message in mail.outbox} == {"Pre-work for CSPO Toronto"}
    assert PreworkDelivery.objects.filter(enrolment__workshop=workshop).count() == 2


def test_send_due_prework_run_again_sends_nothing(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework()
    enrol(workshop, "Ann")
    enrol(workshop, "Ben")
    services.send_due_prework(now=RELEASE)

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_due_prework(now=RELEASE + timedelta(hours=1))

    assert sent == 0
    assert mail.outbox == []
    assert PreworkDelivery.objects.count() == 2


def test_send_due_prework_before_the_release_time_sends_nothing(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework()
    enrol(workshop, "Ann")

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_due_prework(now=RELEASE - timedelta(minutes=1))

    assert sent == 0
    assert mail.outbox == []


def test_send_due_prework_follows_each_workshops_own_number_of_days(django_capture_on_commit_callbacks):
    three_days = workshop_with_prework()
    three_days.prework_days_before = 3
    three_days.save()
    enrol(three_days, "Ann")
    seven_days = workshop_with_prework()
    enrol(seven_days, "Ben")

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_due_prework(now=RELEASE)

    assert sent == 1
    assert [message.to for message in mail.outbox] == [["ben@example.org"]]


def test_send_due_prework_of_a_cancelled_workshop_sends_nothing(trainer, django_capture_on_commit_callbacks):
    workshop = workshop_with_prework(lead_trainer=trainer)
    enrol(workshop, "Ann")
    services.cancel_workshop(workshop=workshop, by=trainer)

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_due_prework(now=RELEASE)

    assert sent == 0
    assert mail.outbox == []


def test_send_due_prework_stops_at_the_batch_size():
    workshop = workshop_with_prework()
    for name in ("Ann", "Ben", "Cat"):
        enrol(workshop, name)

    first_run = services.send_due_prework(now=RELEASE, batch=2)
    second_run = services.send_due_prework(now=RELEASE, batch=2)

    assert (first_run, second_run) == (2, 1)
    assert PreworkDelivery.objects.count() == 3


def test_send_due_prework_task_runs_the_periodic_job(django_capture_on_commit_callbacks):
    workshop = WorkshopFactory(prework_days_before=7)
    starts_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    WorkshopSessionFactory(workshop=workshop, starts_at=starts_at, ends_at=starts_at + timedelta(hours=7))
    PreworkItem.objects.create(workshop=workshop, title="Product Owner guide", url="https://example.org/po-guide")
    Enrolment.objects.create(workshop=workshop, participant=UserFactory())

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.send_due_prework.delay()

    assert result.get() == 1
    assert len(mail.outbox) == 1


def test_enrol_after_the_release_time_sends_the_prework_at_once(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework()

    with django_capture_on_commit_callbacks(execute=True):
        ann = enrol(workshop, "Ann", now=RELEASE + timedelta(days=2))

    assert [message.subject for message in mail.outbox] == [
        "You are enrolled: CSPO Toronto",
        "Pre-work for CSPO Toronto",
    ]
    assert PreworkDelivery.objects.filter(enrolment=ann).count() == 1


def test_enrol_before_the_release_time_sends_no_prework(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework()

    with django_capture_on_commit_callbacks(execute=True):
        enrol(workshop, "Ann", now=RELEASE - timedelta(days=1))

    assert [message.subject for message in mail.outbox] == ["You are enrolled: CSPO Toronto"]
    assert PreworkDelivery.objects.count() == 0


def test_accept_offer_after_the_release_time_sends_the_prework_at_once(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework(capacity=1)
    ann = enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben", now=NOW + timedelta(minutes=1))
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=RELEASE + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        services.accept_offer(enrolment=ben, now=RELEASE + timedelta(hours=2))

    assert [message.subject for message in mail.outbox] == [
        "You are enrolled: CSPO Toronto",
        "Pre-work for CSPO Toronto",
    ]
    assert PreworkDelivery.objects.filter(enrolment=ben).count() == 1


def test_enrolment_page_hides_the_prework_before_it_is_released():
    workshop = workshop_with_prework()
    ann = enrol(workshop, "Ann")

    page = enrolment_page(ann, now=RELEASE - timedelta(minutes=1))

    assert page["prework_released"] is False
    assert page["prework_items"] == []


def test_enrolment_page_shows_the_prework_once_released():
    workshop = workshop_with_prework()
    ann = enrol(workshop, "Ann")

    page = enrolment_page(ann, now=RELEASE)

    assert page["prework_released"] is True
    assert [item.title for item in page["prework_items"]] == ["Product Owner guide", "Product canvas"]


def test_enrolment_page_shows_no_prework_to_a_person_on_the_waiting_list():
    workshop = workshop_with_prework(capacity=1)
    enrol(workshop, "Ann")
    ben = enrol(workshop, "Ben")

    page = enrolment_page(ben, now=RELEASE + timedelta(days=1))

    assert page["prework_released"] is False
    assert page["prework_items"] == []
    assert page["position"] == 1


def test_enrolment_page_shows_no_prework_after_cancelling():
    workshop = workshop_with_prework()
    ann = enrol(workshop, "Ann", now=RELEASE)
    assert PreworkDelivery.objects.filter(enrolment=ann).count() == 1
    services.cancel_enrolment(enrolment=ann, by=ann.participant, now=RELEASE + timedelta(hours=1))
    ann.refresh_from_db()

    page = enrolment_page(ann, now=RELEASE + timedelta(hours=2))

    assert page["prework_released"] is False
    assert page["prework_items"] == []


def test_an_item_added_after_the_release_goes_to_those_who_had_the_prework_once(
    trainer, django_capture_on_commit_callbacks
):
    workshop = workshop_with_prework(lead_trainer=trainer)
    ann, ben = enrol(workshop, "Ann"), enrol(workshop, "Ben")
    services.release_prework(enrolment=ann, now=RELEASE)  # Ben's is not released yet: the job runs later
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        item, told = services.add_prework_item(
            workshop=workshop, by=trainer, title="Stakeholder map", url="https://example.org/map"
        )

    assert told == 1
    assert [(m.to, m.subject) for m in mail.outbox] == [(["ann@example.org"], "New pre-work for CSPO Toronto")]
    assert "  - Stakeholder map: https://example.org/map\n" in mail.outbox[0].body
    assert "Product Owner guide" not in mail.outbox[0].body  # only what is new
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.release_prework(enrolment=ben, now=RELEASE)

    assert [m.to for m in mail.outbox] == [["ben@example.org"]]
    assert "  - Stakeholder map: https://example.org/map\n" in mail.outbox[0].body  # with the rest
    assert item.pk in {i.pk for i in workshop.prework_items.all()}


def test_an_item_added_before_the_release_is_sent_to_nobody_yet(trainer, django_capture_on_commit_callbacks):
    workshop = workshop_with_prework(lead_trainer=trainer)
    enrol(workshop, "Ann")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _, told = services.add_prework_item(workshop=workshop, by=trainer, title="Stakeholder map", url="https://x.org")

    assert told == 0
    assert mail.outbox == []


def test_an_item_added_after_the_release_skips_people_who_cancelled(trainer, django_capture_on_commit_callbacks):
    workshop = workshop_with_prework(lead_trainer=trainer)
    ann = enrol(workshop, "Ann")
    services.release_prework(enrolment=ann, now=RELEASE)
    Enrolment.objects.filter(pk=ann.pk).update(status=Enrolment.Status.CANCELLED)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        _, told = services.add_prework_item(workshop=workshop, by=trainer, title="Stakeholder map", url="https://x.org")

    assert told == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks (SQLite has one writer)")
def test_someone_who_cancels_while_the_prework_job_runs_is_not_sent_it(django_capture_on_commit_callbacks):
    workshop = workshop_with_prework()
    ann = enrol(workshop, "Ann")  # the job read her as enrolled, before she cancelled
    sent = []

    def the_job_releases_hers() -> None:
        try:
            with transaction.atomic():
                sent.append(services.release_prework(enrolment=ann, now=RELEASE))
        finally:
            connection.close()

    job = threading.Thread(target=the_job_releases_hers)
    with transaction.atomic():
        services.cancel_enrolment(enrolment=ann, by=ann.participant, now=NOW)
        job.start()
        wait_until_another_connection_waits_for_a_lock()
    job.join(timeout=10)

    assert sent == [None]
    assert not PreworkDelivery.objects.exists()
    assert not OutboundEmail.objects.filter(purpose="prework").exists()


def test_an_item_whose_change_fails_after_its_file_was_written_leaves_no_file(trainer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    workshop = workshop_with_prework(lead_trainer=trainer)
    services.release_prework(enrolment=enrol(workshop, "Ann"), now=RELEASE)  # Ann is told of a new item

    def refuse_the_email(execute, sql, params, many, context):
        """The database refusing the message to Ann (a lost connection): the outside world."""
        if sql.startswith('INSERT INTO "participants_outboundemail"'):
            raise OperationalError("the server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    upload = SimpleUploadedFile("map.pdf", b"%PDF-1.4\n% map\n", content_type="application/pdf")
    with connection.execute_wrapper(refuse_the_email), pytest.raises(OperationalError):
        services.add_prework_item(workshop=workshop, by=trainer, title="Stakeholder map", file=upload)

    assert not workshop.prework_items.filter(title="Stakeholder map").exists()
    assert [path for path in (tmp_path / "media").rglob("*") if path.is_file()] == []
