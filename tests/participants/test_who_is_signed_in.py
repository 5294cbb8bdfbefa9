"""Each request finds who is signed in from its session (``cspo.sessions``) and the person's row
(``participants.backends``), each by a query compiled once: the same people are signed in, and
signed out, as with Django's own session store and backend."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from participants.models import User

pytestmark = pytest.mark.django_db

PAGE = reverse("certification:my_certifications")  # signed-in people only


def signed_in(client) -> bool:
    response = client.get(PAGE)
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_a_signed_in_person_stays_signed_in_and_is_read_whole_in_two_queries(
    login, participant, django_assert_num_queries
):
    client = login(participant)
    session_key = client.session.session_key
    request = RequestFactory().get(PAGE)
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)

    with django_assert_num_queries(2):  # the session, then the person
        user = get_user(request)

    assert (user.pk, user.get_deferred_fields()) == (participant.pk, set())
    columns = [field.attname for field in User._meta.concrete_fields]
    stored = User.objects.get(pk=participant.pk)  # as Django's own backend reads the person
    assert [getattr(user, column) for column in columns] == [getattr(stored, column) for column in columns]
    assert signed_in(client)
    assert client.session.session_key == session_key


def test_an_expired_session_signs_nobody_in(login, participant):
    client = login(participant)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    assert not signed_in(client)


def test_a_session_ended_elsewhere_signs_nobody_in(login, participant):
    client = login(participant)
    Session.objects.filter(session_key=client.session.session_key).delete()

    assert not signed_in(client)


def test_a_deactivated_person_is_signed_out(login, participant):
    client = login(participant)
    User.objects.filter(pk=participant.pk).update(is_active=False)

    assert not signed_in(client)


def test_a_changed_password_signs_out_the_sessions_opened_with_the_old_one(login, participant):
    client = login(participant)
    participant.set_password("a new and longer passphrase")
    participant.save()

    assert not signed_in(client)


def test_a_session_naming_a_person_who_is_gone_signs_nobody_in(login, participant):
    client = login(participant)
    session = client.session
    session[SESSION_KEY] = str(User.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000)
    session.save()

    assert not signed_in(client)
