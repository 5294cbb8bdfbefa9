from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="workshops.expire_offers")
def expire_offers() -> int:
    return services.expire_offers()


@shared_task(name="workshops.send_due_prework")
def send_due_prework() -> int:
    return services.send_due_prework()


@shared_task(name="workshops.advance_workshop_statuses")
def advance_workshop_statuses() -> int:
    return services.advance_workshop_statuses()
