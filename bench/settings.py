"""Production settings (``cspo.settings`` with ``DJANGO_DEBUG=0``) plus what the benchmark needs to
measure: a middleware that counts each request's SQL queries, and its own static files folder.

Only the benchmark's gunicorn uses this module (``DJANGO_SETTINGS_MODULE=bench.settings``); the
environment the benchmark sets (``bench.environment``) makes ``cspo.settings`` production mode.
"""

from __future__ import annotations

from cspo.settings import *  # noqa: F403 - the production settings, unchanged but for the two lines below
from cspo.settings import BASE_DIR, MIDDLEWARE

# Outermost, so that the queries of the session and authentication middleware count too.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
STATIC_ROOT = BASE_DIR / "bench" / "data" / "staticfiles"
ROOT_URLCONF = "bench.urls"
