"""Redis as the cache may be away (restarting, unreachable): people still sign in and every page is
read from the database, a little slower (cspo/cache.py). With it there, values are kept and read back."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from uuid import uuid4

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone

from renewals.models import RenewalPolicy
from tests.factories import PASSWORD, UserFactory, certification_for, marked_sheet

pytestmark = pytest.mark.django_db

NOWHERE = "redis://127.0.0.1:9/0"  # a real Redis client, pointed at a port where nothing listens


def forgiving_cache_at(location: str) -> dict:
    return {
        "default": {
            "BACKEND": "cspo.cache.ForgivingRedisCache",
            "LOCATION": location,
            "KEY_PREFIX": uuid4().hex,  # this test's keys only, on a Redis other tests use too
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.fixture
def cache_away(settings):
    settings.CACHES = forgiving_cache_at(NOWHERE)


def test_without_the_cache_a_participant_signs_in_and_sees_their_certifications_and_ledger(
    client, cache_away, participant, trainer, caplog
):
    certification_for(participant, trainer, activated_on=timezone.localdate() - timedelta(days=30))

    signed_in = client.post("/login/", {"username": participant.email, "password": PASSWORD})
    certifications = client.get("/me/certifications/")
    ledger = client.get("/me/renewal/")

    assert signed_in.status_code == 302
    assert certifications.status_code == 200
    assert "Certified Scrum Product Owner" in certifications.content.decode()
    assert ledger.status_code == 200
    assert "The cache is unavailable" in caplog.text


def test_without_the_cache_the_expiry_dashboard_counts_every_time(client, cache_away, administrator, trainer):
    holder = UserFactory(email="renee@example.org")
    certification = certification_for(holder, trainer, activated_on=timezone.localdate() - timedelta(days=30))
    certification.expires_on = timezone.localdate() + timedelta(days=20)
    certification.save(update_fields=["expires_on"])
    client.post("/login/", {"username": administrator.email, "password": PASSWORD})

    response = client.get("/renewals/dashboard/")

    assert response.status_code == 200
    assert "renee@example.org" in response.content.decode()


def test_a_policy_saved_while_the_cache_is_away_applies_at_once(cache_away):
    policy = RenewalPolicy.current()
    policy.grace_days = 60
    policy.save()

    assert RenewalPolicy.current().grace_days == 60


@pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="REDIS_URL is not set: no Redis to keep values in (CI sets it)"
)
def test_with_redis_there_the_cache_keeps_and_gives_back(settings):
    settings.CACHES = forgiving_cache_at(django_settings.REDIS_URL)

    cache.set("kept", {"seus": 20}, timeout=30)
    computed = cache.get_or_set("counted", lambda: 7, timeout=30)

    assert cache.get("kept") == {"seus": 20}
    assert cache.get_many(["kept", "missing"]) == {"kept": {"seus": 20}}
    assert (computed, cache.get("counted")) == (7, 7)
    cache.delete_many(["kept", "counted"])
    assert cache.get("kept", "gone") == "gone"


def test_after_a_failure_the_cache_is_left_alone_for_a_while(cache_away, caplog):
    first = cache.get("policy", "from the database")
    tried = len(caplog.records)
    again = [cache.get("policy", "from the database") for _ in range(20)]

    assert first == "from the database"
    assert set(again) == {"from the database"}
    assert tried == 1
    assert len(caplog.records) == 1  # not tried again, so nothing more to report


def test_the_cache_can_have_a_redis_database_of_its_own():
    """Production keeps the broker's queued tasks apart from the cache (docker-compose.yml)."""
    show = "from django.conf import settings; print(settings.CACHES['default']['LOCATION'], settings.CELERY_BROKER_URL)"
    env = {**os.environ, "REDIS_URL": "redis://redis:6379/0", "REDIS_CACHE_URL": "redis://redis:6379/1"}

    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", show], env=env, capture_output=True, text=True, check=True,
        cwd=django_settings.BASE_DIR,
    ).stdout.splitlines()[-1].split()  # after the shell's own line about what it imported  # fmt: skip

    assert shown == ["redis://redis:6379/1", "redis://redis:6379/0"]


def test_without_the_cache_the_attendance_sheet_is_rendered_for_every_request(login, cache_away, trainer, caplog):
    workshop = marked_sheet(trainer, 3, 2)
    client = login(trainer)

    pages = [client.get(f"/trainer/workshops/{workshop.pk}/sheet/") for _ in range(2)]

    assert [page.status_code for page in pages] == [200, 200]
    assert all(page.content.count(b'class="cell-form"') == 6 for page in pages)
    assert "The cache is unavailable" in caplog.text
