from __future__ import annotations

import logging
import os

from celery import Celery
from django.db import transaction
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cspo.settings")

app = Celery("cspo")
# Every CELERY_* setting in cspo/settings.py configures this app.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def publish_after_commit(task, **kwargs) -> None:
    """Queue ``task`` with ``kwargs`` once the transaction commits, for work that the database
    remembers until it is done and a periodic job takes up when its task is lost. If the broker is
    away (Redis restarting, unreachable), the request that committed the change still answers: the
    change is saved, and only its follow-up waits for the periodic job."""

    def publish() -> None:
        try:
            task.apply_async(kwargs=kwargs)
        except OperationalError as error:
            logger.warning("The broker is unavailable (%s): %s waits for its periodic job.", error, task.name)

    transaction.on_commit(publish)
