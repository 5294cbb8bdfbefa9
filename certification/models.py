from __future__ import annotations

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

EXPIRING_WITHIN = timedelta(days=90)


def status_of(state: str, expires_on: date | None, today: date) -> str:
    """A certification's status on ``today``: pending, active, expiring (within 90 days), expired or
    revoked. Pages that read a certification's columns without its model ask this too."""
    if state != Certification.State.ACTIVE:
        return state
    if expires_on < today:
        return "expired"
    return "expiring" if expires_on - today <= EXPIRING_WITHIN else "active"


def new_certificant_number() -> str:
    """Eight digits in two groups, easy to read aloud and to type: 4827-1930."""
    return f"{secrets.randbelow(10_000):04d}-{secrets.randbelow(10_000):04d}"


class Submission(models.Model):
    """The trainer's one deliberate act: these participants completed the workshop. One open
    submission per workshop; an administrator may reopen it (with a reason), which unlocks the sheet."""

    workshop = models.ForeignKey("workshops.Workshop", on_delete=models.PROTECT, related_name="submissions")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workshop"],
                condition=Q(reopened_at__isnull=True),
                name="submission_one_open_per_workshop",
                violation_error_message="This workshop has been submitted already.",
            ),
            models.CheckConstraint(
                condition=Q(reopened_at__isnull=True) | ~Q(reopen_reason=""),
                name="submission_reopened_with_a_reason",
                violation_error_message="Reopening a submission needs a reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"Submission of {self.workshop} by {self.submitted_by}"


class EligibilityOverride(models.Model):
    """A trainer's written decision that a participant judged not eligible completed the workshop."""

    enrolment = models.OneToOneField("workshops.Enrolment", on_delete=models.CASCADE, related_name="override")
    justification = models.CharField(max_length=500)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(justification=""),
                name="override_has_a_justification",
                violation_error_message="An override needs a written justification.",
            ),
        ]

    def __str__(self) -> str:
        return f"Override for {self.enrolment}"


class ExamResult(models.Model):
    """A recorded exam attempt, for courses with an exam (CSM)."""

    enrolment = models.ForeignKey("workshops.Enrolment", on_delete=models.CASCADE, related_name="exam_results")
    score = models.PositiveSmallIntegerField()
    out_of = models.PositiveSmallIntegerField(default=50)
    pass_mark = models.PositiveSmallIntegerField(default=37)
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=models.F("out_of")), name="exam_score_within_total"),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment}: {self.score}/{self.out_of}"

    @property
    def passed(self) -> bool:
        return self.score >= self.pass_mark


class CertificationQuerySet(models.QuerySet):
    def active_on(self, day: date) -> CertificationQuerySet:
        return self.filter(state=Certification.State.ACTIVE, expires_on__gte=day)

    def expiring_between(self, first: date, last: date) -> CertificationQuerySet:
        """Activated certifications whose expiry date lies in [first, last] (on the expiry index)."""
        return self.filter(state=Certification.State.ACTIVE, expires_on__gte=first, expires_on__lte=last)


class Certification(models.Model):
    """A certification from one enrolment (never two). Pending until the participant activates it;
    then active from the issue date to the expiry date. Expiring and expired follow from the dates."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending activation"
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"

    enrolment = models.OneToOneField("workshops.Enrolment", on_delete=models.PROTECT, related_name="certification")
    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certifications")
    course = models.ForeignKey("workshops.Course", on_delete=models.PROTECT, related_name="certifications")
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="certifications")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    certificant_number = models.CharField(max_length=9, unique=True, null=True, blank=True)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    membership_until = models.DateField(null=True, blank=True)
    license_accepted_at = models.DateTimeField(null=True, blank=True)
    experience_months_stated = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Months of work in the course's role, within its window, that the holder stated in good faith "
        "on activation (courses that need experience only).",
    )
    activation_version = models.PositiveIntegerField(
        default=1, help_text="A new link makes the older ones stop working."
    )
    activation_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    certificate_pdf = models.FileField(upload_to="certificates/", blank=True)
    certificate_fingerprint = models.CharField(max_length=64, blank=True, help_text="What the stored PDF shows.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CertificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="pending")
                | Q(certificant_number__isnull=False, issued_on__isnull=False, expires_on__isnull=False),
                name="certification_activated_has_number_and_dates",
                violation_error_message="An activated certification has a number, an issue and an expiry date.",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("issued_on")),
                name="certification_expires_after_issue",
                violation_error_message="A certification expires after it is issued.",
            ),
            models.CheckConstraint(
                condition=~Q(state="revoked") | ~Q(revoked_reason=""),
                name="certification_revoked_with_a_reason",
                violation_error_message="Revoking a certification needs a reason.",
            ),
        ]
        indexes = [
            # By expiry (the reminder job, the dashboard). Then the key, so that the dashboard's page
            # of 50 comes in its order (expiry, key) without sorting a day's worth (1.8 → 0.5 ms);
            # last the course, so that the dashboard counts the certifications of renewing courses
            # from the index alone (6.3 → 3.0 ms).
            models.Index(fields=["state", "expires_on", "id", "course"], name="certification_expiry_idx"),
            models.Index(
                fields=["activation_sent_at"], name="certification_unactivated_idx", condition=Q(state="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course.kind} of {self.holder}"

    def status(self, today: date) -> str:
        """pending, active, expiring (within 90 days), expired or revoked."""
        return status_of(self.state, self.expires_on, today)

    STATUS_LABELS = {
        "pending": "Pending activation",
        "active": "Active",
        "expiring": "Expiring soon",
        "expired": "Expired",
        "revoked": "Revoked",
    }


class CourseExtension(models.Model):
    """An earlier certification running longer because its holder earned another one: taking another
    certification course extends the earlier ones (DOMAIN), to the new one's expiry date."""

    certification = models.ForeignKey(Certification, on_delete=models.CASCADE, related_name="course_extensions")
    earned = models.ForeignKey(
        Certification, on_delete=models.CASCADE, related_name="extensions_made", help_text="The new certification."
    )
    previous_expiry = models.DateField()
    previous_membership_until = models.DateField(null=True, blank=True)
    new_expiry = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["certification", "earned"], name="course_extension_once_per_course"),
            models.CheckConstraint(
                condition=Q(new_expiry__gt=models.F("previous_expiry")), name="course_extension_moves_expiry_forward"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.certification_id}: {self.previous_expiry} → {self.new_expiry}"
