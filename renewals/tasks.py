from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="renewals.send_renewal_reminders")
def send_renewal_reminders() -> int:
    return services.send_renewal_reminders()


@shared_task(name="renewals.credit_attendance")
def credit_attendance(*, enrolment_id: int, session_id: int) -> None:
    services.credit_attendance(enrolment_id=enrolment_id, session_id=session_id)


@shared_task(name="renewals.credit_stranded_attendance")
def credit_stranded_attendance() -> int:
    return services.credit_stranded_attendance()


@shared_task(name="renewals.issue_certificate")
def issue_certificate(*, certification_id: int) -> None:
    services.issue_certificate(certification_id=certification_id)
