"""Figure "rate-limit accuracy": for a 10/s API, over 5 s of 50 req/s, the accepted count is within 10 % of 50.

A real server is started on 127.0.0.1 (`manage.py runplatform --no-worker`, a throwaway data dir), a tenant
and an X-Auth-Token are created against the same database, then GET /v1/{project_id}/export-jobs ("export.list":
10/s per tenant in cn-east-3, the tenant's cn-east-3 project) is fired at exactly 50 requests/s for 5 s by a
scheduler thread and a pool of sender threads (so latency does not lower the rate). 200s are counted as
accepted, 429s must carry APIGW.0308. Baseline of the same run: the ideal count, limit x duration = 50.

The limiter counts in whole-second windows, so the result can depend on where in a second the burst starts:
by default the burst is repeated at four start phases (0, 0.25, 0.5, 0.75 s past a whole second), 2 s apart so
the windows of one trial are gone before the next. The headline figure is the worst trial; "met" means every
trial is within 10 %.

--redis: a private redis-server (loopback, free port, no persistence) and two runplatform (daphne) processes
with REDIS_URL, the requests alternating between them: cross-process enforcement (figure
"rate_limit_accuracy_redis"). --processes 2 without --redis is the contrast: per-process LocMem counters.

    .venv/bin/python benchmarks/rate_limit_accuracy.py [--redis] [--phases 0,0.25,0.5,0.75]
"""

import argparse
import http.client
import json
import queue
import shutil
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

API_KEY, REGION = "export.list", "cn-east-3"
RATE = 50  # requests per second sent
DURATION = 5.0  # seconds
SENDERS = 16  # enough that 16 x 20 ms = 320 ms of server latency still keeps the pace
TOLERANCE_PCT = 10.0
REDIS_SERVER = "/usr/bin/redis-server"


def make_fixture() -> dict:
    from tenancy import actions
    from tenancy.audit import Actor
    from tests.factories import make_tenant

    tenant = make_tenant(region=REGION, name="bench-ratelimit")
    _, token = actions.issue_token(Actor.system(tenant.account), tenant.owner, tenant.project)
    return {"project_id": tenant.project_id, "token": token}


def fire(ports: list[int], path: str, headers: dict, start_at: float, deadline: float) -> dict:
    """Send RATE x DURATION requests, request i at start_at + i / RATE (wall clock), round-robin over ports."""
    total = int(RATE * DURATION)
    slots: queue.Queue = queue.Queue()
    results: list[tuple[int, int, bytes, float]] = []  # (index, status, body, lateness in s)
    lock = threading.Lock()

    def sender():
        connections = {port: http.client.HTTPConnection(common.LOOPBACK, port, timeout=5) for port in ports}
        try:
            while True:
                item = slots.get()
                if item is None:
                    return
                index, due = item
                lateness = time.time() - due
                port = ports[index % len(ports)]
                try:
                    status, body = common.request(port, "GET", path, headers, connection=connections[port])
                except (OSError, http.client.HTTPException) as error:
                    connections[port].close()
                    status, body = -1, repr(error).encode()
                with lock:
                    results.append((index, status, body, lateness))
        finally:
            for conn in connections.values():
                conn.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    try:
        for index in range(total):
            due = start_at + index / RATE
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            if time.monotonic() > deadline:
                break
            slots.put((index, due))
    finally:
        for _ in threads:
            slots.put(None)
        for thread in threads:
            thread.join(timeout=10)
    statuses = [status for _, status, _, _ in results]
    throttled = [body for _, status, body, _ in results if status == 429]
    late = [lateness for *_, lateness in results]
    return {
        "sent": len(results),
        "accepted": statuses.count(200),
        "throttled": len(throttled),
        "other": len(results) - statuses.count(200) - len(throttled),
        "throttled_with_APIGW.0308": sum(1 for body in throttled if _error_code(body) == "APIGW.0308"),
        "max_dispatch_lateness_ms": round(max(late, default=0.0) * 1000, 1),
        **({"accepted_per_server": [sum(1 for index, status, _, _ in results
                                        if status == 200 and index % len(ports) == number)
                                    for number in range(len(ports))]} if len(ports) > 1 else {}),
        "other_samples": [body[:200].decode(errors="replace") for _, status, body, _ in results
                          if status not in (200, 429)][:3],
    }


def _error_code(body: bytes) -> str | None:
    try:
        return json.loads(body).get("error_code")
    except ValueError:
        return None


def next_start(phase: float, not_before: float) -> float:
    """The first wall-clock time >= not_before that lies `phase` seconds past a whole second."""
    start = int(not_before) + phase
    while start < not_before:
        start += 1.0
    return start


def run_trials(ports: list[int], fixture: dict, phases: list[float], deadline: float) -> list[dict]:
    path = f"/v1/{fixture['project_id']}/export-jobs"
    headers = {"X-Auth-Token": fixture["token"]}
    # Warm the server (imports, first DB connection) on this very route, then let its windows expire.
    for port in ports:
        status, body = common.request(port, "GET", path, headers, timeout=30)
        if status != 200:
            raise RuntimeError(f"warm-up call answered HTTP {status}: {body[:300]!r}")
    trials = []
    not_before = time.time() + 2.5
    for phase in phases:
        start_at = next_start(phase, not_before)
        outcome = fire(ports, path, headers, start_at, deadline)
        trials.append({"start_phase_s": phase, **outcome})
        not_before = time.time() + 2.5  # two full windows without traffic
    return trials


def figure(name: str, mode: str, limit: int, trials: list[dict]) -> dict:
    expected = limit * DURATION
    for trial in trials:
        trial["error_pct"] = round(100.0 * (trial["accepted"] - expected) / expected, 1)
    worst = max(trials, key=lambda trial: abs(trial["error_pct"]))
    accepted = [trial["accepted"] for trial in trials]
    return {
        "figure": name,
        "mode": mode,
        "api": f"GET /v1/{{project_id}}/export-jobs ({API_KEY}, {REGION})",
        "limit_per_s": limit,
        "rate_per_s": RATE,
        "duration_s": DURATION,
        "sent": worst["sent"],
        "accepted": worst["accepted"],
        "expected": int(expected),
        "error_pct": worst["error_pct"],
        "mean_accepted": round(sum(accepted) / len(accepted), 1),
        "trials": trials,
        "tolerance_pct": TOLERANCE_PCT,
        "met": all(abs(trial["error_pct"]) <= TOLERANCE_PCT and trial["other"] == 0
                   and trial["throttled_with_APIGW.0308"] == trial["throttled"]
                   and trial["sent"] == int(RATE * DURATION) for trial in trials),
    }


def human(result: dict) -> str:
    per_trial = ", ".join(f"{t['accepted']}@{t['start_phase_s']:g}s" for t in result["trials"])
    return (
        f"Rate-limit accuracy ({result['mode']}): {result['rate_per_s']} req/s for {result['duration_s']:g} s at a "
        f"{result['limit_per_s']}/s API -> accepted {per_trial} (per start phase) vs ideal {result['expected']}; "
        f"worst error {result['error_pct']:+.1f} % (tolerance {result['tolerance_pct']:g} %): "
        f"{'met' if result['met'] else 'NOT met'}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", action="store_true", help="two daphne processes sharing a private redis-server")
    parser.add_argument("--phases", default="0,0.25,0.5,0.75",
                        help="start phases in seconds past a whole second, comma-separated")
    parser.add_argument("--processes", type=int, default=None,
                        help="web processes sharing the requests (default 1, or 2 with --redis); more than one "
                             "without --redis shows what a per-process (LocMem) counter lets through")
    parser.add_argument("--budget", type=float, default=110.0, help="abort after this many seconds (default 110)")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.budget
    common.exit_on_sigterm()
    phases = [float(value) % 1.0 for value in args.phases.split(",") if value.strip()]
    if args.redis and not Path(REDIS_SERVER).exists() and not shutil.which("redis-server"):
        print(json.dumps({"figure": "rate_limit_accuracy_redis", "skipped": "redis-server not installed"}))
        return 0

    with common.temp_data_dir("ratelimit") as data_dir, common.Processes() as processes:
        extra = {"METASTUDIO_RATE_LIMIT_ENABLED": "true"}
        if args.redis:
            redis_port = common.free_port()
            redis_log = data_dir / "redis.log"
            processes.start([shutil.which("redis-server") or REDIS_SERVER, "--bind", common.LOOPBACK,
                             "--port", str(redis_port), "--save", "", "--appendonly", "no",
                             "--dir", str(data_dir)], common.base_env(data_dir), redis_log)
            wait_redis(redis_port, deadline)
            extra["REDIS_URL"] = f"redis://{common.LOOPBACK}:{redis_port}/0"
        env = common.base_env(data_dir, **extra)
        common.setup_django(env)
        from django.db import connections

        from metastudio.api.ratelimit_table import limit_for

        limit = limit_for(API_KEY, REGION)
        common.migrate()
        fixture = make_fixture()
        connections.close_all()

        processes_wanted = args.processes or (2 if args.redis else 1)
        ports = [common.free_port() for _ in range(max(1, min(processes_wanted, 4)))]
        for number, port in enumerate(ports):
            common.start_platform(processes, env, port, data_dir / f"server-{number}.log")
        trials = run_trials(ports, fixture, phases, deadline)
        if args.redis:
            result = figure("rate_limit_accuracy_redis",
                            f"{len(ports)} runplatform processes + shared redis-server, loopback", limit, trials)
        elif len(ports) > 1:
            result = figure("rate_limit_accuracy_unshared",
                            f"{len(ports)} runplatform processes, each its own LocMem cache, loopback", limit, trials)
        else:
            result = figure("rate_limit_accuracy", "one runplatform process, LocMem cache, loopback", limit, trials)
        common.emit(result, human(result))
    return 0


def wait_redis(port: int, deadline: float) -> None:
    import socket

    stop = min(deadline, time.monotonic() + 15)
    while time.monotonic() < stop:
        try:
            with socket.create_connection((common.LOOPBACK, port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"redis-server on port {port} did not answer")


if __name__ == "__main__":
    sys.exit(main())
