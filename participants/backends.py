"""Django's model backend, with the signed-in person read on each request by a query compiled once
(``cspo.compiled``) rather than by a ``get()`` compiled anew every time (bench/findings.md). Signing
in, passwords and permissions are Django's own."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from cspo.compiled import CompiledRead, numbers

from .models import User

_USER = CompiledRead(lambda pk: User.objects.filter(pk=pk).order_by(), *numbers(1))


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        """The person whose id the session holds, if they may still sign in (``is_active``)."""
        found = _USER.objects(int(user_id))
        return found[0] if found and self.user_can_authenticate(found[0]) else None
