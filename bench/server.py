"""The app served as in production: ``collectstatic``, then gunicorn (the Dockerfile's command, on
loopback only), with static files served by whitenoise."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from .environment import BASE_DIR, DATA_DIR, BenchSetupError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def collect_static() -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], cwd=BASE_DIR, check=True
    )


class Server:
    """gunicorn with the Dockerfile's options (``--workers 3``, access log), bound to 127.0.0.1."""

    def __init__(self, *, workers: int = 3) -> None:
        self.workers = workers
        self.port = free_port()
        self.host = "127.0.0.1"
        self.process: subprocess.Popen | None = None
        self.log = DATA_DIR / "gunicorn.log"

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "cspo.wsgi:application",
            "--bind", f"{self.host}:{self.port}", "--workers", str(self.workers),
            "--access-logfile", str(DATA_DIR / "gunicorn-access.log"), "--error-logfile", str(self.log),
            "--env", "DJANGO_SETTINGS_MODULE=bench.settings",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=os.environ.copy())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchSetupError(f"gunicorn stopped at start (exit {self.process.returncode}); see {self.log}")
            if self._healthy() and len(self.worker_pids()) == self.workers:
                return
            time.sleep(0.2)
        self.stop()
        raise BenchSetupError(f"gunicorn did not answer /healthz within 60 s; see {self.log}")

    def _healthy(self) -> bool:
        try:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
            connection.request("GET", "/healthz", headers={"Host": f"{self.host}:{self.port}"})
            healthy = connection.getresponse().status == 200
            connection.close()
        except OSError:
            return False
        return healthy

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the master's children (found in /proc)."""
        if self.process is None:
            return []
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (name) state ppid …": the name may hold spaces, so split after its closing parenthesis.
            if int(stat.rpartition(")")[2].split()[1]) == self.process.pid:
                children.append(int(entry.name))
        return sorted(children)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # gunicorn's graceful stop on SIGTERM
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def memory_kib(pid: int, field: str = "VmRSS") -> int | None:
    """A field of /proc/<pid>/status in KiB: VmRSS (resident now) or VmHWM (peak since reset)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_memory(pid: int) -> bool:
    """Start VmHWM again from the current RSS (Linux: writing 5 to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
