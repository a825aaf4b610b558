"""Helpers shared by the benchmark scripts: temp data dirs, free ports, server processes, statistics.

Everything here talks to 127.0.0.1 only, and every wait is bounded.
"""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOPBACK = "127.0.0.1"


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a throwaway platform instance whose data lives in `data_dir`."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "METASTUDIO_STORAGE", "DJANGO_SETTINGS_MODULE")}
    env.update({
        "METASTUDIO_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "metastudio.settings",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


@contextlib.contextmanager
def temp_data_dir(prefix: str):
    path = Path(tempfile.mkdtemp(prefix=f"metastudio-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def setup_django(env: dict[str, str]) -> None:
    """Configure this process like a platform process with `env`, then django.setup()."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop child processes and remove temp dirs."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class Processes:
    """Child processes started by a benchmark; `stop_all` ends exactly these (by pid / own process group)."""

    def __init__(self):
        self.children: list[subprocess.Popen] = []

    def start(self, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        handle = log.open("wb")
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        handle.close()
        self.children.append(child)
        return child

    def stop_all(self, timeout: float = 10.0) -> None:
        for child in self.children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # The child leads its own process group (start_new_session): kill that group, its daphne
                # grandchild included.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=2)
        self.children.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()


def start_platform(processes: Processes, env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """`manage.py runplatform --no-worker` on 127.0.0.1:port; returns once it answers HTTP (at most 60 s)."""
    child = processes.start([PYTHON, "manage.py", "runplatform", "--no-worker", "--host", LOOPBACK,
                             "--port", str(port)], env, log)
    wait_http(port, child, log)
    return child


def start_daphne(processes: Processes, env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    child = processes.start([PYTHON, "-m", "daphne", "-b", LOOPBACK, "-p", str(port),
                             "metastudio.asgi:application"], env, log)
    wait_http(port, child, log)
    return child


def wait_http(port: int, child: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"server exited with {child.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            status, _ = request(port, "GET", "/v1/benchmark-probe/no-such-api", timeout=2)
            if status:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer within {timeout:.0f} s")


def request(port: int, method: str, path: str, headers: dict | None = None, timeout: float = 5.0,
            connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = connection is None
    conn = connection or http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank-with-interpolation percentile of `values` (0 <= pct <= 100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def emit(figure: dict, human: str) -> None:
    print(json.dumps(figure, sort_keys=False), flush=True)
    print(human, flush=True)
