from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="certification.remind_unactivated")
def remind_unactivated() -> int:
    return services.remind_unactivated()
