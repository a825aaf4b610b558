"""billing.metering: every billable unit is recorded exactly once, and only for jobs that succeed."""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing.metering import record_usage, usage_this_month
from billing.models import UsageRecord
from metastudio import jobs
from metastudio.jobs import Job, JobFailure, JobKind, JobRun, Usage
from tenancy.audit import Actor
from tests.api_helpers import fast_password_hashing  # noqa: F401

KIND = "test_metered"


def metered_handler(run: JobRun) -> dict:
    run.meter("video_seconds", 12.5, "s")
    if run.job.params.get("fail"):
        raise JobFailure("rendering failed after metering")
    return {"seconds": 12.5}


@pytest.fixture(autouse=True)
def metered_kind():
    kind = jobs.register_kind(JobKind(name=KIND, label="Metered test job",
                                      handler="tests.test_metering.metered_handler", iam_resource="export"))
    yield kind
    jobs.KINDS.pop(KIND, None)


def submit(tenant, **params) -> Job:
    return jobs.submit(Actor(user=tenant.owner, account=tenant.account, via="api"), tenant.account, KIND, params)


# --- record_usage ------------------------------------------------------------------------------

def test_record_usage_once_per_job_and_resource(tenant):
    job = submit(tenant)
    record, created = record_usage(tenant.account, "video_seconds", 12.5, "s", source_job=job)
    assert created is True
    assert record.quantity == Decimal("12.5")
    assert record.source_key == f"job:{job.pk}:video_seconds"
    again, created = record_usage(tenant.account, "video_seconds", 99, "s", source_job=job)
    assert created is False
    assert again.pk == record.pk
    assert again.quantity == Decimal("12.5")  # the first record, unchanged
    assert UsageRecord.objects.filter(source_job=job).count() == 1
    # Another resource type of the same job is its own billable unit.
    _, created = record_usage(tenant.account, "tts_characters", 300, "char", source_job=job)
    assert created is True
    assert UsageRecord.objects.filter(source_job=job).count() == 2


def test_record_usage_with_explicit_key(tenant):
    first, created = record_usage(tenant.account, "api_calls", 1, "call", source_key="req:abc")
    assert created and first.source_job is None
    second, created = record_usage(tenant.account, "api_calls", 1, "call", source_key="req:abc")
    assert not created and second.pk == first.pk
    assert UsageRecord.objects.filter(source_key="req:abc").count() == 1


def test_record_usage_refuses_negative_quantity_and_missing_key(tenant):
    with pytest.raises(ValueError, match="negative"):
        record_usage(tenant.account, "video_seconds", -1, "s", source_key="neg")
    with pytest.raises(ValueError, match="source_job or a source_key"):
        record_usage(tenant.account, "video_seconds", 1, "s")
    assert UsageRecord.objects.count() == 0
    record, created = record_usage(tenant.account, "video_seconds", 0, "s", source_key="zero")
    assert created and record.quantity == 0


def test_record_usage_keeps_decimal_precision(tenant):
    record, _ = record_usage(tenant.account, "video_seconds", 0.1 + 0.2, "s", source_key="float")
    record.refresh_from_db()
    assert record.quantity == Decimal("0.300")


RACE_SCRIPT = """
import json, pathlib, sys, time
import django
django.setup()
from billing.metering import record_usage
from tenancy.models import Account
account = Account.objects.get(pk=sys.argv[1])
ready, processes, keys = pathlib.Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
(ready / str(time.time_ns())).touch()
deadline = time.time() + 30
while len(list(ready.iterdir())) < processes and time.time() < deadline:  # start together
    time.sleep(0.002)
out = []
for index in range(keys):
    record, created = record_usage(account, "video_seconds", 5, "s", source_key=f"race:{index}")
    out.append([index, created, str(record.pk)])
print(json.dumps(out))
"""


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_keys_record_once(tenant, tmp_path):
    """Several worker processes report the same billable events at the same moment, on a file database as in
    the embedded deployment (WAL): every key ends up with one row, one `created`, and all see that record."""
    database = tmp_path / "race.sqlite3"
    target = sqlite3.connect(database)
    connection.ensure_connection()
    connection.connection.backup(target)  # the migrated test database, with this tenant (committed)
    target.close()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "metastudio.settings", "DATABASE_URL": f"sqlite:///{database}",
           "METASTUDIO_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(settings.BASE_DIR)}
    env.pop("REDIS_URL", None)
    processes, keys = 3, 60
    ready = tmp_path / "ready"
    ready.mkdir()
    args = [str(tenant.account.pk), str(ready), str(processes), str(keys)]
    workers = [subprocess.Popen([sys.executable, "-c", RACE_SCRIPT, *args],
                                cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(processes)]
    outputs = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr[-3000:]
        outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    for index in range(keys):
        answers = [output[index] for output in outputs]
        assert sum(created for _, created, _ in answers) == 1, answers
        assert len({pk for _, _, pk in answers}) == 1, answers
    with sqlite3.connect(database) as check:
        rows = check.execute("SELECT source_key, COUNT(*) FROM billing_usagerecord GROUP BY source_key").fetchall()
    assert len(rows) == keys
    assert {count for _, count in rows} == {1}


# --- metering through the job engine -----------------------------------------------------------

def test_completed_job_meters_once_even_if_completed_twice(tenant):
    job = submit(tenant)
    assert jobs.run(str(job.pk)) == "done"
    records = list(UsageRecord.objects.filter(source_job=job))
    assert len(records) == 1
    record = records[0]
    assert (record.account, record.resource_type, record.quantity, record.unit) == (
        tenant.account, "video_seconds", Decimal("12.5"), "s")
    # A second completion (duplicate delivery, retry of the same attempt) changes nothing.
    usage = [Usage("video_seconds", Decimal("12.5"), "s")]
    assert jobs.complete(job.pk, 1, {"seconds": 12.5}, usage=usage) is False
    assert jobs.run(str(job.pk)) == "not claimed"
    assert UsageRecord.objects.filter(source_job=job).count() == 1
    assert UsageRecord.objects.count() == 1


def test_complete_called_twice_directly_records_once(tenant):
    job = submit(tenant)
    _, attempt = jobs._claim(job.pk)
    usage = [Usage("video_seconds", Decimal("12.5"), "s")]
    assert jobs.complete(job.pk, attempt, {}, usage=usage) is True
    assert jobs.complete(job.pk, attempt, {}, usage=usage) is False
    assert UsageRecord.objects.filter(source_job=job, resource_type="video_seconds").count() == 1


def test_failed_job_records_no_usage(tenant):
    job = submit(tenant, fail=True)
    assert jobs.run(str(job.pk)) == "failed"
    assert Job.objects.get(pk=job.pk).state == Job.State.FAILED
    assert UsageRecord.objects.count() == 0


def test_job_lost_to_reaper_meters_only_its_final_attempt(tenant):
    job = submit(tenant)
    _, lost = jobs._claim(job.pk)
    lease = jobs.KINDS[KIND].limit("lease_seconds")
    jobs.reap(now=timezone.now() + timedelta(seconds=lease + 1))
    assert jobs.run(str(job.pk)) == "done"
    usage = [Usage("video_seconds", Decimal("12.5"), "s")]
    assert jobs.complete(job.pk, lost, {}, usage=usage) is False  # the lost attempt reports late
    assert UsageRecord.objects.filter(source_job=job).count() == 1


# --- usage_this_month --------------------------------------------------------------------------

def test_usage_this_month_only_this_month_and_this_tenant(tenant, other_tenant):
    account = tenant.account
    record_usage(account, "video_seconds", 10, "s", source_key="a")
    record_usage(account, "video_seconds", 2.5, "s", source_key="b")
    record_usage(account, "tts_characters", 300, "char", source_key="c")
    old, _ = record_usage(account, "video_seconds", 1000, "s", source_key="last-month")
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    UsageRecord.objects.filter(pk=old.pk).update(created_at=month_start - timedelta(seconds=1))
    edge, _ = record_usage(account, "tts_characters", 7, "char", source_key="month-start")
    UsageRecord.objects.filter(pk=edge.pk).update(created_at=month_start)
    record_usage(other_tenant.account, "video_seconds", 500, "s", source_key="other")

    rows = usage_this_month(account)
    assert rows == [
        {"resource_type": "tts_characters", "unit": "char", "total": Decimal("307")},
        {"resource_type": "video_seconds", "unit": "s", "total": Decimal("12.5")},
    ]
    assert usage_this_month(other_tenant.account) == [
        {"resource_type": "video_seconds", "unit": "s", "total": Decimal("500")},
    ]
