"""JSON shapes of the avatar training API (MetaStudio's field names; times in RFC 3339)."""

from avatars import actions
from avatars.models import AvatarJobLog, AvatarTrainingJob


def rfc3339(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def engine_progress(job: AvatarTrainingJob) -> dict:
    """Percent and stage of the check or training run (100 once the job succeeded)."""
    if job.state == AvatarTrainingJob.State.JOB_SUCCESS:
        return {"progress": 100, "stage": "done"}
    engine = job.engine_job
    if engine is None or job.state not in AvatarTrainingJob.RUNNING_STATES:
        return {"progress": 0, "stage": ""}
    return {"progress": engine.progress, "stage": engine.stage}


def job_json(job: AvatarTrainingJob, api_base: str | None = None, *, detail: bool = False) -> dict:
    data = {
        "job_id": str(job.pk),
        "name": job.name,
        "state": job.state,
        "phase": job.phase,
        "reason": job.reason or None,
        "asset_id": str(job.model_asset_id) if job.model_asset_id else None,
        "project_id": job.project.project_id if job.project_id else None,
        "contact": job.contact,
        "batch_name": job.batch_name,
        "tags": job.tags,
        "model_version": job.model_version,
        "matting_type": job.matting_type,
        "model_resolution": job.model_resolution,
        "is_flexus": False,
        "is_background_replacement": job.is_background_replacement,
        "video_multipart_count": job.video_multipart_count,
        "action_segments": job.action_segments,
        "create_time": rfc3339(job.created_at),
        "last_update_time": rfc3339(job.updated_at),
        "submit_time": rfc3339(job.submitted_at),
        "finish_time": rfc3339(job.finished_at),
        "cover_download_url": _cover_url(job, api_base),
        **engine_progress(job),
    }
    if detail:
        data.update({
            "files": {field: {"uploaded": bool(getattr(job, field)), "file_name": job.file_names.get(field)}
                      for field in ("training_video", "grant_file", "id_card_image1", "id_card_image2", "cover")},
            "missing": actions.missing_material(job) if job.editable else [],
            "verify_result": job.verify_report or None,
            "admin_audit_result": job.admin_audit or None,
            "supports_actions": _supports_actions(job),
            "operation_logs": [log_json(entry) for entry in job.logs.all()],
            "comment_logs": [comment_json(entry) for entry in job.logs.all()
                             if entry.log_type in ("USER_COMMENT", "ADMIN_VERIFY_FAILED", "ADMIN_VERIFY_SUCCESS")],
        })
    return data


def _supports_actions(job: AvatarTrainingJob) -> bool | None:
    asset = job.model_asset if job.model_asset_id else None
    return bool((asset.media_info or {}).get("supports_actions")) if asset is not None else None


def _cover_url(job: AvatarTrainingJob, api_base: str | None) -> str | None:
    if not api_base or not job.model_asset_id:
        return None
    cover = job.model_asset.files.filter(category="COVER").first()
    return f"{api_base}/files/{cover.pk}/download" if cover else None


def log_json(entry: AvatarJobLog) -> dict:
    return {"operate_time": rfc3339(entry.created_at), "log_type": entry.log_type,
            "log_description": entry.description, "operate_user": entry.operate_user}


def comment_json(entry: AvatarJobLog) -> dict:
    return {"comment_time": rfc3339(entry.created_at), "comment_user": entry.operate_user,
            "comment_type": entry.log_type, "comment_message": entry.description}
