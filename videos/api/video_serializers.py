"""JSON shapes of the video production API (MetaStudio's field names: ShowVideoScript, VideoScriptBaseInfo,
Show2DDigitalHumanVideo, DigitalHumanVideo, ShowSubtitleFile; times in RFC 3339). Fields MetaStudio does not
have are our extensions: progress, stage, charged_minutes, output_asset_config.asset_url, the subtitle file's
format, and the PPT import."""

from assets.models import Asset, AssetFile
from avatars.api.serializers import rfc3339
from metastudio.jobs import Job
from videos.api.serializers import _error_info, _times, video_job_base
from videos.callbacks import JOB_TYPES
from videos.models import VideoScript

SCRIPT_KEYS = ("model_asset_id", "voice_config", "video_config", "shoot_scripts", "background_music_config")


# --- scripts -----------------------------------------------------------------------------------------------------

def script_base_json(script: VideoScript) -> dict:
    first = script.shoot_scripts[0] if script.shoot_scripts else {}
    return {
        "script_id": str(script.pk),
        "script_name": script.name,
        "script_description": script.description,
        "model_asset_id": script.model_asset_id,
        "model_asset_type": script.model_kind,
        "view_mode": script.view_mode,
        "script_cover_url": None,
        "script_type": first.get("script_type"),
        "text": (first.get("text_config") or {}).get("text"),
        "scene_count": len(script.shoot_scripts),
        "create_time": rfc3339(script.created_at),
        "update_time": rfc3339(script.updated_at),
    }


def script_json(script: VideoScript) -> dict:
    return {
        **script_base_json(script),
        "priv_data": script.priv_data,
        "voice_config": script.voice_config,
        "video_config": script.video_config,
        "shoot_scripts": script.shoot_scripts,
        "background_music_config": script.background_music_config,
    }


# --- video jobs ------------------------------------------------------------------------------------------------

def asset_links(jobs, api_base: str) -> dict[str, dict]:
    """asset id -> {"cover_url", "preview_video_url"} of the videos these jobs made (one query for a page)."""
    ids = [job.result["asset_id"] for job in jobs
           if job.state == Job.State.SUCCEED and (job.result or {}).get("asset_id")]
    if not ids:
        return {}
    links: dict[str, dict] = {}
    files = AssetFile.objects.filter(
        asset_id__in=ids, state=AssetFile.State.CREATED,
        category__in=(AssetFile.Category.MAIN, AssetFile.Category.THUMBNAIL),
    ).exclude(asset__state__in=(Asset.State.DELETED, Asset.State.WAITING_DELETE)).values_list("asset_id", "category",
                                                                                              "pk")
    for asset_id, category, file_id in files:
        key = "preview_video_url" if category == AssetFile.Category.MAIN else "cover_url"
        links.setdefault(str(asset_id), {})[key] = f"{api_base}/files/{file_id}/download"
    return links


def _output(job: Job, api_base: str, links: dict) -> dict | None:
    result = job.result or {}
    asset_id = result.get("asset_id") if job.state == Job.State.SUCCEED else None
    if not asset_id:
        return None
    found = links.get(asset_id, {})
    return {"asset_id": asset_id, "asset_name": result.get("asset_name"),
            "asset_url": f"{api_base}/digital-assets/{asset_id}",
            "cover_url": found.get("cover_url"), "preview_video_url": found.get("preview_video_url")}


def video_job_json(job: Job, api_base: str, links: dict) -> dict:
    """DigitalHumanVideo: a render or a photo video job, as the list shows it."""
    return {
        **video_job_base(job),
        "job_type": JOB_TYPES.get(job.kind, job.kind),
        "output_asset_config": _output(job, api_base, links),
        "script_id": (job.params or {}).get("script_id"),
    }


def render_job_json(job: Job, api_base: str) -> dict:
    """Show2DDigitalHumanVideo: the list's fields plus the script the job rendered (its snapshot)."""
    snapshot = (job.params or {}).get("snapshot") or {}
    return {
        **video_job_json(job, api_base, asset_links([job], api_base)),
        "script_name": snapshot.get("script_name"),
        **{key: snapshot.get(key) for key in SCRIPT_KEYS},
        "callback_config": (job.params or {}).get("callback_config"),
    }


# --- subtitle files --------------------------------------------------------------------------------------------

_FILE_STATES = {Job.State.SUCCEED: "GENERATE_SUCCEED", Job.State.FAILED: "GENERATE_FAILED",
                Job.State.CANCELED: "GENERATE_FAILED"}


def subtitle_file_json(job: Job, api_base: str) -> dict:
    """ShowSubtitleFile: `job_state` GENERATING | GENERATED and the one file the job makes."""
    params = job.params or {}
    ended = job.state in Job.FINAL_STATES
    ready = job.state == Job.State.SUCCEED and bool(job.result_file)
    return {
        "job_id": str(job.pk),
        "job_state": "GENERATED" if ended else "GENERATING",
        "state": job.state,
        "video_job_id": params.get("video_job_id"),
        "script_id": params.get("script_id"),
        "create_time": rfc3339(job.created_at),
        "subtitle_file_info": [{
            "sequence_no": params.get("sequence_no", 0),
            "format": params.get("format"),
            "subtitle_file_state": _FILE_STATES.get(job.state, "GENERATING"),
            "subtitle_file_download_url": f"{api_base}/subtitle-files/{job.pk}/file" if ready else None,
            "subtitle_file_upload_url": None,
            "generate_time": rfc3339(job.finished_at) if ready else None,
            "error_info": _error_info(job),
        }],
    }


# --- PPT imports (our extension) -------------------------------------------------------------------------------

def ppt_import_json(job: Job) -> dict:
    result, params = job.result or {}, job.params or {}
    succeeded = job.state == Job.State.SUCCEED
    return {
        "job_id": str(job.pk),
        "state": job.state,
        "progress": job.progress,
        "stage": job.stage,
        "ppt_asset_id": params.get("ppt_asset_id"),
        **_times(job),
        "error_info": _error_info(job),
        "page_count": result.get("page_count") if succeeded else None,
        "shoot_scripts": result.get("scenes") if succeeded else None,
    }
