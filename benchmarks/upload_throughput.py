"""Figure "upload throughput": a 1 GB file through the embedded upload URL vs `cp` of the same file.
Goal: >= 50 % of cp's speed, memory flat (the web server's peak RSS under 150 MB).

A real server is started on 127.0.0.1 (`manage.py runplatform --no-worker`, a throwaway data dir, rate limiting
off); a tenant and an X-Auth-Token are made against the same database; the asset and the file are created through
the API (`POST /digital-assets`, `POST /files` with the file's size and MD5); the file is streamed with http.client
in 1 MiB chunks to the signed upload URL (`PUT /uploads/{file_id}?token=...`), then `POST /files/{id}/complete`
verifies size and MD5 and moves it into storage. Judged: PUT + complete (the file is stored only after complete).

Baseline of the same run: `cp` of the same source file to the same file system (the source is in the page cache
for both; neither fsyncs), run before and after the upload; the faster of the two is used (the stricter baseline).

Memory: a sampler thread reads /proc/<pid>/status (VmRSS) of runplatform and every descendant (uvicorn) every
20 ms; the web server process's VmHWM (kernel-kept peak) is read just before the server stops.

    .venv/bin/python benchmarks/upload_throughput.py [--size-mb 1024] [--budget 170]
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

CHUNK = 1024 * 1024
GOAL_RATIO = 0.5
GOAL_RSS_MB = 150.0


# --- the source file ------------------------------------------------------------------------------------------

def make_source(path: Path, size_mb: int) -> str:
    """Write `size_mb` MiB of incompressible bytes; return their MD5 (base64, as POST /files wants it)."""
    digest = hashlib.md5(usedforsecurity=False)
    block = bytearray(os.urandom(CHUNK))
    with open(path, "wb") as out:
        for index in range(size_mb):
            block[:8] = index.to_bytes(8, "little")  # every chunk differs
            digest.update(block)
            out.write(block)
    return base64.b64encode(digest.digest()).decode()


def time_cp(source: Path, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True, timeout=120)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


# --- memory of the server ------------------------------------------------------------------------------------

def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class RssSampler(threading.Thread):
    """Max VmRSS of each process of the server tree, and of their sum, sampled every 20 ms."""

    def __init__(self, root_pid: int):
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.stop_event = threading.Event()
        self.max_per_pid: dict[int, int] = {}
        self.max_total_kb = 0
        self.samples = 0

    def sample(self) -> None:
        total = 0
        for pid in descendants(self.root_pid):
            rss = status_kb(pid, "VmRSS")
            total += rss
            self.max_per_pid[pid] = max(self.max_per_pid.get(pid, 0), rss)
        self.max_total_kb = max(self.max_total_kb, total)
        self.samples += 1

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(0.02)


def web_server_pid(root_pid: int) -> int | None:
    for pid in descendants(root_pid):
        if "uvicorn" in cmdline(pid):
            return pid
    return None


# --- the platform side ------------------------------------------------------------------------------------------

def make_fixture() -> dict:
    from tenancy import actions
    from tenancy.audit import Actor
    from tests.factories import make_tenant

    tenant = make_tenant(region="cn-north-4", name="bench-upload")
    _, token = actions.issue_token(Actor.system(tenant.account), tenant.owner, tenant.project)
    return {"project_id": tenant.project_id, "token": token}


def api(port: int, method: str, path: str, token: str, body: dict | None = None, timeout: float = 120.0):
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(common.LOOPBACK, port, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    parsed = json.loads(data) if data else {}
    if response.status >= 300:
        raise RuntimeError(f"{method} {path} answered HTTP {response.status}: {data[:300]!r}")
    return parsed


def stream_put(port: int, path: str, source: Path, size: int, deadline: float) -> dict:
    """PUT the file in 1 MiB chunks; returns timings of sending the body and of waiting for the answer."""
    conn = http.client.HTTPConnection(common.LOOPBACK, port, timeout=max(10.0, deadline - time.monotonic()))
    try:
        started = time.perf_counter()
        conn.putrequest("PUT", path, skip_accept_encoding=True)
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        with open(source, "rb") as handle:
            while True:
                if time.monotonic() > deadline:
                    raise RuntimeError("time budget exhausted while sending the body")
                chunk = handle.read(CHUNK)
                if not chunk:
                    break
                conn.send(chunk)
        sent = time.perf_counter()
        response = conn.getresponse()
        body = response.read()
        answered = time.perf_counter()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"PUT answered HTTP {response.status}: {body[:300]!r}")
    if response.getheader("Upload-Offset") != str(size):
        raise RuntimeError(f"PUT stored {response.getheader('Upload-Offset')} of {size} bytes")
    return {"send_s": sent - started, "server_after_send_s": answered - sent, "put_s": answered - started}


def measure(args, data_dir: Path, deadline: float) -> dict:
    env = common.base_env(data_dir, METASTUDIO_RATE_LIMIT_ENABLED="false")
    common.setup_django(env)
    from django.db import connections

    common.migrate()
    fixture = make_fixture()
    connections.close_all()

    size = args.size_mb * CHUNK
    source = data_dir / "source.bin"
    md5 = make_source(source, args.size_mb)
    cp_before = time_cp(source, data_dir / "cp-copy.bin")

    with common.Processes() as processes:
        port = common.free_port()
        server = common.start_platform(processes, env, port, data_dir / "server.log")
        pid_web = web_server_pid(server.pid)
        if pid_web is None:
            raise RuntimeError("no uvicorn process under runplatform")
        base = f"/v1/{fixture['project_id']}"
        token = fixture["token"]
        # Warm the server on the API paths the upload uses (imports, first DB connection).
        warm = api(port, "POST", f"{base}/digital-assets", token,
                   {"asset_name": "warm-up", "asset_type": "COMMON_FILE"})
        warm_file = api(port, "POST", f"{base}/files", token,
                        {"asset_id": warm["asset_id"], "file_name": "warm.bin", "file_size": 3})
        warm_path = warm_file["upload_url"].split(f"{common.LOOPBACK}:{port}", 1)[1]
        conn = http.client.HTTPConnection(common.LOOPBACK, port, timeout=30)
        conn.request("PUT", warm_path, body=b"abc")
        conn.getresponse().read()
        conn.close()
        api(port, "POST", f"{base}/files/{warm_file['file_id']}/complete", token, {"state": "CREATED"})

        sampler = RssSampler(server.pid)
        sampler.sample()
        rss_before_kb = status_kb(pid_web, "VmRSS")
        hwm_before_kb = status_kb(pid_web, "VmHWM")
        sampler.start()
        try:
            asset = api(port, "POST", f"{base}/digital-assets", token,
                        {"asset_name": "upload-benchmark", "asset_type": "COMMON_FILE"})
            created = api(port, "POST", f"{base}/files", token,
                          {"asset_id": asset["asset_id"], "file_name": "big.bin", "file_size": size, "file_md5": md5})
            path = created["upload_url"].split(f"{common.LOOPBACK}:{port}", 1)[1]
            put = stream_put(port, path, source, size, deadline)
            started = time.perf_counter()
            done = api(port, "POST", f"{base}/files/{created['file_id']}/complete", token, {"state": "CREATED"})
            complete_s = time.perf_counter() - started
        finally:
            sampler.stop_event.set()
            sampler.join(timeout=5)
        if done.get("state") != "CREATED":
            raise RuntimeError(f"complete answered {done}")
        hwm_kb = status_kb(pid_web, "VmHWM")
        rss_after_kb = status_kb(pid_web, "VmRSS")
        stored = data_dir / "media" / "assets"
        stored_size = sum(p.stat().st_size for p in stored.rglob("big.bin"))
        if stored_size != size:
            raise RuntimeError(f"stored {stored_size} bytes, expected {size}")

    cp_after = time_cp(source, data_dir / "cp-copy.bin")
    cp_s = min(cp_before, cp_after)
    total_s = put["put_s"] + complete_s
    mib = size / CHUNK
    peak_rss_mb = max(hwm_kb, sampler.max_per_pid.get(pid_web, 0)) / 1024
    return {
        "figure": "upload_throughput",
        "size_mb": args.size_mb,
        "upload_s": round(total_s, 3),
        "put_s": round(put["put_s"], 3),
        "put_send_s": round(put["send_s"], 3),
        "put_server_after_send_s": round(put["server_after_send_s"], 3),
        "complete_s": round(complete_s, 3),
        "cp_s": round(cp_s, 3),
        "cp_runs_s": [round(cp_before, 3), round(cp_after, 3)],
        "upload_mib_per_s": round(mib / total_s, 1),
        "put_only_mib_per_s": round(mib / put["put_s"], 1),
        "cp_mib_per_s": round(mib / cp_s, 1),
        "ratio_of_cp": round(cp_s / total_s, 3),
        "put_only_ratio_of_cp": round(cp_s / put["put_s"], 3),
        "server_rss_before_mb": round(rss_before_kb / 1024, 1),
        "server_hwm_before_mb": round(hwm_before_kb / 1024, 1),
        "server_peak_rss_mb": round(peak_rss_mb, 1),
        "server_rss_after_mb": round(rss_after_kb / 1024, 1),
        "server_tree_peak_rss_mb": round(sampler.max_total_kb / 1024, 1),
        "rss_samples": sampler.samples,
        "goal_ratio": GOAL_RATIO,
        "goal_peak_rss_mb": GOAL_RSS_MB,
        "met_speed": cp_s / total_s >= GOAL_RATIO,
        "met_memory": peak_rss_mb < GOAL_RSS_MB,
        "met": cp_s / total_s >= GOAL_RATIO and peak_rss_mb < GOAL_RSS_MB,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def human(result: dict) -> str:
    speed = "met" if result["met_speed"] else "NOT met"
    memory = "met" if result["met_memory"] else "NOT met"
    return (
        f"Upload throughput ({result['size_mb']} MiB): PUT + complete {result['upload_s']:.2f} s "
        f"({result['upload_mib_per_s']:g} MiB/s; PUT alone {result['put_s']:.2f} s, "
        f"complete {result['complete_s']:.2f} s) vs cp {result['cp_s']:.2f} s ({result['cp_mib_per_s']:g} MiB/s) "
        f"-> {100 * result['ratio_of_cp']:.0f} % of cp (goal >= {100 * result['goal_ratio']:.0f} %: {speed}); "
        f"web server peak RSS {result['server_peak_rss_mb']:g} MB (before {result['server_rss_before_mb']:g} MB; "
        f"goal < {result['goal_peak_rss_mb']:g} MB: {memory})"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the file in MiB (default 1024)")
    parser.add_argument("--budget", type=float, default=170.0, help="abort after this many seconds (default 170)")
    args = parser.parse_args(argv)
    if not 1 <= args.size_mb <= 4096:
        parser.error("--size-mb must be between 1 and 4096")
    deadline = time.monotonic() + args.budget
    common.exit_on_sigterm()
    with common.temp_data_dir("upload") as data_dir:
        result = measure(args, data_dir, deadline)
    common.emit(result, human(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
