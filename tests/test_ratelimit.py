"""Per-tenant, per-API rate limits: the sliding-window limiter with simulated time, the API throttle with
the product table's limits per region, and cross-process enforcement through a private Redis."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from metastudio.api import ratelimit
from metastudio.api.ratelimit_table import RATE_LIMITS
from metastudio.jobs import Job
from tests.api_helpers import fast_password_hashing  # noqa: F401

T0 = 1_700_000_000.0  # a simulated clock that starts on a window boundary


# --- the limiter with explicit time -------------------------------------------------------------

def accepted(times, limit: int, scope: str = "unit") -> int:
    return sum(ratelimit.hit(scope, limit, now=now)[0] for now in times)


@pytest.mark.parametrize("start", [T0, T0 + 0.05, T0 + 0.37, T0 + 0.5, T0 + 0.93])
def test_even_traffic_at_the_limit(start):
    # 50 calls evenly spaced over 5 s of simulated time on a 10/s limit: within 10% of 50 pass.
    assert 45 <= accepted([start + i * 0.1 for i in range(50)], 10) <= 55


@pytest.mark.parametrize("start", [T0, T0 + 0.05, T0 + 0.37, T0 + 0.5, T0 + 0.93])
def test_pacing_at_the_limit_is_not_throttled(start):
    """A client pacing itself at the limit (its calls a hair over 0.1 s apart on a 10/s API) gets every call
    through, whatever its phase against the one-second buckets."""
    assert accepted([start + i * 0.1001 for i in range(50)], 10) == 50


@pytest.mark.parametrize("start", [T0 + 0.21, T0 + 0.5, T0 + 0.99])
def test_one_per_second_client_on_a_one_per_second_api(start):
    """The 1/s APIs (export, download, delete, import): a client calling once a second, or a little slower,
    is never throttled."""
    assert accepted([start + i * 1.0 for i in range(20)], 1, scope="a") == 20
    assert accepted([start + i * 1.1 for i in range(20)], 1, scope="b") == 20
    assert accepted([start + i * 1.7 for i in range(20)], 1, scope="c") == 20
    # ... while two calls within one window are not both accepted.
    assert accepted([T0 + 40.1, T0 + 40.7], 1, scope="d") == 1


@pytest.mark.parametrize("start", [T0, T0 + 0.33])
def test_hammering_a_one_per_second_api_gets_one_per_second(start):
    # 20 calls a second for 10 s on a 1/s API: the documented rate on average, not more and not half of it.
    times = [start + i * 0.05 for i in range(200)]  # spanning 9.95 s: room for 10 calls a second apart
    assert 9 <= accepted(times, 1) <= 11  # the window slides in 100 ms slots


@pytest.mark.parametrize("start", [T0, T0 + 0.3, T0 + 0.77])
def test_double_rate_is_cut_to_the_limit(start):
    # 100 calls over 5 s (20/s) on a 10/s limit: about 50 pass, not 100.
    count = accepted([start + i * 0.05 for i in range(100)], 10)
    assert 45 <= count <= 55


def test_burst_gets_exactly_the_limit():
    results = [ratelimit.hit("burst", 10, now=T0 + 0.4) for _ in range(30)]
    assert sum(allowed for allowed, _ in results) == 10
    assert all(allowed for allowed, _ in results[:10])
    assert not any(allowed for allowed, _ in results[10:])
    # Those rejected are told to wait until the burst is a second old.
    assert all(wait == pytest.approx(1.0) for _, wait in results[10:])
    assert results[0][1] == 0.0


def test_rejected_calls_do_not_count():
    # A client hammering a 10/s limit: only the 10 accepted calls count, not the 1000 attempts.
    assert accepted([T0 + 0.5] * 1000, 10) == 10
    assert accepted([T0 + 1.2] * 20, 10) == 0  # the 10 are 0.7 s old: still within the last second
    assert accepted([T0 + 1.5] * 20, 10) == 10  # a second later the 10 have slid out, the 1010 rejected never counted
    assert accepted([T0 + 2.2] * 20, 10) == 0


def test_scopes_are_independent():
    assert accepted([T0] * 15, 10, scope="tenant-a:api") == 10
    assert accepted([T0] * 15, 10, scope="tenant-b:api") == 10
    assert accepted([T0] * 15, 5, scope="tenant-a:other-api") == 5


def test_sliding_window_limits_a_window_straddling_burst():
    # 10 calls late in one second, then a burst just after the boundary: the sliding window still counts
    # the late ones, so the burst is not a fresh 10 (to the 100 ms slot).
    assert accepted([T0 + 0.95] * 10, 10) == 10
    assert accepted([T0 + 1.05] * 10, 10) == 0
    assert accepted([T0 + 1.84] * 10, 10) == 0
    assert accepted([T0 + 1.96] * 10, 10) == 10


@pytest.mark.parametrize("gap", [0.003, 0.03, 0.5, 0.85])
def test_two_calls_within_a_second_across_a_boundary(gap):
    # On a 1/s API two calls less than a second apart (less 100 ms, the slot) are not both accepted, even
    # across a slot or second boundary.
    for start in (T0 + 0.99, T0 + 10.999, T0 + 20.7):
        assert accepted([start, start + gap], 1, scope=f"pair:{start}") == 1


# --- the API throttle -----------------------------------------------------------------------------

def in_one_window(scenario, attempts: int = 5):
    """Run `scenario` starting just after a one-second boundary; repeat it (fresh counters) if it did not
    finish within that same second, so its assertions can be exact."""
    for _ in range(attempts):
        cache.clear()
        time.sleep(1.0 - time.time() % 1.0 + 0.01)
        window = int(time.time())
        result = scenario()
        if int(time.time()) == window:
            return result
    pytest.fail(f"the scenario never finished within one second in {attempts} tries (machine too slow?)")


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content[:300]
    body = response.json()
    assert set(body) == {"error_code", "error_msg"}
    assert body["error_code"] == "APIGW.0308"
    assert "throttling" in body["error_msg"].lower()
    assert response["Retry-After"] == "1"


def statuses(responses) -> list[int]:
    return [response.status_code for response in responses]


def test_table_limits_used_here():
    assert RATE_LIMITS["export.list"].per_tenant == {"cn-north-4": 20, "cn-east-3": 10, "ap-southeast-1": 10}
    assert RATE_LIMITS["export.create"].per_tenant["cn-north-4"] == 1


def test_export_list_limit_per_region(tenant, api):
    client = api(tenant.owner)
    north = f"/v1/{tenant.project_id}/export-jobs"
    east = f"/v1/{tenant.account.projects.get(region='cn-east-3').project_id}/export-jobs"

    def scenario():
        answers = {"north": [], "east": []}
        for index in range(22):  # interleaved: each project of the account counts on its own
            answers["north"].append(client.get(north))
            if index < 12:
                answers["east"].append(client.get(east))
        return answers

    answers = in_one_window(scenario)
    assert statuses(answers["north"]) == [200] * 20 + [429] * 2
    assert statuses(answers["east"]) == [200] * 10 + [429] * 2
    for response in answers["north"][20:] + answers["east"][10:]:
        assert_throttled(response)


def test_other_tenant_not_affected(tenant, other_tenant, api):
    mine, theirs = api(tenant.owner), api(other_tenant.owner)

    def scenario():
        answers = {"mine": [], "theirs": []}
        for _ in range(22):
            answers["mine"].append(mine.get(f"/v1/{tenant.project_id}/export-jobs"))
            answers["theirs"].append(theirs.get(f"/v1/{other_tenant.project_id}/export-jobs"))
        return answers

    answers = in_one_window(scenario)
    assert statuses(answers["mine"]) == [200] * 20 + [429] * 2
    assert statuses(answers["theirs"]) == [200] * 20 + [429] * 2


def test_export_create_one_per_second(tenant, api):
    client = api(tenant.owner)
    path = f"/v1/{tenant.project_id}/export-jobs"

    def scenario():
        return (client.post(path, {"format": "CSV"}, format="json"),
                client.post(path, {"format": "CSV"}, format="json"),
                client.get(path))  # another API of the same tenant has its own counter

    first, second, listed = in_one_window(scenario)
    assert first.status_code == 201
    assert_throttled(second)
    assert listed.status_code == 200
    jobs = Job.objects.filter(account=tenant.account).count()
    # A client that honours Retry-After gets through on its next try.
    time.sleep(int(second["Retry-After"]))
    third = client.post(path, {"format": "CSV"}, format="json")
    assert third.status_code == 201, third.content
    assert Job.objects.filter(account=tenant.account).count() == jobs + 1


def test_rate_limit_can_be_disabled(tenant, api, settings):
    settings.RATE_LIMIT_ENABLED = False
    client = api(tenant.owner)
    path = f"/v1/{tenant.project_id}/export-jobs"
    assert statuses(client.get(path) for _ in range(30)) == [200] * 30


# --- cross-process enforcement through Redis ------------------------------------------------------

REDIS_SERVER = "/usr/bin/redis-server"

HIT_SCRIPT = """
import json, pathlib, sys, time
import django
django.setup()
from django.core.cache import caches
from metastudio.api import ratelimit
scope, limit, now, tries = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
ready, processes = pathlib.Path(sys.argv[5]), int(sys.argv[6])
(ready / str(time.time_ns())).touch()
deadline = time.time() + 30
while len(list(ready.iterdir())) < processes and time.time() < deadline:  # start together
    time.sleep(0.002)
accepted = sum(ratelimit.hit(scope, limit, now=now)[0] for _ in range(tries))
print(json.dumps({"accepted": accepted, "cache": type(caches["default"]).__name__}))
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    if not (os.path.exists(REDIS_SERVER) or shutil.which("redis-server")):
        pytest.skip(f"redis-server is not installed ({REDIS_SERVER} missing): cross-process limit not tested")
    binary = REDIS_SERVER if os.path.exists(REDIS_SERVER) else shutil.which("redis-server")
    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                pytest.fail(f"the private redis-server on port {port} did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_hitters(tmp_path: Path, env_extra: dict, *, processes: int, scope: str, limit: int, tries: int) -> list:
    ready = tmp_path / f"ready-{uuid.uuid4().hex}"
    ready.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "metastudio.settings", "METASTUDIO_DATA_DIR": str(tmp_path),
           "SECRET_KEY": "rate-limit-test", "PYTHONPATH": str(settings.BASE_DIR), **env_extra}
    if not env_extra.get("REDIS_URL"):
        env.pop("REDIS_URL", None)
    now = str(T0 + 0.5)
    workers = [subprocess.Popen([sys.executable, "-c", HIT_SCRIPT, scope, str(limit), now, str(tries), str(ready),
                                 str(processes)], cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    results = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr[-3000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


def test_limit_is_shared_across_processes_through_redis(redis_url, tmp_path):
    limit, tries = 25, 200
    scope = f"cross-process:{uuid.uuid4().hex}"
    results = run_hitters(tmp_path, {"REDIS_URL": redis_url}, processes=2, scope=scope, limit=limit, tries=tries)
    assert {result["cache"] for result in results} == {"RedisCache"}
    assert sum(result["accepted"] for result in results) == limit  # not 2 x limit


def test_without_redis_each_process_counts_alone(tmp_path):
    """The embedded default (one web process, in-process cache): the counter is per process. This is what the
    Redis test above would see if the limiter did not share its counters."""
    results = run_hitters(tmp_path, {}, processes=2, scope="local", limit=25, tries=200)
    assert {result["cache"] for result in results} == {"LocMemCache"}
    assert [result["accepted"] for result in results] == [25, 25]


def test_forget_gives_the_request_back():
    assert ratelimit.hit("forget", 1, now=T0 + 0.2)[0]
    assert not ratelimit.hit("forget", 1, now=T0 + 0.3)[0]
    ratelimit.forget("forget", T0 + 0.2)
    assert ratelimit.hit("forget", 1, now=T0 + 0.3)[0]
