"""Avatar jobs on the real engine: the training video check, review, training into a HUMAN_MODEL_2D model with a
cover, a preview clip and a model card, metering once, failure paths (refused training, dead worker) and
speech clips. The media are the engine's own test clips (synthesis.avatar.testmedia: a photo animated into a
4 s talking clip), so training takes seconds."""

from pathlib import Path

import numpy as np
import pytest
import soundfile
from django.core.files.storage import default_storage

from assets import actions as asset_actions
from assets.models import Asset, AssetFile
from avatars import actions, tasks
from avatars.models import AvatarTrainingJob
from billing.models import UsageRecord
from metastudio import jobs
from synthesis.media.probe import probe
from tenancy.audit import Actor
from tests import media_samples as ms
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401

pytestmark = pytest.mark.timeout(300)
State = AvatarTrainingJob.State


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    from synthesis.avatar import testmedia

    folder = tmp_path_factory.mktemp("avatar-clips")
    testmedia.make_talking_clip(folder / "talk.mp4", seconds=4, size=(256, 256))
    testmedia.make_talking_clip(folder / "green.mp4", seconds=4, size=(256, 256), green_screen=True)
    testmedia.make_still_clip(folder / "still.mp4", seconds=3)
    return {"talk": folder / "talk.mp4", "green": folder / "green.mp4", "still": folder / "still.mp4",
            "letter": ms.make_pdf(folder / "letter.pdf", pages=1),
            "id": ms.make_image(folder / "id.png", (200, 120)),
            "wav": ms.make_wav(folder / "speech.wav", rate=16000, channels=1, seconds=2),
            "mp3": ms.make_mp3(folder / "speech.mp3", seconds=2)}


@pytest.fixture(scope="module")
def trained(clips, tmp_path_factory):
    """The engine's output for the talking clip (no database): model, cover, preview."""
    from synthesis.avatar.preview import render_preview
    from synthesis.avatar.training import train_avatar

    folder = tmp_path_factory.mktemp("avatar-trained")
    result = train_avatar(clips["talk"], folder / "work")
    preview = render_preview(result.model_path, folder / "preview.mp4")
    return {"model": Path(result.model_path), "cover": Path(result.cover_path), "preview": Path(preview),
            "card": actions.jsonable(result.card)}


@pytest.fixture
def system(tenant):
    return Actor.system(tenant.account)


@pytest.fixture
def reviewer_actor(db):
    return Actor.system()


def base(t) -> str:
    return f"/v1/{t.project_id}/digital-human-training-manage/user/jobs"


def material(system, tenant, clips, video: str = "talk", **settings) -> AvatarTrainingJob:
    job = actions.create_training_job(system, tenant.account, name="Astronaut", project=tenant.project, **settings)
    actions.upload_file(system, job, "TRAINING_VIDEO", clips[video], f"{video}.mp4")
    actions.upload_file(system, job, "GRANT_FILE", clips["letter"], "letter.pdf")
    return AvatarTrainingJob.objects.get(pk=job.pk)


def run_engine(job: AvatarTrainingJob) -> AvatarTrainingJob:
    job.refresh_from_db()
    outcome = jobs.run(str(job.engine_job_id))
    job.refresh_from_db()
    assert outcome in ("done", "failed"), outcome
    return job


def approved(system, reviewer_actor, tenant, clips, video="talk") -> AvatarTrainingJob:
    """A job through the real check and a reviewer's approval, its training queued."""
    job = run_engine(actions.submit(system, material(system, tenant, clips, video)))
    assert job.state == State.MANUAL_VERIFYING, job.reason
    return actions.review(reviewer_actor, job, approved=True, message="ok")


def model_asset(tenant, trained, **card) -> Asset:
    """A trained avatar in the library, from the engine's output (stored like the training job stores it)."""
    job = actions.create_training_job(Actor.system(tenant.account), tenant.account, name="Stored",
                                      project=tenant.project)
    AvatarTrainingJob.objects.filter(pk=job.pk).update(state=State.INFERENCE_DATA_PREPROCESSING)
    job.refresh_from_db()
    asset = tasks._store_model(job, trained["model"], trained["cover"], trained["preview"], {**trained["card"], **card})
    Asset.objects.filter(pk=asset.pk).update(state=Asset.State.ACTIVED)
    asset.refresh_from_db()
    return asset


# --- the whole journey ------------------------------------------------------------------------------------

def test_video_is_checked_reviewed_trained_and_the_model_is_used_inside_the_platform(
        api, tenant, clips, reviewer_actor, monkeypatch):
    client = api(tenant.owner)
    created = send_json(client, "POST", base(tenant), {"name": "Astronaut", "tags": ["demo"]}).json()
    path = f"{base(tenant)}/{created['job_id']}"
    upload = api()
    for url, file in ((created["training_video_upload_url"][0], clips["talk"]),
                      (created["grant_file_upload_url"], clips["letter"]),
                      (created["id_card_image1_upload_url"], clips["id"])):
        response = upload.generic("PUT", url.replace("http://testserver", ""), file.read_bytes(),
                                  content_type="application/octet-stream")
        assert response.status_code == 200, response.content
    assert send_json(client, "POST", f"{path}/command", {"command": "SUBMITVERIFYING"}).status_code == 200
    job = run_engine(AvatarTrainingJob.objects.get(pk=created["job_id"]))
    assert job.state == State.MANUAL_VERIFYING, job.reason
    shown = client.get(path).json()
    assert shown["verify_result"]["passed"] and shown["verify_result"]["width"] == 256
    assert {rule["rule"] for rule in shown["verify_result"]["rules"]} >= {"resolution", "duration", "one_person"}
    assert shown["model_resolution"] == "1080P"

    job = actions.review(reviewer_actor, job, approved=True, message="letter and face match")
    assert client.get(path).json()["phase"] == "TRAINING"
    seen = []
    original = jobs.JobRun.progress

    def spy(run, percent, stage):
        original(run, percent, stage)
        detail = client.get(path).json()
        seen.append((detail["state"], detail["progress"], detail["stage"]))

    monkeypatch.setattr(jobs.JobRun, "progress", spy)
    job = run_engine(job)
    monkeypatch.undo()
    assert job.state == State.JOB_SUCCESS, job.reason
    states = [state for state, _, _ in seen]
    assert states.index("TRAINING_DATA_PREPROCESSING") < states.index("TRAINING") < states.index(
        "INFERENCE_DATA_PREPROCESSING")
    assert ("TRAINING", "tracking the face") in {(state, stage) for state, _, stage in seen}
    percents = [percent for _, percent, _ in seen]
    assert percents == sorted(percents) and 0 < percents[-1] < 100

    shown = client.get(path).json()
    assert shown["state"] == "JOB_SUCCESS" and shown["progress"] == 100 and shown["supports_actions"] is False
    asset = Asset.objects.get(pk=shown["asset_id"])
    assert asset.type == "HUMAN_MODEL_2D" and asset.state == "ACTIVED" and asset.name == "Astronaut"
    card = asset.media_info["model_card"]
    assert card["resolution"] == "256x256" and card["supports_actions"] is False and "validation" in card
    assert asset.media_info["human_model_2d_meta"]["model_resolution"] == "1080P"
    files = {file.category: file for file in asset.files.all()}
    assert set(files) == {"MAIN", "COVER", "SAMPLE"}
    sample = probe(Path(default_storage.path(files["SAMPLE"].stored.name)))
    assert sample.kind == "video" and sample.has_audio and sample.duration_s > 1
    # the model is never downloaded; its cover and preview are
    assert_error(client.get(f"/v1/{tenant.project_id}/files/{files['MAIN'].pk}/download"), 403, "MSS.00000005",
                 "cannot be exported")
    cover = client.get(shown["cover_download_url"].replace("http://testserver", ""))
    assert cover.status_code == 200 and b"".join(cover.streaming_content)[:2] == b"\xff\xd8"
    logs = [entry["log_type"] for entry in shown["operation_logs"]]
    for expected in ("USER_CREATE_JOB", "USER_VERIFYING_SUBMITTED", "SYSTEM_VERIFY_SUCCESS", "ADMIN_VERIFY_SUCCESS",
                     "SYSTEM_TRAINING", "SYSTEM_TRAIN_SUCCESS", "SYSTEM_JOB_SUCCESS"):
        assert expected in logs, logs
    usage = UsageRecord.objects.filter(account=tenant.account, resource_type="AVATAR_TRAINING")
    assert [(record.quantity, record.unit) for record in usage] == [(1, "model")]
    # a succeeded job can be deleted: the model stays in the library
    assert send_json(client, "DELETE", path).status_code == 204
    assert Asset.objects.filter(pk=asset.pk, state="ACTIVED").exists()


# --- the check's verdicts ---------------------------------------------------------------------------------

def test_a_video_without_a_face_fails_the_check_and_can_be_replaced(system, tenant, clips):
    job = run_engine(actions.submit(system, material(system, tenant, clips, "still")))
    assert job.state == State.AUTO_VERIFY_FAILED
    failed = [rule for rule in job.verify_report["rules"] if rule["status"] == "fail"]
    assert failed and all(rule["message"] in job.reason for rule in failed)
    assert job.logs.filter(log_type="SYSTEM_VERIFY_FAILED").exists()
    # the user uploads another video and submits again
    actions.upload_file(system, job, "TRAINING_VIDEO", clips["talk"], "talk.mp4")
    job = actions.submit(system, AvatarTrainingJob.objects.get(pk=job.pk))
    assert job.state == State.AUTO_VERIFYING and job.verify_report == {}


def test_background_replacement_needs_a_green_screen(system, tenant, clips):
    job = run_engine(actions.submit(system, material(system, tenant, clips, is_background_replacement=True)))
    assert job.state == State.AUTO_VERIFY_FAILED and "is_background_replacement" in job.reason
    green = run_engine(actions.submit(system, material(system, tenant, clips, "green",
                                                       is_background_replacement=True)))
    assert green.state == State.MANUAL_VERIFYING, green.reason
    assert green.verify_report["green_screen"] is True


# --- training failures ------------------------------------------------------------------------------------

def test_training_the_engine_refuses_fails_the_job_with_its_reason(system, reviewer_actor, tenant, clips):
    job = actions.submit(system, material(system, tenant, clips, "still"))
    # a reviewer let through a video the check had doubts about: the training engine itself refuses it
    job = actions.finish_video_check(job.pk, {"passed": True, "rules": [], "width": 256, "height": 256})
    job = run_engine(actions.review(reviewer_actor, job, approved=True))
    assert job.state == State.TRAIN_FAILED and "face was found in only 0%" in job.reason
    assert job.engine_job.state == "FAILED" and job.finished_at and job.model_asset is None
    assert not Asset.objects.filter(account=tenant.account).exists()
    assert not UsageRecord.objects.filter(account=tenant.account).exists()


def test_marked_actions_outside_the_video_fail_training_with_the_reason(system, reviewer_actor, tenant, clips):
    job = material(system, tenant, clips, action_segments=[{"name": "wave", "start_time": 3, "end_time": 9}])
    job = run_engine(actions.submit(system, job))
    job = run_engine(actions.review(reviewer_actor, job, approved=True))
    assert job.state == State.TRAIN_FAILED and "action 'wave' (3-9 s) is not inside the video" in job.reason


def test_a_training_whose_worker_died_is_failed_by_the_reaper_and_charges_nothing(
        system, reviewer_actor, tenant, clips, trained):
    job = approved(system, reviewer_actor, tenant, clips)
    engine = job.engine_job
    jobs.Job.objects.filter(pk=engine.pk).update(state="PROCESSING", attempts=engine.kind_spec.limit("max_attempts"),
                                                 heartbeat_at=None)
    jobs.reap()
    job.refresh_from_db()
    assert job.state == State.TRAINING_DATA_PREPROCESS_FAILED and "stopped responding" in job.reason
    assert not UsageRecord.objects.filter(account=tenant.account).exists()
    # the same during training, with a half-stored model: the model is removed
    job = approved(system, reviewer_actor, tenant, clips)
    AvatarTrainingJob.objects.filter(pk=job.pk).update(state=State.TRAINING)
    job.refresh_from_db()
    half = tasks._store_model(job, trained["model"], trained["cover"], trained["preview"], trained["card"])
    jobs.Job.objects.filter(pk=job.engine_job_id).update(state="PROCESSING", attempts=2, heartbeat_at=None)
    jobs.reap()
    job.refresh_from_db()
    assert job.state == State.TRAIN_FAILED and job.model_asset is None
    assert not Asset.objects.filter(pk=half.pk).exists()
    assert not UsageRecord.objects.filter(account=tenant.account).exists()


def test_a_retry_after_the_model_was_stored_resumes_and_charges_once(system, reviewer_actor, tenant, clips, trained):
    job = approved(system, reviewer_actor, tenant, clips)
    # the first attempt stored the model, then its worker died before completing
    AvatarTrainingJob.objects.filter(pk=job.pk).update(state=State.INFERENCE_DATA_PREPROCESSING)
    job.refresh_from_db()
    stored = tasks._store_model(job, trained["model"], trained["cover"], trained["preview"], trained["card"])
    jobs.Job.objects.filter(pk=job.engine_job_id).update(state="PROCESSING", attempts=1, heartbeat_at=None)
    assert jobs.reap()["retried"] == [job.engine_job_id]
    job = run_engine(job)  # resumes: no second training, no second model
    assert job.state == State.JOB_SUCCESS and job.model_asset_id == stored.pk
    assert Asset.objects.filter(account=tenant.account, type="HUMAN_MODEL_2D").count() == 1
    assert Asset.objects.get(pk=stored.pk).state == "ACTIVED"
    assert jobs.complete(job.engine_job_id, 2, {}, None, [jobs.Usage("AVATAR_TRAINING", 1, "model")]) is False
    assert UsageRecord.objects.filter(account=tenant.account, resource_type="AVATAR_TRAINING").count() == 1


def test_a_model_that_supports_actions_is_marked(tenant, trained):
    asset = model_asset(tenant, trained, supports_actions=True, actions=["wave", "nod"])
    assert "SUPPORTS_ACTIONS" in asset.tags
    assert asset.media_info["supports_actions"] is True and asset.media_info["actions"] == ["wave", "nod"]
    assert asset.media_info["human_model_2d_meta"]["is_with_action_library"] is True
    plain = model_asset(tenant, trained)
    assert plain.tags == [] and plain.media_info["supports_actions"] is False


def test_trained_model_files_are_never_exported(tenant, trained):
    asset = model_asset(tenant, trained)
    main = asset.files.get(category="MAIN")
    with pytest.raises(Exception, match="cannot be exported"):
        asset_actions.ensure_exportable(main)
    for category in ("COVER", "SAMPLE"):
        asset_actions.ensure_exportable(asset.files.get(category=category))  # no error


# --- speaking -------------------------------------------------------------------------------------------

def test_the_avatar_speaks_text_with_a_voice(tenant, trained, system):
    asset = model_asset(tenant, trained)
    job = actions.speak_with_avatar(system, asset, text="Hello, I am your digital human.", voice_id="espeak-en-us-f")
    assert job.kind == "avatars.speak" and job.params["tts"]["characters"] == 31
    assert jobs.run(str(job.pk)) == "done", jobs.Job.objects.get(pk=job.pk).error_msg
    job.refresh_from_db()
    video = Asset.objects.get(pk=job.result["asset_id"])
    assert video.type == "VIDEO" and video.state == "ACTIVED" and video.created_by_platform
    assert video.has_property("CREATED_BY_PLATFORM") and video.media_info["model_asset_id"] == str(asset.pk)
    assert {file.category for file in video.files.all()} == {"MAIN", "THUMBNAIL"}
    clip = probe(Path(default_storage.path(video.files.get(category="MAIN").stored.name)))
    assert clip.kind == "video" and clip.has_audio and clip.fps == 25 and 1 < clip.duration_s < 6
    usage = UsageRecord.objects.get(account=tenant.account, resource_type="TTS_CHARACTERS_PRESET")
    assert usage.quantity == 31


def test_the_avatar_lip_syncs_uploaded_audio(tenant, trained, system, clips, django_capture_on_commit_callbacks):
    asset = model_asset(tenant, trained)
    job = actions.speak_with_avatar(system, asset, audio_path=clips["mp3"])
    stored = job.params["audio_name"]
    assert default_storage.exists(stored) and job.params["audio_seconds"] == pytest.approx(2, abs=0.1)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run(str(job.pk)) == "done", jobs.Job.objects.get(pk=job.pk).error_msg
    job.refresh_from_db()
    assert Asset.objects.get(pk=job.result["asset_id"]).type == "VIDEO"
    assert not default_storage.exists(stored)  # the audio was kept only for the job
    assert not UsageRecord.objects.filter(account=tenant.account).exists()


def test_speak_requests_are_checked_before_a_job_exists(tenant, other_tenant, trained, system, clips, tmp_path):
    asset = model_asset(tenant, trained)
    long_wav = tmp_path / "long.wav"
    soundfile.write(long_wav, np.zeros(8000 * 301, dtype=np.int16), 8000, subtype="PCM_16")
    cases = [
        ({"text": "x" * 2001, "voice_id": "espeak-en-us-f"}, "text", "at most 2000 characters"),
        ({"text": "hi", "voice_id": "espeak-en-us-f", "audio_path": clips["wav"]}, "text", "not both"),
        ({}, "text", "either text"),
        ({"text": "hi"}, "voice_id", "a voice is required"),
        ({"text": "hi", "voice_id": "no-such-voice"}, "voice_id", "does not exist"),
        ({"audio_path": clips["id"]}, "audio", "must be a WAV or MP3"),
        ({"audio_path": long_wav}, "audio", "at most 5 minutes"),
    ]
    for kwargs, field, words in cases:
        with pytest.raises(Exception) as caught:
            actions.speak_with_avatar(system, asset, **kwargs)
        assert caught.value.field == field and words in caught.value.message, (kwargs, caught.value.message)
    theirs = Asset.objects.create(account=other_tenant.account, name="their voice", type="VOICE_MODEL",
                                  state="ACTIVED")
    with pytest.raises(Exception, match="does not exist"):
        actions.speak_with_avatar(system, asset, text="hi", voice_id=str(theirs.pk))
    voice = Asset.objects.create(account=tenant.account, name="a voice", type="VOICE_MODEL", state="ACTIVED")
    with pytest.raises(Exception, match="HUMAN_MODEL_2D"):
        actions.speak_with_avatar(system, voice, text="hi", voice_id="espeak-en-us-f")
    asset_actions.freeze(system, asset, "complaint")
    asset.refresh_from_db()
    with pytest.raises(Exception, match="frozen") as caught:
        actions.speak_with_avatar(system, asset, text="hi", voice_id="espeak-en-us-f")
    assert caught.value.status == 409
    assert not jobs.Job.objects.filter(kind="avatars.speak").exists()


def test_speak_job_of_a_model_frozen_meanwhile_fails_with_the_reason(tenant, trained, system):
    asset = model_asset(tenant, trained)
    job = actions.speak_with_avatar(system, asset, text="Hello.", voice_id="espeak-en-us-f")
    asset_actions.freeze(system, asset, "complaint")
    assert jobs.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert "frozen" in job.error_msg and not Asset.objects.filter(type="VIDEO").exists()


def test_a_model_without_its_file_cannot_speak(tenant, trained, system):
    asset = model_asset(tenant, trained)
    main = asset.files.get(category="MAIN")
    AssetFile.objects.filter(pk=main.pk).update(state="FAILED")
    with pytest.raises(Exception, match="no model file"):
        actions.speak_with_avatar(system, asset, text="Hello.", voice_id="espeak-en-us-f")

