"""Every periodic job beat sends names a task the workers know: a misspelt name would be sent every
few minutes and never run."""

from __future__ import annotations

from django.conf import settings

from cspo.celery import app as celery_app


def test_every_periodic_job_names_a_task_a_worker_knows():
    celery_app.loader.import_default_modules()  # as a worker starting up: every app's tasks module

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "workshops.run_stranded_roster_imports" in scheduled
    assert scheduled - set(celery_app.tasks) == set()
