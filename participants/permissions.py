"""Who may open what, by role. Per-object rules live in each app's own permissions module."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def is_trainer(user) -> bool:
    return user.is_authenticated and user.is_active and (user.is_trainer or user.is_staff)


def is_administrator(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def _role_required(check: Callable[[object], bool]) -> Callable:
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied("This page is not part of your role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


trainer_required = _role_required(is_trainer)
administrator_required = _role_required(is_administrator)
