from __future__ import annotations

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from participants.models import User
from participants.services import find_or_create_participant
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_by_email_works_in_any_letter_case(client, participant):
    response = client.post("/login/", {"username": "PAT@Example.ORG", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(participant.pk)


def test_wrong_password_gives_a_clear_message(client, participant):
    response = client.post("/login/", {"username": participant.email, "password": "not it"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "That e-mail and password do not match an account. Check both and try again."
    ]
    assert "_auth_user_id" not in client.session


def test_wrong_password_does_not_reveal_whether_the_email_exists(client, participant):
    known = client.post("/login/", {"username": participant.email, "password": "not it"})
    unknown = client.post("/login/", {"username": "nobody@example.org", "password": "not it"})

    assert known.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


def test_an_email_in_another_letter_case_is_the_same_account():
    UserFactory(email="kim@example.org")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="Kim@Example.org", full_name="Kim Again")])

    assert User.objects.create_user("KIM2@EXAMPLE.ORG", "x", full_name="Kim Two").email == "kim2@example.org"


def test_password_reset_sends_one_email_with_a_working_link(client, participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/password-reset/", {"email": "Pat@example.org"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["pat@example.org"]
    assert message.subject == "Choose a new cspo password"
    link = next(line for line in message.body.splitlines() if "/password-reset/" in line).strip()
    confirm = client.get(link, follow=True)
    assert confirm.context["validlink"] is True


def test_password_reset_for_an_unknown_email_sends_nothing_and_looks_the_same(
    client, participant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/password-reset/", {"email": "nobody@example.org"})

    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_password_reset_lets_a_participant_enrolled_without_a_password_choose_one(client):
    enrolled, _ = find_or_create_participant(email="new@example.org", full_name="Nell Newcomer")

    response = client.post("/password-reset/", {"email": "New@Example.org"})

    assert response.status_code == 302
    assert [message.to for message in mail.outbox] == [["new@example.org"]]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password-reset/" in line).strip()
    form = client.get(link, follow=True)
    chosen = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a long new secret 42", "new_password2": "a long new secret 42"}
    )
    assert chosen.status_code == 302
    enrolled.refresh_from_db()
    assert enrolled.check_password("a long new secret 42")


def test_password_reset_sends_nothing_to_a_deactivated_account(client, participant):
    participant.is_active = False
    participant.save()

    response = client.post("/password-reset/", {"email": participant.email})

    assert response.status_code == 302
    assert mail.outbox == []


def test_logging_out_ends_the_session(login, participant):
    client = login(participant)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
