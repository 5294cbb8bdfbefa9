"""Redis as the broker may be away (restarting, unreachable): a change people make is saved and
answered all the same, and its follow-up work (an SEU credit, an e-mail) is left in the database for
its periodic job (cspo.celery.publish_after_commit). Before, a cell save waited 19 s for Celery's
result store and then answered a server error, although the mark was saved."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

import cspo.celery
from cspo.celery import app as celery_app
from participants.models import AttendanceMark, OutboundEmail
from participants.services import mark_everyone_present, queue_email, stranded_emails
from renewals.models import RenewalPolicy, SeuEntry
from renewals.services import STRANDED_CREDIT_AFTER, credit_stranded_attendance
from tests.factories import (
    EnrolmentFactory,
    WorkshopFactory,
    certification_for,
    seu_category,
    workshop_with_daily_sessions,
)

pytestmark = pytest.mark.django_db

NOWHERE = "redis://127.0.0.1:9/0"  # a real broker connection, to a port where nothing listens
HTMX = {"HX-Request": "true"}


def _forget_broker_connections() -> None:
    """Celery keeps its broker connections and producers once made; the next publish makes new ones."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _broker_at(monkeypatch, url: str):
    conf = celery_app.conf
    before = conf.task_always_eager, conf.broker_url
    conf.task_always_eager, conf.broker_url = False, url
    _forget_broker_connections()
    monkeypatch.setattr(cspo.celery, "_broker_away_until", 0.0)  # nothing remembered from another test
    yield
    conf.task_always_eager, conf.broker_url = before
    _forget_broker_connections()


@pytest.fixture
def broker_away(monkeypatch):
    yield from _broker_at(monkeypatch, NOWHERE)


GIVES_UP_AFTER = 20  # seconds: the silent broker then hangs up, so a publish without a timeout ends the test


@pytest.fixture
def broker_silent(monkeypatch):
    """A broker that takes connections and never answers: a Redis stopped mid-way, a half-open
    connection after a failover. Connecting succeeds; every command waits for a reply."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def hold_connections():
        listener.settimeout(0.1)
        deadline = time.monotonic() + GIVES_UP_AFTER
        while not stop.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):  # nobody came: look at the clock again
                held.append(listener.accept()[0])
        for connection in held:
            connection.close()

    holder = threading.Thread(target=hold_connections, daemon=True)
    holder.start()
    yield from _broker_at(monkeypatch, f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
    stop.set()
    holder.join()
    listener.close()


@pytest.mark.django_db(transaction=True)  # no test transaction: the task is queued during the request
def test_without_the_broker_a_cell_save_is_saved_and_its_credit_follows_later(
    login, trainer, participant, broker_away, caplog
):
    policy = RenewalPolicy.current()
    policy.community_category = seu_category("Events")
    policy.save()
    workshop, (session,) = workshop_with_daily_sessions(2, days_from_now=-1, lead_trainer=trainer)
    certification_for(participant, trainer, activated_on=timezone.localdate() - timedelta(days=60))
    enrolment = EnrolmentFactory(participant=participant, workshop=workshop)

    with caplog.at_level(logging.WARNING, logger="cspo.celery"):
        response = login(trainer).post(
            f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{session.pk}/",
            {"presence": "present", "participated": "on"},
            headers=HTMX,
        )

    mark = AttendanceMark.objects.get()
    assert response.status_code == 200
    assert 'data-state="saved"' in response.content.decode()
    assert (mark.presence, mark.credit_pending) == ("present", True)
    assert "The broker is unavailable" in caplog.text
    assert "renewals.credit_attendance" in caplog.text
    assert not SeuEntry.objects.exists()

    assert credit_stranded_attendance(now=mark.updated_at + STRANDED_CREDIT_AFTER) == 1  # the periodic job

    assert SeuEntry.objects.get(holder=participant, source_session=session).hours == 2
    assert AttendanceMark.objects.get().credit_pending is False


def test_without_the_broker_an_e_mail_stays_in_the_outbox_for_its_periodic_job(
    participant, broker_away, django_capture_on_commit_callbacks, caplog
):
    with caplog.at_level(logging.WARNING, logger="cspo.celery"), django_capture_on_commit_callbacks(execute=True):
        message = queue_email(
            purpose="offer_expired",
            to=participant.email,
            template="workshops/offer_expired",
            context={"workshop": WorkshopFactory(title="CSPO Toronto"), "participant": participant,
                     "workshop_url": "https://cspo.test/w/1/"},
        )  # fmt: skip

    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboundEmail.State.QUEUED, 0)
    assert "participants.deliver_email" in caplog.text
    assert stranded_emails(now=message.created_at + timedelta(minutes=16)) == [message.pk]


@pytest.mark.django_db(transaction=True)  # as in production: no transaction around the request
@pytest.mark.parametrize("email", ["pat@example.org", "nobody@example.org"])
def test_without_the_broker_a_password_reset_asks_to_try_again_whether_or_not_the_account_exists(
    client, participant, broker_away, email
):
    response = client.post("/password-reset/", {"email": email})

    assert response.status_code == 503
    assert response["Retry-After"] == "120"
    assert "We could not send the e-mail just now. Please try again in a few minutes." in response.content.decode()
    assert f'value="{email}"' in response.content.decode()  # what was typed stays


def test_without_the_broker_a_request_queueing_many_tasks_tries_it_once(
    trainer, broker_away, django_capture_on_commit_callbacks, caplog
):
    workshop, (session,) = workshop_with_daily_sessions(2, days_from_now=-1, lead_trainer=trainer)
    EnrolmentFactory.create_batch(3, workshop=workshop)

    with caplog.at_level(logging.WARNING, logger="cspo.celery"), django_capture_on_commit_callbacks(execute=True):
        marked = mark_everyone_present(session=session, by=trainer)

    assert marked == 3
    assert AttendanceMark.objects.filter(credit_pending=True).count() == 3
    tried, skipped = "The broker is unavailable", "The broker was unavailable moments ago"
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [tried, skipped, skipped]


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_never_answers_fails_a_cell_saves_publish_in_seconds_and_the_mark_is_saved(
    login, trainer, broker_silent, caplog
):
    workshop, (session,) = workshop_with_daily_sessions(2, days_from_now=-1, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop)

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="cspo.celery"):
        response = login(trainer).post(
            f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{session.pk}/",
            {"presence": "present", "participated": "on"},
            headers=HTMX,
        )
    waited = time.monotonic() - started

    assert response.status_code == 200
    assert 'data-state="saved"' in response.content.decode()
    assert AttendanceMark.objects.get().credit_pending is True
    assert "The broker is unavailable" in caplog.text
    assert waited < GIVES_UP_AFTER / 2  # a timeout gave up on the broker; it did not hang up first
