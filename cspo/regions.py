"""A rendered region of a page, kept in the cache under a fingerprint of everything it shows.

A page that is read far more often than it changes (the attendance sheet between two marks) keeps the
HTML of its costly region. The key is a digest of a *fingerprint*: the values the region shows, read
from the database by one cheap query with no models built, so a kept region is the one the database
holds now, whoever changed it and however (a service, the admin site, a bulk update). Nothing has to
remember to invalidate it; a change simply asks for another key.

1. **Same snapshot.** On a miss, the fingerprint is read again and the region rendered inside one
   REPEATABLE READ transaction (PostgreSQL), so the HTML kept under a fingerprint is the one that
   fingerprint describes, even when someone writes in between.
2. **Same code.** The key carries a digest of the source that renders the region (its template and
   Python), so a deployment never serves markup written by the code before it.
3. **Nobody's own.** A region is rendered with a placeholder for the CSRF token, which is put back
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
    request whose ``fingerprint()`` was the same. ``code`` is the ``source_digest`` of what renders it."""
    html = cache.get(_key(name, code, fingerprint()))
    if html is None:
        with one_snapshot():
            found = fingerprint()
            html = render(CSRF_PLACEHOLDER)
        cache.set(_key(name, code, found), html, timeout=KEEP_FOR)
    # Rendered by our templates, every value escaped there.
    return mark_safe(html.replace(CSRF_PLACEHOLDER, get_token(request)))


def _key(name: str, code: str, fingerprint: object) -> str:
    return f"regions:{name}:{code}:{hashlib.sha256(repr(fingerprint).encode()).hexdigest()}"
