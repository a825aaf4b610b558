"""The job engine: the base of every long task (exports, training, TTS, rendering).

A job is a row that moves WAITING -> PROCESSING -> SUCCEED | FAILED, or WAITING -> CANCELED.
- submit(): checks the per-tenant limits (waiting jobs per kind), saves, enqueues after commit.
- run(): a django-q2 task; claims the job atomically (running limit, one claim per attempt),
  keeps a heartbeat while the handler works, and completes or fails it exactly once.
- reap(): scheduled every minute; a PROCESSING job whose heartbeat stopped (worker died) is
  retried up to max_attempts, then failed with the reason. No job stays PROCESSING forever.
Progress (percent + stage) is written to the row and pushed to the console after commit.

Handlers: on the SQLite default, never keep a queryset iterator (an open read) across
run.progress(); read in separate chunks, or the progress write cannot upgrade the stale snapshot
("database is locked").
"""

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.base import File
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone

from metastudio.errors import LimitExceeded, StateConflict

logger = logging.getLogger(__name__)


HISTORY_DAYS = 183  # SPEC: the task center keeps about 6 months of history; older jobs are hidden, not deleted


class JobQuerySet(models.QuerySet):
    def in_history(self, now=None):
        """Jobs created within the history window (what the task center and the job lists show)."""
        return self.filter(created_at__gte=(now or timezone.now()) - timedelta(days=HISTORY_DAYS))

    def update(self, **fields):
        # QuerySet.update() skips auto_now; the console's change feed reads updated_at.
        fields.setdefault("updated_at", timezone.now())
        return super().update(**fields)


class Job(models.Model):
    class State(models.TextChoices):
        WAITING = "WAITING"
        PROCESSING = "PROCESSING"
        SUCCEED = "SUCCEED"
        FAILED = "FAILED"
        CANCELED = "CANCELED"

    FINAL_STATES = (State.SUCCEED, State.FAILED, State.CANCELED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="jobs")
    project = models.ForeignKey("tenancy.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    kind = models.CharField(max_length=48)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=128, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    result_file = models.FileField(upload_to="jobs/%Y/%m/", blank=True, max_length=255)
    error_code = models.CharField(max_length=32, blank=True)
    error_msg = models.CharField(max_length=1024, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        app_label = "metastudio"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "kind", "state"], name="job_tenant_kind_state"),
            models.Index(fields=["state", "heartbeat_at"], name="job_state_heartbeat"),
            models.Index(fields=["account", "updated_at"], name="job_tenant_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} {self.state}"

    @property
    def kind_spec(self) -> "JobKind":
        return KINDS[self.kind]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    handler: str  # dotted path of `handler(run: JobRun) -> dict | None`
    iam_resource: str
    max_waiting: int | None = None
    max_running: int | None = None
    max_attempts: int | None = None
    lease_seconds: int | None = None
    # dotted path of `on_fail(job)`, called in the failing transaction (any cause: the handler, the reaper, or a
    # waiting job canceled from the task center, whose error_msg then says so)
    on_fail: str | None = None
    on_succeed: str | None = None  # dotted path of `on_succeed(job)`, called in the completing transaction

    def limit(self, attribute: str) -> int:
        value = getattr(self, attribute)
        if value is not None:
            return value
        return {
            "max_waiting": settings.JOB_MAX_WAITING,
            "max_running": settings.JOB_MAX_RUNNING,
            "max_attempts": settings.JOB_MAX_ATTEMPTS,
            "lease_seconds": settings.JOB_LEASE_SECONDS,
        }[attribute]


KINDS: dict[str, JobKind] = {}


def register_kind(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


class JobFailure(Exception):
    """Raised by a handler for an expected failure: the job fails with this code and message."""

    def __init__(self, message: str, code: str = "MSS.00000011"):
        super().__init__(message)
        self.code = code
        self.message = message


class JobLost(Exception):
    """This worker no longer owns the job (the reaper gave it to another attempt)."""


@dataclass(frozen=True)
class Usage:
    resource_type: str
    quantity: object  # Decimal or int
    unit: str


# --- submit, cancel ------------------------------------------------------------------

def submit(actor, account, kind: str, params: dict | None = None, *, project=None) -> Job:
    spec = KINDS[kind]
    with transaction.atomic():
        if account is not None:
            _lock_tenant(account)
        waiting = Job.objects.filter(account=account, kind=kind, state=Job.State.WAITING).count()
        if waiting >= spec.limit("max_waiting"):
            raise LimitExceeded(
                f"at most {spec.limit('max_waiting')} {spec.label} jobs may wait at once; "
                "wait for some to finish or cancel one",
                code="MSS.00000006",
            )
        job = Job.objects.create(account=account, project=project, created_by=actor.user, kind=kind,
                                 params=params or {}, stage="waiting", queued_at=timezone.now())
        from tenancy.audit import record_audit

        record_audit(actor, f"job.{kind}.create", job, account=account, detail={"params": job.params})
        transaction.on_commit(lambda: (enqueue(job.id), publish(job.id)))
    return job


def cancel(actor, job: Job) -> Job:
    with transaction.atomic():
        changed = Job.objects.filter(pk=job.pk, state=Job.State.WAITING).update(
            state=Job.State.CANCELED, stage="canceled", finished_at=timezone.now(),
            error_msg=f"canceled by {getattr(actor, 'name', None) or 'the platform'} before it started"[:1024],
        )
        if not changed:
            job.refresh_from_db()
            raise StateConflict(f"only a WAITING job can be canceled; this one is {job.state}", field="job_id")
        spec = KINDS.get(job.kind)
        if spec is not None and spec.on_fail:
            job.refresh_from_db()
            _resolve(spec.on_fail)(job)
        from tenancy.audit import record_audit

        record_audit(actor, f"job.{job.kind}.cancel", job, account=job.account)
        transaction.on_commit(lambda: publish(job.id))
    job.refresh_from_db()
    return job


def delete(actor, job: Job) -> None:
    """Delete an ended job and its output file."""
    if job.state not in Job.FINAL_STATES:
        raise StateConflict(f"a {job.state} job cannot be deleted; cancel it or wait for it to end", field="job_id")
    from tenancy.audit import record_audit

    with transaction.atomic():
        record_audit(actor, f"job.{job.kind}.delete", job, account=job.account)
        stored, storage = job.result_file.name, job.result_file.storage
        job.delete()
        if stored:
            transaction.on_commit(lambda: storage.delete(stored))


def _lock_tenant(account) -> None:
    # Serialises submits and claims of one tenant (row lock on PostgreSQL; SQLite writes are serial anyway).
    type(account).objects.select_for_update().filter(pk=account.pk).first()


def enqueue(job_id) -> None:
    from django_q.tasks import async_task

    Job.objects.filter(pk=job_id).update(queued_at=timezone.now(), updated_at=F("updated_at"))
    async_task("metastudio.jobs.run", str(job_id), task_name=f"job-{job_id}")


# --- run --------------------------------------------------------------------------------

class JobRun:
    """What a handler gets: the job, progress reporting and a place for its output file."""

    def __init__(self, job: Job, attempt: int):
        self.job = job
        self.attempt = attempt
        self.output_file: tuple[str, object] | None = None
        self.usage: list[Usage] = []

    def progress(self, percent: int, stage: str) -> None:
        percent = max(0, min(100, int(percent)))
        with transaction.atomic():
            updated = Job.objects.filter(pk=self.job.pk, state=Job.State.PROCESSING, attempts=self.attempt).update(
                progress=percent, stage=stage[:128], heartbeat_at=timezone.now()
            )
            if not updated:
                raise JobLost(str(self.job.pk))
            transaction.on_commit(lambda: publish(self.job.pk))

    def scaled_progress(self, low: int, high: int):
        """A synthesis progress callback `cb(percent, stage)` whose 0-100 maps onto [low, high] of this job."""

        def report(percent, stage):
            self.progress(low + int(max(0, min(100, percent)) * (high - low) / 100), str(stage))

        return report

    def attach_file(self, name: str, fileobj) -> None:
        self.output_file = (name, fileobj)

    def meter(self, resource_type: str, quantity, unit: str) -> None:
        self.usage.append(Usage(resource_type, quantity, unit))


def run(job_id: str) -> str:
    """The django-q2 task. Safe to deliver twice: only one delivery can claim an attempt."""
    job, attempt = _claim(job_id)
    if job is None:
        return "not claimed"
    spec = job.kind_spec
    handler = _resolve(spec.handler)
    jobrun = JobRun(job, attempt)
    beat = _Heartbeat(job.pk, attempt, interval=max(1.0, spec.limit("lease_seconds") / 4))
    beat.start()
    try:
        result = handler(jobrun) or {}
    except JobLost:
        logger.warning("job %s attempt %s lost its lease", job_id, attempt)
        return "lost"
    except JobFailure as failure:
        fail(job.pk, attempt, failure.code, failure.message)
        return "failed"
    except Exception as error:  # a bug in a handler must not leave the job hanging
        logger.exception("job %s failed", job_id)
        fail(job.pk, attempt, "MSS.00000001", f"internal error: {type(error).__name__}: {error}"[:1000])
        return "failed"
    finally:
        beat.stop()
    complete(job.pk, attempt, result, jobrun.output_file, jobrun.usage)
    return "done"


def _claim(job_id) -> tuple[Job | None, int]:
    with transaction.atomic():
        job = Job.objects.filter(pk=job_id).first()
        if job is None or job.state != Job.State.WAITING:
            return None, 0
        if job.account is not None:
            _lock_tenant(job.account)
        running = Job.objects.filter(account=job.account, kind=job.kind, state=Job.State.PROCESSING).count()
        if running >= job.kind_spec.limit("max_running"):
            return None, 0  # stays WAITING; dispatched when a running one ends
        now = timezone.now()
        claimed = Job.objects.filter(pk=job.pk, state=Job.State.WAITING).update(
            state=Job.State.PROCESSING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now,
            stage="starting", progress=0, worker=f"{socket.gethostname()}:{os.getpid()}",
        )
        if not claimed:
            return None, 0
        job.refresh_from_db()
        transaction.on_commit(lambda: publish(job.pk))
    return job, job.attempts


def complete(job_id, attempt: int, result: dict, output_file=None, usage=()) -> bool:
    """Mark SUCCEED once, store the output and record usage in the same transaction."""
    from billing.metering import record_usage

    with transaction.atomic():
        job = Job.objects.select_for_update().filter(
            pk=job_id, state=Job.State.PROCESSING, attempts=attempt
        ).first()
        if job is None:
            return False
        if output_file is not None:
            name, fileobj = output_file
            job.result_file.save(name, File(fileobj), save=False)
        job.state, job.progress, job.stage = Job.State.SUCCEED, 100, "done"
        job.result = result
        job.finished_at = timezone.now()
        job.save()
        for item in usage:
            record_usage(job.account, item.resource_type, item.quantity, item.unit, source_job=job)
        if job.kind_spec.on_succeed:
            _resolve(job.kind_spec.on_succeed)(job)
        transaction.on_commit(lambda: (publish(job.pk), dispatch_waiting(job.account_id, job.kind)))
    return True


def fail(job_id, attempt: int | None, code: str, message: str) -> bool:
    with transaction.atomic():
        jobs = Job.objects.filter(pk=job_id, state=Job.State.PROCESSING)
        if attempt is not None:
            jobs = jobs.filter(attempts=attempt)
        job = jobs.first()
        changed = jobs.update(state=Job.State.FAILED, stage="failed", error_code=code, error_msg=message[:1024],
                              finished_at=timezone.now())
        if changed:
            spec = KINDS.get(job.kind)
            if spec is not None and spec.on_fail:
                job.refresh_from_db()
                _resolve(spec.on_fail)(job)
            transaction.on_commit(lambda: (publish(job_id), dispatch_waiting(job.account_id, job.kind)))
    return bool(changed)


def dispatch_waiting(account_id, kind: str) -> None:
    """After a job ends, start the oldest waiting jobs of that tenant and kind."""
    free = KINDS[kind].limit("max_running") - Job.objects.filter(
        account_id=account_id, kind=kind, state=Job.State.PROCESSING
    ).count()
    if free <= 0:
        return
    waiting = Job.objects.filter(account_id=account_id, kind=kind, state=Job.State.WAITING).order_by("created_at")
    for job_id in waiting.values_list("pk", flat=True)[:free]:
        enqueue(job_id)


def reap(now=None) -> dict:
    """Retry or fail jobs whose worker stopped beating; re-enqueue waiting jobs that nobody picked up."""
    now = now or timezone.now()
    retried, failed, requeued = [], [], []
    for job in Job.objects.filter(state=Job.State.PROCESSING):
        spec = KINDS.get(job.kind)
        lease = spec.limit("lease_seconds") if spec else settings.JOB_LEASE_SECONDS
        if job.heartbeat_at and job.heartbeat_at > now - timedelta(seconds=lease):
            continue
        max_attempts = spec.limit("max_attempts") if spec else 1
        if job.attempts < max_attempts:
            if Job.objects.filter(pk=job.pk, state=Job.State.PROCESSING, attempts=job.attempts).update(
                state=Job.State.WAITING, stage=f"retrying after worker loss (attempt {job.attempts + 1})",
                progress=0, worker="",
            ):
                retried.append(job.pk)
                enqueue(job.pk)
                publish(job.pk)
        elif fail(job.pk, job.attempts, "MSS.00000012",
                  f"the worker running this job stopped responding ({job.attempts} attempts)"):
            failed.append(job.pk)
    stale = now - timedelta(seconds=settings.JOB_LEASE_SECONDS)
    for job in Job.objects.filter(state=Job.State.WAITING, queued_at__lt=stale):
        requeued.append(job.pk)
        enqueue(job.pk)
    if retried or failed or requeued:
        logger.info("reaper: retried %s, failed %s, requeued %s", len(retried), len(failed), len(requeued))
    return {"retried": retried, "failed": failed, "requeued": requeued}


class _Heartbeat:
    """Keeps heartbeat_at fresh while a handler runs, from its own thread and DB connection."""

    def __init__(self, job_id, attempt: int, interval: float):
        self.job_id, self.attempt, self.interval = job_id, attempt, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                Job.objects.filter(pk=self.job_id, state=Job.State.PROCESSING, attempts=self.attempt).update(
                    heartbeat_at=timezone.now(), updated_at=F("updated_at")
                )
        except Exception:
            logger.exception("heartbeat of job %s stopped", self.job_id)
        finally:
            connection.close()


def result_file_response(job: Job):
    """The job's output file as a download (streamed from local disk or S3)."""
    from django.http import FileResponse

    return FileResponse(job.result_file.open("rb"), as_attachment=True,
                        filename=job.result_file.name.rsplit("/", 1)[-1])


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(import_module(module), name)


# --- events -------------------------------------------------------------------------------

def job_group(account_id) -> str:
    return f"jobs.{account_id}"


def job_payload(job: Job) -> dict:
    return {
        "job_id": str(job.pk),
        "kind": job.kind,
        "kind_label": KINDS[job.kind].label if job.kind in KINDS else job.kind,
        "state": job.state,
        "progress": job.progress,
        "stage": job.stage,
        "error_code": job.error_code or None,
        "error_msg": job.error_msg or None,
        "create_time": job.created_at.isoformat() if job.created_at else None,
        "start_time": job.started_at.isoformat() if job.started_at else None,
        "end_time": job.finished_at.isoformat() if job.finished_at else None,
        "has_file": bool(job.result_file),
    }


def publish(job_id) -> None:
    """Push the job's current state to its tenant's console sockets (best effort)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.account_id is None:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(job_group(job.account_id), {"type": "job.update", "job": job_payload(job)})
    except Exception:
        logger.exception("could not publish job %s", job_id)
