"""A trainer builds a two-day workshop session by session and publishes it; visitors find it and
enrol, the second onto the waiting list. Headless Chromium against a live server."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from participants.models import OutboundEmail
from tests.e2e.axe import serious_violations
from tests.factories import PASSWORD, CourseFactory, WorkshopFactory, WorkshopSessionFactory
from workshops.models import Enrolment, RosterImport, Workshop
from workshops.roster_import import run_roster_import

# The visitor's zone differs from the workshops', so the public pages show both times. Fixed, so
# the zone timezone.js detects (reloading the first public page once) is the same on every machine.
VISITOR_ZONE = "Europe/London"
pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(timezone_id=VISITOR_ZONE)]

TORONTO = ZoneInfo("America/Toronto")
TITLE = "CSPO · Toronto, two days"


def _days_ahead(days: int) -> date:
    return timezone.now().astimezone(TORONTO).date() + timedelta(days=days)


def _schedule_day(workshop: Workshop, day: date) -> None:
    WorkshopSessionFactory(
        workshop=workshop,
        starts_at=datetime.combine(day, time(9), tzinfo=TORONTO),
        ends_at=datetime.combine(day, time(16), tzinfo=TORONTO),
    )


def _log_in(page: Page, live_server, email: str, *, lands_on: str = "My workshops") -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=lands_on, level=1)).to_be_visible()


def _open_catalogue(page: Page, live_server) -> None:
    """The first visit to a public page stores the browser's time zone and reloads once; wait for
    that reload, so that nothing typed or marked afterwards is lost to it."""
    page.goto(f"{live_server.url}/workshops/")
    expect(page.get_by_text(f"Your times are shown in {VISITOR_ZONE}.")).to_be_visible()


def _add_session(page: Page, day: date, starts: str, ends: str) -> None:
    add = page.get_by_role("form", name="Add a session")
    add.get_by_label("Day").fill(day.isoformat())
    add.get_by_label("Starts").fill(starts)
    add.get_by_label("Ends").fill(ends)
    add.get_by_role("button", name="Add session").click()


def test_trainer_builds_a_two_day_workshop_session_by_session_and_publishes_it(
    page: Page, live_server, transactional_db, trainer
):
    CourseFactory()  # CSPO, 14 h of contact time
    first_day = _days_ahead(21)
    second_day = first_day + timedelta(days=1)
    _log_in(page, live_server, trainer.email)

    page.get_by_role("link", name="New workshop").click()
    expect(page.get_by_role("heading", name="New workshop", level=1)).to_be_visible()
    page.get_by_label("Course", exact=True).select_option(label="CSPO")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Format", exact=True).select_option(label="In person")
    page.get_by_label("Venue address").fill("100 Queen St W, Toronto")
    page.get_by_label("Time zone", exact=True).select_option(label="America/Toronto")
    page.get_by_label("Capacity").fill("2")
    page.get_by_label("Price").fill("1295.00")
    page.get_by_label("Currency").fill("CAD")
    page.get_by_label("Send pre-work (days before the first session)").fill("10")
    page.get_by_label("Waiting-list offer valid for (hours)").fill("24")
    page.get_by_role("button", name="Save as draft").click()

    expect(page).to_have_url(re.compile(r"/trainer/workshops/\d+/edit/$"))
    expect(page.get_by_role("status")).to_have_text("Workshop saved as a draft. Now add its sessions.")
    expect(page.get_by_role("heading", name=f"Edit {TITLE} Draft", level=1)).to_be_visible()
    sessions = page.get_by_role("region", name=re.compile(r"^Sessions"))
    expect(sessions).to_contain_text("Times in America/Toronto")
    expect(page.get_by_role("progressbar", name="Contact time: 0 h of 14 h needed for CSPO")).to_be_visible()
    expect(sessions.get_by_text("No sessions yet.")).to_be_visible()

    # Day 1: the sessions region is swapped in place, the page is not reloaded.
    page.evaluate("window.__marker = 1")
    _add_session(page, first_day, "09:00", "16:00")

    expect(page.get_by_role("progressbar", name="Contact time: 7 h of 14 h needed for CSPO")).to_be_visible()
    expect(sessions.get_by_text("7 h missing.", exact=True)).to_be_visible()
    day_one = sessions.get_by_role("form", name="Session 1")
    expect(day_one.get_by_label("Day")).to_have_value(first_day.isoformat())
    expect(day_one.get_by_label("Starts")).to_have_value("09:00")
    expect(day_one.get_by_label("Ends")).to_have_value("16:00")
    expect(sessions.get_by_role("listitem").filter(has_text="The sessions add up to 7 h")).to_be_visible()
    assert page.evaluate("window.__marker") == 1

    # Publishing now is refused, with the missing hours named (a plain form post: the page reloads).
    page.get_by_role("button", name="Publish", exact=True).click()

    expect(page.get_by_role("status")).to_have_text(
        "The sessions add up to 7 h, but a CSPO workshop needs at least 14 h: 7 h missing."
    )
    expect(page.get_by_role("heading", name=f"Edit {TITLE} Draft", level=1)).to_be_visible()
    assert page.evaluate("window.__marker") is None

    # Day 2, again without a reload.
    page.evaluate("window.__marker = 2")
    _add_session(page, second_day, "09:00", "16:00")

    expect(page.get_by_role("progressbar", name="Contact time: 14 h of 14 h needed for CSPO")).to_be_visible()
    expect(sessions.get_by_text("Enough contact time.")).to_be_visible()
    expect(sessions.get_by_text("Ready to publish.")).to_be_visible()
    expect(sessions.get_by_text("missing.")).to_have_count(0)
    expect(sessions.get_by_role("form", name="Session 2").get_by_label("Day")).to_have_value(second_day.isoformat())
    assert page.evaluate("window.__marker") == 2

    page.get_by_role("button", name="Publish", exact=True).click()

    expect(page).to_have_url(re.compile(r"/trainer/workshops/\d+/$"))
    expect(page.get_by_role("status")).to_have_text(
        "Published: the workshop is in the catalogue and open for enrolment."
    )
    expect(page.get_by_role("heading", name=f"{TITLE} Published", level=1)).to_be_visible()
    table = page.get_by_role("table", name="Sessions, in America/Toronto")
    expect(table.get_by_role("row")).to_have_count(1 + 2)
    expect(table.get_by_role("rowheader", name=f"{first_day:%a %-d %b %Y}")).to_be_visible()
    expect(table.get_by_role("rowheader", name=f"{second_day:%a %-d %b %Y}")).to_be_visible()

    workshop = Workshop.objects.get(title=TITLE)
    assert workshop.status == Workshop.Status.PUBLISHED
    assert workshop.lead_trainer == trainer
    assert (workshop.capacity, workshop.prework_days_before, workshop.offer_hours) == (2, 10, 24)
    assert [(s.local_starts_at.replace(tzinfo=None), s.local_ends_at.time()) for s in workshop.sessions.all()] == [
        (datetime.combine(first_day, time(9)), time(16)),
        (datetime.combine(second_day, time(9)), time(16)),
    ]


def test_a_refused_session_takes_the_keyboard_focus_to_what_to_correct(
    page: Page, live_server, transactional_db, trainer
):
    workshop = WorkshopFactory(course=CourseFactory(), lead_trainer=trainer, status=Workshop.Status.DRAFT)
    day = _days_ahead(21)
    _schedule_day(workshop, day)
    _log_in(page, live_server, trainer.email)
    page.goto(f"{live_server.url}/trainer/workshops/{workshop.pk}/edit/")

    _add_session(page, day, "15:00", "18:00")  # overlaps the one that day: refused, the region swapped in

    expect(page.get_by_role("alert")).to_contain_text("This session overlaps another session of the same workshop.")
    expect(page.get_by_role("form", name="Add a session").get_by_label("Day")).to_be_focused()

    row = page.get_by_role("form", name="Session 1")
    row.get_by_label("Ends").fill("08:00")  # before it starts
    row.get_by_role("button", name="Save session 1").click()

    expect(row.get_by_role("alert")).to_contain_text("A session must end after it starts.")
    expect(row.get_by_label("Day")).to_be_focused()
    expect(row.get_by_label("Ends")).to_have_value("08:00")

    page.keyboard.press("Shift")  # the keyboard in use: a control focused now shows its ring (:focus-visible)
    page.get_by_role("button", name="Add session").focus()
    ring, ground = page.evaluate(FOCUS_RING_AND_GROUND)
    assert _contrast(ring, ground) >= 3  # WCAG 1.4.11: the focus indicator stands out from its ground


# The focused element's outline colour, and the colour of the first ground behind it that is not transparent.
FOCUS_RING_AND_GROUND = """() => {
  const focused = document.activeElement;
  const style = getComputedStyle(focused);
  if (style.outlineStyle === "none") return [null, null];
  let ground = focused.parentElement;
  while (ground && getComputedStyle(ground).backgroundColor === "rgba(0, 0, 0, 0)") ground = ground.parentElement;
  return [style.outlineColor, getComputedStyle(ground || document.body).backgroundColor];
}"""


def _contrast(one: str, other: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_visitor_finds_the_workshop_and_enrols(page: Page, new_context, live_server, transactional_db, trainer):
    workshop = WorkshopFactory(course=CourseFactory(), lead_trainer=trainer, title=TITLE, capacity=1)
    first_day = _days_ahead(21)
    _schedule_day(workshop, first_day)
    _schedule_day(workshop, first_day + timedelta(days=1))

    _open_catalogue(page, live_server)
    card = page.get_by_role("article", name=TITLE)
    expect(card).to_contain_text("1 seat left")
    expect(card).to_contain_text("Tess Trainer")
    card.get_by_role("link", name=TITLE, exact=True).click()

    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.get_by_text("1 of 1 left")).to_be_visible()
    expect(page.get_by_role("table").get_by_role("rowheader", name=f"{first_day:%a %-d %b %Y}")).to_be_visible()
    page.get_by_label("Full name").fill("Vera Visitor")
    page.get_by_label("E-mail").fill("vera@example.org")
    page.get_by_role("button", name="Enrol", exact=True).click()

    expect(page.get_by_role("status")).to_have_text(
        "You are enrolled. A confirmation with a calendar file is on its way to vera@example.org."
    )

    # Someone else, in their own browser, comes once the only seat is taken.
    other = new_context().new_page()
    _open_catalogue(other, live_server)
    other_card = other.get_by_role("article", name=TITLE)
    expect(other_card).to_contain_text("Full — join the waiting list")
    other_card.get_by_role("link", name=TITLE, exact=True).click()

    expect(other.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(other.get_by_role("button", name="Enrol", exact=True)).to_have_count(0)
    other.get_by_label("Full name").fill("Walt Waiting")
    other.get_by_label("E-mail").fill("walt@example.org")
    other.get_by_role("button", name="Join the waiting list").click()

    expect(other.get_by_role("status")).to_have_text(
        "The workshop is full: you are number 1 on the waiting list. "
        "If a seat frees up, we offer it to you by e-mail at walt@example.org."
    )
    statuses = dict(workshop.enrolments.values_list("participant__email", "status"))
    assert statuses == {"vera@example.org": Enrolment.Status.ENROLLED, "walt@example.org": Enrolment.Status.WAITLISTED}
    sent = list(OutboundEmail.objects.order_by("pk").values_list("to", "purpose", "subject", "state"))
    assert sent == [
        ("vera@example.org", "enrolment_confirmed", f"You are enrolled: {TITLE}", OutboundEmail.State.SENT),
        ("walt@example.org", "waitlisted", f"You are on the waiting list: {TITLE}", OutboundEmail.State.SENT),
    ]


def test_catalogue_filter_works_without_reloading(page: Page, live_server, transactional_db):
    first_day = _days_ahead(21)
    cspo = WorkshopFactory(course=CourseFactory(), title="CSPO · Toronto, in person")
    csm = WorkshopFactory(
        course=CourseFactory(kind="CSM", title="Certified ScrumMaster"), title="CSM · Toronto, in person"
    )
    _schedule_day(cspo, first_day)
    _schedule_day(csm, first_day + timedelta(days=7))

    _open_catalogue(page, live_server)
    expect(page.get_by_role("heading", name="2 workshops open for enrolment", level=2)).to_be_visible()
    page.evaluate("window.__marker = 1")

    filters = page.get_by_role("search", name="Filter workshops")
    filters.get_by_label("Course").select_option(label="CSM — Certified ScrumMaster")
    filters.get_by_role("button", name="Show workshops").click()

    expect(page.get_by_role("heading", name="1 workshop open for enrolment", level=2)).to_be_visible()
    expect(page.get_by_role("article", name="CSM · Toronto, in person")).to_be_visible()
    expect(page.get_by_role("article", name="CSPO · Toronto, in person")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/workshops/\?course=CSM(&|$)"))
    assert page.evaluate("window.__marker") == 1

    # The address bar holds a link that shows the same results when opened afresh.
    page.reload()

    expect(page.get_by_role("heading", name="1 workshop open for enrolment", level=2)).to_be_visible()
    expect(page.get_by_role("search", name="Filter workshops").get_by_label("Course")).to_have_value("CSM")
    assert page.evaluate("window.__marker") is None


def test_an_administrator_imports_a_roster_and_sees_what_it_did(
    page: Page, live_server, transactional_db, administrator, tmp_path
):
    workshop = WorkshopFactory(course=CourseFactory(), title=TITLE, capacity=2)
    _schedule_day(workshop, _days_ahead(21))
    _schedule_day(workshop, _days_ahead(22))
    roster = tmp_path / "roster.csv"
    roster.write_text("name,e-mail\nKim Lee,kim@example.org\nSam Ortiz,sam@example.org\nAlex Chen,alex@example.org\n")

    _log_in(page, live_server, administrator.email, lands_on="Overview")
    page.goto(f"{live_server.url}/trainer/workshops/{workshop.pk}/roster/import/")
    page.get_by_label("Roster file (CSV: name, e-mail)").set_input_files(roster)
    page.get_by_role("button", name="Import the roster").click()

    # Without a broker the worker's part runs as the upload commits: the page opens on the outcome.
    expect(page.get_by_role("heading", name="Imported", level=2)).to_be_visible()
    expect(page.get_by_text("Roster imported: 2 enrolled, 1 put on the waiting list, 0 already there")).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("link", name="See the workshop's enrolments").click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()


def test_the_import_page_follows_a_worker_s_import_and_announces_its_end(
    page: Page, live_server, transactional_db, administrator
):
    workshop = WorkshopFactory(course=CourseFactory(), title=TITLE, capacity=5)
    _schedule_day(workshop, _days_ahead(21))
    job = RosterImport.objects.create(
        workshop=workshop, uploaded_by=administrator, filename="roster.csv", rows=2,
        data=b"name,e-mail\nKim Lee,kim@example.org\nSam Ortiz,sam@example.org\n",
    )  # fmt: skip  # uploaded, checked, and waiting for a worker

    _log_in(page, live_server, administrator.email, lands_on="Overview")
    page.goto(f"{live_server.url}/trainer/workshops/{workshop.pk}/roster/import/{job.pk}/")
    expect(page.get_by_role("heading", name="Importing…", level=2)).to_be_visible()
    expect(page.get_by_label("2 people: 0 % done")).to_be_visible()
    run_roster_import(import_id=job.pk)  # the worker

    expect(page.get_by_role("heading", name="Imported", level=2)).to_be_visible(timeout=10_000)
    expect(page.locator("#roster-import-outcome")).to_have_text(re.compile(r"^Roster imported: 2 enrolled"))
    assert serious_violations(page) == []
