"""Renewal rules as data, the SEU ledger, renewals and their payments.

Every number in DOMAIN.md's renewal notes (SEUs and fee per level, the daily cap, how far back SEUs
count, the grace period, the reminder days) is a row an administrator edits, never a constant."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MinValueValidator
from django.db import models, router, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower


def seus(value: Decimal) -> str:
    """SEUs as people write them: 20, 6.5, 1.25 (never 2E+1 or 20.00)."""
    return f"{value.normalize():f}"


class RenewalLevel(models.Model):
    """Foundational (CSM, CSPO), advanced (A-CSPO), professional (CSP-PO): each course renews at a
    level, which sets the SEUs needed and the fee."""

    name = models.CharField(max_length=40, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="Higher ranks are higher levels.")
    seus_required = models.DecimalField(max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    fee = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(seus_required__gte=0) & Q(fee__gte=0),
                name="renewal_level_not_negative",
                violation_error_message="SEUs and fee cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.seus_required} SEUs, {self.fee} {self.currency})"


class SeuCategory(models.Model):
    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive categories stay on old entries only.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = "SEU category"
        verbose_name_plural = "SEU categories"

    def __str__(self) -> str:
        return self.name


class RenewalPolicy(models.Model):
    """The one row of renewal settings (``RenewalPolicy.current()``)."""

    daily_cap = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("8"), help_text="At most this many SEUs count per day."
    )
    seu_window_months = models.PositiveSmallIntegerField(
        default=24,
        help_text="SEUs count from this many months before the expiry date: 24 is the current period; "
        "Scrum Alliance's newer rule allows 30 (two and a half years).",
    )
    grace_days = models.PositiveSmallIntegerField(
        default=90, help_text="Days after expiry during which a certification can still be renewed (0: none)."
    )
    reminder_days = models.CharField(
        max_length=60, default="90,30,7", help_text="Days before expiry on which a reminder is sent, comma-separated."
    )
    remind_after_expiry = models.BooleanField(default=True, help_text="Also remind the day after expiry.")
    catch_up_days = models.PositiveSmallIntegerField(
        default=3, help_text="A reminder missed because the daily job did not run is still sent this many days late."
    )
    community_category = models.ForeignKey(
        SeuCategory,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The category of SEUs credited for attending our own courses and events.",
    )

    class Meta:
        verbose_name_plural = "renewal policy"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="renewal_policy_single_row"),
            models.CheckConstraint(
                condition=Q(daily_cap__gt=0) & Q(seu_window_months__gt=0),
                name="renewal_policy_positive",
                violation_error_message="The daily cap and the SEU window must be positive.",
            ),
        ]

    def __str__(self) -> str:
        return "Renewal policy"

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _forget_policy()

    def delete(self, *args, **kwargs):
        deleted = super().delete(*args, **kwargs)
        _forget_policy()
        return deleted

    @classmethod
    def current(cls) -> RenewalPolicy:
        """The policy, from the cache: nearly every renewal page and job reads it, and it changes only
        when an administrator saves it (``save()`` drops the cached copy)."""
        fields = [field.attname for field in cls._meta.concrete_fields]
        values = cache.get(_policy_cache_key())
        if values is not None:
            return cls.from_db(router.db_for_read(cls), fields, values)
        policy, _ = cls.objects.get_or_create(pk=1)
        cache.set(_policy_cache_key(), [getattr(policy, name) for name in fields], POLICY_CACHE_SECONDS)
        return policy

    @property
    def reminder_offsets(self) -> list[int]:
        """Days before expiry, largest first; a day after expiry is -1."""
        days = sorted({int(part) for part in self.reminder_days.split(",") if part.strip().isdigit()}, reverse=True)
        return days + ([-1] if self.remind_after_expiry else [])


# Every save drops the cached copy, so this only bounds how long a change can go unseen when made
# outside ``save()`` (``QuerySet.update()``, SQL) or raced by a reader that read the old row just
# before the commit and stored it just after.
POLICY_CACHE_SECONDS = 300
ALREADY_LOGGED = "You logged this activity on this date already."  # the check's and the constraint's


def _policy_cache_key() -> str:
    # The columns are part of the key: a copy cached by code before a change of the model (another
    # deployment) is never read as a row of this one.
    return "renewals:policy:" + ",".join(field.attname for field in RenewalPolicy._meta.concrete_fields)


def _forget_policy() -> None:
    key = _policy_cache_key()
    cache.delete(key)
    # Again once the change is committed: a request that read the old row in the meantime may have
    # stored it again.
    transaction.on_commit(lambda: cache.delete(key))


class Renewal(models.Model):
    """One renewal of one or more certifications, paid once, using a set of SEU entries."""

    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="renewals")
    renewed_on = models.DateField()
    seus_required = models.DecimalField(max_digits=6, decimal_places=2)
    seus_used = models.DecimalField(max_digits=7, decimal_places=2)
    fee = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Renewal of {self.holder} on {self.renewed_on}"


class RenewedCertification(models.Model):
    """A certification a renewal covered: the expiry before and after. One renewal per period."""

    renewal = models.ForeignKey(Renewal, on_delete=models.CASCADE, related_name="items")
    certification = models.ForeignKey("certification.Certification", on_delete=models.PROTECT, related_name="renewals")
    previous_expiry = models.DateField()
    new_expiry = models.DateField()

    class Meta:
        ordering = ["certification_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["certification", "previous_expiry"],
                name="renewed_once_per_period",
                violation_error_message="This certification period was renewed already.",
            ),
            models.CheckConstraint(
                condition=Q(new_expiry__gt=F("previous_expiry")), name="renewal_moves_expiry_forward"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.certification_id}: {self.previous_expiry} → {self.new_expiry}"


def counting_towards(window_starts_on: date, today: date) -> Q:
    """An entry counts towards the next renewal when no renewal used it yet and it was earned from
    the start of the SEU window until today (``entry_counts`` for an entry read)."""
    return Q(renewal__isnull=True, earned_on__gte=window_starts_on, earned_on__lte=today)


def entry_counts(*, renewal_id: int | None, earned_on: date, window_starts_on: date | None, today: date) -> bool:
    """``counting_towards`` for one entry; nothing counts without a window (nothing to renew)."""
    return renewal_id is None and window_starts_on is not None and window_starts_on <= earned_on <= today


class SeuEntryQuerySet(models.QuerySet):
    def counting_towards(self, window_starts_on: date, today: date) -> SeuEntryQuerySet:
        return self.filter(counting_towards(window_starts_on, today))


class SeuEntry(models.Model):
    """One learning activity, self-reported in good faith (or credited by us for our own events)."""

    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="seu_entries")
    earned_on = models.DateField("date")
    category = models.ForeignKey(SeuCategory, on_delete=models.PROTECT, related_name="entries")
    hours = models.DecimalField("SEUs (hours)", max_digits=4, decimal_places=2)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    evidence_url = models.URLField("evidence link", blank=True)
    evidence_file = models.FileField("evidence file", upload_to="seu-evidence/%Y/", blank=True)
    confirmed_at = models.DateTimeField(help_text="When the holder confirmed the entry in good faith.")
    source_session = models.ForeignKey(
        "workshops.WorkshopSession",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="seu_credits",
        help_text="Set when credited automatically for attending one of our own sessions.",
    )
    renewal = models.ForeignKey(Renewal, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SeuEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-earned_on", "-pk"]
        verbose_name = "SEU entry"
        verbose_name_plural = "SEU entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__gt=0) & Q(hours__lte=24),
                name="seu_entry_hours_positive",
                violation_error_message="SEUs must be more than 0 and at most 24 in a day.",
            ),
            models.UniqueConstraint(
                "holder",
                "earned_on",
                Lower("title"),
                name="seu_entry_not_twice",
                violation_error_message=ALREADY_LOGGED,
            ),
            models.UniqueConstraint(
                fields=["holder", "source_session"],
                condition=Q(source_session__isnull=False),
                name="seu_credit_once_per_session",
            ),
        ]
        indexes = [
            models.Index(fields=["holder", "earned_on"], name="seu_entry_holder_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.hours} SEUs on {self.earned_on}: {self.title}"

    @property
    def is_locked(self) -> bool:
        """Used by a renewal, or credited by us: kept as it is."""
        return self.renewal_id is not None

    @property
    def is_credited(self) -> bool:
        return self.source_session_id is not None


class Payment(models.Model):
    """A renewal fee paid through a provider. The key makes a retry find the payment it already made."""

    holder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    renewal = models.OneToOneField(Renewal, on_delete=models.PROTECT, related_name="payment")
    provider = models.CharField(max_length=20, help_text="The name of a provider in renewals.payments.")
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=120, help_text="The provider's reference: invoice, transfer, charge id.")
    idempotency_key = models.CharField(max_length=200, unique=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", help_text="Who paid or recorded it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} by {self.holder} ({self.provider})"
