"""A trainer logs in and finds their workshops, in headless Chromium against a live server."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from participants.demo import DEMO_PASSWORD
from tests.factories import PASSWORD, WorkshopFactory

pytestmark = pytest.mark.e2e

DEMO_TRAINER_EMAIL = "trainer@cspo.example"
RUNNING_WORKSHOP = "CSPO · Live online, four afternoons"
UPCOMING_WORKSHOP = "CSM · Toronto, in person"
OTHER_TRAINERS_WORKSHOP = "CSPO · Ottawa, in person"  # led by trainer2 only


def test_demo_trainer_logs_in_and_sees_their_workshops(page: Page, live_server, transactional_db):
    call_command("seed_demo", stdout=StringIO())
    page.goto(f"{live_server.url}/login/")

    page.get_by_label("E-mail").fill(DEMO_TRAINER_EMAIL.upper())
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/trainer/$"))
    expect(page.get_by_role("heading", name="My workshops", level=1)).to_be_visible()
    running = page.get_by_role("region", name="Running now")
    upcoming = page.get_by_role("region", name="Upcoming")
    expect(running.get_by_role("link", name=RUNNING_WORKSHOP, exact=True)).to_be_visible()
    expect(upcoming.get_by_role("link", name=UPCOMING_WORKSHOP, exact=True)).to_be_visible()
    expect(page.get_by_text(OTHER_TRAINERS_WORKSHOP)).to_have_count(0)

    running.get_by_role("link", name=RUNNING_WORKSHOP, exact=True).click()

    expect(page.get_by_role("heading", name=RUNNING_WORKSHOP, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Sessions", level=2)).to_be_visible()
    sessions = page.get_by_role("table", name="Sessions, in Europe/London")
    expect(sessions.get_by_role("row")).to_have_count(1 + 4)  # a header row and four afternoons
    expect(sessions.get_by_role("cell", name="13:00").first).to_be_visible()
    expect(page.get_by_role("heading", name="Participants", level=2)).to_be_visible()
    participants = page.get_by_role("table", name="Enrolments")
    expect(participants.get_by_role("row")).to_have_count(1 + 16)  # demo participants 11 to 26
    expect(participants.get_by_role("rowheader", name="Kofi Tremblay")).to_be_visible()
    expect(participants.get_by_role("cell", name="participant11@cspo.example")).to_be_visible()


def test_wrong_password_shows_a_clear_message_in_the_page(page: Page, live_server, transactional_db, trainer):
    page.goto(f"{live_server.url}/login/")

    page.get_by_label("E-mail").fill(trainer.email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("That e-mail and password do not match an account")
    expect(page.get_by_label("E-mail")).to_have_value(trainer.email)


def test_login_page_is_usable_with_keyboard_alone(page: Page, live_server, transactional_db, trainer):
    WorkshopFactory(lead_trainer=trainer, title="CSPO · Keyboard workshop")
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_label("E-mail")).to_be_focused()

    page.keyboard.type(trainer.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/trainer/$"))
    expect(page.get_by_role("heading", name="My workshops", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="CSPO · Keyboard workshop", exact=True)).to_be_visible()
