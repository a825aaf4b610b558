"""The job engine (metastudio.jobs) on a real database: limits, cancel, after-commit enqueue, claims,
progress, completion, failures and the reaper's crash recovery."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ

from metastudio import jobs
from metastudio.errors import LimitExceeded, StateConflict
from metastudio.jobs import Job, JobFailure, JobKind, JobLost, JobRun
from tenancy.audit import Actor
from tenancy.exports import AUDIT_EXPORT
from tenancy.models import AuditLog
from tests.api_helpers import fast_password_hashing  # noqa: F401

KIND = "test_job"
CAPPED_KIND = "test_job_capped"
FAILED_HOOK_CALLS: list[tuple[str, str, str]] = []


def record_failure(job: Job) -> None:
    """Test on_fail hook: remembers what it saw, inside the failing transaction."""
    FAILED_HOOK_CALLS.append((str(job.pk), job.state, job.error_msg))


def handler(run: JobRun) -> dict:
    """Test-only handler; what it does is chosen by the job's params."""
    behave = run.job.params.get("behave", "ok")
    if behave == "fail":
        raise JobFailure("the input video is unusable", code="MSS.00000099")
    if behave == "crash":
        return {"ratio": 1 / 0}
    run.progress(50, "half way")
    return {"echo": run.job.params.get("value")}


@pytest.fixture(autouse=True)
def test_kinds():
    kinds = [
        jobs.register_kind(JobKind(name=KIND, label="Test job", handler="tests.test_jobs.handler",
                                   iam_resource="export", on_fail="tests.test_jobs.record_failure")),
        jobs.register_kind(JobKind(name=CAPPED_KIND, label="Capped test job", handler="tests.test_jobs.handler",
                                   iam_resource="export", max_waiting=1)),
    ]
    FAILED_HOOK_CALLS.clear()
    yield kinds
    for kind in kinds:
        jobs.KINDS.pop(kind.name, None)


@pytest.fixture
def no_rate_limit(settings):
    settings.RATE_LIMIT_ENABLED = False


def actor_of(tenant) -> Actor:
    return Actor(user=tenant.owner, account=tenant.account, via="api")


def submit(tenant, kind: str = KIND, **params) -> Job:
    return jobs.submit(actor_of(tenant), tenant.account, kind, params)


def queued(job) -> int:
    """How many django-q2 queue entries (OrmQ rows) deliver this job."""
    return sum(1 for entry in OrmQ.objects.all() if entry.name() == f"job-{job.pk}")


def fresh(job) -> Job:
    return Job.objects.get(pk=job.pk)


# --- submit and the waiting limit -------------------------------------------------------------

def test_submit_creates_waiting_job_and_audit_row(tenant):
    job = submit(tenant, value=7)
    row = fresh(job)
    assert row.state == Job.State.WAITING
    assert row.account == tenant.account
    assert row.created_by == tenant.owner
    assert row.params == {"value": 7}
    assert row.queued_at is not None
    audit = AuditLog.objects.get(action=f"job.{KIND}.create", target_id=str(job.pk))
    assert audit.account == tenant.account
    assert audit.actor == tenant.owner
    assert audit.detail == {"params": {"value": 7}}


def test_waiting_limit_per_tenant_and_kind(tenant, other_tenant, settings):
    settings.JOB_MAX_WAITING = 20
    for _ in range(20):
        submit(tenant)
    with pytest.raises(LimitExceeded) as raised:
        submit(tenant)
    assert raised.value.code == "MSS.00000006"
    assert "at most 20" in raised.value.message
    assert Job.objects.filter(account=tenant.account, kind=KIND).count() == 20
    # Another tenant, and another kind of the same tenant, are not affected.
    assert submit(other_tenant).state == Job.State.WAITING
    assert submit(tenant, kind=AUDIT_EXPORT.name).state == Job.State.WAITING


def test_waiting_limit_follows_settings_and_frees_up(tenant, settings):
    settings.JOB_MAX_WAITING = 2
    first = submit(tenant)
    submit(tenant)
    with pytest.raises(LimitExceeded):
        submit(tenant)
    jobs.cancel(actor_of(tenant), first)  # canceled jobs no longer wait
    assert submit(tenant).state == Job.State.WAITING
    # Running jobs do not count as waiting either.
    with pytest.raises(LimitExceeded):
        submit(tenant)
    running = Job.objects.filter(account=tenant.account, kind=KIND, state=Job.State.WAITING).first()
    assert jobs._claim(running.pk)[0] is not None
    assert submit(tenant).state == Job.State.WAITING


def test_kind_limit_overrides_settings(tenant, settings):
    settings.JOB_MAX_WAITING = 50
    submit(tenant, kind=CAPPED_KIND)
    with pytest.raises(LimitExceeded) as raised:
        submit(tenant, kind=CAPPED_KIND)
    assert "at most 1 Capped test job" in raised.value.message


def test_waiting_limit_via_api(tenant, other_tenant, api, settings, no_rate_limit):
    settings.JOB_MAX_WAITING = 20
    for _ in range(20):
        submit(tenant, kind=AUDIT_EXPORT.name, format="CSV")
    response = api(tenant.owner).post(f"/v1/{tenant.project_id}/export-jobs", {"format": "CSV"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "MSS.00000006"
    assert "at most 20" in body["error_msg"] and "Audit log export" in body["error_msg"]
    assert Job.objects.filter(account=tenant.account, kind=AUDIT_EXPORT.name).count() == 20
    other = api(other_tenant.owner).post(f"/v1/{other_tenant.project_id}/export-jobs", {"format": "CSV"},
                                         format="json")
    assert other.status_code == 201
    assert other.json()["state"] == "WAITING"


# --- cancel ------------------------------------------------------------------------------------

def test_cancel_waiting_job(tenant):
    job = jobs.cancel(actor_of(tenant), submit(tenant))
    assert job.state == Job.State.CANCELED
    assert job.finished_at is not None
    assert AuditLog.objects.filter(action=f"job.{KIND}.cancel", target_id=str(job.pk)).count() == 1
    assert jobs.run(str(job.pk)) == "not claimed"  # a delivered task of a canceled job does nothing
    assert fresh(job).state == Job.State.CANCELED
    # the kind's on_fail hook ran in the canceling transaction, so whatever follows the job is not left running
    assert FAILED_HOOK_CALLS == [(str(job.pk), "CANCELED", f"canceled by {tenant.owner.username} before it started")]


def test_on_fail_hook_runs_when_the_handler_fails(tenant):
    job = submit(tenant, behave="fail")
    assert jobs.run(str(job.pk)) == "failed"
    assert FAILED_HOOK_CALLS == [(str(job.pk), "FAILED", "the input video is unusable")]


def test_cancel_refused_once_processing(tenant):
    job = submit(tenant)
    jobs._claim(job.pk)
    with pytest.raises(StateConflict) as raised:
        jobs.cancel(actor_of(tenant), job)
    assert raised.value.code == "MSS.00000007"
    assert "PROCESSING" in raised.value.message
    assert fresh(job).state == Job.State.PROCESSING


def test_cancel_via_api(tenant, api, no_rate_limit):
    client = api(tenant.owner)
    base = f"/v1/{tenant.project_id}/export-jobs"
    waiting = submit(tenant, kind=AUDIT_EXPORT.name, format="CSV")
    response = client.post(f"{base}/{waiting.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["state"] == "CANCELED"
    assert fresh(waiting).state == Job.State.CANCELED
    # Canceling again is a conflict, not a silent success.
    again = client.post(f"{base}/{waiting.pk}/cancel")
    assert again.status_code == 409
    assert again.json()["error_code"] == "MSS.00000007"

    processing = submit(tenant, kind=AUDIT_EXPORT.name, format="CSV")
    _, attempt = jobs._claim(processing.pk)
    response = client.post(f"{base}/{processing.pk}/cancel")
    assert response.status_code == 409
    assert response.json()["error_code"] == "MSS.00000007"
    assert "PROCESSING" in response.json()["error_msg"]
    assert fresh(processing).state == Job.State.PROCESSING

    assert jobs.complete(processing.pk, attempt, {})
    response = client.post(f"{base}/{processing.pk}/cancel")
    assert response.status_code == 409
    assert response.json()["error_code"] == "MSS.00000007"
    assert fresh(processing).state == Job.State.SUCCEED


# --- enqueue after commit --------------------------------------------------------------------

def test_enqueue_waits_for_commit(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = submit(tenant)
        assert queued(job) == 0  # nothing can pick up a job that may still roll back
    assert queued(job) == 1


@pytest.mark.django_db(transaction=True)
def test_rolled_back_submit_leaves_no_job_and_no_queue_entry(tenant):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            submit(tenant)
            assert Job.objects.filter(kind=KIND).count() == 1
            raise RuntimeError("the surrounding action failed")
    assert Job.objects.filter(kind=KIND).count() == 0
    assert OrmQ.objects.count() == 0
    assert not AuditLog.objects.filter(action=f"job.{KIND}.create").exists()
    # A committed submit is enqueued (really committed: transactional test).
    job = submit(tenant)
    assert queued(job) == 1


# --- run: claim, progress, complete, fail --------------------------------------------------------

def test_run_claims_exactly_once(tenant):
    job = submit(tenant, value="x")
    assert jobs.run(str(job.pk)) == "done"
    assert jobs.run(str(job.pk)) == "not claimed"
    row = fresh(job)
    assert row.state == Job.State.SUCCEED
    assert row.attempts == 1
    assert row.progress == 100
    assert row.result == {"echo": "x"}
    assert row.finished_at is not None and row.started_at is not None


def test_claim_of_unknown_job(db):
    assert jobs.run("00000000-0000-0000-0000-000000000000") == "not claimed"


def test_running_limit_dispatches_next_when_one_ends(tenant, other_tenant, settings,
                                                     django_capture_on_commit_callbacks):
    settings.JOB_MAX_RUNNING = 1
    with django_capture_on_commit_callbacks(execute=True):
        first, second = submit(tenant), submit(tenant)
        elsewhere = submit(other_tenant)
    claimed, attempt = jobs._claim(first.pk)
    assert claimed is not None and claimed.state == Job.State.PROCESSING
    assert jobs.run(str(second.pk)) == "not claimed"
    assert fresh(second).state == Job.State.WAITING
    assert fresh(second).attempts == 0
    # The limit is per tenant: another tenant's job still runs.
    assert jobs.run(str(elsewhere.pk)) == "done"
    before = queued(second)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.complete(first.pk, attempt, {})
    assert queued(second) == before + 1
    assert jobs.run(str(second.pk)) == "done"


def test_failed_job_dispatches_next(tenant, settings, django_capture_on_commit_callbacks):
    settings.JOB_MAX_RUNNING = 1
    first, second = submit(tenant, behave="fail"), submit(tenant)
    _, attempt = jobs._claim(first.pk)
    before = queued(second)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.fail(first.pk, attempt, "MSS.00000099", "nope")
    assert queued(second) == before + 1


def test_progress_updates_row(tenant):
    job = submit(tenant)
    claimed, attempt = jobs._claim(job.pk)
    run = JobRun(claimed, attempt)
    run.progress(40, "rendering frames")
    row = fresh(job)
    assert (row.progress, row.stage) == (40, "rendering frames")
    run.progress(250, "x" * 300)  # clamped to 100, stage cut to the column size
    row = fresh(job)
    assert row.progress == 100
    assert row.stage == "x" * 128


def test_progress_of_lost_attempt_raises(tenant):
    job = submit(tenant)
    claimed, attempt = jobs._claim(job.pk)
    lease = jobs.KINDS[KIND].limit("lease_seconds")
    jobs.reap(now=timezone.now() + timedelta(seconds=lease + 1))
    with pytest.raises(JobLost):
        JobRun(claimed, attempt).progress(60, "still going")
    assert fresh(job).progress == 0


def test_complete_is_idempotent(tenant):
    job = submit(tenant)
    _, attempt = jobs._claim(job.pk)
    assert jobs.complete(job.pk, attempt, {"n": 1}) is True
    first = fresh(job)
    assert jobs.complete(job.pk, attempt, {"n": 2}) is False
    second = fresh(job)
    assert second.state == Job.State.SUCCEED
    assert second.result == {"n": 1}
    assert second.finished_at == first.finished_at
    assert second.updated_at == first.updated_at


def test_complete_of_waiting_or_failed_job_refused(tenant):
    job = submit(tenant)
    assert jobs.complete(job.pk, 0, {}) is False
    assert jobs.complete(job.pk, 1, {}) is False
    _, attempt = jobs._claim(job.pk)
    assert jobs.fail(job.pk, attempt, "MSS.00000099", "gave up")
    assert jobs.complete(job.pk, attempt, {}) is False
    assert jobs.fail(job.pk, attempt, "MSS.00000098", "again") is False
    row = fresh(job)
    assert (row.state, row.error_code, row.error_msg) == (Job.State.FAILED, "MSS.00000099", "gave up")


def test_handler_job_failure(tenant):
    job = submit(tenant, behave="fail")
    assert jobs.run(str(job.pk)) == "failed"
    row = fresh(job)
    assert row.state == Job.State.FAILED
    assert row.error_code == "MSS.00000099"
    assert row.error_msg == "the input video is unusable"
    assert row.finished_at is not None
    assert jobs.run(str(job.pk)) == "not claimed"


def test_handler_crash_fails_with_internal_error(tenant):
    job = submit(tenant, behave="crash")
    assert jobs.run(str(job.pk)) == "failed"
    row = fresh(job)
    assert row.state == Job.State.FAILED
    assert row.error_code == "MSS.00000001"
    assert "ZeroDivisionError" in row.error_msg


# --- reaper: worker crash recovery ----------------------------------------------------------------

def lease_of(kind: str = KIND) -> int:
    return jobs.KINDS[kind].limit("lease_seconds")


def after_lease(kind: str = KIND):
    return timezone.now() + timedelta(seconds=lease_of(kind) + 1)


def test_reap_retries_job_of_dead_worker(tenant):
    job = submit(tenant)
    jobs._claim(job.pk)  # the worker claims it and dies: no heartbeat, no completion
    before = queued(job)
    report = jobs.reap(now=after_lease())
    assert job.pk in report["retried"]
    row = fresh(job)
    assert row.state == Job.State.WAITING
    assert row.attempts == 1
    assert row.worker == ""
    assert "retrying" in row.stage
    assert queued(job) > before
    # The next delivery claims a new attempt and finishes it.
    assert jobs.run(str(job.pk)) == "done"
    row = fresh(job)
    assert (row.state, row.attempts) == (Job.State.SUCCEED, 2)


def test_reap_fails_after_max_attempts(tenant, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = submit(tenant)
    for attempt in (1, 2, 3):
        claimed, claimed_attempt = jobs._claim(job.pk)
        assert claimed is not None and claimed_attempt == attempt
        report = jobs.reap(now=after_lease())
        if attempt < 3:
            assert job.pk in report["retried"]
            assert fresh(job).state == Job.State.WAITING
    assert job.pk in report["failed"]
    row = fresh(job)
    assert row.state == Job.State.FAILED
    assert row.attempts == 3
    assert row.error_code == "MSS.00000012"
    assert "stopped responding" in row.error_msg and "3 attempts" in row.error_msg
    assert row.finished_at is not None
    assert jobs.run(str(job.pk)) == "not claimed"


def test_reap_leaves_job_with_fresh_heartbeat(tenant):
    job = submit(tenant)
    jobs._claim(job.pk)
    before = fresh(job)
    report = jobs.reap(now=timezone.now() + timedelta(seconds=lease_of() - 5))
    assert job.pk not in report["retried"] + report["failed"]
    row = fresh(job)
    assert (row.state, row.attempts, row.worker) == (Job.State.PROCESSING, 1, before.worker)
    assert row.worker
    # A heartbeat just before the lease would end keeps it alive past the original deadline.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() + timedelta(seconds=lease_of() - 1))
    jobs.reap(now=after_lease())
    assert fresh(job).state == Job.State.PROCESSING


def test_reap_requeues_stale_waiting_job(tenant):
    stale, recent = submit(tenant), submit(tenant)
    Job.objects.filter(pk=stale.pk).update(queued_at=timezone.now() - timedelta(seconds=lease_of() + 60))
    report = jobs.reap()
    assert report["requeued"] == [stale.pk]
    assert queued(stale) == 1
    assert queued(recent) == 0
    row = fresh(stale)
    assert row.state == Job.State.WAITING
    assert row.queued_at > timezone.now() - timedelta(seconds=5)  # not requeued again on the next pass
    assert jobs.reap()["requeued"] == []


def test_late_complete_of_lost_attempt_is_refused(tenant):
    job = submit(tenant)
    _, lost_attempt = jobs._claim(job.pk)
    jobs.reap(now=after_lease())
    assert jobs.complete(job.pk, lost_attempt, {"from": "lost"}) is False  # job is WAITING again
    _, attempt = jobs._claim(job.pk)
    assert attempt == lost_attempt + 1
    assert jobs.complete(job.pk, lost_attempt, {"from": "lost"}) is False
    assert jobs.fail(job.pk, lost_attempt, "MSS.00000099", "lost attempt") is False
    assert jobs.complete(job.pk, attempt, {"from": "current"}) is True
    row = fresh(job)
    assert (row.state, row.result, row.error_code) == (Job.State.SUCCEED, {"from": "current"}, "")
