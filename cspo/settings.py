"""Settings for cspo, read from environment variables (the table is in README.md).

With no variables set this is the embedded default: SQLite, Celery tasks run eagerly in the
web process, e-mail printed to the console, DEBUG on. ``DATABASE_URL`` and ``REDIS_URL`` switch
to PostgreSQL and a Redis broker with real workers. ``DJANGO_DEBUG=0`` is production mode, where
every secret must come from the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "")
    return value if value != "" else default


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_required(name: str) -> str:
    value = env(name)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG=0 (production mode).")
    return value


DEBUG = env_bool("DJANGO_DEBUG", True)

if DEBUG:
    SECRET_KEY = env("DJANGO_SECRET_KEY", "django-insecure-embedded-default-for-local-use-only")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
else:
    SECRET_KEY = env_required("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG=0 (production mode).")

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# Links in e-mails (sent by workers, outside any request) start with this.
CSPO_SITE_URL = env("CSPO_SITE_URL", "http://127.0.0.1:8000")
# Payment providers for renewal fees (renewals/payments.py): "manual" lets administrators record
# invoices and transfers; "test" is a pretend card processor, on by default only in DEBUG.
CSPO_PAYMENT_PROVIDERS = env_list("CSPO_PAYMENT_PROVIDERS", ["manual", "test"] if DEBUG else ["manual"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "participants",
    "workshops",
    "certification",
    "renewals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

if not DEBUG:
    # In production whitenoise serves the collected static files; in DEBUG runserver serves them.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

# Plain widgets drawn in Python with Django's own markup (cspo/widgets.py).
FORM_RENDERER = "cspo.widgets.WidgetRenderer"

ROOT_URLCONF = "cspo.urls"
WSGI_APPLICATION = "cspo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"form_fields": "cspo.form_fields"},
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # Short queries over large tables: PostgreSQL's JIT compiled plans whose estimates were
        # large for hundreds of milliseconds, far longer than running them (bench/RESULTS.md).
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = "-c jit=off"
        # A page's queries are the same text on every visit: bound on the server and prepared after
        # their fifth run on a connection, PostgreSQL plans each once per connection instead of on
        # every request (bench/findings.md). Off behind a pooler in transaction mode (PgBouncer).
        if env_bool("DATABASE_PREPARED_STATEMENTS", True):
            options |= {"server_side_binding": True, "prepare_threshold": 5}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            # A file, not memory, so that a Celery worker process can share the test database;
            # one per test process, so that two test runs on one checkout never share it.
            "TEST": {"NAME": BASE_DIR / f".test-db-{os.getpid()}.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "participants.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Django's database sessions and model backend, each reading with a query compiled once per process.
AUTHENTICATION_BACKENDS = ["participants.backends.UserBackend"]
SESSION_ENGINE = "cspo.sessions"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Redis: broker, results and cache -------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    # A cache that may be away: every value in it can be read again from the database (cspo/cache.py).
    # A second at most to connect or answer, so that a Redis that hangs slows a page, never stops it.
    CACHES = {
        "default": {
            "BACKEND": "cspo.cache.ForgivingRedisCache",
            # Its own Redis database in production (docker-compose.yml), so that evicting or flushing
            # cached values can never touch the broker's queued tasks.
            "LOCATION": env("REDIS_CACHE_URL") or REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
# The queue this deployment's tasks go to and its workers consume: one Redis can then serve
# several deployments, or several test runs, without one's worker taking another's tasks.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "celery")
# Nothing reads a task's result: none is stored, so publishing a task is one write to the broker
# (not also a subscription to the result's channel), and a broker that is away fails it within a second
# (cspo.celery.publish_after_commit), not after the result store's 19 s of reconnecting.
CELERY_TASK_IGNORE_RESULT = True
# A Redis that does not answer fails a publish within seconds: a host down or a partition, not after the
# system's two-minute connect timeout (a second to connect, as the cache's); a Redis stopped mid-way or
# a half-open connection after a failover, not never (two seconds for a reply: longer than the
# workers' one-second BRPOP, which must not time out). One retry.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# Without a broker, tasks run inside the web process so the embedded default needs no worker.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged after it ran, so a worker that dies mid-task hands it to another one;
# every task's service is therefore written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "expire-waiting-list-offers": {"task": "workshops.expire_offers", "schedule": 300},
    "send-due-prework": {"task": "workshops.send_due_prework", "schedule": 900},
    "advance-workshop-statuses": {"task": "workshops.advance_workshop_statuses", "schedule": 300},
    "run-stranded-roster-imports": {"task": "workshops.run_stranded_roster_imports", "schedule": 300},
    "tell-untold-schedule-changes": {"task": "workshops.tell_untold_schedule_changes", "schedule": 300},
    "remind-unactivated-certifications": {"task": "certification.remind_unactivated", "schedule": 3600},
    "credit-stranded-attendance": {"task": "renewals.credit_stranded_attendance", "schedule": 300},
    "send-renewal-reminders": {"task": "renewals.send_renewal_reminders", "schedule": crontab(hour=6, minute=5)},
    "requeue-stranded-emails": {"task": "participants.requeue_stranded_emails", "schedule": 600},
    "clear-expired-sessions": {
        "task": "participants.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
}

# --- E-mail ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "cspo <no-reply@cspo.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_HOST = env("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(env("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("DJANGO_EMAIL_FILE_PATH")

# --- Security (production mode) -------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Sessions stay in the database (cspo.sessions reads them), not in the cache: read from Redis first
# they saved 0.2-0.6 ms a page, but with Redis away nobody could sign in (bench/findings.md).
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # /healthz is probed over plain HTTP from inside the compose network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    # Tasks run eagerly inside the web process without a broker: no "Task … succeeded" per e-mail,
    # and no warning that the in-memory broker Celery still opens has no host name.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}}
    | ({} if REDIS_URL else {"celery.app.trace": {"level": "WARNING"}, "kombu.connection": {"level": "ERROR"}}),
}
