"""Every write on the way from "attended the workshop" to "certified"."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from cspo.text import typed_text
from participants.models import User
from participants.services import hold_sheet, queue_email
from workshops.models import Enrolment, Workshop
from workshops.services import absolute_url

from .models import Certification, CourseExtension, EligibilityOverride, Submission, new_certificant_number
from .queries import eligibility, open_submission

ACTIVATION_SALT = "certification.activation"
ACTIVATION_LINK_DAYS = 14
REMINDER_AFTER = timedelta(days=7)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; 29 February becomes 28 February in a common year."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _check_certifies(workshop: Workshop) -> None:
    if not workshop.certifies:
        raise ValidationError(f"This workshop is {workshop.get_status_display().lower()}; nobody is certified from it.")


@transaction.atomic
def override_eligibility(*, enrolment: Enrolment, by: User, justification: str) -> EligibilityOverride:
    hold_sheet(enrolment)  # a submission under way is waited for, and its sheet lock seen
    if enrolment.status != Enrolment.Status.ENROLLED:  # as read under the lock: cancelled a moment ago
        raise ValidationError("Only enrolled participants can be certified.")
    _check_certifies(enrolment.workshop)
    justification = typed_text(
        justification, field=EligibilityOverride._meta.get_field("justification"), label="The justification"
    )
    if not justification:
        raise ValidationError("Write why this participant should be certified anyway.")
    if enrolment.workshop.sheet_locked_at is not None:
        raise ValidationError("The participants were submitted already; an administrator can reopen the workshop.")
    override, _ = EligibilityOverride.objects.update_or_create(
        enrolment=enrolment, defaults={"justification": justification, "decided_by": by}
    )
    return override


@transaction.atomic
def submit_workshop(*, workshop: Workshop, by: User, expected: set[int] | None = None) -> Submission:
    """Submit the eligible participants: one submission, one pending certification per eligible
    enrolment, activation e-mails queued after commit, the sheet locked. A double click, a second
    tab or a retry finds the open submission and creates nothing more. ``expected`` is the list the
    trainer saw in the preview: if eligibility changed since, nothing is submitted."""
    workshop = Workshop.objects.select_for_update(of=("self",)).select_related("course").get(pk=workshop.pk)
    _check_certifies(workshop)
    if workshop.course.is_community_event:
        raise ValidationError(f"{workshop.course.title} is a community event: it credits SEUs, not a certification.")
    existing = open_submission(workshop)
    if existing is not None:
        return existing
    first = workshop.sessions.order_by("starts_at").first()
    if first is None or first.starts_at > timezone.now():
        raise ValidationError("The workshop has not started; there is nothing to submit yet.")
    decisions = [d for d in eligibility(workshop) if d.eligible and d.certification is None]
    if expected is not None and {d.enrolment.pk for d in decisions} != set(expected):
        raise ValidationError("The list changed since you looked at it. Check the preview again, then submit.")
    if not decisions:
        raise ValidationError("Nobody is eligible, so there is nothing to submit.")
    try:
        with transaction.atomic():
            submission = Submission.objects.create(workshop=workshop, submitted_by=by)
    except IntegrityError:  # another request submitted between our check and our insert
        return open_submission(workshop)
    for decision in decisions:
        certification = Certification.objects.create(
            enrolment=decision.enrolment,
            holder=decision.enrolment.participant,
            course=workshop.course,
            submission=submission,
        )
        send_activation(certification=certification)
    workshop.sheet_locked_at = timezone.now()
    workshop.save(update_fields=["sheet_locked_at", "updated_at"])
    return submission


@transaction.atomic
def reopen_workshop(*, workshop: Workshop, by: User, reason: str) -> None:
    if not by.is_staff:
        raise ValidationError("Only an administrator can reopen a submitted workshop.")
    reason = typed_text(reason, field=Submission._meta.get_field("reopen_reason"), label="The reason for reopening")
    if not reason:
        raise ValidationError("Give the reason for reopening.")
    submission = open_submission(workshop)
    if submission is None:
        raise ValidationError("This workshop is not submitted.")
    submission.reopened_by, submission.reopened_at, submission.reopen_reason = by, timezone.now(), reason
    submission.save(update_fields=["reopened_by", "reopened_at", "reopen_reason"])
    Workshop.objects.filter(pk=workshop.pk).update(sheet_locked_at=None)


def activation_token(certification: Certification) -> str:
    return signing.TimestampSigner(salt=ACTIVATION_SALT).sign(f"{certification.pk}.{certification.activation_version}")


def certification_from_token(token: str) -> tuple[Certification | None, str]:
    """The certification a link is for, or None with the reason in words."""
    signer = signing.TimestampSigner(salt=ACTIVATION_SALT)
    try:
        value = signer.unsign(token, max_age=timedelta(days=ACTIVATION_LINK_DAYS))
    except signing.SignatureExpired:
        return None, "This activation link has expired. Ask for a new one below."
    except signing.BadSignature:
        return None, "This activation link is not valid."
    pk, version = (int(part) for part in value.split("."))
    certification = (
        Certification.objects.select_related("holder", "course", "enrolment__workshop").filter(pk=pk).first()
    )
    if certification is None or certification.activation_version != version:
        return None, "This activation link was replaced by a newer one. Use the latest e-mail, or ask for a new link."
    return certification, ""


def send_activation(*, certification: Certification, reminder: bool = False) -> None:
    url = absolute_url(reverse("certification:activate", args=[activation_token(certification)]))
    queue_email(
        purpose="activation_reminder" if reminder else "activation",
        to=certification.holder.email,
        template="certification/activation_reminder" if reminder else "certification/activation",
        context={"certification": certification, "holder": certification.holder, "url": url,
                 "days": ACTIVATION_LINK_DAYS, "workshop": certification.enrolment.workshop},
        dedup_key=f"{'reminder' if reminder else 'activation'}:{certification.pk}:{certification.activation_version}",
    )  # fmt: skip
    now = timezone.now()
    if reminder:
        Certification.objects.filter(pk=certification.pk).update(reminder_sent_at=now)
    else:
        Certification.objects.filter(pk=certification.pk).update(activation_sent_at=now)


RESEND_PAUSE = timedelta(minutes=10)


@transaction.atomic
def send_new_activation_link(*, certification: Certification, seen_version: int | None = None) -> bool:
    """A fresh link; the older ones stop working. ``seen_version`` is the version of the link the
    person asked from: if it was replaced moments ago (a double click, a refresh), nothing more is
    sent, since a second e-mail would make the one that just arrived stop working. Returns whether
    a link was sent."""
    certification = Certification.objects.select_for_update().get(pk=certification.pk)
    if certification.state == Certification.State.REVOKED:
        raise ValidationError("This certification was revoked; it cannot be activated.")
    if certification.state != Certification.State.PENDING:
        raise ValidationError("This certification is already activated.")
    if (
        seen_version is not None
        and seen_version < certification.activation_version
        and certification.activation_sent_at is not None
        and certification.activation_sent_at >= timezone.now() - RESEND_PAUSE
    ):
        return False
    certification.activation_version += 1
    certification.save(update_fields=["activation_version"])
    send_activation(certification=certification)
    return True


@transaction.atomic
def activate(
    *,
    certification: Certification,
    accept_license: bool,
    password: str = "",
    experience_months: int | None = None,
    today: date | None = None,
) -> Certification:
    """Accept the license agreement (and set a password for a new account): the certification is
    active from today for the course's validity, with two years of membership and its number."""
    today = today or timezone.localdate()
    certification = (
        Certification.objects.select_for_update(of=("self", "holder"))  # the holder's renewals wait (renew)
        .select_related("course", "holder")
        .get(pk=certification.pk)
    )
    if certification.state == Certification.State.ACTIVE:
        return certification
    if certification.state != Certification.State.PENDING:
        raise ValidationError("This certification cannot be activated.")
    if not accept_license:
        raise ValidationError("Accept the license agreement to activate the certification.")
    certification.experience_months_stated = _stated_experience(certification.course, experience_months)
    holder = certification.holder
    if not holder.has_usable_password():
        if not password:
            raise ValidationError("Choose a password for your account.")
        holder.set_password(password)
        holder.save(update_fields=["password"])
    certification.state = Certification.State.ACTIVE
    certification.issued_on = today
    certification.expires_on = add_months(today, certification.course.validity_months)
    certification.membership_until = add_months(today, 24)
    certification.license_accepted_at = timezone.now()
    for _ in range(20):
        certification.certificant_number = new_certificant_number()
        if not Certification.objects.filter(certificant_number=certification.certificant_number).exists():
            break
    certification.save()
    _extend_earlier(certification, today=today)
    return certification


def _stated_experience(course, months: int | None) -> int | None:
    """An advanced course needs months of work in its role within a window of years (DOMAIN: an A-CSPO,
    12 in 5), stated by the holder; until they have them, the certification stays pending."""
    if not course.experience_months:
        return None
    window = f"as a {course.role} within the last {course.experience_years} years"
    if months is None:
        raise ValidationError(f"Say how many months you worked {window}.")
    if not 0 <= months <= course.experience_years * 12:
        raise ValidationError(f"Give the months you worked {window}: from 0 to {course.experience_years * 12}.")
    if months < course.experience_months:
        raise ValidationError(
            f"The {course.kind} certification needs {course.experience_months} months of work {window}; you "
            f"stated {months}. It stays pending until you have them: come back to this link then; if it has "
            "expired by then, its page offers a new one."
        )
    return months


def _extend_earlier(earned: Certification, *, today: date) -> list[CourseExtension]:
    """Taking another certification course extends the earlier ones (DOMAIN): each of the holder's
    certifications that could still be renewed today (current, or expired within the renewal policy's
    grace period) now runs until the new one expires, with its membership."""
    from renewals.models import RenewalPolicy  # renewals builds on this app

    renewable_since = today - timedelta(days=RenewalPolicy.current().grace_days)
    earlier = (
        Certification.objects.select_for_update()
        .filter(holder_id=earned.holder_id, state=Certification.State.ACTIVE)
        .filter(expires_on__gte=renewable_since, expires_on__lt=earned.expires_on)
        .exclude(pk=earned.pk)
    )
    extensions = []
    for certification in earlier:
        extensions.append(
            CourseExtension(
                certification=certification,
                earned=earned,
                previous_expiry=certification.expires_on,
                previous_membership_until=certification.membership_until,
                new_expiry=earned.expires_on,
            )
        )
        certification.membership_until = max(certification.membership_until or earned.expires_on, earned.expires_on)
        certification.expires_on = earned.expires_on
        certification.save(update_fields=["expires_on", "membership_until"])
    return CourseExtension.objects.bulk_create(extensions)


def remind_unactivated(*, now: datetime | None = None, batch: int = 500) -> int:
    """The periodic job: one reminder per certification still pending seven days after its e-mail."""
    now = now or timezone.now()
    due = Certification.objects.filter(
        state=Certification.State.PENDING, activation_sent_at__lte=now - REMINDER_AFTER, reminder_sent_at__isnull=True
    )
    count = 0
    for pk in list(due.values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            # Read again, locked: one activated, revoked or sent a new link since the list was read is left alone.
            certification = (
                due.select_for_update(of=("self",))
                .select_related("holder", "course", "enrolment__workshop")
                .filter(pk=pk)
                .first()
            )
            if certification is not None:
                send_activation(certification=certification, reminder=True)
                count += 1
    return count


def extend(*, certification: Certification) -> date:
    """A renewal: valid for another period from the current expiry date (not from today), with the
    membership; returns the expiry date it had before."""
    previous = certification.expires_on
    certification.expires_on = add_months(previous, certification.course.validity_months)
    certification.membership_until = max(certification.membership_until or previous, certification.expires_on)
    certification.save(update_fields=["expires_on", "membership_until"])
    return previous


@transaction.atomic
def revoke(*, certification: Certification, by: User, reason: str) -> Certification:
    if not by.is_staff:
        raise ValidationError("Only an administrator can revoke a certification.")
    reason = typed_text(reason, field=Certification._meta.get_field("revoked_reason"), label="The reason for revoking")
    if not reason:
        raise ValidationError("Give the reason for revoking.")
    certification.state = Certification.State.REVOKED
    certification.revoked_at = timezone.now()
    certification.revoked_reason = reason
    certification.save(update_fields=["state", "revoked_at", "revoked_reason"])
    _undo_extensions_by(certification)
    return certification


def _undo_extensions_by(revoked: Certification) -> None:
    """The earlier certifications a revoked one extended go back to their own dates, unless they
    were renewed since (the renewal was paid for from the extended date, and stands)."""
    extensions = list(revoked.extensions_made.all())
    earlier = Certification.objects.select_for_update().in_bulk([e.certification_id for e in extensions])
    for extension in extensions:
        certification = earlier[extension.certification_id]
        if certification.expires_on == extension.new_expiry:
            certification.expires_on = extension.previous_expiry
            certification.membership_until = extension.previous_membership_until
            certification.save(update_fields=["expires_on", "membership_until"])
    revoked.extensions_made.all().delete()
