"""Real processes for integration tests: free ports, process groups, Django commands and scripts run with an env of
their own, a private PostgreSQL cluster, redis-server and a moto S3 server. Loopback (127.0.0.1) only.

Every process is started in a session (process group) of its own, so that a kill reaches its children too
(uvicorn under runplatform, django-q2's worker processes under qcluster), and is stopped at teardown.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
PG_BIN = Path(os.environ.get("METASTUDIO_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
# Variables of the outer environment that would change what the platform under test does.
_OWN_PREFIXES = ("METASTUDIO_", "AWS_", "DJANGO_", "Q_")
_OWN_NAMES = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "LOG_LEVEL", "TEST_SQLITE_NAME",
              "EMAIL_BACKEND", "DB_CONN_MAX_AGE", "PYTHONPATH"}
_PROXY_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
RESULT_MARK = "@@RESULT@@"


# --- waiting ------------------------------------------------------------------------------------------------

def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    """Call predicate until it returns something truthy, and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last value {value!r})")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --- processes ------------------------------------------------------------------------------------------------

class Processes:
    """Starts long-running processes, each in its own process group, logging to files; stop_all() at teardown."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.running: list[subprocess.Popen] = []
        self._started = 0

    def start(self, name: str, args: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen:
        self._started += 1
        log = self.log_dir / f"{name}-{self._started}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        proc.name, proc.log_path = name, log
        self.running.append(proc)
        return proc

    @staticmethod
    def log(proc: subprocess.Popen, tail: int = 4000) -> str:
        text = proc.log_path.read_text(errors="replace")
        return text[-tail:]

    def wait_for_port(self, proc: subprocess.Popen, port: int, timeout: float = 30) -> None:
        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"{proc.name} exited with {proc.returncode}:\n{self.log(proc)}")
            return port_open(port)

        wait_until(ready, timeout, f"{proc.name} to listen on port {port}", interval=0.1)

    def wait_for_log(self, proc: subprocess.Popen, text: str, timeout: float = 30) -> None:
        def seen():
            if proc.poll() is not None:
                raise AssertionError(f"{proc.name} exited with {proc.returncode}:\n{self.log(proc)}")
            return text in proc.log_path.read_text(errors="replace")

        wait_until(seen, timeout, f"{proc.name} to log {text!r}", interval=0.1)

    def script(self, name: str, env: dict[str, str], code: str) -> subprocess.Popen:
        """Start `code` (see script_source) in the background; collect its result with script_result()."""
        return self.start(name, [PYTHON, "-c", script_source(code)], env)

    def script_result(self, proc: subprocess.Popen, timeout: float = 60):
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(proc, grace=1)
            raise AssertionError(f"{proc.name} did not finish in {timeout:.0f} s:\n{self.log(proc)}") from None
        output = proc.log_path.read_text(errors="replace")
        assert proc.returncode == 0, f"{proc.name} exited {proc.returncode}:\n{output[-4000:]}"
        for line in reversed(output.splitlines()):
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK):])
        raise AssertionError(f"{proc.name} printed no result:\n{output[-4000:]}")

    @staticmethod
    def _signal_group(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # the group id is the leader's pid (start_new_session)
        except ProcessLookupError:
            pass

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the whole process group at once, as a crash or an OOM kill of the host would."""
        self._signal_group(proc, signal.SIGKILL)
        proc.wait(timeout=10)
        self._reap_group(proc)

    def stop(self, proc: subprocess.Popen, grace: float = 5) -> None:
        """SIGTERM the process group; SIGKILL it if it has not ended within `grace` seconds."""
        if proc.poll() is None:
            self._signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
        self._reap_group(proc)

    def _reap_group(self, proc: subprocess.Popen) -> None:
        # Children that outlived their leader (e.g. qcluster workers) still belong to its group.
        self._signal_group(proc, signal.SIGKILL)
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self, grace: float = 3) -> None:
        """SIGTERM every group at once, give them `grace` seconds together, then SIGKILL what is left."""
        procs = list(self.running)
        for proc in procs:
            if proc.poll() is None:
                self._signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
            self._reap_group(proc)


# --- the platform's own commands --------------------------------------------------------------------------------

def platform_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """The outer environment without the platform's own knobs and proxies, plus a data dir and `overrides`."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(_OWN_PREFIXES) and key not in _OWN_NAMES and key.lower() not in _PROXY_NAMES}
    env.update({
        "DJANGO_SETTINGS_MODULE": "metastudio.settings",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "METASTUDIO_DATA_DIR": str(data_dir),
        "SECRET_KEY": "integration-test-secret-key-not-for-production",
        "LOG_LEVEL": "WARNING",
    })
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run `manage.py args` to completion; return its output, fail with it on a non-zero exit."""
    return manage_all(env, [list(args)], timeout=timeout)[0]


def manage_all(env: dict[str, str], commands: list[list[str]], timeout: float = 120) -> list[str]:
    """Run several `manage.py` commands side by side; return their outputs in order."""
    running = [(args, subprocess.Popen([PYTHON, "manage.py", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
               for args in commands]
    outputs = []
    for args, proc in running:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for _, other in running:
                other.kill()
                other.communicate()
            raise AssertionError(f"manage.py {' '.join(args)} ran over {timeout:.0f} s") from None
        assert proc.returncode == 0, f"manage.py {' '.join(args)} exited {proc.returncode}:\n{stdout}\n{stderr}"
        outputs.append(stdout)
    return outputs


def script_source(code: str) -> str:
    """A python program: django.setup(), then `code`, which leaves a JSON-able value in `result`."""
    return (
        "import json, django\ndjango.setup()\nresult = None\n"
        + textwrap.dedent(code)
        + f"\nprint({RESULT_MARK!r} + json.dumps(result, default=str), flush=True)\n"
    )


def django_script(env: dict[str, str], code: str, timeout: float = 120):
    """Run `code` in a fresh interpreter with `env` after django.setup(); return the `result` it set."""
    done = subprocess.run([PYTHON, "-c", script_source(code)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"script exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    raise AssertionError(f"script printed no result:\n{done.stdout}\n{done.stderr}")


# --- HTTP (stdlib, never through a proxy) ------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, body=None, headers: dict[str, str] | None = None, timeout: float = 15) -> Reply:
    headers = dict(headers or {})
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    return http_bytes(method, url, None if body is None else json.dumps(body).encode(), headers, timeout)


def http_bytes(method: str, url: str, data: bytes | None, headers: dict[str, str] | None = None,
               timeout: float = 15) -> Reply:
    """A request with a raw body (e.g. a file PUT)."""
    assert url.startswith(f"http://{HOST}:"), f"loopback only: {url}"
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


# --- private servers -----------------------------------------------------------------------------------------------

def missing_service_binaries() -> list[str]:
    missing = [str(PG_BIN / name) for name in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / name).exists()]
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser")
    return missing


@dataclass
class PostgresCluster:
    """A throw-away PostgreSQL cluster on 127.0.0.1:port, owned by the `postgres` OS user when we are root."""

    port: int = field(default_factory=free_port)
    # Under /tmp, not TMPDIR: the postgres user must be able to reach it.
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="metastudio-pg-", dir="/tmp")))
    started: bool = False

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        log = self.root / "server.log"
        server_log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        assert done.returncode == 0, f"{args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}\n{server_log}"

    def start(self) -> None:
        (self.root / "sock").mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.root / "sock", "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.root / "data"), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        options = (f"-c listen_addresses={HOST} -p {self.port} -k {self.root / 'sock'} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        self.started = True

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@{HOST}:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgres://postgres@{HOST}:{self.port}/{name}"

    def stop(self) -> None:
        try:
            if self.started:
                self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_redis(procs: Processes, workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = procs.start("redis", ["redis-server", "--bind", HOST, "--port", str(port), "--save", "",
                                 "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "yes"], env=dict(
        os.environ))
    return proc, port


def start_moto(procs: Processes) -> tuple[subprocess.Popen, int]:
    port = free_port()
    moto = Path(PYTHON).parent / "moto_server"
    proc = procs.start("moto", [str(moto), "-H", HOST, "-p", str(port)], env=platform_env(Path(tempfile.gettempdir())))
    return proc, port


def s3_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(proxies={}, retries={"max_attempts": 2}))
