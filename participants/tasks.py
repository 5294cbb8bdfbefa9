from __future__ import annotations

from celery import shared_task

from . import services
from .models import User


@shared_task(name="participants.send_password_reset")
def send_password_reset(*, domain: str, use_https: bool, email: str = "", user_id: int | None = None) -> None:
    if user_id is not None:  # queued by the release before, which looked the account up first
        email = User.objects.filter(pk=user_id).values_list("email", flat=True).first() or ""
    services.send_password_reset(email=email, domain=domain, use_https=use_https)


@shared_task(name="participants.clear_expired_sessions")
def clear_expired_sessions() -> int:
    return services.clear_expired_sessions()


@shared_task(
    name="participants.deliver_email",
    autoretry_for=(services.TemporarySendFailure,),
    retry_backoff=services.RETRY_BACKOFF,
    retry_backoff_max=services.RETRY_BACKOFF_MAX,
    max_retries=services.MAX_SEND_ATTEMPTS,
)
def deliver_email(*, message_id: int) -> str:
    return services.deliver_email(message_id=message_id)


@shared_task(name="participants.deliver_emails")
def deliver_emails(*, message_ids: list[int]) -> int:
    """A few messages of a daily job's batch; one that fails for now is retried on its own, with backoff."""
    retry = services.deliver_emails(message_ids=message_ids)
    for message_id in retry:
        deliver_email.apply_async(kwargs={"message_id": message_id}, countdown=services.RETRY_BACKOFF)
    return len(message_ids) - len(retry)


@shared_task(name="participants.requeue_stranded_emails")
def requeue_stranded_emails() -> int:
    """The periodic job: messages whose delivery task was lost are given a new one."""
    stranded = services.stranded_emails()
    for start in range(0, len(stranded), services.DELIVERY_BATCH):
        deliver_emails.delay(message_ids=stranded[start : start + services.DELIVERY_BATCH])
    return len(stranded)
