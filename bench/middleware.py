"""Counts the SQL queries of each request without DEBUG (which would change what is measured):
``X-Bench-Queries`` says how many, ``X-Bench-Pid`` which gunicorn worker answered (to read its
memory), ``X-Bench-Server-Ms`` how long Django took (the rest of the latency is gunicorn, the
network and waiting for a worker or a core). A streamed body runs queries after the headers are
sent: its total goes to the file named by ``BENCH_QUERY_LOG``, one JSON line per response, under
the request's ``X-Bench-Id``.

Installed by ``bench.settings`` only, never by ``cspo.settings``.
"""

from __future__ import annotations

import json
import os
import time

from django.db import connection


class QueryCounter:
    """A database execute wrapper (Django's hook around every query) that only counts."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _log_streamed(request_id: str, path: str, queries: int) -> None:
    log = os.environ.get("BENCH_QUERY_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as file:
            file.write(json.dumps({"id": request_id, "path": path, "queries": queries}) + "\n")


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        response["X-Bench-Server-Ms"] = f"{(time.perf_counter() - started) * 1000:.2f}"
        response["X-Bench-Pid"] = str(os.getpid())
        response["X-Bench-Queries"] = str(counter.count)
        # A FileResponse is sent by the server's file wrapper and runs no more queries.
        if response.streaming and getattr(response, "file_to_stream", None) is None:
            request_id = request.headers.get("X-Bench-Id", "")
            response.streaming_content = self._counted(response.streaming_content, counter, request_id, request.path)
        return response

    @staticmethod
    def _counted(content, counter: QueryCounter, request_id: str, path: str):
        try:
            with connection.execute_wrapper(counter):
                yield from content
        finally:
            _log_streamed(request_id, path, counter.count)
