from __future__ import annotations

from celery import shared_task

from . import roster_import, services


@shared_task(name="workshops.expire_offers")
def expire_offers() -> int:
    return services.expire_offers()


@shared_task(name="workshops.send_due_prework")
def send_due_prework() -> int:
    return services.send_due_prework()


@shared_task(name="workshops.advance_workshop_statuses")
def advance_workshop_statuses() -> int:
    return services.advance_workshop_statuses()


@shared_task(name="workshops.import_roster")
def import_roster(import_id: int) -> None:
    roster_import.run_roster_import(import_id=import_id)


@shared_task(name="workshops.run_stranded_roster_imports")
def run_stranded_roster_imports() -> int:
    return roster_import.run_stranded_roster_imports()


@shared_task(name="workshops.tell_schedule_change")
def tell_schedule_change(workshop_id: int, version: int) -> int:
    return services.tell_schedule_change(workshop_id=workshop_id, version=version)


@shared_task(name="workshops.tell_untold_schedule_changes")
def tell_untold_schedule_changes() -> int:
    return services.tell_untold_schedule_changes()
