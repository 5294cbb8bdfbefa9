"""The load: logged-in browsers made of ``http.client`` and a cookie jar, driven by threads.

Every request goes to 127.0.0.1 with ``X-Forwarded-Proto: https``, as from the TLS proxy production
runs behind (``SECURE_PROXY_SSL_HEADER``), so SSL redirect, secure cookies and HSTS stay on.
gunicorn's sync workers close each connection after the response, so each request connects anew.
"""

from __future__ import annotations

import http.client
import itertools
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(rb'"X-CSRFToken": "([^"]+)"')


class PageBroken(Exception):
    """A response that is not what the page should show: measuring it would measure nothing."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def queries(self) -> int | None:
        value = self.headers.get("x-bench-queries")
        return int(value) if value is not None else None

    @property
    def server_seconds(self) -> float | None:
        value = self.headers.get("x-bench-server-ms")
        return float(value) / 1000 if value is not None else None


class Browser:
    """One person's browser: its own cookies, hence its own session and CSRF token."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.origin = f"https://{host}:{port}"
        self.cookies: dict[str, str] = {}
        self.csrf_token = ""

    def request(self, method: str, path: str, *, data: dict | None = None, headers: dict | None = None,
                read: Callable[[http.client.HTTPResponse], bytes] | None = None) -> Response:  # fmt: skip
        sent = {"Host": f"{self.host}:{self.port}", "X-Forwarded-Proto": "https", "User-Agent": "cspo-bench"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data).encode()
            sent |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin,
                     "Referer": self.origin + path}  # fmt: skip
        sent |= headers or {}
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            content = read(answer) if read else answer.read()
            seconds = time.perf_counter() - started
            self._keep_cookies(answer.headers.get_all("Set-Cookie") or [])
            received = {name.lower(): value for name, value in answer.getheaders()}
        finally:
            connection.close()
        return Response(answer.status, received, content, seconds)

    def _keep_cookies(self, lines: list[str]) -> None:
        for line in lines:
            pair, *attributes = line.split(";")
            name, _, value = pair.strip().partition("=")
            if any(a.strip().lower() in ("max-age=0", "max-age=-1") for a in attributes):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value.strip('"')

    def log_in(self, email: str, password: str, *, login_path: str) -> None:
        """Through the real login form, as a person does: GET it for the CSRF token, then POST."""
        page = self.request("GET", login_path)
        token = CSRF_INPUT.search(page.body)
        if page.status != 200 or token is None:
            raise PageBroken(f"The login page answered {page.status} without a CSRF token.")
        answer = self.request(
            "POST", login_path, data={"username": email, "password": password,
                                      "csrfmiddlewaretoken": token.group(1).decode(), "next": ""},
        )  # fmt: skip
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise PageBroken(f"Logging in as {email} answered {answer.status}, not a redirect with a session.")

    def take_csrf_token(self, page: Response) -> None:
        """The token htmx sends (``hx-headers`` on <body>), as a page gives it."""
        found = CSRF_HEADER.search(page.body)
        if found is None:
            raise PageBroken("The page has no CSRF token in its hx-headers.")
        self.csrf_token = found.group(1).decode()


@dataclass
class Stats:
    """The figures of one measured page."""

    requests: int
    seconds: float
    latencies: list[float]
    queries: list[int]
    server: list[float] = field(default_factory=list)  # Django's own part of each latency
    failures: list[str] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return _percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        return _percentile(self.latencies, 95)

    @property
    def server_p50(self) -> float:
        return _percentile(self.server, 50)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def query_counts(self) -> str:
        """The queries per request: one number when every request ran the same."""
        if not self.queries:
            return "—"
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}–{high} (median {statistics.median(self.queries):g})"


def _percentile(values: list[float], percent: int) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))  # ceil(percent/100 · n)
    return ordered[rank - 1]


# One request of a measured page: the browser of this thread and the request's number in; the
# response out, having checked that it shows what the page should (raising PageBroken otherwise).
Action = Callable[[Browser, int], Response]


def drive(action: Action, browsers: list[Browser], *, requests: int, warmup: int) -> Stats:
    """``warmup`` requests, then ``requests`` timed ones, from one thread per browser at once."""
    _run(action, browsers, warmup, first=0)
    return _run(action, browsers, requests, first=warmup)


def _run(action: Action, browsers: list[Browser], count: int, *, first: int) -> Stats:
    numbers = itertools.count(first)
    lock = threading.Lock()
    latencies: list[float] = []
    queries: list[int] = []
    server: list[float] = []
    failures: list[str] = []

    def work(browser: Browser) -> None:
        while True:
            with lock:
                number = next(numbers)
            if number >= first + count:
                return
            try:
                response = action(browser, number)
            except (PageBroken, OSError, http.client.HTTPException) as problem:
                with lock:
                    failures.append(f"request {number}: {problem}")
                continue
            with lock:
                latencies.append(response.seconds)
                if response.queries is not None:
                    queries.append(response.queries)
                if response.server_seconds is not None:
                    server.append(response.server_seconds)

    threads = [threading.Thread(target=work, args=(browser,)) for browser in browsers]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Stats(count, time.perf_counter() - started, latencies, queries, server, failures)
