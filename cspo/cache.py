"""Redis as a cache that may be away.

Everything cspo keeps in the cache (the catalogue's pages, the renewal policy, the dashboard's
counts) can be read again from PostgreSQL, so Redis being down, restarting or unreachable must cost
speed, never a page. Django's Redis backend raises instead; this one logs a warning and answers as
if the key were missing (a read) or as if nothing was stored (a write), and leaves Redis alone for
``AWAY_FOR`` seconds before trying it again. Sessions are kept in the
database, not here, so a Redis outage signs nobody out and never brings back a session that was
ended while it was away.
"""

from __future__ import annotations

import logging
import time
from functools import wraps

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger("cspo.cache")


# After a failure the cache is left alone this long: a Redis that hangs would otherwise cost every
# call its timeout, several a page, and the log a traceback each.
AWAY_FOR = 30.0


def _forgiving(answer_when_away):
    def decorate(method):
        @wraps(method)
        def call(self, *args, **kwargs):
            if time.monotonic() < self.away_until:
                return answer_when_away(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except RedisError:
                self.away_until = time.monotonic() + AWAY_FOR
                logger.warning(
                    "The cache is unavailable (%s); going on without it for %s s", method.__name__, AWAY_FOR,
                    exc_info=True,
                )  # fmt: skip
                return answer_when_away(*args, **kwargs)

        return call

    return decorate


def _missing(key, default=None, version=None):
    return default


class ForgivingRedisCache(RedisCache):
    away_until = 0.0  # set by a failure; Django keeps one cache object per thread, across requests

    @_forgiving(_missing)
    def get(self, key, default=None, version=None):
        return super().get(key, default, version)

    @_forgiving(lambda *args, **kwargs: {})
    def get_many(self, keys, version=None):
        return super().get_many(keys, version)

    @_forgiving(lambda *args, **kwargs: False)
    def has_key(self, key, version=None):
        return super().has_key(key, version)

    @_forgiving(lambda *args, **kwargs: False)
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().add(key, value, timeout, version)

    @_forgiving(lambda *args, **kwargs: None)
    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set(key, value, timeout, version)

    @_forgiving(lambda data, *args, **kwargs: list(data))
    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return super().set_many(data, timeout, version)

    @_forgiving(lambda *args, **kwargs: False)
    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return super().touch(key, timeout, version)

    @_forgiving(lambda *args, **kwargs: False)
    def delete(self, key, version=None):
        return super().delete(key, version)

    @_forgiving(lambda *args, **kwargs: None)
    def delete_many(self, keys, version=None):
        return super().delete_many(keys, version)
