"""Figure "API overhead": p50/p95 latency of an authenticated list call vs a bare Django view returning the
same JSON bytes; goal: overhead under 3 ms p50 on the embedded default (SQLite, LocMem cache).

Measured variants, interleaved request by request (rotating order) so drift hits all alike:
  token  GET /v1/{project_id}/iam/users?limit=10 with X-Auth-Token
  signed the same call signed with AK/SK (SDK-HMAC-SHA256), a fresh signature per request (signing not timed)
  bare   GET /bench/bare: a plain Django view (benchmarks/bench_urls.py) that returns the token call's exact
         response bytes, behind the same middleware, with no authentication and no database access
  bare_db GET /bench/bare-db/{project_id}: a plain Django view that builds the same JSON from the database
         (same page, same prefetches) without authentication, IAM, rate limiting or DRF. The goal is judged
         on the overhead over this one: what the API layer adds to the same work.

The core figure is in-process (django.test.Client). With --http the same comparison also runs over loopback
HTTP against a real daphne process this script starts and stops (a second JSON line, "api_overhead_http").
Rate limiting is switched off (METASTUDIO_RATE_LIMIT_ENABLED=false) so no call is ever answered 429.

    .venv/bin/python benchmarks/api_overhead.py [--iterations 500] [--http]
"""

import argparse
import gc
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

GOAL_MS = 3.0
TOTAL_USERS = 10  # the page of limit=10 is full


def make_fixture() -> dict:
    """A tenant with 10 IAM users; an X-Auth-Token and an access key of its FullAccess owner."""
    from tenancy import actions
    from tenancy.audit import Actor
    from tests.factories import make_tenant, make_user

    tenant = make_tenant(region="cn-north-4", name="bench-overhead")
    for number in range(TOTAL_USERS - 3):
        make_user(tenant.account, role="readonly" if number % 2 else "none", name=f"bench-user-{number}")
    actor = Actor.system(tenant.account)
    _, token = actions.issue_token(actor, tenant.owner, tenant.project)
    key, secret = actions.create_access_key(actor, tenant.owner, description="benchmark")
    return {"project_id": tenant.project_id, "token": token, "ak": key.access_key_id, "sk": secret}


def summarize(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {name: {"p50": common.percentile(values, 50), "p95": common.percentile(values, 95)}
            for name, values in samples.items()}


def run_interleaved(calls: dict, iterations: int, warmup: int, deadline: float) -> tuple[dict, dict]:
    """calls: {name: (prepare() -> args, send(args) -> status)}.

    Returns ({name: wall-clock ms per call}, {name: CPU ms of this thread per call}). In-process the whole
    request runs on this thread, so its CPU time is the latency the call would have on an idle machine.
    """
    names = list(calls)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for index in range(warmup + iterations):
        if time.monotonic() > deadline:
            raise RuntimeError(f"time budget exhausted after {index} rounds")
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            prepare, send = calls[name]
            args = prepare()
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            status = send(args)
            elapsed_cpu = (time.thread_time_ns() - started_cpu) / 1e6
            elapsed = (time.perf_counter_ns() - started) / 1e6
            if status != 200:
                raise RuntimeError(f"{name}: HTTP {status}")
            if index >= warmup:
                wall[name].append(elapsed)
                cpu[name].append(elapsed_cpu)
    return wall, cpu


def figure(name: str, mode: str, stats: dict, iterations: int, extra: dict) -> dict:
    token, signed, bare = stats["token"], stats["signed"], stats["bare_db"]
    overhead = token["p50"] - bare["p50"]
    signed_overhead = signed["p50"] - bare["p50"]
    return {
        "figure": name,
        "mode": mode,
        "p50_ms": round(token["p50"], 3),
        "p95_ms": round(token["p95"], 3),
        "baseline_p50_ms": round(bare["p50"], 3),
        "baseline_p95_ms": round(bare["p95"], 3),
        "overhead_p50_ms": round(overhead, 3),
        "ratio_p50": round(token["p50"] / bare["p50"], 2),
        "static_baseline_p50_ms": round(stats["bare"]["p50"], 3),
        "overhead_vs_static_p50_ms": round(token["p50"] - stats["bare"]["p50"], 3),
        "signed_p50_ms": round(signed["p50"], 3),
        "signed_p95_ms": round(signed["p95"], 3),
        "signed_overhead_p50_ms": round(signed_overhead, 3),
        "iterations": iterations,
        **extra,
        "goal_ms": GOAL_MS,
        "met": overhead < GOAL_MS,
        "signed_met": signed_overhead < GOAL_MS,
    }


def human(result: dict) -> str:
    verdict = "met" if result["met"] else "NOT met"
    cpu = f" [CPU-time overhead {result['cpu_overhead_p50_ms']:.2f} ms]" if "cpu_overhead_p50_ms" in result else ""
    return (
        f"API overhead ({result['mode']}, {result['iterations']} calls each): token list p50 "
        f"{result['p50_ms']:.2f} ms / p95 {result['p95_ms']:.2f} ms vs bare Django view with the same queries p50 "
        f"{result['baseline_p50_ms']:.2f} ms -> overhead {result['overhead_p50_ms']:.2f} ms p50 "
        f"(x{result['ratio_p50']}){cpu}; vs static bytes {result['static_baseline_p50_ms']:.2f} ms; AK/SK-signed p50 "
        f"{result['signed_p50_ms']:.2f} ms (overhead {result['signed_overhead_p50_ms']:.2f} ms); "
        f"goal < {GOAL_MS:g} ms: {verdict}"
    )


def measure_in_process(fixture: dict, iterations: int, warmup: int, deadline: float) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from benchmarks import bench_urls
    from metastudio.api.signing import sign_request

    client = Client()
    path = f"/v1/{fixture['project_id']}/iam/users?limit={TOTAL_USERS}"

    def signed_headers():
        headers = sign_request(fixture["ak"], fixture["sk"], "GET", f"http://testserver{path}")
        return {"HTTP_HOST": headers["Host"], "HTTP_X_SDK_DATE": headers["X-Sdk-Date"],
                "HTTP_AUTHORIZATION": headers["Authorization"]}

    first = client.get(path, HTTP_X_AUTH_TOKEN=fixture["token"])
    assert first.status_code == 200, first.content
    body = first.content
    assert body.count(b'"user_id"') == TOTAL_USERS, body
    bench_urls.BARE_BODY["body"] = body
    assert client.get("/bench/bare").content == body
    bare_db_path = f"/bench/bare-db/{fixture['project_id']}?limit={TOTAL_USERS}"
    assert client.get(bare_db_path).content == body, client.get(bare_db_path).content

    calls = {
        "token": (lambda: {"HTTP_X_AUTH_TOKEN": fixture["token"]}, lambda kw: client.get(path, **kw).status_code),
        "signed": (signed_headers, lambda kw: client.get(path, **kw).status_code),
        "bare": (dict, lambda kw: client.get("/bench/bare", **kw).status_code),
        "bare_db": (dict, lambda kw: client.get(bare_db_path, **kw).status_code),
    }
    queries = {}  # steady state: the third call of each variant (first calls fill caches, e.g. IAM statements)
    for name, (prepare, send) in calls.items():
        for _ in range(3):
            args = prepare()
            with CaptureQueriesContext(connection) as captured:
                send(args)
        queries[name] = len(captured.captured_queries)
    wall, cpu = run_interleaved(calls, iterations, warmup, deadline)
    cpu_stats = summarize(cpu)
    return figure("api_overhead", "in-process django.test.Client, SQLite + LocMem", summarize(wall), iterations, {
        "cpu_p50_ms": round(cpu_stats["token"]["p50"], 3),
        "cpu_baseline_p50_ms": round(cpu_stats["bare_db"]["p50"], 3),
        "cpu_overhead_p50_ms": round(cpu_stats["token"]["p50"] - cpu_stats["bare_db"]["p50"], 3),
        "cpu_signed_overhead_p50_ms": round(cpu_stats["signed"]["p50"] - cpu_stats["bare_db"]["p50"], 3),
        "queries_per_call": queries,
        "response_bytes": len(body),
        "load_average_1m": load_average(),
    })


def measure_http(fixture: dict, data_dir: Path, env: dict, iterations: int, warmup: int, deadline: float) -> dict:
    import http.client

    from django.db import connections

    from metastudio.api.signing import sign_request

    connections.close_all()
    body_file = data_dir / "bare-body.json"
    port = common.free_port()
    server_env = dict(env, METASTUDIO_BENCH_BARE_BODY_FILE=str(body_file))
    path = f"/v1/{fixture['project_id']}/iam/users?limit={TOTAL_USERS}"
    with common.Processes() as processes:
        common.start_daphne(processes, server_env, port, data_dir / "daphne.log")
        conn = http.client.HTTPConnection(common.LOOPBACK, port, timeout=10)
        try:
            status, body = common.request(port, "GET", path, {"X-Auth-Token": fixture["token"]}, connection=conn)
            assert status == 200, body
            body_file.write_bytes(body)
            status, bare_body = common.request(port, "GET", "/bench/bare", connection=conn)
            assert status == 200 and bare_body == body, bare_body

            def send(target):
                def call(headers):
                    conn.request("GET", target, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    return response.status
                return call

            def signed_headers():
                return sign_request(fixture["ak"], fixture["sk"], "GET", f"http://{common.LOOPBACK}:{port}{path}")

            calls = {
                "token": (lambda: {"X-Auth-Token": fixture["token"]}, send(path)),
                "signed": (signed_headers, send(path)),
                "bare": (dict, send("/bench/bare")),
                "bare_db": (dict, send(f"/bench/bare-db/{fixture['project_id']}?limit={TOTAL_USERS}")),
            }
            wall, _ = run_interleaved(calls, iterations, warmup, deadline)
        finally:
            conn.close()
    return figure("api_overhead_http", "loopback HTTP keep-alive, one daphne process, SQLite + LocMem",
                  summarize(wall), iterations, {"response_bytes": len(body), "load_average_1m": load_average()})


def load_average() -> float | None:
    """1-minute load average: other work on the machine inflates wall-clock figures."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=500, help="measured calls per variant (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured rounds first (default 50)")
    parser.add_argument("--http", action="store_true", help="also measure over loopback HTTP with daphne")
    parser.add_argument("--http-iterations", type=int, default=300)
    parser.add_argument("--budget", type=float, default=100.0, help="abort after this many seconds (default 100)")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.budget
    common.exit_on_sigterm()

    with common.temp_data_dir("overhead") as data_dir:
        env = common.base_env(data_dir, METASTUDIO_RATE_LIMIT_ENABLED="false",
                              DJANGO_SETTINGS_MODULE="benchmarks.bench_settings")
        common.setup_django(env)
        common.migrate()
        fixture = make_fixture()
        result = measure_in_process(fixture, args.iterations, args.warmup, deadline)
        common.emit(result, human(result))
        if args.http:
            result = measure_http(fixture, data_dir, env, args.http_iterations, args.warmup, deadline)
            common.emit(result, human(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
