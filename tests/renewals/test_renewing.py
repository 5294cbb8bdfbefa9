"""The quote (SEUs and fee for the certifications that renew together) and renewing: paying once
through a provider, extending each certification from its own expiry date, using the period's SEU
entries, and a new certificate and a confirmation afterwards."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from certification.certificates import certificate_fingerprint
from certification.models import Certification
from certification.services import activate, add_months
from participants.models import OutboundEmail
from renewals.models import Payment, Renewal, RenewalPolicy, RenewedCertification, SeuEntry
from renewals.payments import TestProvider
from renewals.queries import quote
from renewals.services import renew
from tests.factories import CertificationFactory, CourseFactory, SeuEntryFactory, UserFactory, certification_for

pytestmark = pytest.mark.django_db

ACTIVATED_ON = date(2024, 3, 1)
EXPIRES_ON = date(2026, 3, 1)
RENEWED_UNTIL = date(2028, 3, 1)
TODAY = date(2025, 12, 1)  # three months before the CSPO expires
DECLINED = "4000 0000 0000 0002"
TITLES = {
    "CSPO": "Certified Scrum Product Owner",
    "CSM": "Certified ScrumMaster",
    "A-CSPO": "Advanced Certified Scrum Product Owner",
}


@pytest.fixture(autouse=True)
def _test_card_and_temporary_media(settings, tmp_path, monkeypatch):
    settings.CSPO_PAYMENT_PROVIDERS = ["manual", "test"]
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(TestProvider, "charges", [])


def certification_of(holder, trainer, kind: str = "CSPO", *, activated_on: date = ACTIVATED_ON) -> Certification:
    if kind == "CSPO":
        return certification_for(holder, trainer, activated_on=activated_on)
    course = CourseFactory(kind=kind, title=TITLES[kind])
    pending = CertificationFactory(
        enrolment__participant=holder, enrolment__workshop__course=course, enrolment__workshop__lead_trainer=trainer
    )
    return activate(certification=pending, accept_license=True, today=activated_on)


def logged(holder, hours: int, *, first_day: date = date(2025, 9, 1)) -> list[SeuEntry]:
    """``hours`` SEUs, at most eight a day, on consecutive days from ``first_day``."""
    entries, day = [], first_day
    while hours > 0:
        entries.append(SeuEntryFactory(holder=holder, earned_on=day, hours=Decimal(min(8, hours))))
        hours -= 8
        day += timedelta(days=1)
    return entries


@pytest.fixture
def cspo(participant, trainer):
    return certification_of(participant, trainer)


def pay_by_card(holder, *, today: date = TODAY, key: str | None = None, card: str = TestProvider.ACCEPTED) -> Renewal:
    return renew(
        holder=holder,
        by=holder,
        provider_name="test",
        expected_key=key or quote(holder, today=today).key,
        details={"card_number": card},
        today=today,
    )


def expiry_of(certification: Certification) -> date:
    return Certification.objects.get(pk=certification.pk).expires_on


# --- The quote ---------------------------------------------------------------------------------


def test_quote_of_one_cspo_needs_20_seus_and_costs_100(participant, cspo):
    current = quote(participant, today=TODAY)

    assert current.certifications == [cspo]
    assert (current.seus_required, current.fee, current.currency) == (Decimal("20"), Decimal("100"), "USD")


def test_quote_of_csm_and_cspo_needs_30_seus_and_one_fee_of_100(participant, trainer, cspo):
    csm = certification_of(participant, trainer, "CSM", activated_on=date(2024, 5, 1))

    current = quote(participant, today=TODAY)

    assert {c.pk for c in current.certifications} == {cspo.pk, csm.pk}
    assert (current.seus_required, current.fee) == (Decimal("30"), Decimal("100"))


def test_quote_of_a_cspo_and_cspo_needs_40_seus_and_costs_175(participant, trainer, cspo):
    certification_of(participant, trainer, "A-CSPO", activated_on=date(2024, 9, 1))

    current = quote(participant, today=TODAY)

    assert (current.seus_required, current.fee) == (Decimal("40"), Decimal("175"))


def test_quote_counts_seus_only_inside_the_current_period(participant, cspo):
    SeuEntryFactory(holder=participant, earned_on=date(2024, 2, 29), hours=Decimal("8"))  # before the period
    SeuEntryFactory(holder=participant, earned_on=date(2024, 3, 1), hours=Decimal("3"))  # its first day
    SeuEntryFactory(holder=participant, earned_on=TODAY, hours=Decimal("2.5"))
    SeuEntryFactory(holder=participant, earned_on=TODAY + timedelta(days=1), hours=Decimal("4"))  # not yet
    SeuEntryFactory(holder=UserFactory(), earned_on=TODAY, hours=Decimal("8"))  # someone else's

    current = quote(participant, today=TODAY)

    assert current.window_starts_on == date(2024, 3, 1)
    assert current.seus_earned == Decimal("5.5")
    assert current.seus_missing == Decimal("14.5")
    assert current.requirement_met is False


def test_quote_of_someone_without_a_certification_covers_nothing(participant):
    current = quote(participant, today=TODAY)

    assert (current.covers_anything, current.seus_required, current.window_starts_on) == (False, Decimal("0"), None)


# --- Renewing: the new expiry date -------------------------------------------------------------


@pytest.mark.parametrize(
    "today",
    [
        pytest.param(TODAY, id="early"),
        pytest.param(EXPIRES_ON, id="on-the-last-day"),
        pytest.param(EXPIRES_ON + timedelta(days=40), id="inside-the-grace-period"),
        pytest.param(EXPIRES_ON + timedelta(days=90), id="last-day-of-the-grace-period"),
    ],
)
def test_renew_extends_from_the_current_expiry_date_not_the_payment_day(participant, cspo, today):
    logged(participant, 20)

    renewal = pay_by_card(participant, today=today)

    assert expiry_of(cspo) == RENEWED_UNTIL
    item = RenewedCertification.objects.get()
    assert (item.renewal, item.previous_expiry, item.new_expiry) == (renewal, EXPIRES_ON, RENEWED_UNTIL)
    assert (renewal.renewed_on, renewal.fee, renewal.seus_required) == (today, Decimal("100"), Decimal("20"))


def test_renew_extends_each_certification_from_its_own_expiry(participant, trainer, cspo):
    # Earned before the CSPO (a CSM earned after it would have extended the CSPO to its own expiry).
    csm = certification_of(participant, trainer, "CSM", activated_on=date(2024, 2, 10))
    logged(participant, 30)

    pay_by_card(participant)

    assert (expiry_of(cspo), expiry_of(csm)) == (RENEWED_UNTIL, date(2028, 2, 10))
    assert Payment.objects.get().amount == Decimal("100")


def test_renew_after_the_grace_period_is_refused_and_changes_nothing(participant, cspo):
    logged(participant, 20)
    key_seen = quote(participant, today=EXPIRES_ON).key

    with pytest.raises(ValidationError) as refusal:
        pay_by_card(participant, today=EXPIRES_ON + timedelta(days=91), key=key_seen)

    assert refusal.value.messages == ["There is no certification to renew: none is active or inside its grace period."]
    assert expiry_of(cspo) == EXPIRES_ON
    assert (Renewal.objects.count(), Payment.objects.count(), TestProvider.charges) == (0, 0, [])


def test_renew_the_day_after_expiry_is_refused_without_a_grace_period(participant, cspo):
    policy = RenewalPolicy.current()
    policy.grace_days = 0
    policy.save()
    logged(participant, 20)
    key_seen = quote(participant, today=EXPIRES_ON).key

    with pytest.raises(ValidationError):
        pay_by_card(participant, today=EXPIRES_ON + timedelta(days=1), key=key_seen)

    assert expiry_of(cspo) == EXPIRES_ON
    assert Renewal.objects.count() == 0


def test_renew_without_enough_seus_is_refused_and_charges_nothing(participant, cspo):
    logged(participant, 19)

    with pytest.raises(ValidationError):
        pay_by_card(participant)

    assert (expiry_of(cspo), Renewal.objects.count(), TestProvider.charges) == (EXPIRES_ON, 0, [])


def test_renew_without_enough_seus_says_how_many_are_missing(participant, cspo):
    logged(participant, 10)

    with pytest.raises(ValidationError) as refusal:
        pay_by_card(participant)

    assert refusal.value.messages == ["10 more SEUs are needed before renewing (10 of 20)."]


# --- Renewing: the SEUs it used ----------------------------------------------------------------


def test_renew_records_the_entries_it_used_and_they_no_longer_count(participant, cspo):
    used = logged(participant, 22)
    older = SeuEntryFactory(holder=participant, earned_on=date(2024, 1, 10))  # the period before

    renewal = pay_by_card(participant)

    assert set(renewal.entries.all()) == set(used)
    assert renewal.seus_used == Decimal("22")
    assert SeuEntry.objects.get(pk=older.pk).renewal is None
    after = quote(participant, today=TODAY)
    assert (after.window_starts_on, after.seus_earned) == (EXPIRES_ON, Decimal("0"))


def test_renew_entries_used_do_not_count_for_the_next_renewal(participant, cspo):
    logged(participant, 20)
    pay_by_card(participant)
    SeuEntryFactory(holder=participant, earned_on=date(2026, 4, 1), hours=Decimal("3"))

    later = quote(participant, today=date(2026, 4, 2))

    assert (later.seus_earned, later.seus_missing) == (Decimal("3"), Decimal("17"))


# --- Paying once -------------------------------------------------------------------------------


def test_renew_twice_with_the_same_key_charges_once(participant, cspo):
    logged(participant, 20)
    key = quote(participant, today=TODAY).key

    first = pay_by_card(participant, key=key)
    second = pay_by_card(participant, key=key)

    assert second.pk == first.pk
    assert [charge for charge in TestProvider.charges if charge[0] == key] == [(key, Decimal("100"), "USD")]
    assert (Payment.objects.count(), Renewal.objects.count()) == (1, 1)
    assert expiry_of(cspo) == RENEWED_UNTIL


def test_renew_with_a_stale_key_is_refused(participant, trainer, cspo):
    logged(participant, 30)
    key_seen = quote(participant, today=TODAY).key
    certification_of(participant, trainer, "CSM", activated_on=date(2024, 2, 1))  # the quote changes

    with pytest.raises(ValidationError) as refusal:
        pay_by_card(participant, key=key_seen)

    assert refusal.value.messages == ["Your renewal changed since you looked at it. Check it again, then pay."]
    assert (expiry_of(cspo), Renewal.objects.count(), TestProvider.charges) == (EXPIRES_ON, 0, [])


def test_renew_with_a_declined_card_changes_nothing(participant, cspo):
    entries = logged(participant, 20)

    with pytest.raises(ValidationError) as refusal:
        pay_by_card(participant, card=DECLINED)

    assert refusal.value.messages == ["The card was declined. Nothing was charged."]
    assert expiry_of(cspo) == EXPIRES_ON
    assert TestProvider.charges == []
    assert (Renewal.objects.count(), Payment.objects.count(), RenewedCertification.objects.count()) == (0, 0, 0)
    assert SeuEntry.objects.filter(pk__in=[e.pk for e in entries], renewal__isnull=True).count() == len(entries)
    assert OutboundEmail.objects.count() == 0


def test_renew_through_the_manual_provider_is_refused_for_a_participant(participant, cspo):
    logged(participant, 20)

    with pytest.raises(ValidationError) as refusal:
        renew(
            holder=participant,
            by=participant,
            provider_name="manual",
            expected_key=quote(participant, today=TODAY).key,
            details={"reference": "INV-2025-0042"},
            today=TODAY,
        )

    assert refusal.value.messages == ["Only an administrator can record this kind of payment."]
    assert (expiry_of(cspo), Payment.objects.count()) == (EXPIRES_ON, 0)


def test_renew_through_the_manual_provider_by_an_administrator_records_the_reference(participant, administrator, cspo):
    logged(participant, 20)

    renewal = renew(
        holder=participant,
        by=administrator,
        provider_name="manual",
        expected_key=quote(participant, today=TODAY).key,
        details={"reference": " INV-2025-0042 "},
        today=TODAY,
    )

    payment = Payment.objects.get()
    assert (payment.renewal, payment.holder, payment.recorded_by) == (renewal, participant, administrator)
    assert (payment.provider, payment.reference, payment.amount) == ("manual", "INV-2025-0042", Decimal("100"))
    assert expiry_of(cspo) == RENEWED_UNTIL


def test_renew_through_the_manual_provider_needs_a_reference(participant, administrator, cspo):
    logged(participant, 20)

    with pytest.raises(ValidationError) as refusal:
        renew(
            holder=participant,
            by=administrator,
            provider_name="manual",
            expected_key=quote(participant, today=TODAY).key,
            details={"reference": "  "},
            today=TODAY,
        )

    assert refusal.value.messages == ["Enter the invoice number or bank transfer reference."]
    assert (expiry_of(cspo), Renewal.objects.count()) == (EXPIRES_ON, 0)


def test_renew_by_card_for_someone_else_is_refused(participant, cspo):
    logged(participant, 20)
    stranger = UserFactory(email="stranger@example.org")

    with pytest.raises(ValidationError) as refusal:
        renew(
            holder=participant,
            by=stranger,
            provider_name="test",
            expected_key=quote(participant, today=TODAY).key,
            details={"card_number": TestProvider.ACCEPTED},
            today=TODAY,
        )

    assert refusal.value.messages == ["You can pay only for your own renewal."]
    assert (expiry_of(cspo), TestProvider.charges) == (EXPIRES_ON, [])


# --- After renewing: the certificate and the confirmation ----------------------------------------


def test_renew_issues_a_new_certificate_and_queues_one_confirmation(
    participant, trainer, django_capture_on_commit_callbacks, mailoutbox
):
    # The certificate task checks the status on the real date (a worker has no other), so this
    # certification is dated from today: it expires in 30 days.
    today = timezone.localdate()
    certification = certification_of(participant, trainer, activated_on=add_months(today + timedelta(days=30), -24))
    logged(participant, 20, first_day=today - timedelta(days=10))

    with django_capture_on_commit_callbacks(execute=True):
        pay_by_card(participant, today=today)

    certification.refresh_from_db()
    assert certification.expires_on == add_months(add_months(today + timedelta(days=30), -24), 48)
    assert certification.certificate_pdf.name == f"certificates/{certification.certificant_number}.pdf"
    assert Path(certification.certificate_pdf.path).read_bytes()[:5] == b"%PDF-"
    assert certification.certificate_fingerprint == certificate_fingerprint(certification)
    assert OutboundEmail.objects.filter(purpose="renewal_confirmation").count() == 1
    assert [(m.to, m.subject) for m in mailoutbox] == [([participant.email], "Your renewal is complete")]
    assert f"now valid until {certification.expires_on:%-d %B %Y}" in mailoutbox[0].body


def test_renew_paid_twice_queues_one_confirmation(participant, cspo, django_capture_on_commit_callbacks, mailoutbox):
    logged(participant, 20)
    key = quote(participant, today=TODAY).key

    with django_capture_on_commit_callbacks(execute=True):
        pay_by_card(participant, key=key)
    with django_capture_on_commit_callbacks(execute=True):
        pay_by_card(participant, key=key)

    assert OutboundEmail.objects.filter(purpose="renewal_confirmation").count() == 1
    assert len(mailoutbox) == 1


# --- Two payments at the same moment (PostgreSQL row locks) ------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite has no row locks and lets one writer in at a time anyway",
)
def test_renew_paid_from_two_tabs_at_the_same_moment_charges_once(mailoutbox):
    holder = UserFactory(email="pat@example.org", full_name="Pat Participant")
    trainer = UserFactory(email="tess@example.org", is_trainer=True, is_participant=False)
    cspo = certification_of(holder, trainer)
    logged(holder, 20)
    key = quote(holder, today=TODAY).key
    both_inside = threading.Barrier(2, timeout=10)

    def pay_from_a_tab() -> int:
        try:
            with transaction.atomic():
                assert quote(holder, today=TODAY).key == key
                both_inside.wait()
                return pay_by_card(holder, key=key).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(pay_from_a_tab) for _ in range(2)]
    renewals = {future.result(timeout=60) for future in futures}  # re-raises what a tab raised

    assert len(renewals) == 1
    assert [charge for charge in TestProvider.charges if charge[0] == key] == [(key, Decimal("100"), "USD")]
    assert (Payment.objects.count(), Renewal.objects.count(), RenewedCertification.objects.count()) == (1, 1, 1)
    assert expiry_of(cspo) == RENEWED_UNTIL
    assert [m.subject for m in mailoutbox] == ["Your renewal is complete"]
