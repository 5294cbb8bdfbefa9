from __future__ import annotations

import functools
import zoneinfo
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, DurationField, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone


@functools.cache
def time_zone_names() -> frozenset[str]:
    """Reading the tz database from disk costs milliseconds; a visitor's zone is checked on every page."""
    return frozenset(zoneinfo.available_timezones())


# The days cspo schedules and lists workshops on: far inside what dates and every time zone can
# hold (a session on 31 December 9999 overflowed in the zones ahead of UTC), and wide enough for any.
CALENDAR_FROM, CALENDAR_UNTIL = date(2000, 1, 1), date(2100, 12, 31)
CALENDAR_REFUSAL = f"Choose a day from {CALENDAR_FROM:%-d %B %Y} to {CALENDAR_UNTIL:%-d %B %Y}."

# What the ``date`` filter writes for "D" and "M" in English, the site's only language (there is no
# LocaleMiddleware). The catalogue and the trainer's tables format hundreds of times a page; written
# here, a time costs a microsecond where the filter (with ``{% timezone %}``) costs about 25.
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_and_month(moment: datetime) -> str:
    """``date:"D j M"``: Thu 26 Nov."""
    return f"{DAY_NAMES[moment.weekday()]} {moment.day} {MONTH_NAMES[moment.month - 1]}"


def clock_time(moment: datetime) -> str:
    """``date:"H:i"``: 09:00."""
    return f"{moment.hour:02d}:{moment.minute:02d}"


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
        raise ValidationError(f"“{value}” is not a time zone name such as America/Toronto or Europe/London.")


class Course(models.Model):
    """A kind of certification course (CSPO, CSM, A-CSPO…). Its numbers are data, not constants:
    Scrum Alliance's rules and our seed disagree on contact hours, so an administrator sets them."""

    kind = models.CharField(max_length=20, unique=True, help_text="Short name, such as CSPO.")
    title = models.CharField(max_length=200)
    minimum_contact_hours = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("14"), validators=[MinValueValidator(Decimal("0.25"))]
    )
    has_exam = models.BooleanField(default=False, help_text="A passing exam result is needed to certify.")
    experience_months = models.PositiveSmallIntegerField(
        default=0,
        help_text="Months of work in the role, within the last “experience years”, that a participant states "
        "before the certification is activated (A-CSPO: 12, CSP-PO: 24). Until then it stays pending. 0: none.",
    )
    experience_years = models.PositiveSmallIntegerField(
        default=5, help_text="The years back in which that work counts."
    )
    role = models.CharField(
        max_length=60,
        default="Product Owner",
        help_text="The role whose understanding the trainer confirms at the end of a workshop "
        "(“understanding of the Product Owner role”).",
    )
    validity_months = models.PositiveSmallIntegerField(
        default=24, help_text="How long a certification from this course is valid."
    )
    prerequisite = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads_to",
        help_text="A certification that must be active before enrolling (A-CSPO needs a CSPO).",
    )
    renewal_level = models.ForeignKey(
        "renewals.RenewalLevel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="courses",
        help_text="The level its certification renews at (SEUs and fee); empty if it does not renew.",
    )
    is_community_event = models.BooleanField(
        default=False,
        help_text="A free community event such as the monthly Lean Coffee: attendance credits SEUs, "
        "and it leads to no certification.",
    )

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minimum_contact_hours__gt=0),
                name="course_minimum_hours_positive",
                violation_error_message="A course needs a positive number of contact hours.",
            ),
            models.CheckConstraint(
                condition=Q(validity_months__gt=0),
                name="course_validity_positive",
                violation_error_message="A certification must be valid for at least one month.",
            ),
            models.CheckConstraint(
                condition=~Q(prerequisite=F("pk")),
                name="course_not_its_own_prerequisite",
                violation_error_message="A course cannot be its own prerequisite.",
            ),
        ]

    def __str__(self) -> str:
        return self.kind

    @property
    def minimum_contact_time(self) -> timedelta:
        return timedelta(hours=float(self.minimum_contact_hours))


class WorkshopQuerySet(models.QuerySet):
    def certifying(self) -> WorkshopQuerySet:
        """Those that may certify (``Workshop.certifies``): neither drafts nor cancelled ones."""
        return self.exclude(status__in=[Workshop.Status.DRAFT, Workshop.Status.CANCELLED])

    def taught_by(self, user) -> WorkshopQuerySet:
        return self.filter(Q(lead_trainer=user) | Q(co_trainers=user)).distinct()

    def with_figures(self) -> WorkshopQuerySet:
        """Contact time, first and last session, seats taken and waitlist length, in one query.
        Each figure is a correlated subquery on an index: no join and GROUP BY over every
        enrolment, which made PostgreSQL plan (and JIT-compile) a query over all of them."""
        sessions = WorkshopSession.objects.filter(workshop=OuterRef("pk")).order_by().values("workshop")
        enrolments = Enrolment.objects.filter(workshop=OuterRef("pk")).order_by().values("workshop")

        def counted(statuses) -> Coalesce:
            rows = enrolments.filter(status__in=statuses).annotate(n=Count("pk")).values("n")
            return Coalesce(Subquery(rows, output_field=models.IntegerField()), 0)

        return self.annotate(
            contact_time=Subquery(
                sessions.annotate(total=Sum(F("ends_at") - F("starts_at"), output_field=DurationField())).values(
                    "total"
                ),
                output_field=DurationField(),
            ),
            first_starts_at=Subquery(sessions.annotate(first=Min("starts_at")).values("first")),
            last_ends_at=Subquery(sessions.annotate(last=Max("ends_at")).values("last")),
            seats_taken=counted(Enrolment.SEAT_HOLDING),
            waitlist_length=counted([Enrolment.Status.WAITLISTED]),
        )


class Workshop(models.Model):
    class Format(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        ONLINE = "online", "Live online"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="workshops")
    title = models.CharField(max_length=200, blank=True, help_text="Shown in the catalogue; the course name if empty.")
    description = models.TextField(blank=True)
    lead_trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="led_workshops",
        limit_choices_to={"is_trainer": True},
    )
    co_trainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="co_trained_workshops", limit_choices_to={"is_trainer": True}
    )
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.IN_PERSON)
    venue_address = models.TextField(blank=True)
    meeting_url = models.URLField("meeting link", blank=True)
    time_zone = models.CharField(max_length=64, default="America/Toronto", validators=[validate_time_zone])
    capacity = models.PositiveIntegerField(default=20, validators=[MinValueValidator(1)])
    price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="CAD")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Bounded here, not only by PostgreSQL's smallint: SQLite's integers are 64-bit, and a date that
    # many days away overflows.
    prework_days_before = models.PositiveSmallIntegerField(
        "send pre-work (days before the first session)", default=7, validators=[MaxValueValidator(365)]
    )
    offer_hours = models.PositiveSmallIntegerField(
        "waiting-list offer valid for (hours)",
        default=48,
        validators=[MinValueValidator(1), MaxValueValidator(720)],
        help_text="When a seat frees, the next person on the waiting list has this long to take it.",
    )
    sheet_locked_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the trainer submits; only an administrator reopens the sheet."
    )
    schedule_version = models.PositiveIntegerField(
        default=0, editable=False, help_text="Raised by every session change; calendars replace older versions."
    )
    schedule_told_version = models.PositiveIntegerField(
        default=0, editable=False, help_text="The schedule version the people enrolled and waiting were told of."
    )
    schedule_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkshopQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__gte=1),
                name="workshop_capacity_at_least_one",
                violation_error_message="A workshop needs at least one seat.",
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="workshop_price_not_negative",
                violation_error_message="The price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(offer_hours__gte=1),
                name="workshop_offer_hours_positive",
                violation_error_message="A waiting-list offer must stay open at least one hour.",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.course.kind} workshop"

    def clean(self) -> None:
        super().clean()
        if self.format == self.Format.IN_PERSON and not self.venue_address.strip() and self.status != self.Status.DRAFT:
            raise ValidationError({"venue_address": "An in-person workshop needs a venue address."})
        if self.format == self.Format.ONLINE and not self.meeting_url and self.status != self.Status.DRAFT:
            raise ValidationError({"meeting_url": "A live online workshop needs a meeting link."})

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def certifies(self) -> bool:
        """A draft or a cancelled workshop (even one cancelled once it had begun) certifies nobody."""
        return self.status not in (self.Status.DRAFT, self.Status.CANCELLED)

    @property
    def schedule_is_final(self) -> bool:
        """Cancelled or completed: sessions, pre-work and the roster no longer change."""
        return self.status in (self.Status.CANCELLED, self.Status.COMPLETED)

    @property
    def changes_need_a_reason(self) -> bool:
        """After completion every change to the attendance sheet records why."""
        return self.status == self.Status.COMPLETED

    @property
    def seats_left(self) -> int:
        """Needs ``Workshop.objects.with_figures()``."""
        return max(self.capacity - self.seats_taken, 0)

    @property
    def dates(self) -> str:
        """The first and last day in the workshop's zone, "Thu 26 Nov 2026 – Fri 27 Nov", or "" with no
        sessions. Needs ``Workshop.objects.with_figures()``."""
        if self.first_starts_at is None:
            return ""
        first, last = self.first_starts_at.astimezone(self.zone), self.last_ends_at.astimezone(self.zone)
        label = f"{day_and_month(first)} {first.year}"
        return label if last.date() == first.date() else f"{label} – {day_and_month(last)}"

    def prework_release_time(self, first_start: datetime | None) -> datetime | None:
        return None if first_start is None else first_start - timedelta(days=self.prework_days_before)

    def prework_released(self, *, first_start: datetime | None, now: datetime | None = None) -> bool:
        release = self.prework_release_time(first_start)
        return release is not None and release <= (now or timezone.now())

    def is_taught_by(self, user) -> bool:
        """Uses the prefetched co-trainers when present."""
        return self.lead_trainer_id == user.pk or any(t.pk == user.pk for t in self.co_trainers.all())


class WorkshopSession(models.Model):
    """One block of contact time. Stored in UTC; shown in the workshop's time zone.

    Sessions of one workshop never overlap: a PostgreSQL exclusion constraint (an SQLite trigger
    on the embedded default), added in migration 0002, since Meta.constraints cannot say it for both.
    """

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="sessions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="session_ends_after_start",
                violation_error_message="A session must end after it starts.",
            ),
        ]
        indexes = [models.Index(fields=["workshop", "starts_at"], name="session_workshop_start_idx")]

    def __str__(self) -> str:
        return f"{self.workshop} {self.local_starts_at:%Y-%m-%d %H:%M}–{self.local_ends_at:%H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.starts_at and not CALENDAR_FROM <= self.starts_at.date() <= CALENDAR_UNTIL:
            raise ValidationError({"starts_at": CALENDAR_REFUSAL})
        if self.starts_at and self.ends_at:
            if self.ends_at <= self.starts_at:
                raise ValidationError({"ends_at": "A session must end after it starts."})
            if self.workshop_id and self.overlapping().exists():
                raise ValidationError("This session overlaps another session of the same workshop.")

    def overlapping(self) -> models.QuerySet[WorkshopSession]:
        return WorkshopSession.objects.filter(
            workshop_id=self.workshop_id, starts_at__lt=self.ends_at, ends_at__gt=self.starts_at
        ).exclude(pk=self.pk)

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def times_in(self, zone: zoneinfo.ZoneInfo) -> str:
        """When the session runs in ``zone``: "Thu 26 Nov 2026, 09:00–17:00 AEDT", or across
        midnight "Wed 25 Nov 2026, 23:00 – Thu 26 Nov, 07:00 CET"."""
        starts, ends = self.starts_at.astimezone(zone), self.ends_at.astimezone(zone)
        start = f"{day_and_month(starts)} {starts.year}, {clock_time(starts)}"
        if ends.date() == starts.date():
            return f"{start}–{clock_time(ends)} {ends.tzname()}"
        return f"{start} – {day_and_month(ends)}, {clock_time(ends)} {ends.tzname()}"

    @property
    def local_starts_at(self):
        return self.starts_at.astimezone(self.workshop.zone)

    @property
    def local_ends_at(self):
        return self.ends_at.astimezone(self.workshop.zone)


class Enrolment(models.Model):
    """A person's place in a workshop: a seat, a seat offered from the waiting list, a place on
    the waiting list, or cancelled. A seat is held while ``enrolled`` or ``offered``."""

    class Status(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        OFFERED = "offered", "Seat offered"
        WAITLISTED = "waitlisted", "Waiting list"
        CANCELLED = "cancelled", "Cancelled"

    SEAT_HOLDING = (Status.ENROLLED, Status.OFFERED)

    participant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrolments")
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="enrolments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ENROLLED)
    waitlisted_at = models.DateTimeField(null=True, blank=True, help_text="Place in the queue.")
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "workshop"],
                name="enrolment_unique_per_participant",
                violation_error_message="This person is already enrolled in this workshop.",
            ),
            models.CheckConstraint(
                condition=Q(status="offered", offer_expires_at__isnull=False) | (~Q(status="offered")),
                name="enrolment_offer_has_expiry",
            ),
            models.CheckConstraint(
                condition=Q(status="waitlisted", waitlisted_at__isnull=False) | (~Q(status="waitlisted")),
                name="enrolment_waitlist_has_position",
            ),
        ]
        indexes = [
            models.Index(fields=["workshop", "status"], name="enrolment_workshop_status_idx"),
            models.Index(fields=["offer_expires_at"], name="enrolment_open_offer_idx", condition=Q(status="offered")),
        ]

    def __str__(self) -> str:
        return f"{self.participant} in {self.workshop}"

    @property
    def holds_seat(self) -> bool:
        return self.status in self.SEAT_HOLDING


def prework_upload_path(item: PreworkItem, filename: str) -> str:
    return f"prework/{item.workshop_id}/{filename}"


class PreworkItem(models.Model):
    """Preparatory material: a file or a link, sent before the first session."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="prework_items")
    title = models.CharField(max_length=200)
    file = models.FileField(upload_to=prework_upload_path, blank=True)
    url = models.URLField("link", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(file="") & ~Q(url="")) | (~Q(file="") & Q(url="")),
                name="prework_is_a_file_or_a_link",
                violation_error_message="Give either a file or a link (one of the two).",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PreworkDelivery(models.Model):
    """Pre-work released to one enrolment: one row, ever, so it is sent once."""

    enrolment = models.OneToOneField(Enrolment, on_delete=models.CASCADE, related_name="prework_delivery")
    email = models.ForeignKey("participants.OutboundEmail", null=True, on_delete=models.SET_NULL, related_name="+")
    released_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "pre-work deliveries"

    def __str__(self) -> str:
        return f"Pre-work for {self.enrolment}"


class RosterImport(models.Model):
    """A roster file being imported by a worker (``roster_import.run_roster_import``): checked when it
    was uploaded, then imported whole or not at all. Its rows are kept until it is done."""

    class State(models.TextChoices):
        QUEUED = "queued", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Not imported"

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="roster_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    data = models.BinaryField(help_text="The file as uploaded; emptied once it is imported.")
    rows = models.PositiveIntegerField(help_text="People in the file.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    enrolled = models.PositiveIntegerField(default=0)
    waitlisted = models.PositiveIntegerField(default=0)
    already_there = models.PositiveIntegerField(default=0)
    accounts_created = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True, help_text="Why it was not imported: row and reason.")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="roster_import_waiting")]

    def __str__(self) -> str:
        return f"{self.filename} into {self.workshop}"

    @property
    def finished(self) -> bool:
        return self.state != self.State.QUEUED
