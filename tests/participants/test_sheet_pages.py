"""The trainer's attendance sheet in the browser: who may open and change it, what an htmx save
answers, the history page, a participant's own attendance, and flat query counts."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from participants.models import AttendanceMark, MarkChange, UnderstandingConfirmation
from participants.services import record_mark
from tests.factories import (
    CourseFactory,
    EnrolmentFactory,
    UserFactory,
    WorkshopSessionFactory,
    marked_sheet,
    workshop_with_daily_sessions,
)
from tests.pages import texts_of
from workshops.models import Workshop

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _text(fragment: str) -> str:
    """What a person reads: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _element(page: str, element_id: str) -> tuple[str, str]:
    """The opening tag and the text of the ``<div>`` with ``element_id`` (no nested divs)."""
    found = re.search(rf'(<div id="{element_id}"[^>]*>)(.*?)</div>', page, re.S)
    assert found, f"no element #{element_id}"
    return found.group(1), _text(found.group(2))


def _field(page: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page, re.S)
    assert found, f"no field {name}"
    return html.unescape(found.group(1))


def _checked(page: str, name: str) -> bool:
    box = re.search(rf'<input type="checkbox" name="{name}"[^>]*>', page).group(0)
    return re.search(r"\schecked[\s>]", box) is not None


def _selected(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    return re.search(r'<option value="(\w*)" selected>', select).group(1)


def _body_rows(page: str) -> list[list[str]]:
    """The cells of each row of the first table body."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return [
        [_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _written() -> tuple[int, int, int]:
    return AttendanceMark.objects.count(), MarkChange.objects.count(), UnderstandingConfirmation.objects.count()


@pytest.fixture
def co_trainer(db):
    return UserFactory(email="cody@example.org", full_name="Cody Cotrainer", is_trainer=True, is_participant=False)


@pytest.fixture
def two_days(trainer, co_trainer):
    """Two seven-hour sessions, both over: 14 h, the CSPO minimum."""
    workshop, sessions = workshop_with_daily_sessions(7, 7, lead_trainer=trainer)
    workshop.co_trainers.add(co_trainer)
    return workshop, sessions


@pytest.fixture
def enrolment(two_days, participant):
    workshop, _ = two_days
    return EnrolmentFactory(workshop=workshop, participant=participant)


# --- Who may open and change the sheet --------------------------------------------------------

# Each sheet URL with what a permitted request would send: posts carry valid data, so a refusal
# that writes nothing is not merely a form that failed.
SHEET_REQUESTS = {
    "sheet": ("get", "/trainer/workshops/{w}/sheet/", {}),
    "save_mark": ("post", "/trainer/workshops/{w}/sheet/{e}/{s}/", {"presence": "present", "participated": "on"}),
    "mark_session_present": ("post", "/trainer/workshops/{w}/sheet/sessions/{s}/present/", {}),
    "save_understanding": ("post", "/trainer/workshops/{w}/sheet/{e}/understanding/", {"demonstrated": "yes"}),
    "mark_history": ("get", "/trainer/workshops/{w}/sheet/{e}/history/", {}),
}


def _send(client, name, workshop, enrolment, session, *, htmx=False):
    method, url, data = SHEET_REQUESTS[name]
    url = url.format(w=workshop.pk, e=enrolment.pk, s=session.pk)
    return getattr(client, method)(url, data, headers=HTMX if htmx else {})


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("name", SHEET_REQUESTS)
def test_sheet_urls_are_not_found_for_another_trainer(login, other_trainer, two_days, enrolment, name, htmx):
    workshop, (monday, _) = two_days

    response = _send(login(other_trainer), name, workshop, enrolment, monday, htmx=htmx)

    assert response.status_code == 404
    assert _written() == (0, 0, 0)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("name", SHEET_REQUESTS)
def test_sheet_urls_are_refused_to_a_participant_of_the_workshop(login, participant, two_days, enrolment, name, htmx):
    workshop, (monday, _) = two_days

    response = _send(login(participant), name, workshop, enrolment, monday, htmx=htmx)

    assert response.status_code == 403
    assert _written() == (0, 0, 0)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("name", SHEET_REQUESTS)
def test_sheet_urls_send_an_anonymous_visitor_to_login(client, two_days, enrolment, name, htmx):
    workshop, (monday, _) = two_days

    response = _send(client, name, workshop, enrolment, monday, htmx=htmx)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert _written() == (0, 0, 0)


@pytest.mark.parametrize("who", ["trainer", "co_trainer", "administrator"])
@pytest.mark.parametrize(
    ("name", "status", "written"),
    [
        ("sheet", 200, (0, 0, 0)),
        ("save_mark", 302, (1, 1, 0)),
        ("mark_session_present", 302, (1, 1, 0)),
        ("save_understanding", 302, (0, 1, 1)),
        ("mark_history", 200, (0, 0, 0)),
    ],
)
def test_sheet_urls_are_open_to_the_workshops_trainers_and_administrators(
    request, login, two_days, enrolment, who, name, status, written
):
    workshop, (monday, _) = two_days

    response = _send(login(request.getfixturevalue(who)), name, workshop, enrolment, monday)

    assert response.status_code == status
    assert _written() == written


@pytest.mark.parametrize("stranger", ["participant", "session"])
def test_save_mark_for_another_workshops_participant_or_session_is_not_found(
    login, trainer, two_days, enrolment, stranger
):
    workshop, (monday, _) = two_days
    elsewhere, (their_monday,) = workshop_with_daily_sessions(7, lead_trainer=trainer)
    if stranger == "participant":
        address = f"{EnrolmentFactory(workshop=elsewhere).pk}/{monday.pk}"
    else:
        address = f"{enrolment.pk}/{their_monday.pk}"

    response = login(trainer).post(f"/trainer/workshops/{workshop.pk}/sheet/{address}/", {"presence": "present"})

    assert response.status_code == 404
    assert _written() == (0, 0, 0)


def test_sheet_forms_post_to_the_addresses_the_url_configuration_gives(login, trainer, two_days, enrolment):
    workshop, sessions = two_days

    page = login(trainer).get(reverse("participants:sheet", args=[workshop.pk])).content.decode()

    cells = re.findall(r'<form method="post" class="cell-form"[^>]* action="([^"]+)" hx-post="\1"', page)
    assert cells == [reverse("participants:save_mark", args=[workshop.pk, enrolment.pk, s.pk]) for s in sessions]
    understanding = re.findall(
        r'<form method="post" class="understanding-form"[^>]* action="([^"]+)" hx-post="\1"', page
    )
    assert understanding == [reverse("participants:save_understanding", args=[workshop.pk, enrolment.pk])]
    assert f'href="{reverse("participants:mark_history", args=[workshop.pk, enrolment.pk])}"' in page


# --- Saving a cell ----------------------------------------------------------------------------


def test_save_mark_with_htmx_answers_the_cell_saved_and_the_rows_progress_out_of_band(
    login, trainer, two_days, enrolment
):
    workshop, (monday, tuesday) = two_days
    record_mark(enrolment=enrolment, session=tuesday, by=trainer, presence="absent")

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{monday.pk}/",
        {"presence": "present", "participated": "on"},
        headers=HTMX,
    )

    page = response.content.decode()
    progress_tag, progress = _element(page, f"progress-{enrolment.pk}")
    assert response.status_code == 200
    assert page.lstrip().startswith('<form method="post" class="cell-form" data-state="saved"')
    assert texts_of(page, "cell-state") == ["Saved"]
    assert _selected(page, "presence") == "present"
    assert 'hx-swap-oob="true"' in progress_tag
    assert progress == "7 h of 14 h At risk Active in 1 of 1 sessions attended"
    mark = AttendanceMark.objects.get(session=monday)
    assert (mark.presence, mark.participated, mark.updated_by) == ("present", True, trainer)


def test_save_mark_with_htmx_that_is_refused_keeps_what_was_typed_and_saves_nothing(
    login, trainer, two_days, enrolment
):
    workshop, (monday, _) = two_days

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{monday.pk}/",
        {"presence": "late", "minutes": "999", "note": "Train delayed", "participated": "on"},
        headers=HTMX,
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-state="invalid"' in page
    assert texts_of(page, "cell-state") == [
        "Give the minutes late: a whole number from 1 to 420, the session's length."
    ]
    assert (_selected(page, "presence"), _field(page, "minutes"), _field(page, "note")) == (
        "late",
        "999",
        "Train delayed",
    )
    assert _checked(page, "participated") is True
    assert _element(page, f"progress-{enrolment.pk}")[1] == "0 h of 14 h On track Active in 0 of 0 sessions attended"
    assert _written() == (0, 0, 0)


def test_save_mark_as_a_plain_post_goes_back_to_the_sheet(login, trainer, two_days, enrolment):
    workshop, (monday, _) = two_days

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{monday.pk}/", {"presence": "late", "minutes": "20"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/trainer/workshops/{workshop.pk}/sheet/"
    mark = AttendanceMark.objects.get()
    assert (mark.presence, mark.late_minutes) == ("late", 20)


def test_save_mark_as_a_plain_post_that_is_refused_answers_the_sheet_with_the_cell_as_typed(
    login, trainer, two_days, enrolment
):
    workshop, (monday, tuesday) = two_days
    client = login(trainer)

    response = client.post(
        f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{monday.pk}/",
        {"presence": "late", "minutes": "999", "note": "Train delayed"},
    )

    page = response.content.decode()
    why = "Give the minutes late: a whole number from 1 to 420, the session's length."
    assert response.status_code == 400
    assert texts_of(page, "message message-error") == [f"Pat Participant: {why}"]
    refused = re.search(rf'<form[^>]*action="[^"]*/{enrolment.pk}/{monday.pk}/".*?</form>', page, re.S).group(0)
    assert 'data-state="invalid"' in refused
    assert (_selected(refused, "presence"), _field(refused, "minutes"), _field(refused, "note")) == (
        "late", "999", "Train delayed"
    )  # fmt: skip
    assert why in html.unescape(refused)
    other = re.search(rf'<form[^>]*action="[^"]*/{enrolment.pk}/{tuesday.pk}/".*?</form>', page, re.S)
    assert other is None or 'data-state="invalid"' not in other.group(0)  # only the refused cell says so
    assert _written() == (0, 0, 0)
    assert "Train delayed" not in client.get(f"/trainer/workshops/{workshop.pk}/sheet/").content.decode()


def test_save_mark_after_completion_needs_a_reason_from_the_sheet(login, trainer, participant):
    workshop, (monday, _) = workshop_with_daily_sessions(7, 7, status=Workshop.Status.COMPLETED, lead_trainer=trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)
    url = f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{monday.pk}/"
    client = login(trainer)

    refused = client.post(url, {"presence": "present"}, headers=HTMX)
    saved = client.post(url, {"presence": "present", "reason": "Register found"}, headers=HTMX)

    assert texts_of(refused.content.decode(), "cell-state") == [
        "The workshop is completed: give a reason for this change."
    ]
    assert texts_of(saved.content.decode(), "cell-state") == ["Saved"]
    assert MarkChange.objects.get().reason == "Register found"


def test_save_understanding_with_htmx_answers_the_confirmation(login, trainer, two_days, enrolment):
    workshop, _ = two_days

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/understanding/",
        {"demonstrated": "no", "reason": "Could not split a story"},
        headers=HTMX,
    )

    page = response.content.decode()
    assert texts_of(page, "cell-state") == ["Saved"]
    assert (_selected(page, "demonstrated"), _field(page, "reason")) == ("no", "Could not split a story")
    assert UnderstandingConfirmation.objects.get().reason == "Could not split a story"


def test_save_understanding_as_a_plain_post_that_is_refused_answers_the_sheet_with_the_reason_as_typed(
    login, trainer, two_days, enrolment
):
    workshop, _ = two_days
    client = login(trainer)
    reason = "Could not split a story. " * 13  # 325 characters: over the 300 allowed

    response = client.post(
        f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/understanding/",
        {"demonstrated": "no", "reason": reason},
    )

    page = response.content.decode()
    assert response.status_code == 400
    refused = re.search(r'<form method="post" class="understanding-form".*?</form>', page, re.S).group(0)
    assert 'data-state="invalid"' in refused
    assert (_selected(refused, "demonstrated"), _field(refused, "reason")) == ("no", reason)
    assert "300 characters" in html.unescape(texts_of(refused, "cell-state")[0])
    assert not UnderstandingConfirmation.objects.exists()
    assert reason not in client.get(f"/trainer/workshops/{workshop.pk}/sheet/").content.decode()  # not kept


def test_save_understanding_with_htmx_not_demonstrated_without_a_reason_is_refused(login, trainer, two_days, enrolment):
    workshop, _ = two_days

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/understanding/", {"demonstrated": "no"}, headers=HTMX
    )

    assert texts_of(response.content.decode(), "cell-state") == [
        "Say why the participant did not demonstrate understanding."
    ]
    assert _written() == (0, 0, 0)


# --- Everyone present -------------------------------------------------------------------------


def test_mark_session_present_with_htmx_answers_the_sheet_with_a_message(login, trainer, two_days, enrolment):
    workshop, (monday, _) = two_days
    EnrolmentFactory(workshop=workshop)

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/sheet/sessions/{monday.pk}/present/", headers=HTMX
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<div id="sheet">')
    assert texts_of(page, "message message-success") == [f"2 marked present for {monday.local_starts_at:%a %-d %b}."]
    assert AttendanceMark.objects.filter(session=monday, presence="present").count() == 2


def test_mark_session_present_as_a_plain_post_shows_the_message_once_on_the_sheet(login, trainer, two_days, enrolment):
    workshop, (monday, _) = two_days

    response = login(trainer).post(f"/trainer/workshops/{workshop.pk}/sheet/sessions/{monday.pk}/present/", follow=True)

    assert response.redirect_chain == [(f"/trainer/workshops/{workshop.pk}/sheet/", 302)]
    assert texts_of(response.content.decode(), "message message-success") == [
        f"1 marked present for {monday.local_starts_at:%a %-d %b}."
    ]


def test_mark_session_present_for_a_session_not_started_says_so(login, trainer, participant):
    workshop, (future,) = workshop_with_daily_sessions(
        7, days_from_now=3, status=Workshop.Status.PUBLISHED, lead_trainer=trainer
    )
    EnrolmentFactory(workshop=workshop, participant=participant)

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/sheet/sessions/{future.pk}/present/", headers=HTMX
    )

    assert texts_of(response.content.decode(), "message message-error") == [
        "This session has not started yet; marks can be entered once it starts."
    ]
    assert _written() == (0, 0, 0)


# --- History ----------------------------------------------------------------------------------


def test_mark_history_lists_the_changes_newest_first_with_who_made_them(
    login, trainer, co_trainer, two_days, enrolment
):
    workshop, (monday, _) = two_days
    record_mark(enrolment=enrolment, session=monday, by=trainer, presence="present")
    record_mark(enrolment=enrolment, session=monday, by=co_trainer, presence="late", minutes=30, note="Bus")

    response = login(trainer).get(f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/history/")

    day = f"{monday.local_starts_at:%a %-d %b}"
    assert [row[1:] for row in _body_rows(response.content.decode())] == [
        ["Cody Cotrainer", day, "Present", "Late 30 min · “Bus”", "—"],
        ["Tess Trainer", day, "Not marked", "Present", "—"],
    ]


# --- A participant's own attendance -----------------------------------------------------------


@pytest.fixture
def marked_workshop(trainer, participant):
    """Pat attended two sessions of three (the third is still to come); Quinn missed the first."""
    workshop, sessions = workshop_with_daily_sessions(7, 7, days_from_now=-2, lead_trainer=trainer)
    starts_at = sessions[1].starts_at + timedelta(days=2)
    sessions.append(
        WorkshopSessionFactory(workshop=workshop, starts_at=starts_at, ends_at=starts_at + timedelta(hours=7))
    )
    pat = EnrolmentFactory(workshop=workshop, participant=participant)
    quinn = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Quinn Other"))
    record_mark(enrolment=pat, session=sessions[0], by=trainer, presence="present", participated=True, note="Sharp")
    record_mark(enrolment=pat, session=sessions[1], by=trainer, presence="late", minutes=30)
    record_mark(enrolment=quinn, session=sessions[0], by=trainer, presence="absent", note="Sick")
    return workshop, sessions, pat, quinn


def test_participant_sees_their_own_attendance_on_their_workshop_page(login, participant, marked_workshop):
    _, sessions, pat, _ = marked_workshop

    page = login(participant).get(f"/me/enrolments/{pat.pk}/").content.decode()

    attendance = page.split("<h2>Your attendance</h2>", 1)[1].split("<h2>", 1)[0]
    assert _text(re.search(r"<p>(.*?)</p>", attendance, re.S).group(1)) == (
        "13 h 30 of 14 h contact time · On track · active in 1 of 2 sessions attended"
    )
    assert _body_rows(attendance) == [
        [f"{sessions[0].local_starts_at:%a %-d %b}", "Present", "Yes"],
        [f"{sessions[1].local_starts_at:%a %-d %b}", "Late 30 min", "Not yet"],
        [f"{sessions[2].local_starts_at:%a %-d %b}", "Not started", "—"],
    ]
    assert "Sharp" not in page  # the trainer's notes stay with the trainer


def test_participant_never_sees_another_participants_marks(login, participant, marked_workshop):
    _, _, pat, quinn = marked_workshop
    client = login(participant)

    own_page = client.get(f"/me/enrolments/{pat.pk}/").content.decode()
    other_page = client.get(f"/me/enrolments/{quinn.pk}/")

    assert other_page.status_code == 404
    assert "Quinn Other" not in own_page
    assert "Absent" not in own_page
    assert "Sick" not in own_page


# --- Query counts -----------------------------------------------------------------------------


@pytest.mark.parametrize(("participants", "sessions"), [(5, 2), (40, 4)])
def test_sheet_query_count_stays_flat(login, trainer, django_assert_num_queries, participants, sessions):
    workshop = marked_sheet(trainer, participants, sessions)
    client = login(trainer)
    address = f"/trainer/workshops/{workshop.pk}/sheet/"

    # session, user, workshop (course, lead trainer; the trainer's own); no table kept, so in one
    # snapshot (a savepoint here, inside the test's transaction): what the table shows (its sessions;
    # its rows with their marks), the sessions, enrolled rows (participant, understanding), marks
    with django_assert_num_queries(10):
        first = client.get(address)
    # the table kept: session, user, workshop, what the table shows
    with django_assert_num_queries(5):
        again = client.get(address)

    assert first.status_code == again.status_code == 200
    for page in (first.content.decode(), again.content.decode()):
        assert page.count('<th scope="row"') == participants
        assert page.count('class="cell-form"') == participants * sessions
        assert len(re.findall(r'<option value="[a-z_]+" selected>', page)) == AttendanceMark.objects.count() + (
            UnderstandingConfirmation.objects.count()
        )


@pytest.mark.parametrize("column", [0, 1], ids=["empty-cell", "marked-cell"])
def test_save_mark_with_htmx_takes_a_handful_of_queries(login, trainer, django_assert_num_queries, column):
    workshop = marked_sheet(trainer, 40, 4)
    enrolment = workshop.enrolments.order_by("pk").first()
    session = list(workshop.sessions.order_by("starts_at"))[column]
    client = login(trainer)

    # session, user, workshop (course, lead trainer; the trainer's own), enrolment (participant),
    # the sessions (the answer's row shows them all); savepoint, the enrolment locked, the mark,
    # insert or update it, insert its change, release; the row's marks for the answer
    with django_assert_num_queries(12):
        response = client.post(
            f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{session.pk}/",
            {"presence": "late", "minutes": "5"},
            headers=HTMX,
        )

    assert texts_of(response.content.decode(), "cell-state") == ["Saved"]
    assert MarkChange.objects.filter(mark__enrolment=enrolment, mark__session=session).count() == column + 1


def test_a_csm_sheet_asks_about_the_scrum_master_role_and_its_review_says_so(login, trainer, participant):
    csm = CourseFactory(kind="CSM", title="Certified ScrumMaster", has_exam=True)
    workshop, _ = workshop_with_daily_sessions(7, 7, lead_trainer=trainer, course=csm)
    EnrolmentFactory(workshop=workshop, participant=participant)
    client = login(trainer)

    sheet = client.get(reverse("participants:sheet", args=[workshop.pk])).content.decode()
    review = client.get(reverse("certification:review", args=[workshop.pk])).content.decode()

    assert f"Did {participant.full_name} demonstrate understanding of the Scrum Master role?" in sheet
    assert "Understanding of the Scrum Master role" in sheet
    assert "Product Owner role" not in sheet
    assert "Understanding of the Scrum Master role not confirmed by the trainer" in review
