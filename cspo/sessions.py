"""Django's database sessions, read by a query compiled once (``cspo.compiled``): every signed-in
request reads its session, and compiling that ``get()`` cost more than PostgreSQL took to answer it
(bench/findings.md). Writing, expiry and clearing are Django's own."""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from .compiled import CompiledRead

# By key alone: the expiry is compared below, as a time in the compiled query would stay the first one.
_SESSION = CompiledRead(
    lambda key: Session.objects.filter(session_key=key).values_list("session_data", "expire_date").order_by(),
    "\x00session-key\x00",
)


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict:
        """The session's data while it has not expired; otherwise none, and a new key when saved
        (as Django's own ``load``)."""
        rows = _SESSION.rows(self.session_key)
        if rows and rows[0][1] > timezone.now():
            return self.decode(rows[0][0])
        self._session_key = None
        return {}
