"""Reads: what a holder must do to renew (the quote), and their ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from certification.models import Certification
from certification.services import add_months

from .models import Renewal, RenewalPolicy, SeuEntry, seus

ZERO = Decimal("0")


@dataclass
class RenewalQuote:
    """What renewing takes now: the certifications it covers, the SEUs they need together (the full
    SEUs of the highest level plus half of its own level's SEUs for each other one), the SEUs earned
    inside the period and not used before, and the fee (the highest level's only)."""

    holder_id: int
    today: date
    certifications: list[Certification] = field(default_factory=list)
    seus_required: Decimal = ZERO
    seus_earned: Decimal = ZERO
    fee: Decimal = ZERO
    currency: str = "USD"
    window_starts_on: date | None = None
    grace_days: int = 0
    daily_cap: Decimal = ZERO

    @property
    def covers_anything(self) -> bool:
        return bool(self.certifications)

    @property
    def seus_missing(self) -> Decimal:
        return max(ZERO, self.seus_required - self.seus_earned)

    @property
    def requirement_met(self) -> bool:
        return self.covers_anything and self.seus_earned >= self.seus_required

    @property
    def percent(self) -> int:
        if not self.seus_required:
            return 100
        return min(100, int(self.seus_earned * 100 / self.seus_required))

    @property
    def first_expiry(self) -> date | None:
        return min((c.expires_on for c in self.certifications), default=None)

    @property
    def days_left(self) -> int | None:
        """Days until the first covered certification expires; negative once it has (grace period)."""
        return (self.first_expiry - self.today).days if self.first_expiry else None

    @property
    def renewable_until(self) -> date | None:
        return self.first_expiry + timedelta(days=self.grace_days) if self.first_expiry else None

    @property
    def key(self) -> str:
        """Names this renewal: the same certifications at the same expiry dates. A payment made under
        it is found again by a retry, and a renewal changes the dates, so the next one has a new key."""
        periods = ",".join(
            f"{c.pk}@{c.expires_on.isoformat()}" for c in sorted(self.certifications, key=lambda c: c.pk)
        )
        return f"renewal:{self.holder_id}:{periods}"


def renewable_certifications(holder_ids, *, today: date, policy: RenewalPolicy):
    """Active certifications of courses that renew, not expired beyond the grace period."""
    return (
        Certification.objects.filter(
            holder_id__in=holder_ids,
            state=Certification.State.ACTIVE,
            course__renewal_level__isnull=False,
            expires_on__gte=today - timedelta(days=policy.grace_days),
        )
        .select_related("course__renewal_level")
        .order_by("expires_on", "pk")
    )


def quotes_for(
    holder_ids, *, today: date | None = None, policy: RenewalPolicy | None = None
) -> dict[int, RenewalQuote]:
    """The quote of each holder, in two queries whatever their number. ``holder_ids`` is a list, or
    a ``values("holder_id")`` queryset to let the database pick the holders (then only holders with a
    renewable certification get a quote)."""
    today = today or timezone.localdate()
    policy = policy or RenewalPolicy.current()
    if not isinstance(holder_ids, QuerySet):
        holder_ids = list(holder_ids)

    def new_quote(pk: int) -> RenewalQuote:
        return RenewalQuote(holder_id=pk, today=today, grace_days=policy.grace_days, daily_cap=policy.daily_cap)

    quotes = {} if isinstance(holder_ids, QuerySet) else {pk: new_quote(pk) for pk in holder_ids}
    for certification in renewable_certifications(holder_ids, today=today, policy=policy):
        if certification.holder_id not in quotes:
            quotes[certification.holder_id] = new_quote(certification.holder_id)
        quotes[certification.holder_id].certifications.append(certification)
    starts_by: dict[int, date] = {}
    for quote in quotes.values():
        if not quote.certifications:
            continue
        levels = [c.course.renewal_level for c in quote.certifications]
        highest = max(levels, key=lambda level: level.rank)
        others = list(levels)
        others.remove(highest)
        quote.seus_required = highest.seus_required + sum((level.seus_required / 2 for level in others), ZERO)
        quote.fee, quote.currency = highest.fee, highest.currency
        quote.window_starts_on = min(add_months(c.expires_on, -policy.seu_window_months) for c in quote.certifications)
        starts_by[quote.holder_id] = quote.window_starts_on
    if starts_by:
        entries = (
            SeuEntry.objects.unused()
            .filter(holder_id__in=holder_ids if isinstance(holder_ids, QuerySet) else list(starts_by))
            .filter(earned_on__gte=min(starts_by.values()), earned_on__lte=today)
            .values_list("holder_id", "earned_on", "hours")
        )
        for holder_id, earned_on, hours in entries:
            quote = quotes.get(holder_id)
            if holder_id in starts_by and earned_on >= quote.window_starts_on:
                quote.seus_earned += hours
    return quotes


def quote(holder, *, today: date | None = None, policy: RenewalPolicy | None = None) -> RenewalQuote:
    return quotes_for([holder.pk], today=today, policy=policy)[holder.pk]


def ledger(holder, *, today: date | None = None) -> tuple[RenewalQuote, list[SeuEntry]]:
    """The holder's quote and every entry, newest first, each marked whether it ``counts`` towards
    this renewal (unused and inside the period): three queries for the quote, one for the entries."""
    today = today or timezone.localdate()
    holder_quote = quote(holder, today=today)
    entries = list(
        SeuEntry.objects.filter(holder=holder).select_related("category", "renewal", "source_session__workshop__course")
    )
    starts = holder_quote.window_starts_on
    for entry in entries:
        entry.counts = entry.renewal_id is None and starts is not None and starts <= entry.earned_on <= today
    return holder_quote, entries


def renewals_of(holder) -> list[Renewal]:
    return list(
        Renewal.objects.filter(holder=holder).select_related("payment").prefetch_related("items__certification__course")
    )


# --- The administrators' expiry dashboard ----------------------------------------------------

DASHBOARD_WINDOWS = (30, 60, 90)
SUMMARY_BATCH = 2000


def expiring_certifications(*, today: date, days: int):
    """Certifications of renewing courses expiring in the next ``days`` days, soonest first."""
    return (
        Certification.objects.expiring_between(today, today + timedelta(days=days))
        .filter(course__renewal_level__isnull=False)
        .select_related("holder", "course")
        .order_by("expires_on", "pk")
    )


def with_quotes(certifications: list[Certification], *, today: date) -> list[tuple[Certification, RenewalQuote]]:
    quotes = quotes_for({c.holder_id for c in certifications}, today=today)
    return [(c, quotes[c.holder_id]) for c in certifications]


@dataclass
class ExpiryWindow:
    days: int
    expiring: int = 0
    ready: int = 0  # enough SEUs logged to renew

    @property
    def not_ready(self) -> int:
        return self.expiring - self.ready

    @property
    def percent_ready(self) -> int:
        return round(self.ready * 100 / self.expiring) if self.expiring else 0


def _in_batches(certifications, size: int):
    last = (date.min, 0)
    while True:
        batch = list(certifications.filter(expires_on__gte=last[0]).exclude(expires_on=last[0], pk__lte=last[1])[:size])
        if not batch:
            return
        yield batch
        last = (batch[-1].expires_on, batch[-1].pk)


def expiry_summary(*, today: date) -> list[ExpiryWindow]:
    """For 30, 60 and 90 days ahead: how many certifications expire, and how many of their holders
    have logged enough SEUs to renew. Four queries, however many certifications expire."""
    windows = [ExpiryWindow(days=days) for days in DASHBOARD_WINDOWS]
    due = expiring_certifications(today=today, days=max(DASHBOARD_WINDOWS))
    quotes = quotes_for(due.values("holder_id"), today=today)
    for holder_id, expires_on in due.values_list("holder_id", "expires_on"):
        left = (expires_on - today).days
        met = holder_id in quotes and quotes[holder_id].requirement_met
        for window in windows:
            if left <= window.days:
                window.expiring += 1
                window.ready += met
    return windows


SUMMARY_SECONDS = 600


def cached_expiry_summary(*, today: date) -> tuple[list[ExpiryWindow], datetime]:
    """The summary and when it was counted. It reads every certification expiring within 90 days
    (tens of thousands at a certification body's scale, seconds of work), so it is counted at most
    every ten minutes and the page says when; the list below it is always current."""

    def count() -> tuple[list[ExpiryWindow], datetime]:
        return expiry_summary(today=today), timezone.now()

    return cache.get_or_set(f"renewals:expiry-summary:{today.isoformat()}", count, SUMMARY_SECONDS)


def expiring_rows(*, today: date, days: int):
    """The dashboard's list as spreadsheet rows, header first, read in batches."""
    yield ["Certificant number", "Name", "E-mail", "Course", "Expires on", "Days left",
           "SEUs logged", "SEUs required", "Enough SEUs", "Fee", "Currency"]  # fmt: skip
    policy = RenewalPolicy.current()
    for batch in _in_batches(expiring_certifications(today=today, days=days), SUMMARY_BATCH):
        quotes = quotes_for({c.holder_id for c in batch}, today=today, policy=policy)
        for c in batch:
            q = quotes[c.holder_id]
            yield [c.certificant_number, c.holder.full_name, c.holder.email, c.course.kind,
                   c.expires_on.isoformat(), str((c.expires_on - today).days), seus(q.seus_earned),
                   seus(q.seus_required), "yes" if q.requirement_met else "no", f"{q.fee:.2f}",
                   q.currency]  # fmt: skip
