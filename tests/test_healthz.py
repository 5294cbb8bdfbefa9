from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_healthz_reports_the_database_and_broker(client, settings):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["broker"] == ("ok" if settings.REDIS_URL else "not configured (tasks run eagerly)")


@pytest.mark.django_db
def test_healthz_says_unhealthy_when_the_broker_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "error: ConnectionError"


def test_bench_baseline_answers_ok_without_reading_anything(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/bench/baseline")

    assert response.status_code == 200
    assert response.content == b"ok"
