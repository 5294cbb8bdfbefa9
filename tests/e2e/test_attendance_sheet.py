"""A trainer marks attendance on the sheet of a running workshop: everyone present at once, a late
arrival with its minutes, with the keyboard alone, through a failed save and its retry. Headless
Chromium against a live server."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, Route, expect

from participants import services
from participants.models import AttendanceMark
from tests.e2e.axe import serious_violations
from tests.factories import (
    PASSWORD,
    CourseFactory,
    EnrolmentFactory,
    UserFactory,
    WorkshopFactory,
    WorkshopSessionFactory,
)
from workshops.models import Enrolment, Workshop, WorkshopSession

# The sheet shows the workshop's own times. The browser's zone is fixed, and differs from the
# workshop's, so that a sheet leaning on the browser's clock would show it here too.
pytestmark = [pytest.mark.e2e, pytest.mark.browser_context_args(timezone_id="Europe/London")]

TORONTO = ZoneInfo("America/Toronto")
# The sheet lists people by name, so this is also the order of its rows.
NAMES = ["Ana Alvarez", "Ben Brooks", "Cleo Chen", "Dev Desai", "Eli Evans"]
MINUTES = "Minutes late or left early"
SAVE_URL = "**/sheet/*/*/"


def _running_workshop(trainer) -> tuple[Workshop, list[WorkshopSession], dict[str, Enrolment]]:
    """Day two started an hour ago and lasts seven hours; day one was the day before, 09:00 to
    16:00 in Toronto. The workshop is truly running, so no change needs a reason yet, and the two
    days have different dates (which the cells' labels name) at any hour the tests run."""
    workshop = WorkshopFactory(
        course=CourseFactory(), lead_trainer=trainer, title="CSPO · Toronto", status=Workshop.Status.RUNNING
    )
    day_two_starts = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    day_one = day_two_starts.astimezone(TORONTO).date() - timedelta(days=1)
    sessions = [
        WorkshopSessionFactory(
            workshop=workshop,
            starts_at=datetime.combine(day_one, time(9), tzinfo=TORONTO),
            ends_at=datetime.combine(day_one, time(16), tzinfo=TORONTO),
        ),
        WorkshopSessionFactory(
            workshop=workshop, starts_at=day_two_starts, ends_at=day_two_starts + timedelta(hours=7)
        ),
    ]
    enrolments = {name: EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name=name)) for name in NAMES}
    return workshop, sessions, enrolments


def _log_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My workshops", level=1)).to_be_visible()


def _open_sheet(page: Page, live_server, workshop: Workshop) -> None:
    page.goto(f"{live_server.url}/trainer/workshops/{workshop.pk}/sheet/")
    expect(page.get_by_role("heading", name="Attendance and participation", level=1)).to_be_visible()


def _attendance(page: Page, name: str, session: WorkshopSession) -> Locator:
    """The status select of one cell, found by its label: whose it is and which day."""
    day = session.local_starts_at
    return page.get_by_label(f"Attendance of {name}, {day:%A} {day.day} {day:%B}", exact=True)


def _cell(page: Page, name: str, session: WorkshopSession) -> Locator:
    return page.get_by_role("cell").filter(has=_attendance(page, name, session))


def _chosen(page: Page, name: str, session: WorkshopSession) -> Locator:
    """The option a person sees in the closed select."""
    return _attendance(page, name, session).locator("option:checked")


def _row(page: Page, name: str) -> Locator:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(f"^{name}")))


def _marks(workshop: Workshop) -> dict[tuple[str, int], tuple[str, int]]:
    """(participant, session number) → (presence, minutes late or left early)."""
    number = {pk: n for n, pk in enumerate(workshop.sessions.order_by("starts_at").values_list("pk", flat=True), 1)}
    return {
        (mark.enrolment.participant.full_name, number[mark.session_id]): (mark.presence, mark.minutes)
        for mark in AttendanceMark.objects.filter(session__workshop=workshop).select_related("enrolment__participant")
    }


def test_trainer_marks_everyone_present_then_one_late_and_it_persists(
    page: Page, live_server, transactional_db, trainer
):
    workshop, (day_one, day_two), _ = _running_workshop(trainer)
    _log_in(page, live_server, trainer.email)
    _open_sheet(page, live_server, workshop)
    for name in NAMES:
        expect(_chosen(page, name, day_one)).to_have_text("—")
        expect(_row(page, name).get_by_text("0 h of 14 h", exact=True)).to_be_visible()

    page.get_by_role("button", name="Mark everyone present for session 1").click()

    expect(page.get_by_text(f"5 marked present for {day_one.local_starts_at:%a %-d %b}.")).to_be_visible()
    for name in NAMES:
        expect(_chosen(page, name, day_one)).to_have_text("Present")
        expect(_chosen(page, name, day_two)).to_have_text("—")
        expect(_row(page, name).get_by_text("7 h of 14 h", exact=True)).to_be_visible()

    # Ben came half an hour late. Choosing Late waits for the minutes before saving anything.
    ben = _cell(page, "Ben Brooks", day_one)
    _attendance(page, "Ben Brooks", day_one).select_option(label="Late")
    expect(ben.get_by_role("status")).to_have_text("How many minutes late?")
    expect(ben.get_by_label(MINUTES)).to_be_focused()
    assert _marks(workshop)[("Ben Brooks", 1)] == ("present", 0)
    ben.get_by_label(MINUTES).fill("30")
    ben.get_by_label(MINUTES).press("Tab")

    expect(ben.get_by_role("status")).to_have_text("Saved")
    expect(_chosen(page, "Ben Brooks", day_one)).to_have_text("Late")
    expect(ben.get_by_label(MINUTES)).to_have_value("30")
    # 6 h 30 on day one and at most 7 h on day two: Ben can no longer reach the 14 h a CSPO needs.
    ben_row = _row(page, "Ben Brooks")
    expect(ben_row.get_by_text("6 h 30 of 14 h", exact=True)).to_be_visible()
    expect(ben_row.get_by_text("At risk", exact=True)).to_be_visible()
    expect(_row(page, "Ana Alvarez").get_by_text("On track", exact=True)).to_be_visible()

    page.reload()

    expect(page.get_by_role("heading", name="Attendance and participation", level=1)).to_be_visible()
    for name in NAMES:
        late = name == "Ben Brooks"
        expect(_chosen(page, name, day_one)).to_have_text("Late" if late else "Present")
        expect(_cell(page, name, day_one).get_by_label(MINUTES)).to_have_value("30" if late else "")
        expect(_row(page, name).get_by_text("6 h 30 of 14 h" if late else "7 h of 14 h", exact=True)).to_be_visible()
        expect(_row(page, name).get_by_text("At risk" if late else "On track", exact=True)).to_be_visible()
    assert _marks(workshop) == {(name, 1): ("late", 30) if name == "Ben Brooks" else ("present", 0) for name in NAMES}


def test_sheet_can_be_marked_with_the_keyboard_alone(page: Page, live_server, transactional_db, trainer):
    workshop, (day_one, day_two), _ = _running_workshop(trainer)

    # The sheet's address sends a signed-out trainer to log in, then back to the sheet.
    page.goto(f"{live_server.url}/trainer/workshops/{workshop.pk}/sheet/")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(trainer.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Attendance and participation", level=1)).to_be_visible()

    first = _attendance(page, "Ana Alvarez", day_one)
    for _ in range(30):
        page.keyboard.press("Tab")
        if first.evaluate("select => select === document.activeElement"):
            break
    expect(first).to_be_focused()

    page.keyboard.type("p")

    expect(_cell(page, "Ana Alvarez", day_one).get_by_role("status")).to_have_text("Saved")
    expect(_chosen(page, "Ana Alvarez", day_one)).to_have_text("Present")
    expect(first).to_be_focused()  # the saved cell is swapped in, and focus stays in it

    page.keyboard.press("Control+ArrowDown")

    expect(_attendance(page, "Ben Brooks", day_one)).to_be_focused()
    page.keyboard.type("a")
    expect(_cell(page, "Ben Brooks", day_one).get_by_role("status")).to_have_text("Saved")
    expect(_chosen(page, "Ben Brooks", day_one)).to_have_text("Absent")

    page.keyboard.press("Control+ArrowRight")

    expect(_attendance(page, "Ben Brooks", day_two)).to_be_focused()
    page.keyboard.type("p")
    expect(_cell(page, "Ben Brooks", day_two).get_by_role("status")).to_have_text("Saved")
    expect(_chosen(page, "Ben Brooks", day_two)).to_have_text("Present")
    expect(_row(page, "Ben Brooks").get_by_text("7 h of 14 h", exact=True)).to_be_visible()
    # Ctrl + arrow keys move between cells without changing the one left behind.
    expect(_chosen(page, "Ana Alvarez", day_one)).to_have_text("Present")
    expect(_chosen(page, "Ben Brooks", day_one)).to_have_text("Absent")
    assert _marks(workshop) == {
        ("Ana Alvarez", 1): ("present", 0),
        ("Ben Brooks", 1): ("absent", 0),
        ("Ben Brooks", 2): ("present", 0),
    }


def _no_connection(route: Route) -> None:
    route.abort()


def _server_error(route: Route) -> None:
    route.fulfill(status=500, content_type="text/html", body="<h1>Server Error (500)</h1>")


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        pytest.param(_no_connection, "Not saved: no connection. Your entry is kept here.", id="no-connection"),
        pytest.param(_server_error, "Not saved: the server had a problem (500).", id="server-error"),
    ],
)
def test_a_failed_save_shows_an_error_and_retry_saves_it(
    page: Page, live_server, transactional_db, trainer, fail: Callable[[Route], None], message: str
):
    workshop, (_, day_two), _ = _running_workshop(trainer)
    _log_in(page, live_server, trainer.email)
    _open_sheet(page, live_server, workshop)
    cleo = _cell(page, "Cleo Chen", day_two)
    page.route(SAVE_URL, fail)

    _attendance(page, "Cleo Chen", day_two).select_option(label="Absent")

    expect(cleo.get_by_role("status")).to_have_text(message)
    expect(cleo.get_by_role("button", name="Retry")).to_be_visible()
    expect(_chosen(page, "Cleo Chen", day_two)).to_have_text("Absent")
    assert _marks(workshop) == {}

    page.unroute(SAVE_URL)
    cleo.get_by_role("button", name="Retry").click()

    expect(cleo.get_by_role("status")).to_have_text("Saved")
    expect(cleo.get_by_role("button", name="Retry")).to_have_count(0)
    expect(_chosen(page, "Cleo Chen", day_two)).to_have_text("Absent")
    assert _marks(workshop) == {("Cleo Chen", 2): ("absent", 0)}


def test_attendance_sheet_has_no_serious_accessibility_violations(page: Page, live_server, transactional_db, trainer):
    workshop, (day_one, day_two), enrolments = _running_workshop(trainer)
    services.record_mark(
        enrolment=enrolments["Ana Alvarez"], session=day_one, by=trainer, presence="late", minutes=15, note="Train"
    )
    services.record_mark(enrolment=enrolments["Ben Brooks"], session=day_one, by=trainer, presence="absent")
    _log_in(page, live_server, trainer.email)
    _open_sheet(page, live_server, workshop)

    assert serious_violations(page) == []

    # The states a cell shows, with their colours: saved, waiting for minutes, refused by the
    # server, not saved for want of a connection (with its Retry button).
    _attendance(page, "Cleo Chen", day_one).select_option(label="Present")
    expect(_cell(page, "Cleo Chen", day_one).get_by_role("status")).to_have_text("Saved")
    _attendance(page, "Dev Desai", day_one).select_option(label="Left early")
    expect(_cell(page, "Dev Desai", day_one).get_by_role("status")).to_have_text("How many minutes left early?")
    eli = _cell(page, "Eli Evans", day_one)
    _attendance(page, "Eli Evans", day_one).select_option(label="Late")
    eli.get_by_label(MINUTES).fill("999")
    eli.get_by_label(MINUTES).press("Tab")
    expect(eli.get_by_role("status")).to_have_text(
        "Give the minutes late: a whole number from 1 to 420, the session's length."
    )
    page.route(SAVE_URL, _no_connection)
    _attendance(page, "Ana Alvarez", day_two).select_option(label="Present")
    expect(_cell(page, "Ana Alvarez", day_two).get_by_role("button", name="Retry")).to_be_visible()

    assert serious_violations(page) == []
