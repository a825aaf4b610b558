"""JSON shapes of the voice and TTS API (MetaStudio field names)."""

from metastudio import jobs
from voices.models import VoiceTrainingJob


def _ms(value) -> int | None:
    return int(value.timestamp() * 1000) if value else None


def engine_progress(job: VoiceTrainingJob) -> dict:
    engine = job.engine_job
    if engine is None:
        return {"progress": 0, "stage": ""}
    return {"progress": engine.progress, "stage": engine.stage}


def training_job_json(job: VoiceTrainingJob, *, detail: bool = False) -> dict:
    data = {
        "job_id": str(job.pk),
        "voice_name": job.voice_name,
        "tag": job.tier,
        "sex": job.sex,
        "language": job.language.upper(),
        "description": job.description,
        "batch_name": job.batch_name,
        "state": job.state,
        "reason": job.reason,
        "asset_id": str(job.voice_asset_id) if job.voice_asset_id else None,
        "create_time": _ms(job.created_at),
        "update_time": _ms(job.updated_at),
        "submit_time": _ms(job.submitted_at),
        "finish_time": _ms(job.finished_at),
        **engine_progress(job),
    }
    if detail:
        recordings = {recording.index: recording for recording in job.recordings.all()}
        data["has_authorization_letter"] = bool(job.authorization_letter)
        data["has_package"] = bool(job.package)
        data["sentences"] = [
            _sentence_json(index, text, recordings.get(index)) for index, text in enumerate(job.prompts, start=1)
        ]
    return data


def _sentence_json(index: int, text: str, recording) -> dict:
    if recording is None:
        return {"index": index, "text": text, "status": "MISSING", "problems": []}
    return {"index": index, "text": text, "status": recording.status, "problems": recording.problems,
            "metrics": recording.metrics}


def recording_json(recording) -> dict:
    return {"index": recording.index, "text": recording.text, "status": recording.status,
            "problems": recording.problems, "metrics": recording.metrics}


def op_log_json(entry) -> dict:
    return {"operate_time": _ms(entry.created_at), "operate_type": entry.operation, "operator": entry.actor_name,
            "message": entry.message}


def tts_job_json(job: jobs.Job, api_base: str, path: str) -> dict:
    from voices.tasks import tts_state

    data = {"job_id": str(job.pk), "state": tts_state(job), "progress": job.progress, "stage": job.stage,
            "error_code": job.error_code or None, "error_msg": job.error_msg or None,
            "create_time": _ms(job.created_at), "finish_time": _ms(job.finished_at),
            "voice_asset_id": job.params.get("voice_asset_id"), "audio_file_url": None}
    if job.state == jobs.Job.State.SUCCEED:
        data.update(job.result)
        data["audio_file_url"] = f"{api_base}/{path}/{job.pk}/audio"
    return data


def reading_json(reading) -> dict:
    return {"id": str(reading.pk), "source_text": reading.source, "target_text": reading.target,
            "group_id": str(reading.group_id) if reading.group_id else None,
            "create_time": _ms(reading.created_at)}


def group_json(group) -> dict:
    return {"group_id": str(group.pk), "group_name": group.name, "asset_ids": group.voice_ids,
            "reading_count": group.readings.count(), "create_time": _ms(group.created_at)}


def voice_json(info) -> dict:
    return {"voice_id": info.voice_id, "name": info.name, "engine": info.engine, "language": info.language,
            "languages": list(info.languages), "sex": info.gender.upper(), "description": info.description,
            "tier": "PRESET"}
