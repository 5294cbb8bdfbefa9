"""Operational endpoints of the project (not part of any domain app)."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy", and we report it
        return f"error: {error.__class__.__name__}"
    return "ok"


def _broker_state() -> str:
    if not settings.REDIS_URL:
        return "not configured (tasks run eagerly)"
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"error: {error.__class__.__name__}"
    return "ok"


@never_cache
@require_GET
def healthz(request):
    database = _database_state()
    broker = _broker_state()
    healthy = database == "ok" and not broker.startswith("error")
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "database": database, "broker": broker},
        status=200 if healthy else 503,
    )


@require_GET
def bench_baseline(request):
    """The benchmark's floor (bench/): a tiny response that reads nothing, so its latency is what
    gunicorn and Django's middleware cost on the machine before any page does its own work."""
    return HttpResponse("ok", content_type="text/plain")
