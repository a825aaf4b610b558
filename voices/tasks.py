"""Voice and TTS jobs: thin handlers that take ids, call the speech engine and write results back."""

import contextlib
import json
import logging
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from assets.models import Asset, AssetFile
from assets.tasks import local_copy, store_generated_file
from metastudio.errors import ServiceError
from metastudio.jobs import Job, JobFailure, JobKind, JobRun, register_kind
from voices import actions, speech
from voices.models import VoiceRecording, VoiceTrainingJob

logger = logging.getLogger(__name__)

AUDIT = register_kind(JobKind(name="voice_audit", label="Voice material system audit", iam_resource="voice",
                              handler="voices.tasks.audit_voice_job", on_fail="voices.actions.engine_failed",
                              lease_seconds=600))
TRAIN = register_kind(JobKind(name="voice_train", label="Voice model training", iam_resource="voice",
                              handler="voices.tasks.train_voice", on_fail="voices.actions.engine_failed",
                              lease_seconds=600, max_attempts=2))
TTS_ASYNC = register_kind(JobKind(name="tts_async", label="Speech synthesis", iam_resource="tts",
                                  handler="voices.tasks.synthesize", on_succeed="voices.tasks.schedule_callback"))
TTS_AUDITION = register_kind(JobKind(name="tts_audition", label="Speech audition", iam_resource="tts",
                                     handler="voices.tasks.synthesize"))
SAMPLE_TEXT = {
    "zh": "大家好，这是我的数字人声音。欢迎使用数字内容生产线。",
    "en": "Hello, this is my digital voice. Welcome to the digital content production line.",
}
CALLBACK_TIMEOUT_SECONDS = 10


def _voice_job(run: JobRun) -> VoiceTrainingJob:
    job = VoiceTrainingJob.objects.filter(pk=run.job.params.get("voice_job_id")).first()
    if job is None:
        raise JobFailure("the voice training job no longer exists")
    return job


# --- system audit (and splitting for ADVANCE) ----------------------------------------------------

def audit_voice_job(run: JobRun) -> dict:
    job = _voice_job(run)
    if job.tier == VoiceTrainingJob.Tier.ADVANCE:
        _split_long_recording(run, job)
        job.refresh_from_db()
    recordings = list(job.recordings.all())
    errors, asr = [], job.tier != VoiceTrainingJob.Tier.ADVANCE
    for position, recording in enumerate(recordings):
        run.progress(10 + 85 * position // max(1, len(recordings)), f"checking sentence {recording.index}")
        with local_copy(recording.audio.name) as path:
            checked = actions.recheck_recording(recording, Path(path), asr=asr)
        for problem in checked.problems:
            errors.append({"audio_name": f"{recording.index}.wav", "text_name": f"{recording.index}.txt",
                           "error_code": problem["code"], "error_message": problem["message"]})
    redo = sorted({int(error["audio_name"].split(".")[0]) for error in errors})
    summary = (f"{len(redo)} of {len(recordings)} recordings must be redone: sentences "
               f"{actions.sentence_ranges(redo)}" if errors else f"{len(recordings)} recordings passed the checks")
    actions.finish_system_audit(job.pk, errors, summary)
    return {"voice_job_id": str(job.pk), "errors": len(errors), "summary": summary}


def _split_long_recording(run: JobRun, job: VoiceTrainingJob) -> None:
    from synthesis.speech.longform import split_long_audio

    run.progress(1, "splitting the long recording")
    with tempfile.TemporaryDirectory(prefix="voice-split-") as folder, local_copy(job.package.name) as package:
        work = Path(folder)
        sources = _long_sources(Path(package), work)
        utterances = []
        for number, source in enumerate(sources):
            def report(percent, stage, number=number):
                run.progress(1 + int((number + percent / 100) * 8 / len(sources)), f"splitting: {stage}")

            utterances += split_long_audio(str(source), job.language, str(work / f"out{number}"), progress=report)
        speech_seconds = sum(item.end - item.start for item in utterances)
        if speech_seconds < settings.VOICE_ADVANCE_MIN_SECONDS:
            reason = (f"the recording holds {speech_seconds / 60:.1f} min of speech; an ADVANCE voice needs at "
                      f"least {settings.VOICE_ADVANCE_MIN_SECONDS / 60:.0f} min")
            actions.split_failed(job.pk, reason)
            raise JobFailure(reason)
        with transaction.atomic():
            job = VoiceTrainingJob.objects.select_for_update().get(pk=job.pk)
            old = [recording.audio.name for recording in job.recordings.all()]
            job.recordings.all().delete()
            for index, item in enumerate(utterances, start=1):
                recording = VoiceRecording(job=job, index=index, text=item.text[:1024])
                with open(item.path, "rb") as handle:
                    recording.audio.save(f"{job.pk}/{index:04d}.wav", handle, save=False)
                recording.save()
            job.prompts = [item.text[:1024] for item in utterances]
            job.state = VoiceTrainingJob.State.SYSTEM_AUDITING
            job.save()
            actions.log(job, "SPLIT_DONE", None, f"{len(utterances)} sentences, {speech_seconds / 60:.1f} min")
            transaction.on_commit(lambda: [default_storage.delete(name) for name in old if name])


def _long_sources(package: Path, work: Path) -> list[Path]:
    if not zipfile.is_zipfile(package):
        return [package]
    sources = []
    with zipfile.ZipFile(package) as archive:
        for number, info in enumerate(archive.infolist()):
            if info.filename.lower().endswith(".wav") and not info.is_dir():
                target = work / f"part{number:04d}.wav"
                with archive.open(info) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1024 * 1024)
                sources.append(target)
    if not sources:
        raise JobFailure("the zip holds no WAV file")
    return sources


# --- training -------------------------------------------------------------------------------------

def train_voice(run: JobRun) -> dict:
    from synthesis.speech import clone, synth
    from synthesis.speech.audio import encode
    from synthesis.speech.types import SynthesisOptions

    try:
        job = actions.training_started(_voice_job(run).pk)
    except ServiceError as error:
        raise JobFailure(error.message) from None
    recordings = list(job.recordings.filter(status=VoiceRecording.Status.OK))
    if len(recordings) < 5:
        raise JobFailure(f"only {len(recordings)} usable recordings; at least 5 are needed")
    base_voice = clone.default_base_voice(job.language)

    def report(percent, stage):
        run.progress(5 + int(percent * 0.85), stage)

    with tempfile.TemporaryDirectory(prefix="voice-train-") as folder, contextlib.ExitStack() as copies:
        work = Path(folder)
        pairs = [(str(copies.enter_context(local_copy(recording.audio.name))), recording.text)
                 for recording in recordings]
        run.progress(5, "preparing recordings")
        trained = clone.train(pairs, base_tts=clone.synth_base_tts(base_voice), language=job.language,
                              progress=report, base_voice_id=base_voice)
        model_path = work / "voice-model.npz"
        trained.save(str(model_path))
        run.progress(92, "making a sample")
        converter = trained.converter()
        sample = synth.synthesize(SAMPLE_TEXT.get(job.language, SAMPLE_TEXT["en"]), voice_id=base_voice,
                                  options=SynthesisOptions(sample_rate=24000), ssml=False, converter=converter)
        sample_path = work / "sample.wav"
        sample_path.write_bytes(encode(sample.pcm, sample.sample_rate, "wav"))
        metrics = actions.jsonable(trained.metrics)
        asset = _create_voice_asset(job, base_voice, metrics, model_path, sample_path)
    run.meter(f"VOICE_TRAINING_{job.tier}", 1, "voice")
    return {"voice_job_id": str(job.pk), "voice_asset_id": str(asset.pk), "metrics": metrics}


@transaction.atomic
def _create_voice_asset(job: VoiceTrainingJob, base_voice: str, metrics: dict, model: Path, sample: Path) -> Asset:
    asset = Asset.objects.create(
        account=job.account, project=job.project, created_by=job.created_by, name=job.voice_name,
        description=job.description, type=Asset.Type.VOICE_MODEL, state=Asset.State.ACTIVED,
        review=Asset.Review.PASSED, review_note="training material approved by a reviewer",
        media_info={"voice_tier": job.tier, "base_voice_id": base_voice, "language": job.language,
                    "sex": job.sex, "training_job_id": str(job.pk), "sentences": job.recordings.count(),
                    "method": metrics.get("method", "WORLD parallel-data conversion"), "metrics": metrics,
                    "trained_at": timezone.now().isoformat()},
    )
    files = [store_generated_file(asset, AssetFile.Category.MAIN, model, file_type="npz"),
             store_generated_file(asset, AssetFile.Category.SAMPLE, sample, file_type="wav")]
    Asset.objects.filter(pk=asset.pk).update(size_bytes=sum(file.declared_size for file in files))
    actions.training_succeeded(job.pk, asset)
    return asset


# --- TTS ---------------------------------------------------------------------------------------

def synthesize(run: JobRun) -> dict:
    from synthesis.speech.audio import encode
    from synthesis.speech.types import SpeechError

    params, account = run.job.params, run.job.account
    try:
        chunks = []
        for chunk in speech.stream(account, params):
            chunks.append(chunk)
            run.progress(min(95, 5 + len(chunks) * 3), f"synthesized {len(chunks)} sentences")
    except ServiceError as error:
        raise JobFailure(error.message) from None
    except SpeechError as error:
        raise JobFailure(f"{error.field}: {error.message}") from None
    import numpy as np

    pcm = np.concatenate([chunk.pcm for chunk in chunks]) if chunks else np.zeros(0, dtype=np.int16)
    audio_format = params["audio_format"].lower()
    data = encode(pcm, params["sample_rate"], audio_format)
    from django.core.files.base import ContentFile

    run.attach_file(f"tts-{run.job.pk}.{audio_format}", ContentFile(data))
    duration = len(pcm) / params["sample_rate"]
    result = {"duration": round(duration, 3), "characters": params["characters"],
              "audio_format": params["audio_format"], "sample_rate": params["sample_rate"]}
    if params.get("need_timestamp"):
        result["timestamps"] = [speech.word_json(word) for chunk in chunks for word in chunk.words]
    run.meter(speech.tts_resource(params["voice_tier"]), params["characters"], "characters")
    return result


def schedule_callback(job: Job) -> None:
    if job.params.get("callback_url"):
        from django_q.tasks import async_task

        transaction.on_commit(lambda: async_task("voices.tasks.send_callback", str(job.pk)))


def send_callback(job_id: str) -> bool:
    """POST the finished job's summary to the caller's callback URL (best effort, once)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not job.params.get("callback_url"):
        return False
    body = json.dumps({"job_id": str(job.pk), "state": tts_state(job), **job.result}).encode()
    request = urllib.request.Request(job.params["callback_url"], data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return 200 <= response.status < 300
    except OSError as error:
        logger.warning("TTS callback of job %s failed: %s", job_id, error)
        return False


def tts_state(job: Job) -> str:
    """MetaStudio's TTS job states."""
    return {"SUCCEED": "FINISHED", "FAILED": "ERROR", "CANCELED": "ERROR"}.get(job.state, job.state)
