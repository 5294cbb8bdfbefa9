from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


def normalize_email_address(email: str) -> str:
    """The e-mail is a person's identity: one address, whatever its letter case, is one account."""
    return email.strip().lower()


class UserQuerySet(models.QuerySet):
    def trainers(self) -> UserQuerySet:
        return self.filter(is_trainer=True, is_active=True)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> User:
        return self.get(email=normalize_email_address(username))

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("A person needs an e-mail address.")
        user = self.model(email=normalize_email_address(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("is_participant", False)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Roles are flags because one person may hold several: a trainer may also enrol
    in an advanced course as a participant, and an administrator (``is_staff``) may teach."""

    email = models.EmailField("e-mail", unique=True)
    full_name = models.CharField("full name", max_length=200)
    is_trainer = models.BooleanField(
        "trainer", default=False, help_text="Runs workshops and marks attendance (a Certified Scrum Trainer)."
    )
    is_participant = models.BooleanField(
        "participant", default=True, help_text="Enrols in workshops and holds certifications."
    )
    is_staff = models.BooleanField(
        "administrator", default=False, help_text="Staff of the training company; may use the admin site."
    )
    is_active = models.BooleanField("active", default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="IANA time zone the person chose for showing times, if any."
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_case_insensitive_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email_address(self.email)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_administrator(self) -> bool:
        return self.is_active and self.is_staff

    @property
    def role_names(self) -> list[str]:
        names = []
        if self.is_staff:
            names.append("Administrator")
        if self.is_trainer:
            names.append("Trainer")
        if self.is_participant:
            names.append("Participant")
        return names


class OutboundEmailQuerySet(models.QuerySet):
    def failed(self) -> OutboundEmailQuerySet:
        return self.filter(state=OutboundEmail.State.FAILED)


class OutboundEmail(models.Model):
    """The outbox: every e-mail cspo sends is a row here first, then a Celery worker sends it.

    The row records what was sent to whom and why, so a retried or repeated task sends a message
    once (its state says so) and an administrator sees what failed and can send it again.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    purpose = models.CharField(max_length=50, db_index=True)
    to = models.EmailField()
    subject = models.CharField(max_length=250)
    body = models.TextField()
    attachment_name = models.CharField(max_length=100, blank=True)
    attachment_content = models.TextField(blank=True)
    attachment_mimetype = models.CharField(max_length=100, blank=True)
    dedup_key = models.CharField(
        max_length=200, null=True, blank=True, unique=True, help_text="Makes a message that must go once go once."
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="sent", sent_at__isnull=False) | ~Q(state="sent"), name="outbound_sent_has_time"
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="outbound_state_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} to {self.to} ({self.state})"


class AttendanceMark(models.Model):
    """One cell of the trainer's sheet: a participant in a session. Attended time is the session's
    length less the minutes late and left early; minutes are checked against that length by the
    service (a rule across two tables), and never negative here."""

    class Presence(models.TextChoices):
        PRESENT = "present", "Present"
        LATE = "late", "Late"
        LEFT_EARLY = "left_early", "Left early"
        ABSENT = "absent", "Absent"

    enrolment = models.ForeignKey("workshops.Enrolment", on_delete=models.CASCADE, related_name="marks")
    # A session with marks is never deleted with them (workshops.services.remove_session says why; the
    # admin site refuses it too).
    session = models.ForeignKey("workshops.WorkshopSession", on_delete=models.PROTECT, related_name="marks")
    presence = models.CharField(max_length=12, choices=Presence.choices)
    late_minutes = models.PositiveSmallIntegerField(default=0)
    left_early_minutes = models.PositiveSmallIntegerField(default=0)
    participated = models.BooleanField("active participation", default=False)
    note = models.CharField(max_length=200, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    # Changed since the SEU credit (renewals) last followed it: set with each change, cleared by the
    # credit's task; a mark left pending (its task lost, the broker away) is credited by a periodic job.
    credit_pending = models.BooleanField(default=False, db_default=False)  # rows written in bulk too

    class Meta:
        indexes = [
            models.Index(fields=["updated_at"], condition=Q(credit_pending=True), name="mark_credit_pending"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "session"],
                name="mark_one_per_participant_and_session",
                violation_error_message="This participant already has a mark for this session.",
            ),
            models.CheckConstraint(
                condition=~Q(presence="absent") | Q(late_minutes=0, left_early_minutes=0, participated=False),
                name="mark_absent_has_no_minutes_or_participation",
                violation_error_message="Someone absent was neither late, nor left early, nor participated.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment} · {self.session}: {self.get_presence_display()}"

    @property
    def minutes(self) -> int:
        """The minutes late or left early, whichever the presence says."""
        return self.late_minutes or self.left_early_minutes

    def attended(self, session_length: timedelta) -> timedelta:
        if self.presence == self.Presence.ABSENT:
            return timedelta()
        return max(session_length - timedelta(minutes=self.late_minutes + self.left_early_minutes), timedelta())

    def snapshot(self) -> dict:
        """What the history records before and after a change."""
        return {
            "presence": self.presence,
            "late_minutes": self.late_minutes,
            "left_early_minutes": self.left_early_minutes,
            "participated": self.participated,
            "note": self.note,
        }


class MarkChange(models.Model):
    """A participant's history on the sheet: who changed a cell (``mark``) or the confirmation of
    understanding (no ``mark``), when, from what to what, and why (after completion)."""

    enrolment = models.ForeignKey("workshops.Enrolment", on_delete=models.CASCADE, related_name="mark_changes")
    mark = models.ForeignKey(AttendanceMark, null=True, blank=True, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField()
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["changed_at", "pk"]
        indexes = [
            models.Index(fields=["mark", "changed_at"], name="markchange_mark_idx"),
            models.Index(fields=["enrolment", "changed_at"], name="markchange_enrolment_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.mark} by {self.changed_by} at {self.changed_at:%Y-%m-%d %H:%M}"


class UnderstandingConfirmation(models.Model):
    """The trainer's judgement at the end: did the participant demonstrate understanding of the
    course's role (the Product Owner's for a CSPO: the seed's third requirement), and if not, why."""

    enrolment = models.OneToOneField("workshops.Enrolment", on_delete=models.CASCADE, related_name="understanding")
    demonstrated = models.BooleanField()
    reason = models.CharField(max_length=300, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(demonstrated=True) | ~Q(reason=""),
                name="understanding_not_shown_has_a_reason",
                violation_error_message="Say why the participant did not demonstrate understanding.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment}: {'demonstrated' if self.demonstrated else 'not demonstrated'}"

    def snapshot(self) -> dict:
        return {"demonstrated": self.demonstrated, "reason": self.reason}
