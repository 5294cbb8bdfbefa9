"""Views only the benchmark's server routes (``bench.urls``): floors to read the pages against."""

from __future__ import annotations

import time

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_POST


@login_required
@require_POST
def write_floor(request):
    """The least a signed-in save costs: the session and the person read, the CSRF token checked, one
    row written and committed to disk (the visitor's own session, which the middleware saves), "ok"."""
    request.session["bench_write"] = time.time_ns()
    return HttpResponse("ok", content_type="text/plain")
