"""The job engine with real processes on the embedded default (SQLite in a temp data dir, django-q2 ORM broker):
`manage.py qcluster` runs an audit export to the end; a worker killed mid-job leaves the job PROCESSING until the
reaper retries it on a new worker; a job that keeps losing its worker ends FAILED (MSS.00000012).

The test process reads job rows straight from the SQLite file (sqlite3, read-only queries) to poll cheaply.
"""

import csv
import io
import json
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.services import PYTHON, Processes, django_script, manage, platform_env, wait_until

LEASE_SECONDS = 5
# Enough audit rows that an export of the "bulk" tenant takes a few seconds: long enough to kill it mid-run.
BULK_ROWS = 15_000
PASSWORD = "correct-horse-battery"

SETUP = """
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from tenancy import actions
from tenancy.audit import Actor
from tenancy.models import AuditLog


# Nobody logs in here: skip the real password hashing's second per user.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def tenant(name):
    account = actions.create_account(Actor.system(), name=name)
    admins = account.groups.get(name=actions.ADMIN_GROUP)
    owner = actions.create_iam_user(Actor.system(account), account, username=f"{name}-owner", password=PASSWORD,
                                    groups=[admins.pk])
    return {"account": str(account.pk), "owner": owner.pk}


quick, bulk = tenant("quick"), tenant("bulk")
AuditLog.objects.bulk_create(
    (AuditLog(account_id=bulk["account"], actor_name="loader", action="test.load", target_type="Row",
              target_id=str(n), detail={"n": n}) for n in range(BULK_ROWS)),
    batch_size=2000,
)
# Equal times throughout: the export must page by (time, id), not by time alone.
AuditLog.objects.filter(action="test.load").update(created_at=timezone.now() - timedelta(hours=1))
# The tests trigger the reaper themselves; keep the minute schedule from racing them.
Schedule.objects.filter(func="metastudio.jobs.reap").update(next_run=timezone.now() + timedelta(days=1))
result = {"quick": quick, "bulk": bulk}
"""

SUBMIT = """
from metastudio import jobs
from tenancy.audit import Actor
from tenancy.models import User

owner = User.objects.select_related("account").get(pk=OWNER)
job = jobs.submit(Actor(user=owner, account=owner.account, via="api"), owner.account, "audit_export",
                  {"format": "CSV"})
result = str(job.pk)
"""

REAP = """
from metastudio import jobs

result = jobs.reap()
"""


class Embedded:
    def __init__(self, data_dir: Path, env: dict[str, str], tenants: dict):
        self.data_dir, self.env, self.tenants = data_dir, env, tenants
        self.db = data_dir / "metastudio.sqlite3"
        self.media = data_dir / "media"

    def submit(self, tenant: str) -> str:
        return django_script(self.env, f"OWNER = {self.tenants[tenant]['owner']!r}\n" + SUBMIT)

    def reap(self, **env) -> dict:
        return django_script({**self.env, **env}, REAP)

    def job(self, job_id: str) -> dict:
        with closing(sqlite3.connect(self.db, timeout=20)) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute(
                "SELECT state, attempts, progress, stage, heartbeat_at, result_file, result, error_code, error_msg, "
                "worker FROM metastudio_job WHERE id = ?", (uuid.UUID(job_id).hex,)
            ).fetchone()
        assert row is not None, f"no job {job_id}"
        return dict(row)

    def wait_for(self, job_id: str, condition, what: str, timeout: float) -> dict:
        return wait_until(lambda: (lambda row: row if condition(row) else None)(self.job(job_id)), timeout,
                          f"job {job_id} {what}", interval=0.05)

    def result_files(self) -> set[Path]:
        return {path for path in (self.media / "jobs").rglob("*") if path.is_file()} if self.media.exists() else set()

    def qcluster(self, procs: Processes, **env):
        return procs.start("qcluster", [PYTHON, "manage.py", "qcluster"], env={**self.env, **env})


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Embedded:
    data_dir = tmp_path_factory.mktemp("embedded-data")
    env = platform_env(data_dir, METASTUDIO_JOB_LEASE_SECONDS=LEASE_SECONDS, METASTUDIO_WORKERS=1)
    manage(env, "migrate", "--no-input")
    tenants = django_script(env, f"PASSWORD = {PASSWORD!r}\nBULK_ROWS = {BULK_ROWS}\n" + SETUP)
    return Embedded(data_dir, env, tenants)


@pytest.fixture
def procs(tmp_path):
    processes = Processes(tmp_path / "logs")
    yield processes
    processes.stop_all(grace=0.5)  # nothing to keep: a qcluster's graceful stop alone takes seconds


def heartbeat_age(row: dict) -> float:
    beat = datetime.fromisoformat(row["heartbeat_at"]).replace(tzinfo=UTC)
    return (datetime.now(UTC) - beat).total_seconds()


def mid_run(row: dict) -> bool:
    # The export reports "writing entry N of M" every 500 rows: the handler is busy, not just claimed.
    return row["state"] == "PROCESSING" and row["stage"].startswith("writing entry")


def kill_mid_run(embedded: Embedded, procs: Processes, cluster, job_id: str) -> dict:
    """SIGKILL the cluster's whole process group while the job runs; the job must stay PROCESSING (stuck)."""
    embedded.wait_for(job_id, mid_run, "to be mid-run", timeout=40)
    procs.kill(cluster)
    stuck = embedded.job(job_id)
    assert stuck["state"] == "PROCESSING", stuck
    return stuck


def wait_past_lease(embedded: Embedded, job_id: str, stuck: dict) -> None:
    """Nobody beats for the job any more (the heartbeat stays where the killed worker left it, several
    heartbeat intervals long); wait until its lease has run out."""
    wait_until(lambda: heartbeat_age(embedded.job(job_id)) > LEASE_SECONDS + 0.3, LEASE_SECONDS + 10,
               "the lease to run out", interval=0.1)
    row = embedded.job(job_id)
    assert (row["state"], row["attempts"], row["heartbeat_at"]) == ("PROCESSING", stuck["attempts"],
                                                                    stuck["heartbeat_at"]), row


def test_qcluster_runs_an_export_job_to_the_end(embedded, procs):
    files_before = embedded.result_files()
    embedded.qcluster(procs)
    job_id = embedded.submit("quick")

    row = embedded.wait_for(job_id, lambda r: r["state"] in ("SUCCEED", "FAILED"), "to end", timeout=40)

    assert row["state"] == "SUCCEED", row
    assert (row["attempts"], row["progress"], row["error_code"]) == (1, 100, ""), row
    stored = embedded.media / row["result_file"]
    assert stored.is_file() and embedded.result_files() - files_before == {stored}
    lines = list(csv.reader(io.StringIO(stored.read_text(encoding="utf-8-sig"))))
    assert lines[0][:4] == ["time", "account", "actor", "action"]
    assert len(lines) - 1 == json.loads(row["result"])["rows"] >= 2
    assert {line[1] for line in lines[1:]} == {"quick"}


def test_job_of_a_killed_worker_is_retried_by_the_reaper(embedded, procs):
    files_before = embedded.result_files()
    first = embedded.qcluster(procs)
    job_id = embedded.submit("bulk")
    stuck = kill_mid_run(embedded, procs, first, job_id)
    assert stuck["attempts"] == 1 and not stuck["result_file"], stuck

    embedded.qcluster(procs)  # a new worker starts while the lease runs out; it must not touch the stuck job
    wait_past_lease(embedded, job_id, stuck)

    reaped = embedded.reap()
    assert reaped["retried"] == [job_id] and reaped["failed"] == [], reaped

    row = embedded.wait_for(job_id, lambda r: r["state"] in ("SUCCEED", "FAILED"), "to end after the retry",
                            timeout=60)
    assert row["state"] == "SUCCEED", row
    assert row["attempts"] == 2, row
    new_files = embedded.result_files() - files_before
    assert new_files == {embedded.media / row["result_file"]}, new_files  # the killed attempt left no file
    with open(embedded.media / row["result_file"], encoding="utf-8-sig") as stored:
        written = sum(1 for _ in csv.reader(stored)) - 1
    assert written == json.loads(row["result"])["rows"] > BULK_ROWS  # every entry once (plus the tenant's own)


def test_job_that_keeps_losing_its_worker_fails(embedded, procs):
    files_before = embedded.result_files()
    one_attempt = {"METASTUDIO_JOB_MAX_ATTEMPTS": "1"}
    cluster = embedded.qcluster(procs, **one_attempt)
    job_id = embedded.submit("bulk")
    stuck = kill_mid_run(embedded, procs, cluster, job_id)
    wait_past_lease(embedded, job_id, stuck)

    reaped = embedded.reap(**one_attempt)

    assert reaped["failed"] == [job_id] and reaped["retried"] == [], reaped
    row = embedded.job(job_id)
    assert (row["state"], row["error_code"], row["attempts"]) == ("FAILED", "MSS.00000012", 1), row
    assert "stopped responding" in row["error_msg"] and not row["result_file"], row
    assert embedded.result_files() == files_before
