"""A task of ours goes through Redis to a real Celery worker process and does its work there."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from redis import Redis

from certification.models import Certification
from cspo.celery import app as celery_app
from participants.models import OutboundEmail
from tests.factories import UserFactory, WorkshopFactory, WorkshopSessionFactory, certification_for
from workshops import services
from workshops.models import Enrolment, RosterImport

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

if not django_settings.REDIS_URL:
    pytestmark.append(pytest.mark.skip(reason="REDIS_URL is not set: no broker for a real worker (CI sets it)"))


def _test_database_url() -> str:
    """The URL of the database this test runs on, so the worker sees the rows the test commits."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    # named, so that a session it leaves behind shows as its own (tests/conftest.py django_db_setup)
    return f"postgres://{db['USER']}{password}@{db['HOST']}{port}/{db['NAME']}?application_name=cspo-test-celery-worker"


def _forget_routes() -> None:
    """Celery builds its router once from task_routes; the next test's worker has a new queue."""
    celery_app.amqp.flush_routes()
    celery_app.amqp.__dict__.pop("router", None)


@pytest.fixture
def worker_queue(tmp_path):
    """A worker process consuming a queue of its own, so no other worker on this Redis takes our task."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": django_settings.REDIS_URL,
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "CELERY_QUEUE": queue,  # what the worker's own tasks queue (the e-mails) comes back to it
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cspo", "worker", "-Q", queue, "--pool", "solo",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
        cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    eager, routes = celery_app.conf.task_always_eager, celery_app.conf.task_routes
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_routes = {"*": {"queue": queue}}
    _forget_routes()
    try:
        yield tmp_path
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_routes = eager, routes
        _forget_routes()
        worker.terminate()
        worker.wait(timeout=20)
        log.close()


def _wait_for_sent_mail(queue: Path, seconds: float = 45, task: str = "") -> tuple[list[Path], str]:
    """The messages the worker wrote, once its log says the task (any, or ``task``) finished: the
    file backend creates the file before it writes the message, so its existence proves nothing."""
    deadline = time.monotonic() + seconds
    log = queue / "worker.log"
    finished = re.compile(rf"{re.escape(task)}\S* (succeeded in|raised) " if task else r" (succeeded in|raised) ")
    while time.monotonic() < deadline:
        if finished.search(log.read_text()):
            break
        time.sleep(0.2)
    folder = queue / "mail"
    return (sorted(folder.iterdir()) if folder.exists() else []), log.read_text()


def test_password_reset_email_is_sent_by_a_real_worker_through_redis(client, participant, worker_queue):
    response = client.post("/password-reset/", {"email": participant.email})

    assert response.status_code == 302
    sent, worker_log = _wait_for_sent_mail(worker_queue)
    assert len(sent) == 1, f"the worker sent no e-mail; its log:\n{worker_log}"
    message = sent[0].read_text()
    assert "To: pat@example.org" in message
    assert "Subject: Choose a new cspo password" in message
    assert "/password-reset/" in message
    assert "participants.send_password_reset" in worker_log


def test_renewal_reminder_job_runs_on_a_real_worker_and_its_email_goes_out(trainer, worker_queue):
    """The daily beat job, as beat sends it: the worker finds the certification due, writes the
    reminder to the outbox, and queues its sending, which the worker then does."""
    certification = certification_for(
        UserFactory(email="renee@example.org"), trainer, activated_on=timezone.localdate() - timedelta(days=30)
    )
    Certification.objects.filter(pk=certification.pk).update(expires_on=timezone.localdate() + timedelta(days=30))

    celery_app.send_task("renewals.send_renewal_reminders")

    sent, worker_log = _wait_for_sent_mail(worker_queue, task="participants.deliver_emails")
    assert len(sent) == 1, f"the worker sent no e-mail; its log:\n{worker_log}"
    message = sent[0].read_text()
    assert "To: renee@example.org" in message
    assert "SEUs logged: 0 of 20. Still missing: 20 SEUs." in message
    assert OutboundEmail.objects.get(purpose="renewal_reminder").state == OutboundEmail.State.SENT


def test_a_roster_is_imported_by_a_real_worker_and_its_page_follows_it(client, administrator, worker_queue):
    workshop = WorkshopFactory(capacity=50)
    WorkshopSessionFactory(workshop=workshop)
    roster = "name,e-mail\n" + "".join(f"Person {n},person{n}@example.org\n" for n in range(40))
    client.force_login(administrator)

    upload = client.post(
        reverse("workshops:roster_import", args=[workshop.pk]),
        {"roster": SimpleUploadedFile("roster.csv", roster.encode(), content_type="text/csv")},
    )
    deadline, page = time.monotonic() + 45, ""
    while time.monotonic() < deadline and "Roster imported" not in page:
        time.sleep(0.5)
        page = client.get(upload.url).content.decode()

    assert "Roster imported: 40 enrolled" in page, (worker_queue / "worker.log").read_text()
    assert RosterImport.objects.get().state == RosterImport.State.DONE
    assert Enrolment.objects.filter(workshop=workshop, status=Enrolment.Status.ENROLLED).count() == 40


@pytest.fixture
def unconsumed_queue():
    """Our tasks go to a queue of their own that no worker reads: what was sent stays there to be read."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    eager, routes = celery_app.conf.task_always_eager, celery_app.conf.task_routes
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_routes = {"*": {"queue": queue}}
    _forget_routes()
    redis = Redis.from_url(celery_app.conf.broker_url)
    try:
        yield lambda: [json.loads(raw) for raw in redis.lrange(queue, 0, -1)]
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_routes = eager, routes
        _forget_routes()
        redis.delete(queue)


def test_a_schedule_change_is_told_two_minutes_later_with_the_version_it_made(trainer, unconsumed_queue):
    workshop = WorkshopFactory(lead_trainer=trainer)
    session = WorkshopSessionFactory(workshop=workshop)

    with transaction.atomic():
        services.schedule_session(
            workshop=workshop, day=session.local_starts_at.date(), starts=dt_time(9), ends=dt_time(17), by=trainer,
            session=session,
        )  # fmt: skip
    sent_at = timezone.now()

    [message] = unconsumed_queue()
    headers = message["headers"]
    assert headers["task"] == "workshops.tell_schedule_change"
    eta = datetime.fromisoformat(headers["eta"])
    assert timedelta(seconds=115) < eta - sent_at <= timedelta(seconds=120)
    assert f"'workshop_id': {workshop.pk}, 'version': 1" in headers["kwargsrepr"]
