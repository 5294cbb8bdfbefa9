"""The environment of a benchmark run: production mode on the benchmark's own PostgreSQL database
and Redis database, set once in this process and handed to gunicorn."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"  # logs, static and media files, the dataset's description (git-ignored)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cspo_bench"
# Not 0, which the test suite uses: the benchmark's queued tasks are purged from this one.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


class BenchSetupError(Exception):
    """Something the benchmark needs is missing; the message says what to do."""


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def configure(*, database_url: str, redis_url: str) -> dict[str, str]:
    """Set the variables of production mode (README's table) in this process; gunicorn inherits them."""
    name = database_name(database_url)
    if "bench" not in name:
        # The database is dropped and made again: never one whose name does not say it is ours.
        raise BenchSetupError(f"The benchmark's database name must contain 'bench' (got {name!r}); it is recreated.")
    DATA_DIR.mkdir(exist_ok=True)
    values = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_MEDIA_ROOT": str(DATA_DIR / "media"),
        # The web process only queues e-mail (a worker sends it); nothing may reach a real server.
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "CSPO_SITE_URL": "https://cspo.bench.example",
        "BENCH_QUERY_LOG": str(DATA_DIR / "streamed-queries.jsonl"),
    }
    for name in ("EMAIL_HOST", "DJANGO_SECURE_SSL_REDIRECT"):  # production as the defaults make it
        os.environ.pop(name, None)
    os.environ.update(values)
    return values


def recreate_database(database_url: str) -> None:
    """Drop and create the benchmark's database (connected to the server's ``postgres`` database)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = database_name(database_url)
    maintenance = parts._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    try:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as error:
        raise BenchSetupError(f"PostgreSQL is not reachable at {parts.hostname}:{parts.port}: {error}") from error


def check_redis(redis_url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        raise BenchSetupError(f"Redis is not reachable at {redis_url}: {error}") from error


def stamp_of(targets) -> str:
    return f"cspo bench data: scale {targets.scale:g}, generated {targets.generated_on} in {targets.seconds} s"


def data_stamp(value: str | None = None) -> str:
    """The database's own note of the data it holds (its COMMENT), written with ``value``: another
    checkout's run on the same server regenerates the database, and this one's ``dataset.json``
    then describes data that is gone."""
    from django.db import connection
    from psycopg import sql

    with connection.cursor() as cursor:
        name = connection.settings_dict["NAME"]
        if value is not None:
            comment = sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(value))
            cursor.execute(comment.as_string(connection.connection))  # no placeholders in a COMMENT
        cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name])
        stamp = cursor.fetchone()[0] or ""
    connection.close()  # the database may be dropped next
    return stamp
