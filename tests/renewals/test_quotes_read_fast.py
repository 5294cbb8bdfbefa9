"""The faster ways the renewal pages read what they show, each held to the slower way it replaces:
the renewal policy kept in the cache until an administrator saves it, the expiry summary counted by
PostgreSQL, the ledger's SEUs added up by the database, and the renewal on "my certifications"
priced from the certifications the page loaded already."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from certification import queries as certification_queries
from certification.models import Certification
from certification.services import add_months
from renewals import queries
from renewals.models import Renewal, RenewalPolicy
from tests.factories import CertificationFactory, CourseFactory, SeuEntryFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


def certification(holder, *, kind: str = "CSPO", expires_on: date | None, state: str = "active") -> Certification:
    """A certification of ``holder`` with its dates and state set directly (a course of ``kind``
    renews at the level the data migration gives that kind; LEAN does not renew)."""
    made = CertificationFactory(
        enrolment__participant=holder, enrolment__workshop__course=CourseFactory(kind=kind, title=f"{kind} course")
    )
    Certification.objects.filter(pk=made.pk).update(
        state=state,
        certificant_number=None if state == "pending" else f"{made.pk:09d}",
        issued_on=None if expires_on is None else add_months(expires_on, -24),
        expires_on=expires_on,
        revoked_reason="Shared the exam" if state == "revoked" else "",
    )
    return Certification.objects.get(pk=made.pk)


def seus(holder, day: date, hours: str, **fields) -> None:
    SeuEntryFactory(holder=holder, earned_on=day, hours=Decimal(hours), **fields)


def used_renewal(holder) -> Renewal:
    return Renewal.objects.create(
        holder=holder,
        renewed_on=date(2024, 1, 10),
        seus_required=Decimal("20"),
        seus_used=Decimal("20"),
        fee=Decimal("100"),
        currency="USD",
    )


# --- The renewal policy ----------------------------------------------------------------------


def test_renewal_policy_is_read_once_then_from_the_cache(django_assert_num_queries):
    first = RenewalPolicy.current()

    with django_assert_num_queries(0):
        again = RenewalPolicy.current()

    assert (again.pk, again.daily_cap, again.seu_window_months, again.grace_days, again.community_category_id) == (
        first.pk,
        first.daily_cap,
        first.seu_window_months,
        first.grace_days,
        first.community_category_id,
    )


def test_renewal_policy_saved_is_read_again():
    policy = RenewalPolicy.current()
    policy.daily_cap = Decimal("6")
    policy.save()

    assert RenewalPolicy.current().daily_cap == Decimal("6")


def test_renewal_policy_changed_in_the_admin_applies_to_the_next_page(
    login, participant, administrator, django_capture_on_commit_callbacks
):
    administrator.is_superuser = True
    administrator.save()
    before = RenewalPolicy.current()
    client = login(participant)
    assert "at most 8 a day" in client.get("/me/renewal/").content.decode()
    login(administrator)

    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(
            "/admin/renewals/renewalpolicy/1/change/",
            {
                "daily_cap": "6",
                "seu_window_months": before.seu_window_months,
                "grace_days": before.grace_days,
                "reminder_days": before.reminder_days,
                "remind_after_expiry": "on" if before.remind_after_expiry else "",
                "catch_up_days": before.catch_up_days,
                "community_category": before.community_category_id or "",
            },
        )
    login(participant)
    page = client.get("/me/renewal/").content.decode()

    assert saved.status_code == 302
    assert "at most 6 a day" in page


# --- The expiry summary --------------------------------------------------------------------


@pytest.fixture
def holders_due() -> None:
    """Holders whose readiness turns on each rule the summary applies."""
    # Ready: 20 unused SEUs inside the period of a CSPO expiring in 20 days.
    ready = UserFactory()
    certification(ready, expires_on=TODAY + timedelta(days=20))
    for n in range(3):
        seus(ready, TODAY - timedelta(days=40 + n), "8" if n < 2 else "4")
    # Not ready: the same SEUs, but a renewal used 8 of them.
    used = UserFactory()
    certification(used, expires_on=TODAY + timedelta(days=25))
    seus(used, TODAY - timedelta(days=40), "8", renewal=used_renewal(used))
    seus(used, TODAY - timedelta(days=41), "8")
    seus(used, TODAY - timedelta(days=42), "4")
    # Not ready: 8 of its SEUs were earned the day before its period began.
    early = UserFactory()
    expires_on = TODAY + timedelta(days=50)
    certification(early, expires_on=expires_on)
    seus(early, add_months(expires_on, -24) - timedelta(days=1), "8")
    seus(early, add_months(expires_on, -24), "8")
    seus(early, TODAY, "4")
    # Two levels: A-CSPO's 30 plus half of CSPO's 20 make 40; 40 logged since the earlier expiry's period.
    two = UserFactory()
    certification(two, expires_on=TODAY + timedelta(days=80), kind="A-CSPO")
    certification(two, expires_on=TODAY + timedelta(days=300))
    for n in range(5):
        seus(two, TODAY - timedelta(days=100 + n), "8")
    # Two levels, 30 logged: not ready, though 30 would do for A-CSPO alone.
    short = UserFactory()
    certification(short, expires_on=TODAY + timedelta(days=55), kind="A-CSPO")
    certification(short, expires_on=TODAY + timedelta(days=400))
    for n in range(4):
        seus(short, TODAY - timedelta(days=10 + n), "8" if n < 3 else "6")
    # Two CSPOs (30 SEUs), one in its grace period: their period begins 24 months before its expiry.
    graced = UserFactory()
    certification(graced, expires_on=TODAY - timedelta(days=30))
    certification(graced, expires_on=TODAY + timedelta(days=60))
    for n in range(4):
        seus(graced, add_months(TODAY - timedelta(days=30), -24) + timedelta(days=n), "8" if n < 3 else "6")
    # Expired beyond the grace period: it covers nothing; the one due alone needs its 20.
    lapsed = UserFactory()
    certification(lapsed, expires_on=TODAY - timedelta(days=200))
    certification(lapsed, expires_on=TODAY + timedelta(days=70))
    for n in range(3):
        seus(lapsed, TODAY - timedelta(days=5 + n), "8" if n < 2 else "4")
    # SEUs after today do not count yet.
    future = UserFactory()
    certification(future, expires_on=TODAY + timedelta(days=5))
    seus(future, TODAY - timedelta(days=3), "8")
    seus(future, TODAY - timedelta(days=2), "8")
    seus(future, TODAY + timedelta(days=1), "8")
    # A month's end: 30 months before 31 May 2026 is 30 November 2023 (November has no 31st); 24
    # months before, 31 May 2024.
    month_end = UserFactory()
    certification(month_end, expires_on=date(2026, 5, 31))
    seus(month_end, date(2023, 11, 29), "8")
    seus(month_end, date(2023, 11, 30), "8")
    seus(month_end, date(2024, 6, 1), "8")
    seus(month_end, date(2024, 6, 2), "4")
    # Not due, and not counted: a course that does not renew, one not activated, one revoked, one later.
    for kind, state, days in (("LEAN", "active", 10), ("CSPO", "revoked", 10), ("CSPO", "active", 91)):
        certification(UserFactory(), kind=kind, state=state, expires_on=TODAY + timedelta(days=days))
    certification(UserFactory(), state="pending", expires_on=None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the summary is counted in SQL on PostgreSQL only")
@pytest.mark.parametrize("window_months", [24, 30])
@pytest.mark.usefixtures("holders_due")
def test_expiry_summary_counted_by_postgresql_agrees_with_the_quotes(window_months):
    policy = RenewalPolicy.current()
    policy.seu_window_months = window_months
    policy.save()

    counted_in_sql = queries._expiry_summary_in_sql(today=TODAY)
    counted_in_python = queries._expiry_summary_in_python(today=TODAY)

    assert counted_in_sql == counted_in_python
    expiring = [(w.days, w.expiring) for w in counted_in_sql]
    assert expiring == [(30, 3), (60, 6), (90, 9)]
    assert 0 < counted_in_sql[2].ready < counted_in_sql[2].expiring


@pytest.mark.usefixtures("holders_due")
def test_expiry_summary_counts_the_holders_ready_by_the_renewal_rules():
    summary = {w.days: (w.expiring, w.ready) for w in queries.expiry_summary(today=TODAY)}

    # Ready: the 20-day CSPO, the two CSPOs one of them in its grace period, the two levels with 40,
    # the one beside a lapsed certification; the month's end has 12 SEUs since 31 May 2024.
    assert summary == {30: (3, 1), 60: (6, 2), 90: (9, 4)}


# --- The ledger's SEUs ---------------------------------------------------------------------------


def test_ledger_adds_up_the_same_seus_as_the_quote_a_renewal_uses(participant):
    certification(participant, expires_on=timezone.localdate() + timedelta(days=40))
    starts = add_months(timezone.localdate() + timedelta(days=40), -24)
    seus(participant, starts - timedelta(days=1), "8")  # before the period
    seus(participant, starts, "1.25")
    seus(participant, timezone.localdate() - timedelta(days=3), "2.5")
    seus(participant, timezone.localdate() - timedelta(days=4), "8", renewal=used_renewal(participant))
    for n in range(55):  # more than a page, each counted
        seus(participant, timezone.localdate() - timedelta(days=10 + n), "0.75")

    ledger_quote, page = queries.ledger(participant)

    assert ledger_quote.seus_earned == queries.quote(participant).seus_earned == Decimal("45.00")
    assert page.paginator.count == 59
    assert [e.counts for e in page.object_list[:3]] == [True, False, True]


def test_ledger_without_a_certification_counts_its_entries_and_no_seus(participant):
    seus(participant, timezone.localdate() - timedelta(days=3), "2.5")

    ledger_quote, page = queries.ledger(participant)

    assert (ledger_quote.covers_anything, ledger_quote.seus_earned, page.paginator.count) == (False, 0, 1)
    assert [e.counts for e in page.object_list] == [False]


# --- My certifications ---------------------------------------------------------------------------


def test_quote_from_the_certifications_loaded_equals_the_quote_read(participant):
    today = timezone.localdate()
    certification(participant, expires_on=today + timedelta(days=300), kind="A-CSPO")
    certification(participant, expires_on=today + timedelta(days=30))
    certification(participant, expires_on=today - timedelta(days=20), kind="CSM")  # in the grace period
    certification(participant, expires_on=today - timedelta(days=120))  # beyond it
    certification(participant, expires_on=today + timedelta(days=30), kind="LEAN")  # does not renew
    certification(participant, expires_on=today + timedelta(days=30), state="revoked")
    certification(participant, expires_on=None, state="pending")
    seus(participant, today - timedelta(days=3), "6")

    loaded = certification_queries.certifications_of(participant)
    picked = queries.quote(participant, certifications=loaded)
    read = queries.quote(participant)

    assert [c.pk for c in picked.certifications] == [c.pk for c in read.certifications]
    assert len(read.certifications) == 3
    assert (picked.seus_required, picked.seus_earned, picked.fee, picked.window_starts_on, picked.key) == (
        read.seus_required,
        read.seus_earned,
        read.fee,
        read.window_starts_on,
        read.key,
    )


# --- The dashboard's quotes ----------------------------------------------------------------------


@pytest.mark.usefixtures("holders_due")
def test_quote_read_as_plain_rows_for_the_dashboard_equals_the_quote_a_renewal_uses():
    holders = list(Certification.objects.values_list("holder_id", flat=True).distinct())

    shown = queries.quotes_for(holders, today=TODAY, plain_rows=True)
    renewing = queries.quotes_for(holders, today=TODAY)

    def figures(quote):
        return (
            [(c.pk, c.expires_on, c.certificant_number) for c in quote.certifications],
            *(quote.seus_required, quote.seus_earned, quote.fee, quote.currency, quote.window_starts_on),
            *(quote.first_expiry, quote.requirement_met, quote.key),
        )

    assert {pk: figures(q) for pk, q in shown.items()} == {pk: figures(q) for pk, q in renewing.items()}
    assert {q.seus_required for q in shown.values()} >= {Decimal("20"), Decimal("30"), Decimal("40")}  # levels mixed


def test_quotes_as_plain_rows_are_read_for_a_list_of_holders_only():
    with pytest.raises(TypeError, match="list of holders"):
        queries.quotes_for(Certification.objects.values("holder_id"), today=TODAY, plain_rows=True)
