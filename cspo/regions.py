"""A rendered region of a page, kept in the cache under a fingerprint of everything it shows.

A page that is read far more often than it changes (the attendance sheet between two marks) keeps the
HTML of its costly region with a digest of its *fingerprint*: the values the region shows, read from
the database by cheap queries with no models built. A kept region answers only while the fingerprint
read now has the same digest, so it is the one the database holds now, whoever changed it and however
(a service, the admin site, a bulk update). Nothing has to remember to invalidate it.

1. **Same snapshot.** On a miss, the fingerprint is read again and the region rendered inside one
   REPEATABLE READ transaction (PostgreSQL), so the HTML kept under a fingerprint is the one that
   fingerprint describes, even when someone writes in between.
2. **Same code.** The cache key carries a digest of the source that renders the region (its template,
   models and Python) and of this module, so a deployment never serves markup written by the code
   before it.
3. **One copy.** A region is kept once, as last rendered with its fingerprint's digest: a change
   replaces it rather than adding another.
4. **Nobody's own.** A region is rendered with a placeholder for the CSRF token, which is put back
   with the asking person's own token on every request. Anything else personal stays outside it.

The cache is a speed-up, never a condition: when it is away (``cspo.cache`` answers as if it were
empty), the region is rendered from the database for every request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe

# No text we store can hold a NUL (PostgreSQL refuses it), so no participant's name can look like it.
CSRF_PLACEHOLDER = "\x00csrf-token\x00"
KEEP_FOR = 15 * 60  # seconds: an entry nobody asks for again leaves the cache


def source_digest(*paths: str) -> str:
    """A digest of the files (relative to the project) that render a region."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(settings.BASE_DIR, path).read_bytes())
    return digest.hexdigest()[:16]


OWN_CODE = source_digest("cspo/regions.py")  # how an entry is stored


@contextmanager
def one_snapshot():
    """Every read inside sees the database as it was at the first one. Inside an enclosing transaction
    (a test's) the level is the enclosing one's: it can only be set at a transaction's start."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def kept_region(
    request,
    *,
    name: str,
    code: str,
    fingerprint: Callable[[], object],
    render: Callable[[str], str],
) -> SafeString:
    """The region ``name``, rendered by ``render(csrf_token)`` from the database, or kept from an earlier
    request whose ``fingerprint()`` was the same. ``code`` is the ``source_digest`` of what renders it.
    One entry a region (the latest rendered, with its fingerprint's digest), so the cache holds no
    outdated copies: a sheet changed a hundred times is kept once."""
    key = f"regions:{name}:{code}:{OWN_CODE}"
    kept = cache.get(key)
    html = kept[1] if kept is not None and kept[0] == _digest(fingerprint()) else None
    if html is None:
        with one_snapshot():
            found = fingerprint()
            html = render(CSRF_PLACEHOLDER)
        cache.set(key, (_digest(found), html), timeout=KEEP_FOR)
    # Rendered by our templates, every value escaped there.
    return mark_safe(html.replace(CSRF_PLACEHOLDER, get_token(request)))


def _digest(fingerprint: object) -> str:
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()
