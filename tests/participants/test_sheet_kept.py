"""The attendance sheet's table is kept between changes (cspo/regions.py): whatever changes what it
shows, by whatever path, the next page shows the change; every trainer gets their own CSRF token; and
a kept table is the one the database would render now."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from cspo.regions import kept_region
from participants.models import AttendanceMark, UnderstandingConfirmation, User
from participants.queries import attendance_sheet, sheet_fingerprint
from tests.factories import marked_sheet
from tests.pages import texts_of
from tests.participants.test_sheet_pages import HTMX
from workshops.models import Course, Enrolment, Workshop, WorkshopSession

pytestmark = pytest.mark.django_db


def _sheet(client, workshop, *, tokens: bool = False) -> str:
    """The page, its CSRF tokens (masked afresh for every request) left out unless ``tokens``."""
    response = client.get(f"/trainer/workshops/{workshop.pk}/sheet/")
    assert response.status_code == 200
    page = response.content.decode()
    return page if tokens else re.sub(r"\b[A-Za-z0-9]{64}\b", "…", page)


def _table(page: str) -> str:
    return page[page.index('<div id="sheet">') : page.index("</table>")]


def _first(workshop) -> tuple[Enrolment, AttendanceMark]:
    enrolment = workshop.enrolments.order_by("pk").first()
    return enrolment, AttendanceMark.objects.filter(enrolment__workshop=workshop).order_by("pk").first()


# Each changes one thing the table shows without any of our services, as the admin site or a bulk
# update would: none of them can tell the kept table it is out of date.
def _marks(workshop, **which):
    return AttendanceMark.objects.filter(pk=AttendanceMark.objects.filter(enrolment__workshop=workshop, **which)
                                         .order_by("pk").values("pk")[:1])  # fmt: skip


def _presence(workshop):
    _marks(workshop, presence="present").update(presence="absent", participated=False)


def _minutes(workshop):
    _marks(workshop, presence="late").update(late_minutes=25)


def _participation(workshop):
    _marks(workshop, presence="present", participated=False).update(participated=True)


def _note(workshop):
    _marks(workshop).update(note="Flight cancelled")


def _name(workshop):
    User.objects.filter(pk=_first(workshop)[0].participant_id).update(full_name="Zoë Renamed")


def _understanding(workshop):
    UnderstandingConfirmation.objects.update_or_create(
        enrolment=_first(workshop)[0],
        defaults={"demonstrated": False, "reason": "Left before the review", "confirmed_by": workshop.lead_trainer},
    )


def _enrolment(workshop):
    Enrolment.objects.filter(pk=_first(workshop)[0].pk).update(status=Enrolment.Status.CANCELLED)


def _session(workshop):
    session = workshop.sessions.order_by("starts_at").first()
    moved = session.starts_at - timedelta(days=30, minutes=30)
    WorkshopSession.objects.filter(pk=session.pk).update(starts_at=moved, ends_at=moved + timedelta(hours=7))


def _session_start(workshop):
    WorkshopSession.objects.filter(pk=workshop.sessions.order_by("starts_at").first().pk).update(
        starts_at=F("starts_at") - timedelta(minutes=30)
    )


def _status(workshop):
    Workshop.objects.filter(pk=workshop.pk).update(status=Workshop.Status.COMPLETED)


def _time_zone(workshop):
    Workshop.objects.filter(pk=workshop.pk).update(time_zone="Pacific/Auckland")


def _minimum(workshop):
    Course.objects.filter(pk=workshop.course_id).update(minimum_contact_hours=20)


@pytest.mark.parametrize(
    "change",
    [_presence, _minutes, _participation, _note, _name, _understanding, _enrolment, _session, _session_start,
     _status, _time_zone, _minimum],
)  # fmt: skip
def test_a_change_made_any_way_shows_on_the_next_sheet(login, trainer, change):
    workshop = marked_sheet(trainer, 6, 3)
    client = login(trainer)
    before = _sheet(client, workshop)
    assert _sheet(client, workshop) == before  # kept, and the same page

    change(workshop)
    after = _sheet(client, workshop)
    cache.clear()
    rendered_now = _sheet(client, workshop)

    assert after != before
    assert after == rendered_now


def test_a_changed_reason_for_not_demonstrating_understanding_shows_on_the_next_sheet(login, trainer):
    workshop = marked_sheet(trainer, 4, 2)
    enrolment = _first(workshop)[0]
    UnderstandingConfirmation.objects.update_or_create(
        enrolment=enrolment, defaults={"demonstrated": False, "reason": "Left early", "confirmed_by": trainer}
    )
    client = login(trainer)
    assert 'value="Left early"' in _sheet(client, workshop)

    UnderstandingConfirmation.objects.filter(enrolment=enrolment).update(reason="Left before the review")

    assert 'value="Left before the review"' in _sheet(client, workshop)


def test_a_removed_mark_leaves_its_cell_empty_on_the_next_sheet(login, trainer):
    workshop = marked_sheet(trainer, 6, 3)
    client = login(trainer)
    marked = len(re.findall(r'<option value="(?:present|late|left_early|absent)" selected>', _sheet(client, workshop)))

    AttendanceMark.objects.filter(pk=_first(workshop)[1].pk).delete()

    after = _sheet(client, workshop)
    assert len(re.findall(r'<option value="(?:present|late|left_early|absent)" selected>', after)) == marked - 1


def test_a_mark_saved_on_the_sheet_shows_on_the_co_trainers_kept_sheet(login, client, trainer, other_trainer):
    workshop = marked_sheet(trainer, 6, 3)
    workshop.co_trainers.add(other_trainer)
    co_trainer = Client()
    co_trainer.force_login(other_trainer)
    before = _sheet(co_trainer, workshop)
    enrolment, mark = _first(workshop)

    lead = login(trainer)
    saved = lead.post(
        f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{mark.session_id}/",
        {"presence": "present", "note": "Joined from the airport"},
        headers=HTMX,
    )

    assert texts_of(saved.content.decode(), "cell-state") == ["Saved"]
    assert "Joined from the airport" not in before
    assert "Joined from the airport" in _sheet(co_trainer, workshop)


def test_each_trainer_gets_their_own_csrf_token_in_a_kept_sheet_and_can_save_with_it(trainer, other_trainer):
    workshop = marked_sheet(trainer, 4, 2)
    workshop.co_trainers.add(other_trainer)
    lead, co_trainer = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    lead.force_login(trainer)
    co_trainer.force_login(other_trainer)

    pages = [_sheet(lead, workshop, tokens=True), _sheet(co_trainer, workshop, tokens=True)]  # the second kept

    lead_token, own_token = (_table_token(page) for page in pages)
    enrolment, mark = _first(workshop)
    address = f"/trainer/workshops/{workshop.pk}/sheet/{enrolment.pk}/{mark.session_id}/"
    with_leads = co_trainer.post(address, {"presence": "late", "minutes": "10", "csrfmiddlewaretoken": lead_token})
    with_own = co_trainer.post(
        address, {"presence": "late", "minutes": "10", "csrfmiddlewaretoken": own_token}, headers=HTMX
    )

    assert "\x00" not in pages[1]
    assert with_leads.status_code == 403
    assert with_own.status_code == 200
    assert texts_of(with_own.content.decode(), "cell-state") == ["Saved"]


def _table_token(page: str) -> str:
    """The one CSRF token of every form in the table."""
    (token,) = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', _table(page)))
    return token


def test_a_kept_table_is_the_one_the_database_renders_now(login, trainer):
    workshop = marked_sheet(trainer, 8, 4)
    client = login(trainer)
    kept = _table(_sheet(client, workshop))
    assert _table(_sheet(client, workshop)) == kept

    cache.clear()

    assert _table(_sheet(client, workshop)) == kept


def test_another_trainer_is_refused_a_kept_sheet(login, trainer, other_trainer):
    workshop = marked_sheet(trainer, 4, 2)
    _sheet(login(trainer), workshop)

    refused = login(other_trainer).get(f"/trainer/workshops/{workshop.pk}/sheet/")

    assert refused.status_code == 404


def test_a_session_starting_changes_what_the_table_shows(trainer):
    workshop = marked_sheet(trainer, 2, 2)
    later = WorkshopSession.objects.filter(workshop=workshop).order_by("-starts_at").first()
    WorkshopSession.objects.filter(pk=later.pk).update(
        starts_at=timezone.now() + timedelta(hours=1), ends_at=timezone.now() + timedelta(hours=8)
    )

    now = timezone.now()
    assert sheet_fingerprint(workshop, now=now) == sheet_fingerprint(workshop, now=now + timedelta(minutes=59))
    assert sheet_fingerprint(workshop, now=now) != sheet_fingerprint(workshop, now=now + timedelta(minutes=61))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="REPEATABLE READ is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_mark_saved_while_the_table_is_rendered_shows_on_the_next_sheet(trainer, rf):
    """The table and the fingerprint it is kept with are read in one snapshot: a co-trainer's mark
    committed in the middle of a rendering is not in that table, so its fingerprint must not be either."""
    workshop = Workshop.objects.select_related("course").get(pk=marked_sheet(trainer, 3, 2).pk)
    _, mark = _first(workshop)
    request = rf.get("/")

    def co_trainer_saves_a_note():
        AttendanceMark.objects.filter(pk=mark.pk).update(note="Written meanwhile")
        connection.close()

    def render_while_a_mark_is_saved(csrf_token: str) -> str:
        table = _render_table(workshop, csrf_token)  # the snapshot is taken by the first read
        writer = threading.Thread(target=co_trainer_saves_a_note)
        writer.start()
        writer.join()
        return table + _render_table(workshop, csrf_token)  # read again: the same snapshot

    def page(render) -> str:
        return kept_region(
            request, name="sheet-test", code="test", render=render,
            fingerprint=lambda: sheet_fingerprint(workshop, now=timezone.now()),
        )  # fmt: skip

    during = page(render_while_a_mark_is_saved)
    after = page(lambda csrf_token: _render_table(workshop, csrf_token))

    assert "Written meanwhile" not in during
    assert "Written meanwhile" in after


def _render_table(workshop, csrf_token: str) -> str:
    context = attendance_sheet(workshop, now=timezone.now()) | {"csrf_token": csrf_token}
    return render_to_string("participants/sheet.html#table", context)


def test_a_sheet_is_kept_once_however_often_it_changes(login, trainer):
    workshop = marked_sheet(trainer, 4, 2)
    client = login(trainer)
    for note in ["one", "two", "three"]:
        _marks(workshop).update(note=note)
        assert f'value="{note}"' in _sheet(client, workshop)

    assert len([key for key in cache._cache if "regions:sheet:" in key]) == 1  # the tests' LocMemCache


def test_a_table_kept_by_the_code_before_a_deployment_is_not_served_by_the_code_after_it(trainer, rf):
    workshop = Workshop.objects.select_related("course").get(pk=marked_sheet(trainer, 2, 2).pk)
    request = rf.get("/")

    def page(code: str, markup: str) -> str:
        return kept_region(
            request, name="sheet-test", code=code, render=lambda csrf_token: markup,
            fingerprint=lambda: sheet_fingerprint(workshop, now=timezone.now()),
        )  # fmt: skip

    assert page("release-1", "<table>old</table>") == "<table>old</table>"
    assert page("release-1", "<table>never drawn</table>") == "<table>old</table>"
    assert page("release-2", "<table>new</table>") == "<table>new</table>"
