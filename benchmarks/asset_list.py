"""Figure "asset list": GET /v1/{project_id}/digital-assets with 10,000 assets in the tenant; goal: the query count
is constant in the page size, and p95 under 50 ms.

A throwaway data dir (SQLite, LocMem cache, rate limiting off); one tenant with 10,000 assets, each with one
uploaded MAIN file, made with bulk_create; plus 10,000 assets of a second tenant so scoping has work to do. For
limit N in 10, 50, 100: the SQL queries of one steady-state call (CaptureQueriesContext), then 200 timed calls
(in-process django.test.Client, X-Auth-Token of the FullAccess owner).

Baseline of the same run, interleaved call by call: the same page built by a bare Django ORM query (same filter,
order and prefetch) serialized with the same asset_json + json.dumps, without authentication, IAM, rate limit,
DRF or the HTTP layer: the difference is what the API adds to the same work.

    .venv/bin/python benchmarks/asset_list.py [--assets 10000] [--iterations 200]
"""

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

PAGE_SIZES = (10, 50, 100)
GOAL_P95_MS = 50.0
WARMUP = 20


def make_fixture(total: int) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from assets.models import Asset, AssetFile
    from tenancy import actions
    from tenancy.audit import Actor
    from tests.factories import make_tenant

    tenant = make_tenant(region="cn-north-4", name="bench-assets")
    other = make_tenant(region="cn-north-4", name="bench-assets-other")
    _, token = actions.issue_token(Actor.system(tenant.account), tenant.owner, tenant.project)
    types = [t for t in Asset.Type.values if t not in ("HUMAN_MODEL_2D", "VOICE_MODEL")]
    states = ["ACTIVED"] * 6 + ["UNACTIVED", "FAILED", "DELETED", "CREATING"]
    now = timezone.now()
    for account in (tenant.account, other.account):
        assets = [Asset(account=account, project=tenant.project if account == tenant.account else other.project,
                        name=f"asset {number:05d}", type=types[number % len(types)],
                        state=states[number % len(states)], tags=["bench", f"group-{number % 7}"],
                        size_bytes=1000 + number, review=Asset.Review.PASSED,
                        media_info={"width": 1920, "height": 1080} if number % 2 else {})
                  for number in range(total)]
        Asset.objects.bulk_create(assets, batch_size=1000)
        # spread creation times so the order is well defined
        for number, asset in enumerate(assets):
            asset.created_at = now - timedelta(seconds=number)
        Asset.objects.bulk_update(assets, ["created_at"], batch_size=1000)
        files = [AssetFile(asset=asset, account=account, category="MAIN", name=f"file-{number}.png",
                           file_type="png", declared_size=1000 + number, declared_md5="A" * 22 + "==",
                           state="CREATED", received_bytes=1000 + number,
                           stored=f"assets/{account.pk}/{asset.pk}/x/file-{number}.png", completed_at=now)
                 for number, asset in enumerate(assets)]
        AssetFile.objects.bulk_create(files, batch_size=1000)
    return {"project_id": tenant.project_id, "token": token, "account_id": tenant.account.pk}


def measure(fixture: dict, total: int, iterations: int, deadline: float) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from assets.api.serializers import asset_json
    from assets.api.views import filter_assets
    from assets.models import Asset

    client = Client()
    base = f"/v1/{fixture['project_id']}/digital-assets"
    api_base = f"http://testserver/v1/{fixture['project_id']}"
    visible = Asset.objects.filter(account_id=fixture["account_id"]).exclude(state="DELETED").count()

    def api_call(limit: int) -> bytes:
        response = client.get(f"{base}?limit={limit}", HTTP_X_AUTH_TOKEN=fixture["token"])
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.content[:300]!r}")
        return response.content

    def bare_call(limit: int) -> bytes:
        assets = filter_assets(Asset.objects.filter(account_id=fixture["account_id"]).prefetch_related("files"), {})
        page = list(assets[:limit])
        return json.dumps({"count": assets.count(),
                           "assets": [asset_json(asset, api_base) for asset in page]}).encode()

    results = {}
    for limit in PAGE_SIZES:
        # Each request start empties the query log (and a full log, 9000 entries after the bulk inserts, does not
        # grow): start every capture from an empty log, or CaptureQueriesContext sees no query.
        for _ in range(3):  # steady state: caches (token, IAM statements) are warm by the third call
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                body = api_call(limit)
            api_queries = len(captured.captured_queries)  # a view of the log: read it before the next request
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            bare_call(limit)
        bare_queries = len(captured.captured_queries)
        parsed = json.loads(body)
        if parsed["count"] != visible or len(parsed["assets"]) != limit:
            raise RuntimeError(f"limit={limit}: count {parsed['count']} (expected {visible}), "
                               f"{len(parsed['assets'])} items")
        if [a["asset_id"] for a in parsed["assets"]] != [a["asset_id"] for a in json.loads(bare_call(limit))["assets"]]:
            raise RuntimeError(f"limit={limit}: the baseline page differs from the API page")
        timings = {"api": [], "bare": []}
        gc.collect()
        for index in range(WARMUP + iterations):
            if time.monotonic() > deadline:
                raise RuntimeError(f"time budget exhausted at limit={limit}, call {index}")
            order = ("api", "bare") if index % 2 else ("bare", "api")
            for name in order:
                started = time.perf_counter_ns()
                (api_call if name == "api" else bare_call)(limit)
                elapsed = (time.perf_counter_ns() - started) / 1e6
                if index >= WARMUP:
                    timings[name].append(elapsed)
        results[limit] = {
            "queries": api_queries,
            "baseline_queries": bare_queries,
            "p50_ms": round(common.percentile(timings["api"], 50), 2),
            "p95_ms": round(common.percentile(timings["api"], 95), 2),
            "baseline_p50_ms": round(common.percentile(timings["bare"], 50), 2),
            "baseline_p95_ms": round(common.percentile(timings["bare"], 95), 2),
            "overhead_p50_ms": round(common.percentile(timings["api"], 50) - common.percentile(timings["bare"], 50),
                                     2),
            "response_bytes": len(body),
        }
    query_counts = {results[limit]["queries"] for limit in PAGE_SIZES}
    worst_p95 = max(results[limit]["p95_ms"] for limit in PAGE_SIZES)
    return {
        "figure": "asset_list",
        "mode": "in-process django.test.Client, SQLite + LocMem",
        "assets_in_tenant": total,
        "visible_assets": visible,
        "iterations": iterations,
        "pages": {str(limit): results[limit] for limit in PAGE_SIZES},
        "queries_per_call": {str(limit): results[limit]["queries"] for limit in PAGE_SIZES},
        "queries_constant": len(query_counts) == 1,
        "worst_p95_ms": worst_p95,
        "goal_p95_ms": GOAL_P95_MS,
        "met": len(query_counts) == 1 and worst_p95 < GOAL_P95_MS,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def human(result: dict) -> str:
    pages = "; ".join(
        f"limit={limit}: {page['queries']} queries, p50 {page['p50_ms']:g} / p95 {page['p95_ms']:g} ms "
        f"(bare ORM {page['baseline_p50_ms']:g} / {page['baseline_p95_ms']:g} ms)"
        for limit, page in result["pages"].items())
    return (f"Asset list ({result['assets_in_tenant']} assets in the tenant): {pages}; query count "
            f"{'constant' if result['queries_constant'] else 'NOT constant'} in page size, worst p95 "
            f"{result['worst_p95_ms']:g} ms (goal < {result['goal_p95_ms']:g} ms): "
            f"{'met' if result['met'] else 'NOT met'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=10_000, help="assets in the tenant (default 10000)")
    parser.add_argument("--iterations", type=int, default=200, help="timed calls per page size (default 200)")
    parser.add_argument("--budget", type=float, default=150.0, help="abort after this many seconds (default 150)")
    args = parser.parse_args(argv)
    if not max(PAGE_SIZES) <= args.assets <= 100_000:
        parser.error(f"--assets must be between {max(PAGE_SIZES)} and 100000")
    deadline = time.monotonic() + args.budget
    common.exit_on_sigterm()
    with common.temp_data_dir("assetlist") as data_dir:
        env = common.base_env(data_dir, METASTUDIO_RATE_LIMIT_ENABLED="false")
        common.setup_django(env)
        common.migrate()
        fixture = make_fixture(args.assets)
        result = measure(fixture, args.assets, args.iterations, deadline)
    common.emit(result, human(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
