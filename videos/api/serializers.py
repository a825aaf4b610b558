"""JSON shapes of the photo digital human API (MetaStudio's field names; times in RFC 3339)."""

from avatars.api.serializers import rfc3339
from metastudio.jobs import Job


def _error_info(job: Job) -> dict | None:
    if job.state not in (Job.State.FAILED, Job.State.CANCELED):
        return None
    return {"error_code": job.error_code or "MSS.00000011", "error_msg": job.error_msg}


def _times(job: Job) -> dict:
    return {"create_time": rfc3339(job.created_at), "start_time": rfc3339(job.started_at),
            "end_time": rfc3339(job.finished_at), "lastupdate_time": rfc3339(job.updated_at)}


def detection_json(job: Job, api_base: str) -> dict:
    succeeded = job.state == Job.State.SUCCEED
    return {
        "job_id": str(job.pk),
        "state": job.state,
        "progress": job.progress,
        "stage": job.stage,
        **_times(job),
        "error_info": _error_info(job),
        "detection_result": job.result if succeeded else None,
        "preview_url": f"{api_base}/photo-detection/{job.pk}/preview" if succeeded and job.result_file else None,
    }


def video_job_base(job: Job) -> dict:
    """What every video-making job shows: its state, progress, the video's length and charge, times, error."""
    result = job.result or {}
    return {
        "job_id": str(job.pk),
        "state": job.state,
        "progress": job.progress,
        "stage": job.stage,
        "duration": result.get("duration"),
        "charged_minutes": result.get("charged_minutes"),
        **_times(job),
        "error_info": _error_info(job),
    }


def photo_video_json(job: Job, api_base: str) -> dict:
    params, result = job.params or {}, job.result or {}
    asset_id = result.get("asset_id")
    return {
        **video_job_base(job),
        "script_type": params.get("script_type"),
        "preset_id": params.get("preset_id"),
        "video_config": {"codec": "H264", "frame_rate": str(params.get("fps", "")),
                         "aspect_ratio": params.get("aspect_ratio")},
        "voice_config": {"voice_asset_id": params["tts"]["voice_asset_id"], "speed": params["tts"]["speed"]}
        if params.get("tts") else None,
        "photo_warnings": result.get("photo_warnings") or [],
        "output_asset_config": {
            "asset_id": asset_id, "asset_name": result.get("asset_name"),
            "asset_url": f"{api_base}/digital-assets/{asset_id}",
        } if asset_id else None,
    }
