"""The benchmark's write floor (bench/views.py): what any signed-in save costs before its own work,
routed only by the benchmark's server (bench.urls), never by the app's."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_urls(settings):
    settings.ROOT_URLCONF = "bench.urls"


def _session_data(client) -> dict:
    return Session.objects.get(session_key=client.session.session_key).get_decoded()


def test_a_signed_in_post_with_its_token_writes_the_session_and_answers_ok(bench_urls, trainer):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(trainer)
    browser.get(reverse("workshops:trainer_home"))  # a page with a form sets the CSRF cookie
    token = browser.cookies["csrftoken"].value

    response = browser.post("/bench/write", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200
    assert response.content == b"ok"
    assert "bench_write" in _session_data(browser)


def test_without_the_csrf_token_nothing_is_written(bench_urls, trainer):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(trainer)

    response = browser.post("/bench/write")

    assert response.status_code == 403
    assert "bench_write" not in _session_data(browser)


def test_someone_not_signed_in_is_sent_to_sign_in(bench_urls, client):
    response = client.post("/bench/write")

    assert response.status_code == 302
    assert Session.objects.count() == 0


def test_a_get_is_refused(bench_urls, client, trainer):
    client.force_login(trainer)

    assert client.get("/bench/write").status_code == 405


def test_the_app_itself_has_no_write_floor(client, trainer):
    client.force_login(trainer)

    assert client.post("/bench/write").status_code == 404
