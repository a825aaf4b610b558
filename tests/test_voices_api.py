"""Voice production API: jobs, recordings and their checks, packages, letters, submit, audit, review, training,
op-logs; tenant isolation and IAM. Recordings are espeak speech made on the spot (tests/voice_samples.py)."""

import pytest

from metastudio import jobs
from tenancy.audit import Actor
from tests import voice_samples as vs
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401
from voices import actions
from voices.models import VoiceRecording, VoiceTrainingJob

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(autouse=True)
def _no_asr(settings):
    settings.VOICE_CHECK_ASR = False


def base(t) -> str:
    return f"/v1/{t.project_id}/voice-training-manage/user"


def create_job(api, t, tier="basic", **body):
    body = {"voice_name": "Anna", "sex": "FEMALE", "language": "en", **body}
    response = send_json(api(t.owner), "POST", f"{base(t)}/{tier}-jobs", body)
    assert response.status_code == 201, response.content
    return response.json()


def put_bytes(client, path: str, data: bytes, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.generic("PUT", f"{path}?{query}" if query else path, data, content_type="application/octet-stream")


def test_create_basic_job_gives_twenty_prompts(api, tenant):
    data = create_job(api, tenant)
    assert data["state"] == "CREATING" and data["tag"] == "BASIC"
    assert len(data["training_prompts"]) == 20 and all(data["training_prompts"])
    middle = create_job(api, tenant, tier="middle", language="zh")
    assert len(middle["training_prompts"]) == 100
    advance = create_job(api, tenant, tier="advance")
    assert advance["training_prompts"] == []
    listed = api(tenant.member).get(f"{base(tenant)}/jobs?tag=MIDDLE").json()
    assert listed["count"] == 1 and listed["jobs"][0]["job_id"] == middle["job_id"]


@pytest.mark.parametrize("body, field", [
    ({"voice_name": ""}, "voice_name"),
    ({"voice_name": "x" * 257}, "voice_name"),
    ({"sex": "OTHER"}, "sex"),
    ({"language": "xx"}, "language"),
    ({"description": "d" * 1025}, "description"),
])
def test_create_refuses_bad_fields(api, tenant, body, field):
    response = send_json(api(tenant.owner), "POST", f"{base(tenant)}/basic-jobs",
                         {"voice_name": "Anna", "language": "en", **body})
    assert_error(response, 400, "MSS.00000003", field)
    assert not VoiceTrainingJob.objects.exists()


def test_unknown_tier_and_rights(api, tenant):
    assert_error(send_json(api(tenant.owner), "POST", f"{base(tenant)}/premium-jobs", {"voice_name": "A"}),
                 404, "APIGW.0101")
    assert_error(send_json(api(tenant.member), "POST", f"{base(tenant)}/basic-jobs", {"voice_name": "A"}),
                 403, "MSS.00000005")
    assert_error(send_json(api(tenant.nobody), "GET", f"{base(tenant)}/jobs"), 403, "MSS.00000005")


def test_personal_accounts_cannot_make_voices(api, db):
    from tests.factories import make_tenant

    personal = make_tenant(is_enterprise=False)
    response = send_json(api(personal.owner), "POST", f"{base(personal)}/basic-jobs", {"voice_name": "A"})
    assert_error(response, 403, "MSS.00000005", "enterprise")


def test_other_tenant_sees_nothing(api, tenant, other_tenant):
    job_id = create_job(api, tenant)["job_id"]
    outsider = api(other_tenant.owner)
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/op-logs"), ("GET", "/audit-result"),
                           ("POST", "/commit"), ("GET", "/recordings")):
        assert_error(send_json(outsider, method, f"{base(other_tenant)}/jobs/{job_id}{suffix}"), 404, "MSS.00000004")
    response = put_bytes(outsider, f"{base(other_tenant)}/jobs/{job_id}/recordings/1", vs.speech_wav("hello there"))
    assert_error(response, 404, "MSS.00000004")
    assert other_tenant.account.voice_jobs.count() == 0
    assert api(other_tenant.owner).get(f"{base(other_tenant)}/jobs").json()["count"] == 0


def test_recording_is_checked_and_bad_ones_say_what_to_redo(api, tenant):
    job = create_job(api, tenant)
    client, path = api(tenant.owner), f"{base(tenant)}/jobs/{job['job_id']}/recordings"
    good = put_bytes(client, f"{path}/1", vs.speech_wav(job["training_prompts"][0]))
    assert good.status_code == 200 and good.json()["status"] == "OK", good.json()
    cases = {
        2: (vs.speech_wav("a sentence recorded at a low rate", sample_rate=8000), "SAMPLE_RATE"),
        3: (vs.stereo_wav("a sentence in stereo"), "NOT_MONO"),
        4: (vs.clipped_wav("a sentence recorded far too loud"), "CLIPPING"),
        5: (vs.silent_wav(), "SILENT"),
    }
    for index, (data, code) in cases.items():
        body = put_bytes(client, f"{path}/{index}", data).json()
        assert body["status"] == "REDO", (index, body)
        assert code in [problem["code"] for problem in body["problems"]], (index, body)
    detail = client.get(f"{base(tenant)}/jobs/{job['job_id']}").json()
    statuses = {sentence["index"]: sentence["status"] for sentence in detail["sentences"]}
    assert statuses[1] == "OK" and statuses[2] == "REDO" and statuses[6] == "MISSING"
    assert any("sentences 2-5" in item for item in detail["missing"]), detail["missing"]
    assert_error(put_bytes(client, f"{path}/21", vs.speech_wav("hello")), 400, "MSS.00000003", "index")
    assert_error(put_bytes(client, f"{path}/0", vs.speech_wav("hello")), 400, "MSS.00000003", "index")
    assert_error(put_bytes(client, f"{path}/1", b""), 400, "MSS.00000003", "file")


def test_wrong_sentence_is_caught_by_speech_recognition(api, tenant, settings):
    settings.VOICE_CHECK_ASR = True
    job = create_job(api, tenant)
    client, path = api(tenant.owner), f"{base(tenant)}/jobs/{job['job_id']}/recordings"
    wrong = put_bytes(client, f"{path}/1", vs.speech_wav("The weather is cold and the trains are late today.")).json()
    assert wrong["status"] == "REDO" and wrong["problems"][0]["code"] == "TEXT_MISMATCH", wrong
    right = put_bytes(client, f"{path}/2", vs.speech_wav(job["training_prompts"][1])).json()
    assert right["status"] == "OK", right


def test_zip_with_nineteen_files_or_traversal_is_refused(api, tenant, tmp_path):
    job = create_job(api, tenant)
    client, path = api(tenant.owner), f"{base(tenant)}/jobs/{job['job_id']}/package"
    short = put_bytes(client, path, vs.recordings_zip(job["training_prompts"], skip=(20,)), file_name="set.zip")
    assert_error(short, 400, "MSS.00000003", "exactly 20", "has 19", "missing [20]")
    traversal = vs.recordings_zip(job["training_prompts"], extra={"../evil.wav": b"RIFF"})
    assert_error(put_bytes(client, path, traversal), 400, "MSS.00000003", "file")
    assert_error(put_bytes(client, path, b"not a zip"), 400, "MSS.00000003", "zip")
    assert not VoiceRecording.objects.exists()


def test_letter_must_be_a_real_document(api, tenant):
    job = create_job(api, tenant)
    path = f"{base(tenant)}/jobs/{job['job_id']}/authorization-letter"
    assert_error(put_bytes(api(tenant.owner), path, b"MZ\x90\x00", file_name="letter.pdf"), 400, "MSS.00000003")
    assert_error(put_bytes(api(tenant.owner), path, vs.PDF_LETTER, file_name="letter.exe"), 400, "MSS.00000003")
    assert put_bytes(api(tenant.owner), path, vs.PDF_LETTER, file_name="letter.pdf").status_code == 200


def test_submit_lists_what_is_missing(api, tenant):
    job = create_job(api, tenant)
    response = send_json(api(tenant.owner), "POST", f"{base(tenant)}/jobs/{job['job_id']}/commit")
    assert_error(response, 400, "MSS.00000003", "sentences 1-20", "authorization letter")
    assert VoiceTrainingJob.objects.get(pk=job["job_id"]).state == "CREATING"
    assert not jobs.Job.objects.filter(kind="voice_audit").exists()


def _ready_job(api, t, prompts_from=None):
    job = create_job(api, t)
    client, path = api(t.owner), f"{base(t)}/jobs/{job['job_id']}"
    assert put_bytes(client, f"{path}/package", vs.recordings_zip(job["training_prompts"]),
                     file_name="set.zip").status_code == 200
    assert put_bytes(client, f"{path}/authorization-letter", vs.PDF_LETTER, file_name="l.pdf").status_code == 200
    return job, client, path


def test_full_journey_audit_review_train_and_speak(api, tenant, settings, admin_actor):
    job, client, path = _ready_job(api, tenant)
    submitted = send_json(client, "POST", f"{path}/commit").json()
    assert submitted["state"] == "SYSTEM_AUDITING"
    voice_job = VoiceTrainingJob.objects.get(pk=job["job_id"])
    assert jobs.run(str(voice_job.engine_job_id)) == "done"
    voice_job.refresh_from_db()
    assert voice_job.state == "AUDITING", (voice_job.state, voice_job.reason)
    audit = client.get(f"{path}/audit-result").json()
    assert audit["system_audit_result"]["errors"] == []
    # the reviewer approves in the back office: training is queued and runs with progress
    actions.review(admin_actor, voice_job, approved=True, message="letter and voice match")
    voice_job.refresh_from_db()
    assert voice_job.state == "WAITING"
    assert jobs.run(str(voice_job.engine_job_id)) == "done", voice_job.engine_job.error_msg
    voice_job.refresh_from_db()
    assert voice_job.state == "SUCCEED", voice_job.reason
    asset = voice_job.voice_asset
    assert asset.state == "ACTIVED" and asset.type == "VOICE_MODEL"
    assert asset.media_info["metrics"] and asset.media_info["base_voice_id"]
    assert {f.category for f in asset.files.all()} == {"MAIN", "SAMPLE"}
    model_file = asset.files.get(category="MAIN")
    assert_error(client.get(f"/v1/{tenant.project_id}/files/{model_file.pk}/download"), 403, "MSS.00000005",
                 "cannot be exported")
    detail = client.get(path).json()
    assert detail["state"] == "SUCCEED" and detail["progress"] == 100 and detail["asset_id"] == str(asset.pk)
    operations = [entry["operate_type"] for entry in client.get(f"{path}/op-logs").json()["operation_logs"]]
    for expected in ("CREATE", "UPLOAD_PACKAGE", "SUBMIT", "SYSTEM_AUDIT_PASSED", "ADMIN_APPROVED",
                     "TRAINING_SUCCEEDED"):
        assert expected in operations
    from billing.models import UsageRecord

    assert UsageRecord.objects.get(account=tenant.account, resource_type="VOICE_TRAINING_BASIC").quantity == 1
    # the new voice reads Chinese and English with word timestamps
    tts = send_json(client, "POST", f"/v1/{tenant.project_id}/ttsc/async-jobs",
                    {"text": "Hello world. 你好，世界。", "voice_asset_id": str(asset.pk), "need_timestamp": True})
    assert tts.status_code == 201, tts.content
    assert jobs.run(tts.json()["job_id"]) == "done"
    result = client.get(f"/v1/{tenant.project_id}/ttsc/async-jobs/{tts.json()['job_id']}").json()
    assert result["state"] == "FINISHED"
    assert [w["word"] for w in result["timestamps"]][:2] == ["Hello", "world"]
    assert any(w["word"] == "你" for w in result["timestamps"])


def test_reviewer_rejection_and_redo(api, tenant, admin_actor):
    job, client, path = _ready_job(api, tenant)
    send_json(client, "POST", f"{path}/commit")
    voice_job = VoiceTrainingJob.objects.get(pk=job["job_id"])
    jobs.run(str(voice_job.engine_job_id))
    with pytest.raises(Exception, match="say why"):
        actions.review(admin_actor, voice_job, approved=False, message="")
    actions.review(admin_actor, voice_job, approved=False, message="the letter is not signed")
    voice_job.refresh_from_db()
    assert voice_job.state == "AUDIT_FAILED" and "not signed" in voice_job.reason
    audit = client.get(f"{path}/audit-result").json()
    assert audit["admin_audit_result"]["message"] == "the letter is not signed"
    # the tenant fixes it and submits again
    assert put_bytes(client, f"{path}/authorization-letter", vs.PDF_LETTER, file_name="l2.pdf").status_code == 200
    assert send_json(client, "POST", f"{path}/commit").json()["state"] == "SYSTEM_AUDITING"


def test_training_that_dies_marks_the_voice_job_failed_and_charges_nothing(api, tenant, admin_actor):
    job, client, path = _ready_job(api, tenant)
    send_json(client, "POST", f"{path}/commit")
    voice_job = VoiceTrainingJob.objects.get(pk=job["job_id"])
    jobs.run(str(voice_job.engine_job_id))
    actions.review(admin_actor, voice_job, approved=True)
    voice_job.refresh_from_db()
    engine = voice_job.engine_job
    # a worker claimed it and was killed: after the last attempt the reaper fails it
    jobs.Job.objects.filter(pk=engine.pk).update(state="PROCESSING", attempts=engine.kind_spec.limit("max_attempts"),
                                                 heartbeat_at=None)
    jobs.reap()
    voice_job.refresh_from_db()
    assert voice_job.state == "FAILED" and "stopped responding" in voice_job.reason
    from billing.models import UsageRecord

    assert not UsageRecord.objects.filter(account=tenant.account).exists()


def test_training_canceled_in_the_task_center_fails_the_voice_job(api, tenant, admin_actor):
    job, client, path = _ready_job(api, tenant)
    send_json(client, "POST", f"{path}/commit")
    voice_job = VoiceTrainingJob.objects.get(pk=job["job_id"])
    jobs.run(str(voice_job.engine_job_id))
    actions.review(admin_actor, voice_job, approved=True)
    voice_job.refresh_from_db()
    assert voice_job.state == "WAITING"
    jobs.cancel(Actor.system(tenant.account), voice_job.engine_job)
    voice_job.refresh_from_db()
    assert voice_job.state == "FAILED" and "canceled" in voice_job.reason


def test_submitted_job_cannot_change_or_be_deleted(api, tenant):
    job, client, path = _ready_job(api, tenant)
    send_json(client, "POST", f"{path}/commit")
    assert_error(put_bytes(client, f"{path}/recordings/1", vs.speech_wav("hello")), 409, "MSS.00000007")
    assert_error(send_json(client, "DELETE", path), 409, "MSS.00000007")
    assert_error(send_json(client, "POST", f"{path}/commit"), 409, "MSS.00000007")


def test_upload_address_and_batch(api, tenant):
    job = create_job(api, tenant)
    path = f"{base(tenant)}/jobs/{job['job_id']}"
    address = api(tenant.owner).get(f"{path}/uploading-address-url").json()
    assert len(address["segment_url"]["audio_uploading_url"]) == 20
    assert address["authorization_letter_uploading_url"].endswith("/authorization-letter")
    assert send_json(api(tenant.owner), "PUT", f"{path}/batch", {"batch_name": "b1"}).json()["batch_name"] == "b1"
    assert send_json(api(tenant.owner), "DELETE", path).status_code == 204
    assert not VoiceTrainingJob.objects.exists()


@pytest.fixture
def admin_actor(db):
    from tenancy.audit import Actor

    return Actor.system()


def _long_recording(sentences: list[str]) -> bytes:
    import numpy as np

    pause = np.zeros(16000, dtype=np.int16)
    parts = []
    for text in sentences:
        parts += [vs.speech(text), pause]
    return vs.wav_bytes(np.concatenate(parts))


LONG_TEXT = ["The river runs quietly past the old mill.", "Children were playing football in the park.",
             "Please close the window before you leave.", "My brother bought a new bicycle last week.",
             "The library opens early on Saturday morning."]


def test_advance_job_splits_the_long_recording_into_sentences(api, tenant, settings):
    settings.VOICE_ADVANCE_MIN_SECONDS = 8
    job = create_job(api, tenant, tier="advance")
    client, path = api(tenant.owner), f"{base(tenant)}/jobs/{job['job_id']}"
    assert_error(put_bytes(client, f"{path}/recordings/1", vs.speech_wav("hello")), 400, "MSS.00000003", "package")
    assert_error(put_bytes(client, f"{path}/package", b"plain bytes"), 400, "MSS.00000003", "WAV")
    assert put_bytes(client, f"{path}/package", _long_recording(LONG_TEXT), file_name="long.wav").status_code == 200
    put_bytes(client, f"{path}/authorization-letter", vs.PDF_LETTER, file_name="l.pdf")
    assert send_json(client, "POST", f"{path}/commit").json()["state"] == "SPLITTING"
    voice_job = VoiceTrainingJob.objects.get(pk=job["job_id"])
    assert jobs.run(str(voice_job.engine_job_id)) == "done"
    voice_job.refresh_from_db()
    assert voice_job.state == "AUDITING", voice_job.reason
    sentences = client.get(path).json()["sentences"]
    assert len(sentences) == len(LONG_TEXT)
    assert "river" in sentences[0]["text"].lower() and all(s["status"] == "OK" for s in sentences)


def test_advance_job_with_too_little_speech_fails_the_split(api, tenant, settings):
    settings.VOICE_ADVANCE_MIN_SECONDS = 3600
    job = create_job(api, tenant, tier="advance")
    client, path = api(tenant.owner), f"{base(tenant)}/jobs/{job['job_id']}"
    put_bytes(client, f"{path}/package", _long_recording(LONG_TEXT[:2]), file_name="long.wav")
    put_bytes(client, f"{path}/authorization-letter", vs.PDF_LETTER, file_name="l.pdf")
    send_json(client, "POST", f"{path}/commit")
    voice_job = VoiceTrainingJob.objects.get(pk=job["job_id"])
    assert jobs.run(str(voice_job.engine_job_id)) == "failed"
    detail = client.get(path).json()
    assert detail["state"] == "SPLIT_FAILED" and "needs at least 60 min" in detail["reason"]
    # the user can upload a longer recording and submit again
    assert put_bytes(client, f"{path}/package", _long_recording(LONG_TEXT), file_name="l.wav").status_code == 200
