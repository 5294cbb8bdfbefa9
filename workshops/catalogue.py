"""The public catalogue's cards, and the cache that serves its regions to every visitor alike.

The catalogue's filter form and results are the same for everyone who asks with the same filters, page
and time zone, and are read far more often than they change: they are written once and kept in Django's
cache. A kept entry answers while all three hold:

1. the catalogue version it was written under is the current one: every service that changes what the
   catalogue shows (a workshop published, edited or cancelled, a session added, moved or removed, a seat
   taken or freed) calls ``changed()``, which draws a new version;
2. the soonest workshop it lists has not started (it then leaves the catalogue);
3. it is at most ``MAX_AGE`` old, for the changes made outside the services (the admin site's edits of
   a user, such as a trainer's name).

The cache is a speed-up, never a condition: when it cannot be reached (``cspo.cache`` then answers as
if it were empty), the catalogue is rendered from the database and the services' writes go on; a page
kept before then lasts at most ``MAX_AGE``.

Nothing that belongs to one person is kept: the header and the time-zone form, with its CSRF token, are
rendered for each request around the kept regions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import transaction
from django.http import QueryDict
from django.utils.safestring import SafeString, mark_safe

from .models import Workshop

VERSION_KEY = "workshops:catalogue:version"
REGIONS_KEY = "workshops:catalogue:regions:"
MAX_AGE = timedelta(seconds=60)
# An address with any other parameter (or one given twice) is rendered for itself and not kept.
KEPT_PARAMETERS = frozenset({"course", "format", "month", "page"})


# --- The cards ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTimes:
    own: str  # in the workshop's zone
    yours: str  # in the visitor's zone, or "" when it is the workshop's


@dataclass(frozen=True)
class Card:
    workshop: Workshop
    sessions: list[SessionTimes]


def cards(workshops: list[Workshop], visitor_zone: str | None) -> list[Card]:
    """Each workshop with its session times written once, in its zone and the visitor's (needs the
    sessions prefetched in order)."""
    theirs = ZoneInfo(visitor_zone) if visitor_zone else None
    shown = []
    for workshop in workshops:
        own = workshop.zone
        also = theirs if theirs is not None and visitor_zone != workshop.time_zone else None
        sessions = [
            SessionTimes(session.times_in(own), session.times_in(also) if also else "")
            for session in workshop.sessions.all()
        ]
        shown.append(Card(workshop, sessions))
    return shown


# --- The cache ----------------------------------------------------------------------------------


def changed() -> None:
    """Every kept catalogue region is out of date: call from any write to what the catalogue shows."""
    _draw_version()
    # Drawn again once the change is committed: a visitor who read the rows between the first draw and
    # the commit kept what they read under the new version.
    transaction.on_commit(_draw_version)


def _draw_version() -> None:
    cache.set(VERSION_KEY, uuid4().hex, timeout=None)  # never a number counted again from 1


@dataclass(frozen=True)
class Regions:
    filters: SafeString
    results: SafeString


@dataclass
class KeptCatalogue:
    """The regions kept for one address and zone, or None; ``keep()`` stores newly rendered ones."""

    key: str | None
    version: str
    regions: Regions | None = None

    def keep(self, regions: Regions, *, soonest_start: datetime | None, now: datetime) -> None:
        """Store ``regions``, rendered from rows read after this entry's version was: until the soonest
        listed workshop starts, and at most ``MAX_AGE``."""
        if self.key is None:
            return
        until = now + MAX_AGE if soonest_start is None else min(now + MAX_AGE, soonest_start)
        seconds = int((until - now).total_seconds())
        if seconds < 1:
            return
        value = {"version": self.version, "until": until, "filters": regions.filters, "results": regions.results}
        cache.set(self.key, value, timeout=seconds)


def kept_catalogue(query: QueryDict, visitor_zone: str | None, *, now: datetime) -> KeptCatalogue:
    """The version and the kept regions, in one round trip to the cache. Read before the database, so
    that regions rendered from rows older than a change are never kept under the version after it."""
    key = _regions_key(query, visitor_zone)
    found = cache.get_many([VERSION_KEY, key] if key else [VERSION_KEY])
    version = found.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY)
    if version is None:  # the cache is away (cspo/cache.py): the catalogue is read from the database
        return KeptCatalogue(key=None, version="")
    kept = KeptCatalogue(key=key, version=version)
    entry = found.get(key) if key else None
    if entry is not None and entry["version"] == version and entry["until"] > now:
        # Rendered by our templates, escaped there.
        kept.regions = Regions(mark_safe(entry["filters"]), mark_safe(entry["results"]))
    return kept


def _regions_key(query: QueryDict, visitor_zone: str | None) -> str | None:
    """The same filters and page in the same order (the pager's links keep it) and the same zone."""
    if not set(query) <= KEPT_PARAMETERS:
        return None
    given = []
    for name, values in query.lists():
        if len(values) != 1:
            return None
        given.append((name, values[0]))
    digest = hashlib.sha256(repr((given, visitor_zone)).encode()).hexdigest()[:40]
    return REGIONS_KEY + digest
