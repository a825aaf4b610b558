"""Result callbacks of video production jobs (MetaStudio's `callback_config.callback_url`).

`job_finished(job)` is called in the transaction that ends the job (the render's on_succeed hook and its on_fail
hook, which also runs for a waiting job that was canceled). When the job asked for a callback it queues
`send_callback` after that transaction commits, so the caller never hears of a result that was rolled back, and
the worker that finished the job never waits on the caller's server. `send_callback` POSTs one JSON body with a
short timeout, once; a failure is logged, never raised (the job's result does not depend on the caller).

Body: {"job_id", "job_type", "state", "result": SUCCEED | FAILED (MetaStudio's field; a canceled job reports
FAILED), "asset_id", "duration", "charged_minutes", "output_asset_config": {"asset_id", "asset_name"} or None,
"error_info": {"error_code", "error_msg"} or None}.
"""

import json
import logging
import urllib.request

from django.db import transaction

from metastudio.jobs import Job

logger = logging.getLogger(__name__)

CALLBACK_TIMEOUT_SECONDS = 5
JOB_TYPES = {"videos.render": "2D_DIGITAL_HUMAN_VIDEO", "videos.photo_video": "PHOTO_DIGITAL_HUMAN_VIDEO",
             "videos.subtitle_file": "SUBTITLE_FILE"}


def callback_url(job: Job) -> str | None:
    config = (job.params or {}).get("callback_config") or {}
    return config.get("callback_url") or None


def job_finished(job: Job) -> None:
    """Hook for the completing (or failing) transaction: queue the callback once it commits."""
    if not callback_url(job):
        return
    from django_q.tasks import async_task

    job_id = str(job.pk)
    transaction.on_commit(lambda: async_task("videos.callbacks.send_callback", job_id,
                                             task_name=f"video-callback-{job_id}"))


def callback_body(job: Job) -> dict:
    result = job.result or {}
    asset_id = result.get("asset_id") if job.state == Job.State.SUCCEED else None
    failed = job.state in (Job.State.FAILED, Job.State.CANCELED)
    return {
        "job_id": str(job.pk),
        "job_type": JOB_TYPES.get(job.kind, job.kind),
        "state": job.state,
        "result": "SUCCEED" if job.state == Job.State.SUCCEED else "FAILED",
        "asset_id": asset_id,
        "duration": result.get("duration"),
        "charged_minutes": result.get("charged_minutes"),
        "output_asset_config": {"asset_id": asset_id, "asset_name": result.get("asset_name")} if asset_id else None,
        "error_info": {"error_code": job.error_code or "MSS.00000011", "error_msg": job.error_msg} if failed else None,
    }


def send_callback(job_id: str) -> bool:
    """POST the ended job's result to its callback URL; True when the caller answered 2xx. Never raises."""
    job = Job.objects.filter(pk=job_id).first()
    url = callback_url(job) if job is not None else None
    if url is None or job.state not in Job.FINAL_STATES:
        return False
    request = urllib.request.Request(url, data=json.dumps(callback_body(job)).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only)
            if 200 <= response.status < 300:
                return True
            logger.warning("callback of video job %s: %s answered %s", job_id, url, response.status)
    except (OSError, ValueError) as error:  # refused, timed out, an HTTP error status, a malformed URL
        logger.warning("callback of video job %s to %s failed: %s", job_id, url, error)
    return False
