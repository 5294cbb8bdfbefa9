from __future__ import annotations

import logging
import os
import time

from celery import Celery
from django.db import transaction
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cspo.settings")

app = Celery("cspo")
# Every CELERY_* setting in cspo/settings.py configures this app.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

# After a publish failed, the broker is taken as away for this long: a request that queues many tasks
# (everyone marked present, a workshop cancelled) then waits for one failed connection, not one each.
BROKER_AWAY_FOR = 30.0  # seconds
_broker_away_until = 0.0


def publish_after_commit(task, *, countdown: float | None = None, **kwargs) -> None:
    """Queue ``task`` with ``kwargs`` once the transaction commits (to run ``countdown`` seconds
    later, if given), for work that the database remembers until it is done and a periodic job takes
    up when its task is lost. If the broker is
    away (Redis restarting, unreachable), the request that committed the change still answers: the
    change is saved, and only its follow-up waits for the periodic job."""

    def publish() -> None:
        global _broker_away_until
        if task.app.conf.task_always_eager:  # no broker: the task runs here and now, and its errors are ours
            task.apply_async(kwargs=kwargs)
            return
        if time.monotonic() < _broker_away_until:
            logger.warning("The broker was unavailable moments ago: %s waits for its periodic job.", task.name)
            return
        try:
            task.apply_async(kwargs=kwargs, countdown=countdown)
        except OperationalError:
            _broker_away_until = time.monotonic() + BROKER_AWAY_FOR
            logger.warning("The broker is unavailable: %s waits for its periodic job.", task.name, exc_info=True)

    transaction.on_commit(publish)
