from __future__ import annotations

import os
import threading
import time
from importlib import import_module
from uuid import uuid4

import pytest
from celery._state import _set_task_join_will_block
from django.apps import apps
from django.db import connections
from playwright.sync_api import sync_playwright

from cspo.celery import app as celery_app
from renewals.models import RenewalPolicy
from tests.factories import PASSWORD, UserFactory

# live_server runs Django in a thread while Playwright's sync API holds an event loop in the test.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Connections close when their request ends (CONN_MAX_AGE 0), so no live_server thread keeps
    one between a browser's requests; and each is named after its xdist worker, so that a session
    still open when the test database is dropped says whose it is (``django_db_setup`` below)."""
    from django.conf import settings

    for database in settings.DATABASES.values():
        database["CONN_MAX_AGE"] = 0
        if database["ENGINE"].endswith("postgresql"):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            database.setdefault("OPTIONS", {})["application_name"] = f"cspo-tests-{worker}"


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_setup, django_db_blocker):
    """pytest-django's test database, and before it is dropped, no other session left on it.

    PostgreSQL refuses to drop a database another session is using, and now and then one was still
    connected when the tests ended (one cause found: Playwright's switch of context, ``playwright``
    below). Whatever holds it (a daemon thread's connection, a worker process not yet gone), the tests
    have finished with it: it is ended, and said in the summary with its last query, so a leak shows
    in the log without failing a run whose tests passed."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        left = _sessions_left_on(connection, wait_seconds=3)
        if left:
            threads = sorted(thread.name for thread in threading.enumerate())
            _say(request.config, f"ended {len(left)} session(s) left on the test database "
                 f"{connection.settings_dict['NAME']} (threads alive: {threads}): {left}")  # fmt: skip
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
        connection.close()


def _sessions_left_on(connection, *, wait_seconds: float) -> list[tuple]:
    deadline = time.monotonic() + wait_seconds
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT application_name, state, backend_start, state_change, left(query, 300)"
                " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            left = cursor.fetchall()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _say(config, line: str) -> None:
    """A line in the run's summary; from an xdist worker, through the controller (below)."""
    if hasattr(config, "workeroutput"):
        config.workeroutput.setdefault("said", []).append(line)
    else:
        with config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
            config.pluginmanager.get_plugin("terminalreporter").write_line(f"[tests] {line}")


def pytest_testnodedown(node, error):
    for line in getattr(node, "workeroutput", {}).get("said", []):
        node.config.pluginmanager.get_plugin("terminalreporter").write_line(f"[tests {node.gateway.id}] {line}")


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A cache of its own per test: Redis is shared by the test processes, and a figure one test
    # cached must not answer another's question.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid4().hex}}


@pytest.fixture(autouse=True)
def _celery_runs_tasks_in_process():
    """Tasks run inside the test, even when REDIS_URL is set; the worker test turns this off."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    # Celery marks "inside an eager task" in a process-wide flag; a live_server thread running
    # tasks at the same moment as the test's own thread can leave it set for the tests after.
    _set_task_join_will_block(False)
    yield
    celery_app.conf.task_always_eager = previous


def _uses_the_database(request) -> bool:
    return request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _renewal_rules(request, django_db_blocker):
    """The renewal rules the data migration writes. A transactional test ends by emptying every
    table, those rows included: they are written again, by that same migration code, before the
    next test that uses the database."""
    if _uses_the_database(request):
        request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            if not RenewalPolicy.objects.exists():
                import_module("renewals.migrations.0002_domain_defaults").forwards(apps, None)


@pytest.fixture
def participant(db):
    return UserFactory(email="pat@example.org", full_name="Pat Participant")


@pytest.fixture
def trainer(db):
    return UserFactory(email="tess@example.org", full_name="Tess Trainer", is_trainer=True, is_participant=False)


@pytest.fixture
def other_trainer(db):
    return UserFactory(email="otto@example.org", full_name="Otto Trainer", is_trainer=True, is_participant=False)


@pytest.fixture
def administrator(db):
    return UserFactory(email="ada@example.org", full_name="Ada Admin", is_staff=True, is_participant=False)


@pytest.fixture
def login(client):
    def log_in(user):
        assert client.login(username=user.email, password=PASSWORD)
        return client

    return log_in


@pytest.fixture(scope="session")
def playwright(_pw_api_request_contexts):
    """pytest-playwright's own, with Django's connections closed when it starts and stops.

    Playwright's sync API runs the test on in a context of its own (contextvars), where Django's
    connections, kept per context, are other ones: tests after it started use new ones, and those
    after it stopped the ones from before. A connection left open at either switch stayed open,
    unused, until the suite ended (``django_db_setup`` ended it: 'DEALLOCATE ALL' was its last query)."""
    connections.close_all()
    pw = sync_playwright().start()
    if _pw_api_request_contexts:
        _pw_api_request_contexts.instrument(pw)
    yield pw
    connections.close_all()
    pw.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def base_url(pytestconfig):
    """Shadows pytest-playwright's own ``base_url``: it is an instance method of a plugin class, which
    pytest 9 warns about (PytestRemovedIn10Warning), and this suite treats warnings as errors."""
    return pytestconfig.getoption("--base-url") or pytestconfig.getini("base_url") or None
