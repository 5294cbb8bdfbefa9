"""The rules every SEU entry keeps, through the services people use to log, edit and delete them:
dates inside the current period and not in the future, positive quarter hours, the daily cap (data,
not a constant), no duplicates, the good-faith confirmation, and entries a renewal used or we
credited staying as they are."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection

from certification.services import revoke
from renewals.models import RenewalPolicy, SeuEntry
from renewals.payments import TestProvider
from renewals.queries import quote
from renewals.services import SeuActivity, delete_seu_entry, log_seu_entry, renew, update_seu_entry
from tests.factories import SeuEntryFactory, UserFactory, WorkshopSessionFactory, certification_for, seu_category

pytestmark = pytest.mark.django_db

ACTIVATED_ON = date(2024, 3, 1)  # the CSPO expires on 1 March 2026: the period is 1 March 2024 to then
TODAY = date(2025, 6, 16)
SOME_DAY = date(2025, 6, 10)
KELVIN_SIGN = "\u212a"  # "K": PostgreSQL lowercases it to "k" but uppercases "k" to "K", not to it

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's lower() and LIKE leave the Kelvin sign as it is"
)


@pytest.fixture(autouse=True)
def _test_card_and_temporary_media(settings, tmp_path, monkeypatch):
    settings.CSPO_PAYMENT_PROVIDERS = ["manual", "test"]
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(TestProvider, "charges", [])


@pytest.fixture
def holder(participant, trainer):
    certification_for(participant, trainer, activated_on=ACTIVATED_ON)
    return participant


def activity(**changes) -> SeuActivity:
    """What a person types into the form for a two-hour webinar, confirmed in good faith."""
    typed = SeuActivity(
        earned_on=SOME_DAY,
        category=seu_category("Learning"),
        hours=Decimal("2"),
        title="Product discovery webinar",
        good_faith=True,
    )
    return replace(typed, **changes)


def set_policy(**fields) -> None:
    policy = RenewalPolicy.current()
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()


def refusal_of(holder, typed: SeuActivity) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refusal:
        log_seu_entry(holder=holder, activity=typed, today=TODAY)
    return refusal.value.message_dict


# --- Logging ----------------------------------------------------------------------------------


def test_log_seu_entry_saves_what_was_typed(holder):
    entry = log_seu_entry(holder=holder, activity=activity(title="  Product discovery webinar "), today=TODAY)

    saved = SeuEntry.objects.get()
    assert saved.pk == entry.pk
    assert (saved.holder, saved.earned_on, saved.hours) == (holder, SOME_DAY, Decimal("2"))
    assert saved.title == "Product discovery webinar"
    assert saved.category == seu_category("Learning")
    assert saved.confirmed_at is not None
    assert saved.renewal is None


def test_log_seu_entry_accepts_today(holder):
    log_seu_entry(holder=holder, activity=activity(earned_on=TODAY), today=TODAY)

    assert SeuEntry.objects.get().earned_on == TODAY


def test_log_seu_entry_refuses_a_future_date_and_saves_nothing(holder):
    problems = refusal_of(holder, activity(earned_on=date(2025, 6, 17)))

    assert problems == {"earned_on": ["The date cannot be in the future: log an activity once you have done it."]}
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_period_starts_at_expiry_less_the_window(holder):
    assert quote(holder, today=TODAY).window_starts_on == ACTIVATED_ON  # 1 March 2026 less 24 months


def test_log_seu_entry_accepts_the_first_day_of_the_period(holder):
    log_seu_entry(holder=holder, activity=activity(earned_on=date(2024, 3, 1)), today=TODAY)

    assert SeuEntry.objects.get().earned_on == date(2024, 3, 1)


def test_log_seu_entry_refuses_the_day_before_the_period_and_saves_nothing(holder):
    problems = refusal_of(holder, activity(earned_on=date(2024, 2, 29)))

    assert problems == {"earned_on": ["SEUs count from the start of your current period, 1 March 2024."]}
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_with_a_thirty_month_window_accepts_the_earlier_date(holder):
    set_policy(seu_window_months=30)

    log_seu_entry(holder=holder, activity=activity(earned_on=date(2024, 2, 29)), today=TODAY)
    log_seu_entry(holder=holder, activity=activity(earned_on=date(2023, 9, 1)), today=TODAY)

    assert quote(holder, today=TODAY).window_starts_on == date(2023, 9, 1)
    assert SeuEntry.objects.count() == 2


def test_log_seu_entry_with_a_thirty_month_window_refuses_the_day_before_it(holder):
    set_policy(seu_window_months=30)

    problems = refusal_of(holder, activity(earned_on=date(2023, 8, 31)))

    assert problems == {"earned_on": ["SEUs count from the start of your current period, 1 September 2023."]}
    assert SeuEntry.objects.count() == 0


@pytest.mark.parametrize("hours", ["0", "-1"])
def test_log_seu_entry_refuses_hours_that_are_not_positive(holder, hours):
    problems = refusal_of(holder, activity(hours=Decimal(hours)))

    assert problems == {"hours": ["SEUs must be more than 0."]}
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_refuses_hours_that_are_not_quarter_hours(holder):
    problems = refusal_of(holder, activity(hours=Decimal("1.3")))

    assert problems == {"hours": ["SEUs are counted in quarter hours: 0.25, 0.5, 0.75, 1…"]}
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_accepts_quarter_hours(holder):
    log_seu_entry(holder=holder, activity=activity(hours=Decimal("1.25")), today=TODAY)

    assert SeuEntry.objects.get().hours == Decimal("1.25")


def test_log_seu_entry_refuses_one_entry_above_the_daily_cap(holder):
    problems = refusal_of(holder, activity(hours=Decimal("8.25")))

    assert problems == {"hours": ["At most 8 SEUs count per day."]}
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_refuses_a_second_entry_above_the_daily_cap_saying_how_many_fit(holder):
    log_seu_entry(holder=holder, activity=activity(title="Morning workshop", hours=Decimal("5")), today=TODAY)

    problems = refusal_of(holder, activity(title="Afternoon meetup", hours=Decimal("3.25")))

    assert problems == {"hours": ["At most 8 SEUs count per day; you logged 5 on 10 June 2025 already, so 3 more fit."]}
    assert list(SeuEntry.objects.values_list("title", flat=True)) == ["Morning workshop"]


def test_log_seu_entry_accepts_exactly_the_daily_cap_over_two_entries(holder):
    log_seu_entry(holder=holder, activity=activity(title="Morning workshop", hours=Decimal("5")), today=TODAY)

    log_seu_entry(holder=holder, activity=activity(title="Afternoon meetup", hours=Decimal("3")), today=TODAY)

    assert sum(SeuEntry.objects.filter(earned_on=SOME_DAY).values_list("hours", flat=True)) == Decimal("8")


def test_log_seu_entry_cap_on_one_day_leaves_other_days_alone(holder):
    log_seu_entry(holder=holder, activity=activity(title="Conference day", hours=Decimal("8")), today=TODAY)

    log_seu_entry(holder=holder, activity=activity(earned_on=date(2025, 6, 11), title="Conference day"), today=TODAY)

    assert SeuEntry.objects.count() == 2


def test_log_seu_entry_follows_a_raised_daily_cap(holder):
    set_policy(daily_cap=Decimal("10"))
    log_seu_entry(holder=holder, activity=activity(title="Morning workshop", hours=Decimal("5")), today=TODAY)

    log_seu_entry(holder=holder, activity=activity(title="Afternoon meetup", hours=Decimal("5")), today=TODAY)

    assert SeuEntry.objects.count() == 2


def test_log_seu_entry_refusal_names_a_daily_cap_of_ten_plainly(holder):
    set_policy(daily_cap=Decimal("10"))
    log_seu_entry(holder=holder, activity=activity(title="Morning workshop", hours=Decimal("10")), today=TODAY)

    problems = refusal_of(holder, activity(title="Afternoon meetup", hours=Decimal("1")))

    assert problems == {
        "hours": ["At most 10 SEUs count per day; you logged 10 on 10 June 2025 already, so 0 more fit."]
    }


def test_log_seu_entry_follows_a_lowered_daily_cap(holder):
    set_policy(daily_cap=Decimal("4"))
    log_seu_entry(holder=holder, activity=activity(title="Morning workshop", hours=Decimal("3")), today=TODAY)

    problems = refusal_of(holder, activity(title="Afternoon meetup", hours=Decimal("2")))

    assert problems == {"hours": ["At most 4 SEUs count per day; you logged 3 on 10 June 2025 already, so 1 more fit."]}
    assert SeuEntry.objects.count() == 1


def test_log_seu_entry_refuses_the_same_activity_twice_whatever_the_case(holder):
    log_seu_entry(holder=holder, activity=activity(title="Product discovery webinar"), today=TODAY)

    problems = refusal_of(holder, activity(title="PRODUCT Discovery Webinar ", hours=Decimal("1")))

    assert problems == {"title": ["You logged this activity on this date already."]}
    assert SeuEntry.objects.count() == 1


@needs_postgresql
def test_log_seu_entry_refuses_the_same_activity_twice_when_a_kelvin_sign_spells_the_k(holder):
    log_seu_entry(holder=holder, activity=activity(title=f"{KELVIN_SIGN}anban book"), today=TODAY)

    problems = refusal_of(holder, activity(title="kanban book", hours=Decimal("1")))

    assert problems == {"title": ["You logged this activity on this date already."]}
    assert SeuEntry.objects.count() == 1


def test_log_seu_entry_accepts_the_same_title_on_another_date(holder):
    log_seu_entry(holder=holder, activity=activity(), today=TODAY)

    log_seu_entry(holder=holder, activity=activity(earned_on=date(2025, 6, 3)), today=TODAY)

    assert SeuEntry.objects.count() == 2


def test_log_seu_entry_same_title_of_another_person_is_not_a_duplicate(holder, trainer):
    someone_else = UserFactory(email="sam@example.org")
    certification_for(someone_else, trainer, activated_on=ACTIVATED_ON)
    log_seu_entry(holder=someone_else, activity=activity(), today=TODAY)

    log_seu_entry(holder=holder, activity=activity(), today=TODAY)

    assert SeuEntry.objects.filter(holder=holder).count() == 1


def test_log_seu_entry_needs_the_good_faith_confirmation(holder):
    problems = refusal_of(holder, activity(good_faith=False))

    assert problems == {"good_faith": ["Confirm that you completed this activity as described."]}
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_reports_every_problem_at_once(holder):
    problems = refusal_of(holder, activity(hours=Decimal("1.3"), good_faith=False, title=" "))

    assert sorted(problems) == ["good_faith", "hours", "title"]
    assert SeuEntry.objects.count() == 0


# --- Who can log -------------------------------------------------------------------------------


def test_log_seu_entry_refuses_someone_without_a_certification(participant):
    problems = refusal_of(participant, activity())

    assert problems == {"earned_on": ["You hold no certification that renews, so there is no period to log SEUs in."]}
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_refuses_someone_whose_certification_is_pending(participant, trainer):
    certification_for(participant, trainer)

    problems = refusal_of(participant, activity())

    assert list(problems) == ["earned_on"]
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_refuses_someone_whose_certification_was_revoked(participant, trainer, administrator):
    certification = certification_for(participant, trainer, activated_on=ACTIVATED_ON)
    revoke(certification=certification, by=administrator, reason="Exam fraud")

    problems = refusal_of(participant, activity())

    assert list(problems) == ["earned_on"]
    assert SeuEntry.objects.count() == 0


def test_log_seu_entry_accepts_someone_expired_inside_the_grace_period(holder):
    last_day_of_grace = date(2026, 5, 30)  # 1 March 2026 + 90 days

    log_seu_entry(holder=holder, activity=activity(earned_on=date(2026, 5, 29)), today=last_day_of_grace)

    assert SeuEntry.objects.count() == 1


def test_log_seu_entry_refuses_someone_expired_beyond_the_grace_period(holder):
    with pytest.raises(ValidationError) as refusal:
        log_seu_entry(holder=holder, activity=activity(earned_on=date(2026, 1, 5)), today=date(2026, 5, 31))

    assert list(refusal.value.message_dict) == ["earned_on"]
    assert SeuEntry.objects.count() == 0


# --- Editing and deleting ----------------------------------------------------------------------


def test_update_seu_entry_changes_the_entry(holder):
    entry = log_seu_entry(holder=holder, activity=activity(), today=TODAY)

    update_seu_entry(
        entry=entry, activity=activity(hours=Decimal("3.5"), title="Product discovery course"), today=TODAY
    )

    saved = SeuEntry.objects.get()
    assert (saved.pk, saved.hours, saved.title) == (entry.pk, Decimal("3.5"), "Product discovery course")


def test_update_seu_entry_counts_the_day_without_the_entry_itself(holder):
    entry = log_seu_entry(holder=holder, activity=activity(hours=Decimal("6")), today=TODAY)

    update_seu_entry(entry=entry, activity=activity(hours=Decimal("8")), today=TODAY)

    assert SeuEntry.objects.get().hours == Decimal("8")


def test_update_seu_entry_keeps_the_rules_and_changes_nothing_on_a_refusal(holder):
    log_seu_entry(holder=holder, activity=activity(title="Morning workshop", hours=Decimal("5")), today=TODAY)
    entry = log_seu_entry(holder=holder, activity=activity(title="Afternoon meetup", hours=Decimal("2")), today=TODAY)

    with pytest.raises(ValidationError) as refusal:
        update_seu_entry(entry=entry, activity=activity(title="Afternoon meetup", hours=Decimal("4")), today=TODAY)

    assert refusal.value.message_dict == {
        "hours": ["At most 8 SEUs count per day; you logged 5 on 10 June 2025 already, so 3 more fit."]
    }
    assert SeuEntry.objects.get(pk=entry.pk).hours == Decimal("2")


def test_update_seu_entry_refuses_to_become_a_duplicate(holder):
    log_seu_entry(holder=holder, activity=activity(title="Morning workshop"), today=TODAY)
    entry = log_seu_entry(holder=holder, activity=activity(title="Afternoon meetup"), today=TODAY)

    with pytest.raises(ValidationError) as refusal:
        update_seu_entry(entry=entry, activity=activity(title="morning workshop"), today=TODAY)

    assert refusal.value.message_dict == {"title": ["You logged this activity on this date already."]}
    assert SeuEntry.objects.get(pk=entry.pk).title == "Afternoon meetup"


@needs_postgresql
def test_update_seu_entry_refuses_to_become_a_duplicate_spelt_with_a_kelvin_sign(holder):
    log_seu_entry(holder=holder, activity=activity(title="kanban book"), today=TODAY)
    entry = log_seu_entry(holder=holder, activity=activity(title="Afternoon meetup"), today=TODAY)

    with pytest.raises(ValidationError) as refusal:
        update_seu_entry(entry=entry, activity=activity(title=f"{KELVIN_SIGN}anban book"), today=TODAY)

    assert refusal.value.message_dict == {"title": ["You logged this activity on this date already."]}
    assert SeuEntry.objects.get(pk=entry.pk).title == "Afternoon meetup"


def test_delete_seu_entry_removes_the_entry(holder):
    entry = log_seu_entry(holder=holder, activity=activity(), today=TODAY)

    delete_seu_entry(entry=entry)

    assert SeuEntry.objects.count() == 0


# --- Evidence files ---------------------------------------------------------------------------


def evidence(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n% receipt\n", content_type="application/pdf")


def stored_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def refuse_the_insert(execute, sql, params, many, context):
    """The database refusing the entry's row (a lost connection, a full disk): the outside world."""
    if sql.startswith('INSERT INTO "renewals_seuentry"') or sql.startswith('UPDATE "renewals_seuentry"'):
        raise OperationalError("the server closed the connection unexpectedly")
    return execute(sql, params, many, context)


def test_log_seu_entry_the_database_refuses_leaves_no_evidence_file_behind(holder, settings):
    with connection.execute_wrapper(refuse_the_insert), pytest.raises(OperationalError):
        log_seu_entry(holder=holder, activity=activity(evidence_file=evidence("receipt.pdf")), today=TODAY)

    assert SeuEntry.objects.count() == 0
    assert stored_files(settings) == []


def test_update_seu_entry_with_a_new_file_deletes_the_one_it_replaces_once_committed(
    holder, settings, django_capture_on_commit_callbacks
):
    entry = log_seu_entry(holder=holder, activity=activity(evidence_file=evidence("first.pdf")), today=TODAY)
    first = entry.evidence_file.name

    with django_capture_on_commit_callbacks(execute=True):
        update_seu_entry(entry=entry, activity=activity(evidence_file=evidence("second.pdf")), today=TODAY)

    entry.refresh_from_db()
    assert entry.evidence_file.name != first
    assert stored_files(settings) == [entry.evidence_file.name]


def test_update_seu_entry_the_database_refuses_keeps_the_old_file_and_leaves_no_new_one(
    holder, settings, django_capture_on_commit_callbacks
):
    entry = log_seu_entry(holder=holder, activity=activity(evidence_file=evidence("first.pdf")), today=TODAY)

    refused = pytest.raises(OperationalError)
    with django_capture_on_commit_callbacks(execute=True), connection.execute_wrapper(refuse_the_insert), refused:
        update_seu_entry(entry=entry, activity=activity(evidence_file=evidence("second.pdf")), today=TODAY)

    entry.refresh_from_db()
    assert stored_files(settings) == [entry.evidence_file.name]
    assert entry.evidence_file.name.endswith("first.pdf")


def test_update_seu_entry_without_a_new_file_keeps_the_file(holder, settings, django_capture_on_commit_callbacks):
    entry = log_seu_entry(holder=holder, activity=activity(evidence_file=evidence("first.pdf")), today=TODAY)

    with django_capture_on_commit_callbacks(execute=True):
        update_seu_entry(entry=entry, activity=activity(hours=Decimal("1")), today=TODAY)

    entry.refresh_from_db()
    assert stored_files(settings) == [entry.evidence_file.name]


def renewed_with(holder, entry: SeuEntry) -> None:
    """Renews with ``entry`` and enough other SEUs of the period."""
    for day in (date(2025, 5, 5), date(2025, 5, 6)):
        SeuEntryFactory(holder=holder, earned_on=day, hours=Decimal("8"))
    renew(
        holder=holder,
        by=holder,
        provider_name="test",
        expected_key=quote(holder, today=TODAY).key,
        details={"card_number": TestProvider.ACCEPTED},
        today=TODAY,
    )
    entry.refresh_from_db()
    assert entry.renewal is not None


def test_update_seu_entry_refuses_an_entry_a_renewal_used(holder):
    entry = log_seu_entry(holder=holder, activity=activity(hours=Decimal("4")), today=TODAY)
    renewed_with(holder, entry)

    with pytest.raises(ValidationError) as refusal:
        update_seu_entry(entry=entry, activity=activity(hours=Decimal("1")), today=TODAY)

    assert refusal.value.messages == ["This entry was used by a renewal; it is kept as it is."]
    assert SeuEntry.objects.get(pk=entry.pk).hours == Decimal("4")


def test_delete_seu_entry_refuses_an_entry_a_renewal_used(holder):
    entry = log_seu_entry(holder=holder, activity=activity(hours=Decimal("4")), today=TODAY)
    renewed_with(holder, entry)

    with pytest.raises(ValidationError) as refusal:
        delete_seu_entry(entry=entry)

    assert refusal.value.messages == ["This entry was used by a renewal; it is kept as it is."]
    assert SeuEntry.objects.filter(pk=entry.pk).exists()


def credited_entry(holder) -> SeuEntry:
    return SeuEntryFactory(
        holder=holder,
        earned_on=SOME_DAY,
        hours=Decimal("1.5"),
        title="Lean Coffee",
        source_session=WorkshopSessionFactory(),
    )


def test_update_seu_entry_refuses_an_entry_credited_for_attendance(holder):
    entry = credited_entry(holder)

    with pytest.raises(ValidationError) as refusal:
        update_seu_entry(entry=entry, activity=activity(title="Lean Coffee", hours=Decimal("3")), today=TODAY)

    assert refusal.value.messages == ["We credited this entry for attending our event; it changes with the attendance."]
    assert SeuEntry.objects.get(pk=entry.pk).hours == Decimal("1.5")


def test_delete_seu_entry_refuses_an_entry_credited_for_attendance(holder):
    entry = credited_entry(holder)

    with pytest.raises(ValidationError) as refusal:
        delete_seu_entry(entry=entry)

    assert refusal.value.messages == ["We credited this entry for attending our event; it changes with the attendance."]
    assert SeuEntry.objects.filter(pk=entry.pk).exists()
