"""A certificant whose CSPO expires in a month logs the SEUs it needs (the first entry with the
keyboard alone), pays with the test card, and downloads the renewed certificate. Headless Chromium
against a live server."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from certification.models import Certification
from certification.services import add_months
from renewals.models import SeuEntry
from tests.e2e.axe import serious_violations
from tests.factories import PASSWORD, SeuEntryFactory, UserFactory, certification_for, seu_category

pytestmark = pytest.mark.e2e

GOOD_FAITH = re.compile(r"^I completed this activity as described")


@pytest.fixture(autouse=True)
def _test_card_and_temporary_media(settings, tmp_path):
    settings.CSPO_PAYMENT_PROVIDERS = ["manual", "test"]
    settings.MEDIA_ROOT = tmp_path / "media"


def _certificant_expiring_in(days: int, trainer) -> tuple[object, Certification]:
    holder = UserFactory(email="cora@example.org", full_name="Cora Certificant")
    expires_on = timezone.localdate() + timedelta(days=days)
    certification = certification_for(holder, trainer, activated_on=add_months(expires_on, -24))
    if certification.expires_on != expires_on:  # 29 February: add_months cannot go back and forth exactly
        Certification.objects.filter(pk=certification.pk).update(expires_on=expires_on)
        certification.refresh_from_db()
    seu_category("Learning")  # the data migration's categories are gone once a live-server test flushed them
    return holder, certification


def _log_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def _open_ledger(page: Page, url: str) -> None:
    page.goto(f"{url}/me/renewal/")
    expect(page.get_by_role("heading", name="Renewal and SEUs", level=1)).to_be_visible()


def _fact(page: Page, term: str) -> Locator:
    """What a person reads next to ``term`` in the renewal's facts."""
    return page.locator(f'#renewal-status dl div:has(> dt:text-is("{term}")) > dd')


def _day(days_ago: int) -> date:
    return timezone.localdate() - timedelta(days=days_ago)


def _long(day: date) -> str:
    return f"{day:%-d %B %Y}"


def _log_with_the_keyboard(page: Page, *, day: date, hours: str, title: str) -> None:
    """Fill the date, then only Tab, type, Space and Enter."""
    form = page.get_by_role("region", name="Log an activity")
    form.get_by_label("Date").fill(day.isoformat())
    category = form.get_by_label("Category")
    for _ in range(4):  # Tab steps through the date's month, day and year first
        page.keyboard.press("Tab")
        if category.evaluate("select => select === document.activeElement"):
            break
    expect(category).to_be_focused()
    page.keyboard.press("Tab")
    expect(form.get_by_label("SEUs (hours)")).to_be_focused()
    page.keyboard.type(hours)
    page.keyboard.press("Tab")
    expect(form.get_by_label("Title")).to_be_focused()
    page.keyboard.type(title)
    for field in ("Description", "Evidence link", "Evidence file"):
        page.keyboard.press("Tab")
        expect(form.get_by_label(field)).to_be_focused()
    page.keyboard.press("Tab")
    expect(form.get_by_label(GOOD_FAITH)).to_be_focused()
    page.keyboard.press("Space")
    expect(form.get_by_label(GOOD_FAITH)).to_be_checked()
    page.keyboard.press("Tab")
    expect(form.get_by_role("button", name="Log SEUs")).to_be_focused()
    page.keyboard.press("Enter")


def _log_with_the_mouse(page: Page, *, day: date, hours: str, title: str) -> None:
    form = page.get_by_role("region", name="Log an activity")
    form.get_by_label("Date").fill(day.isoformat())
    form.get_by_label("Category").select_option(label="Learning")
    form.get_by_label("SEUs (hours)").fill(hours)
    form.get_by_label("Title").fill(title)
    form.get_by_label(GOOD_FAITH).check()
    form.get_by_role("button", name="Log SEUs").click()


def test_certificant_logs_seus_pays_and_downloads_the_renewed_certificate(
    page: Page, live_server, transactional_db, trainer
):
    holder, certification = _certificant_expiring_in(30, trainer)
    new_expiry = add_months(certification.expires_on, 24)
    _log_in(page, live_server.url, holder.email)
    _open_ledger(page, live_server.url)
    expect(_fact(page, "Days left")).to_have_text(f"30 (until {_long(certification.expires_on)})")
    expect(_fact(page, "Renewal fee")).to_have_text("100.00 USD")
    expect(_fact(page, "SEUs")).to_have_text("0 of 20 (20 to go)")

    entries = [
        (_day(9), "8", "Product discovery course"),
        (_day(5), "8", "Roadmapping workshop"),
        (_day(2), "4", "Read Inspired"),
    ]
    _log_with_the_keyboard(page, day=entries[0][0], hours=entries[0][1], title=entries[0][2])
    expect(page.get_by_text("Logged 8 SEUs for “Product discovery course”.")).to_be_visible()
    expect(_fact(page, "SEUs")).to_have_text("8 of 20 (12 to go)")
    for day, hours, title in entries[1:]:
        _log_with_the_mouse(page, day=day, hours=hours, title=title)
        expect(page.get_by_text(f"Logged {hours} SEUs for “{title}”.")).to_be_visible()

    expect(_fact(page, "SEUs")).to_have_text("20 of 20")
    expect(page.get_by_label("SEUs towards the renewal")).to_have_attribute("value", re.compile(r"^20(\.0+)?$"))
    expect(page.get_by_text("100% of the SEUs needed.")).to_be_visible()
    entries_table = page.get_by_role("table", name="SEU entries, newest first")
    expect(entries_table.get_by_role("rowheader")).to_have_text([title for _, _, title in reversed(entries)])

    pay = page.get_by_role("form", name="Pay 100.00 USD and renew")
    expect(pay.get_by_label("Test card (development only)")).to_be_checked()
    pay.get_by_label("Card number").fill("4242 4242 4242 4242")
    pay.get_by_role("button", name="Pay and renew").click()

    expect(page).to_have_url(re.compile(r"/me/certifications/$"))
    expect(
        page.get_by_text(f"Thank you: renewed CSPO until {_long(new_expiry)}. Your new certificate is ready.")
    ).to_be_visible()
    card = page.locator(f"#certification-{certification.pk}")
    expect(card.locator("div").filter(has_text="Valid until")).to_have_text(
        re.compile(rf"Valid until\s*{_long(new_expiry)}")
    )
    # The certificate opens inline in the browser's viewer: fetch it with the page's own session.
    href = card.get_by_role("link", name="Download certificate (PDF)").get_attribute("href")
    pdf = page.request.get(f"{live_server.url}{href}")
    assert (pdf.status, pdf.headers["content-type"], pdf.body()[:5]) == (200, "application/pdf", b"%PDF-")
    certification.refresh_from_db()
    assert certification.expires_on == new_expiry


def test_renewal_page_has_no_serious_accessibility_violations(page: Page, live_server, transactional_db, trainer):
    holder, _ = _certificant_expiring_in(30, trainer)
    for days_ago, hours in ((9, "8"), (5, "8"), (2, "4")):
        SeuEntryFactory(holder=holder, earned_on=_day(days_ago), hours=hours, evidence_url="https://example.org/")
    _log_in(page, live_server.url, holder.email)
    _open_ledger(page, live_server.url)
    expect(page.get_by_role("button", name="Pay and renew")).to_be_visible()

    assert serious_violations(page) == []


def test_an_entry_that_breaks_a_rule_shows_why_in_the_page(page: Page, live_server, transactional_db, trainer):
    holder, _ = _certificant_expiring_in(30, trainer)
    _log_in(page, live_server.url, holder.email)
    _open_ledger(page, live_server.url)
    form = page.get_by_role("region", name="Log an activity")
    form.get_by_label("Date").fill(_day(2).isoformat())
    form.get_by_label("SEUs (hours)").fill("9")
    form.get_by_label("Title").fill("A long day at a conference")
    form.get_by_label(GOOD_FAITH).check()

    form.get_by_role("button", name="Log SEUs").click()

    expect(page.get_by_text("At most 8 SEUs count per day.")).to_be_visible(timeout=3000)
    nothing_saved = page.get_by_role("alert").filter(has_text="Nothing was saved: correct the fields below.")
    expect(nothing_saved).to_be_focused()  # the keyboard is where the form begins again, not lost
    assert not SeuEntry.objects.exists()
