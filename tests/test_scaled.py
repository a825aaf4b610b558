"""The scaled set-up, configured by environment variables only: a private PostgreSQL cluster (DATABASE_URL), a
private redis-server (REDIS_URL: cache, django-q2 broker, channel layer) and a moto S3 server (METASTUDIO_STORAGE=s3),
with two web processes (uvicorn via `runplatform --no-worker`) and two `qcluster` workers.

One export job is created through web A and followed through web B; the tests check what each part did with it.
"""

import csv
import importlib.util
import io
import time
from pathlib import Path

import pytest

from tests.services import (
    HOST,
    PYTHON,
    PostgresCluster,
    Processes,
    free_port,
    http,
    http_bytes,
    manage_all,
    missing_service_binaries,
    platform_env,
    s3_client,
    script_source,
    start_moto,
    start_redis,
    wait_until,
)

MISSING = missing_service_binaries()
pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(bool(MISSING), reason="the scaled set-up needs PostgreSQL 15 and Redis servers; missing "
                       f"{', '.join(MISSING)} (Debian: apt-get install postgresql redis-server)"),
    pytest.mark.skipif(importlib.util.find_spec("moto") is None,
                       reason="the scaled set-up needs moto's S3 server: pip install -r requirements-dev.txt"),
]

BUCKET = "metastudio-test"
ACCOUNT, OWNER, PASSWORD, REGION = "scaled", "scaled-owner", "correct-horse-battery", "cn-north-4"
FINAL = ("SUCCEED", "FAILED", "CANCELED")

LOG_ROWS = 1200  # more than one chunk of the export, all at the same time

SETUP = f"""
from django.utils import timezone

from tenancy import actions
from tenancy.audit import Actor
from tenancy.models import AuditLog

account = actions.create_account(Actor.system(), name={ACCOUNT!r})
actions.create_iam_user(Actor.system(account), account, username={OWNER!r}, password={PASSWORD!r},
                        groups=[account.groups.get(name=actions.ADMIN_GROUP).pk])
now = timezone.now()
AuditLog.objects.bulk_create(AuditLog(account=account, actor_name="loader", action="test.load", created_at=now,
                                      detail={{"n": n}}) for n in range({LOG_ROWS}))
AuditLog.objects.filter(action="test.load").update(created_at=now)
result = str(account.pk)
"""

# Joins the tenant's job group through the channel layer of the settings (Redis) and collects what arrives until
# a job has ended.
LISTEN = """
import asyncio
import time

from channels.layers import get_channel_layer

from metastudio.jobs import job_group

FINAL = ("SUCCEED", "FAILED", "CANCELED")


async def listen():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(job_group(ACCOUNT_ID), channel)
    print("LISTENING", flush=True)
    messages, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(layer.receive(channel), timeout=deadline - time.monotonic())
        except TimeoutError:
            break
        messages.append(message)
        if message.get("type") == "job.update" and message["job"]["state"] in FINAL:
            break
    await layer.group_discard(job_group(ACCOUNT_ID), channel)
    return {"layer": type(layer).__name__, "messages": messages}


result = asyncio.run(listen())
"""


class Scaled:
    def __init__(self, procs: Processes, env: dict[str, str], web_a: int, web_b: int, s3_endpoint: str):
        self.procs, self.env, self.s3_endpoint = procs, env, s3_endpoint
        self.web_a, self.web_b = f"http://{HOST}:{web_a}", f"http://{HOST}:{web_b}"
        self.outputs: dict[str, str] = {}


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    base = tmp_path_factory.mktemp("scaled")
    procs = Processes(base / "logs")
    postgres = PostgresCluster()
    try:
        _, redis_port = start_redis(procs, base)
        moto, moto_port = start_moto(procs)
        postgres.start()
        database_url = postgres.create_database("metastudio")
        s3_endpoint = f"http://{HOST}:{moto_port}"
        procs.wait_for_port(moto, moto_port)
        s3_client(s3_endpoint).create_bucket(Bucket=BUCKET)

        env = platform_env(
            base / "data",
            DATABASE_URL=database_url,
            REDIS_URL=f"redis://{HOST}:{redis_port}/0",
            METASTUDIO_STORAGE="s3",
            AWS_STORAGE_BUCKET_NAME=BUCKET,
            AWS_S3_ENDPOINT_URL=s3_endpoint,
            AWS_S3_REGION_NAME="us-east-1",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            METASTUDIO_WORKERS=1,
            # The test speaker is espeak; speech recognition of each take is covered elsewhere.
            METASTUDIO_VOICE_CHECK_ASR="false",
        )
        migrated, checked = manage_all(env, [["migrate", "--no-input"], ["check"]])
        outputs = {"migrate": migrated, "check": checked}
        setup = procs.script("setup", env, SETUP)
        web_a, web_b = free_port(), free_port()
        webs = [procs.start(f"web-{port}", [PYTHON, "manage.py", "runplatform", "--no-worker", "--port", str(port)],
                            env) for port in (web_a, web_b)]
        for name in ("worker-1", "worker-2"):
            procs.start(name, [PYTHON, "manage.py", "qcluster"], env)
        outputs["account_id"] = procs.script_result(setup)
        for web, port in zip(webs, (web_a, web_b), strict=True):
            procs.wait_for_port(web, port, timeout=60)
        platform = Scaled(procs, env, web_a, web_b, s3_endpoint)
        platform.outputs = outputs
        yield platform
    finally:
        procs.stop_all(grace=1)
        postgres.stop()


@pytest.fixture(scope="module")
def token(scaled) -> dict:
    body = {"auth": {
        "identity": {"methods": ["password"],
                     "password": {"user": {"name": OWNER, "password": PASSWORD, "domain": {"name": ACCOUNT}}}},
        "scope": {"project": {"name": REGION}},
    }}
    reply = http("POST", f"{scaled.web_a}/v3/auth/tokens", body)
    assert reply.status == 201, reply
    token = reply.json()["token"]
    session = {"header": {"X-Auth-Token": reply.headers["x-subject-token"]}, "project_id": token["project"]["id"],
               "account_id": token["user"]["domain"]["id"]}
    # The first API request to a fresh web process is slow (lazy imports, first connections); make both warm so
    # that the rate-limit check below measures the limiter, not start-up time.
    for web in (scaled.web_a, scaled.web_b):
        reply = http("GET", f"{web}/v1/{session['project_id']}/export-jobs", headers=session["header"])
        assert reply.status == 200 and reply.json()["count"] == 0, reply
    return session


@pytest.fixture(scope="module")
def exported(scaled, token) -> dict:
    """Listen on the channel layer; create an export on web A, at once another on web B; follow it on web B."""
    listener = scaled.procs.start("listener", [PYTHON, "-c", f"ACCOUNT_ID = {token['account_id']!r}\n"
                                                             + script_source(LISTEN)], scaled.env)
    scaled.procs.wait_for_log(listener, "LISTENING")
    jobs = f"/v1/{token['project_id']}/export-jobs"
    started = time.monotonic()
    created = http("POST", scaled.web_a + jobs, {"type": "AUDIT_LOG", "format": "CSV"}, token["header"])
    second = http("POST", scaled.web_b + jobs, {"type": "AUDIT_LOG", "format": "CSV"}, token["header"])
    both_took = time.monotonic() - started
    assert created.status == 201, created
    job_id = created.json()["job_id"]

    def ended():
        reply = http("GET", f"{scaled.web_b}{jobs}/{job_id}", headers=token["header"])
        assert reply.status in (200, 429), reply
        return reply.json() if reply.status == 200 and reply.json()["state"] in FINAL else None

    final = wait_until(ended, 60, f"export job {job_id} to end (polled on web B)", interval=0.25)
    return {"jobs": jobs, "job_id": job_id, "created": created, "second": second, "both_took": both_took,
            "final": final, "events": scaled.procs.script_result(listener, timeout=30)}


def test_migrate_and_check_run_on_postgres(scaled):
    assert "Applying metastudio." in scaled.outputs["migrate"]
    assert "no issues" in scaled.outputs["check"]


def test_job_created_on_web_a_succeeds_on_a_worker_and_shows_on_web_b(exported):
    assert exported["created"].json()["state"] == "WAITING"
    final = exported["final"]
    assert (final["job_id"], final["state"], final["progress"], final["has_file"]) == (
        exported["job_id"], "SUCCEED", 100, True), final
    assert final["result"]["rows"] >= 2 and final["error_code"] is None


def test_result_file_is_stored_in_s3_and_downloads(scaled, token, exported):
    reply = http("GET", f"{scaled.web_a}{exported['jobs']}/{exported['job_id']}/file", headers=token["header"])
    assert reply.status == 200, reply
    assert reply.body.startswith("\ufefftime,account,actor,action".encode()), reply.body[:80]
    assert "attachment" in reply.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(reply.body.decode("utf-8-sig"))))
    assert len(lines) - 1 == exported["final"]["result"]["rows"] > LOG_ROWS
    assert len({line[-1] for line in lines if line[3] == "test.load"}) == LOG_ROWS  # each entry once

    s3 = s3_client(scaled.s3_endpoint)
    objects = s3.list_objects_v2(Bucket=BUCKET, Prefix="jobs/").get("Contents", [])
    assert len(objects) == 1, objects
    key = objects[0]["Key"]
    assert Path(key).name in reply.headers["content-disposition"]
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == reply.body
    assert not (Path(scaled.env["METASTUDIO_DATA_DIR"]) / "media").exists()  # nothing went to local disk


def test_rate_limit_is_shared_by_the_web_processes(exported):
    # export.create allows 1 request per second per tenant; the second one went to the other process.
    second = exported["second"]
    assert second.status == 429, (second, f"both creates took {exported['both_took']:.2f} s")
    assert second.json()["error_code"] == "APIGW.0308"


def test_job_progress_travels_through_the_redis_channel_layer(exported):
    events = exported["events"]
    assert events["layer"] == "RedisChannelLayer"
    updates = [message["job"] for message in events["messages"] if message.get("type") == "job.update"]
    assert updates, events
    assert {update["job_id"] for update in updates} == {exported["job_id"]}
    states = [update["state"] for update in updates]
    # Web A publishes the new job, the worker that runs it each claim, progress and the end.
    assert len(states) >= 3 and states[-1] == "SUCCEED" and "PROCESSING" in states, states


def _png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, format="PNG")
    return out.getvalue()


def test_asset_upload_goes_straight_to_s3_and_a_worker_validates_it(scaled, token):
    import base64
    import hashlib
    import urllib.request

    data = _png_bytes()
    base = f"{scaled.web_a}/v1/{token['project_id']}"
    created = http("POST", f"{base}/digital-assets", {"asset_name": "s3 picture", "asset_type": "IMAGE"},
                   token["header"])
    assert created.status == 201, created
    asset_id = created.json()["asset_id"]
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    file = http("POST", f"{base}/files", {"asset_id": asset_id, "file_name": "picture.png", "file_size": len(data),
                                          "file_md5": md5}, token["header"])
    assert file.status == 201, file
    upload_url = file.json()["upload_url"]
    assert upload_url.startswith(scaled.s3_endpoint), upload_url  # an S3 presigned URL, not the platform
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(upload_url, data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
    with opener.open(request, timeout=15) as reply:
        assert reply.status == 200
    done = http("POST", f"{base}/files/{file.json()['file_id']}/complete", {"state": "CREATED"}, token["header"])
    assert done.status == 200 and done.json()["state"] == "CREATED", done

    def settled():
        reply = http("GET", f"{scaled.web_b}/v1/{token['project_id']}/digital-assets/{asset_id}",
                     headers=token["header"])
        return reply.json() if reply.status == 200 and reply.json()["asset_state"] != "CREATING" else None

    asset = wait_until(settled, 60, "the asset to be validated by a worker", interval=0.25)
    assert asset["asset_state"] == "ACTIVED", asset
    assert asset["asset_extra_meta"]["media_info"]["width"] == 64
    categories = {item["asset_file_category"] for item in asset["files"]}
    assert {"MAIN", "THUMBNAIL"} <= categories
    keys = [item["Key"] for item in s3_client(scaled.s3_endpoint).list_objects_v2(
        Bucket=BUCKET, Prefix=f"assets/{token['account_id']}/{asset_id}/").get("Contents", [])]
    assert len(keys) == 2, keys
    main = next(item for item in asset["files"] if item["asset_file_category"] == "MAIN")
    download = http("GET", main["download_url"], headers=token["header"])
    assert download.status == 200 and download.body == data


def test_tts_job_runs_on_a_worker_and_its_audio_is_in_s3(scaled, token):
    base = f"/v1/{token['project_id']}/ttsc/async-jobs"
    created = http("POST", scaled.web_a + base, {"text": "Scaled out. 横向扩展。", "voice_asset_id": "espeak-en-us-f",
                                                 "need_timestamp": True}, token["header"])
    assert created.status == 201, created
    job_id = created.json()["job_id"]

    def finished():
        reply = http("GET", f"{scaled.web_b}{base}/{job_id}", headers=token["header"])
        return reply.json() if reply.status == 200 and reply.json()["state"] in ("FINISHED", "ERROR") else None

    job = wait_until(finished, 90, "the TTS job to finish on a worker", interval=0.25)
    assert job["state"] == "FINISHED", job
    assert "Scaled" in [word["word"] for word in job["timestamps"]]
    audio = http("GET", f"{scaled.web_a}{base}/{job_id}/audio", headers=token["header"])
    assert audio.status == 200 and audio.body.startswith(b"RIFF")
    keys = [item["Key"] for item in s3_client(scaled.s3_endpoint).list_objects_v2(
        Bucket=BUCKET, Prefix="jobs/").get("Contents", [])]
    assert any(key.endswith(f"tts-{job_id}.wav") for key in keys), keys


APPROVE = """
from tenancy.audit import Actor
from voices import actions
from voices.models import VoiceTrainingJob

job = VoiceTrainingJob.objects.get(pk={job_id!r})
result = actions.review(Actor.system(), job, approved=True, message="scaled-mode review").state
"""


def test_voice_is_trained_on_a_worker_from_material_in_s3(scaled, token):
    from synthesis.speech.prompts import prompts
    from tests import voice_samples as vs

    base = f"/v1/{token['project_id']}/voice-training-manage/user"
    created = http("POST", f"{scaled.web_a}{base}/basic-jobs", {"voice_name": "scaled voice", "language": "en"},
                   token["header"])
    assert created.status == 201, created
    job = f"{base}/jobs/{created.json()['job_id']}"
    upload = {**token["header"], "Content-Type": "application/octet-stream"}
    package = http_bytes("PUT", f"{scaled.web_b}{job}/package?file_name=set.zip", vs.recordings_zip(prompts("en", 20)),
                         upload)
    assert package.status == 200, package
    letter = http_bytes("PUT", f"{scaled.web_a}{job}/authorization-letter?file_name=l.pdf", vs.PDF_LETTER, upload)
    assert letter.status == 200, letter
    assert http("POST", f"{scaled.web_b}{job}/commit", {}, token["header"]).status == 200

    def state_in(*states):
        def check():
            reply = http("GET", f"{scaled.web_a}{job}", headers=token["header"]).json()
            return reply if reply["state"] in states else None
        return check

    audited = wait_until(state_in("AUDITING", "AUDIT_FAILED"), 120, "the system audit on a worker", interval=0.5)
    assert audited["state"] == "AUDITING", audited
    approve = scaled.procs.script("approve", scaled.env, APPROVE.format(job_id=created.json()["job_id"]))
    assert scaled.procs.script_result(approve) == "WAITING"
    trained = wait_until(state_in("SUCCEED", "FAILED"), 300, "training on a worker", interval=1)
    assert trained["state"] == "SUCCEED", trained
    voice_id = trained["asset_id"]
    keys = [item["Key"] for item in s3_client(scaled.s3_endpoint).list_objects_v2(
        Bucket=BUCKET, Prefix=f"assets/{token['account_id']}/{voice_id}/").get("Contents", [])]
    assert any(key.endswith("voice-model.npz") for key in keys), keys
    tts = f"/v1/{token['project_id']}/ttsc/async-jobs"
    speak = http("POST", scaled.web_b + tts, {"text": "Spoken by the new voice.", "voice_asset_id": voice_id},
                 token["header"])
    assert speak.status == 201, speak

    def spoken():
        reply = http("GET", f"{scaled.web_a}{tts}/{speak.json()['job_id']}", headers=token["header"]).json()
        return reply if reply["state"] in ("FINISHED", "ERROR") else None

    assert wait_until(spoken, 90, "the cloned voice to speak", interval=0.5)["state"] == "FINISHED"


APPROVE_AVATAR = """
from avatars import actions
from avatars.models import AvatarTrainingJob
from tenancy.audit import Actor

job = AvatarTrainingJob.objects.get(pk={job_id!r})
result = actions.review(Actor.system(), job, approved=True, message="scaled-mode review").state
"""


def _put_to_s3(url: str, data: bytes) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"})
    with opener.open(request, timeout=30) as reply:
        assert reply.status == 200


def test_avatar_is_checked_and_trained_on_a_worker_from_material_in_s3(scaled, token, tmp_path):
    from synthesis.avatar.testmedia import make_talking_clip
    from tests import media_samples as ms

    make_talking_clip(tmp_path / "talk.mp4", seconds=4, size=(256, 256))
    letter = ms.make_pdf(tmp_path / "letter.pdf", pages=1)
    base = f"/v1/{token['project_id']}/digital-human-training-manage/user/jobs"
    created = http("POST", scaled.web_a + base, {"name": "scaled avatar"}, token["header"])
    assert created.status == 201, created
    urls, job_id = created.json(), created.json()["job_id"]
    assert urls["training_video_upload_url"][0].startswith(scaled.s3_endpoint)  # straight to the bucket
    _put_to_s3(urls["training_video_upload_url"][0], (tmp_path / "talk.mp4").read_bytes())
    _put_to_s3(urls["grant_file_upload_url"], Path(letter).read_bytes())
    submitted = http("POST", f"{scaled.web_b}{base}/{job_id}/command", {"command": "SUBMITVERIFYING"},
                     token["header"])
    assert submitted.status == 200, submitted

    def state_in(*states):
        def check():
            reply = http("GET", f"{scaled.web_a}{base}/{job_id}", headers=token["header"]).json()
            return reply if reply["state"] in states else None
        return check

    checked = wait_until(state_in("MANUAL_VERIFYING", "AUTO_VERIFY_FAILED"), 120, "the video check on a worker",
                         interval=0.5)
    assert checked["state"] == "MANUAL_VERIFYING", checked
    approve = scaled.procs.script("approve-avatar", scaled.env, APPROVE_AVATAR.format(job_id=job_id))
    assert scaled.procs.script_result(approve) == "MANUAL_VERIFY_SUCCESS"
    trained = wait_until(state_in("JOB_SUCCESS", "TRAINING_DATA_PREPROCESS_FAILED", "TRAIN_FAILED",
                                  "INFERENCE_DATA_PREPROCESS_FAILED"), 300, "avatar training on a worker", interval=1)
    assert trained["state"] == "JOB_SUCCESS", trained
    asset_id = trained["asset_id"]
    keys = [item["Key"] for item in s3_client(scaled.s3_endpoint).list_objects_v2(
        Bucket=BUCKET, Prefix=f"assets/{token['account_id']}/{asset_id}/").get("Contents", [])]
    assert len(keys) == 3, keys  # the model, its cover and its preview clip
    asset = http("GET", f"{scaled.web_b}/v1/{token['project_id']}/digital-assets/{asset_id}",
                 headers=token["header"]).json()
    main = next(item for item in asset["files"] if item["asset_file_category"] == "MAIN")
    assert http("GET", main["download_url"], headers=token["header"]).status == 403  # never exported



def test_a_photo_is_checked_and_animated_on_a_worker_with_files_in_s3(scaled, token):
    import base64

    import skimage.data
    from PIL import Image

    photo = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(photo, format="JPEG")
    image = base64.b64encode(photo.getvalue()).decode()
    base = f"/v1/{token['project_id']}"
    detection = http("POST", f"{scaled.web_a}{base}/photo-detection", {"human_image": image}, token["header"])
    assert detection.status == 201, detection
    video = http("POST", f"{scaled.web_a}{base}/photo-digital-human-videos", {
        "human_image": image, "voice_config": {"voice_asset_id": "espeak-en-us-f"},
        "shoot_scripts": [{"script_type": "TEXT", "text_config": {"text": "Hello from a worker."}}]}, token["header"])
    assert video.status == 201, video

    def ended(path):
        def check():
            reply = http("GET", f"{scaled.web_b}{base}/{path}", headers=token["header"]).json()
            return reply if reply["state"] in ("SUCCEED", "FAILED") else None
        return check

    checked = wait_until(ended(f"photo-detection/{detection.json()['job_id']}"), 120, "photo detection", interval=0.5)
    assert checked["state"] == "SUCCEED" and checked["detection_result"]["passed"], checked
    preview = http("GET", checked["preview_url"], headers=token["header"])
    assert preview.status == 200 and preview.body[:4] == b"\x89PNG"
    done = wait_until(ended(f"photo-digital-human-videos/{video.json()['job_id']}"), 180, "a photo video",
                      interval=0.5)
    assert done["state"] == "SUCCEED", done
    asset_id = done["output_asset_config"]["asset_id"]
    keys = [item["Key"] for item in s3_client(scaled.s3_endpoint).list_objects_v2(
        Bucket=BUCKET, Prefix=f"assets/{token['account_id']}/{asset_id}/").get("Contents", [])]
    assert len(keys) == 2, keys  # the MP4 and its thumbnail
    assert not (Path(scaled.env["METASTUDIO_DATA_DIR"]) / "media").exists()


def test_a_script_is_rendered_on_a_worker_with_files_in_s3(scaled, token):
    base = f"/v1/{token['project_id']}"
    created = http("POST", f"{scaled.web_a}{base}/2d-digital-human-videos", {
        "model_asset_id": "preset-photo-eileen", "voice_config": {"voice_asset_id": "espeak-en-us-f"},
        "video_config": {"width": 1280, "height": 720, "is_subtitle_enable": True},
        "shoot_scripts": [{"script_type": "TEXT", "text_config": {"text": "Hello from a worker."},
                           "background_config": [{"background_type": "COLOR",
                                                  "background_color_config": "#1F3A5F"}]}]}, token["header"])
    assert created.status == 201, created

    def ended(path, key="state", final=("SUCCEED", "FAILED")):
        def check():
            reply = http("GET", f"{scaled.web_b}{base}/{path}", headers=token["header"]).json()
            return reply if reply[key] in final else None
        return check

    done = wait_until(ended(f"2d-digital-human-videos/{created.json()['job_id']}"), 180, "a render", interval=0.5)
    assert done["state"] == "SUCCEED", done
    asset_id = done["output_asset_config"]["asset_id"]
    keys = [item["Key"] for item in s3_client(scaled.s3_endpoint).list_objects_v2(
        Bucket=BUCKET, Prefix=f"assets/{token['account_id']}/{asset_id}/").get("Contents", [])]
    assert len(keys) == 3, keys  # the MP4, its thumbnail and the timed words
    video = http("GET", done["output_asset_config"]["preview_video_url"], headers=token["header"])
    assert video.status == 200 and video.body[4:8] == b"ftyp"

    subtitles = http("POST", f"{scaled.web_a}{base}/subtitle-files",
                     {"video_job_id": done["job_id"], "format": "SRT"}, token["header"])
    assert subtitles.status in (200, 201), subtitles
    made = wait_until(ended(f"subtitle-files/{subtitles.json()['job_id']}", "job_state", ("GENERATED", "FAILED")),
                      60, "a subtitle file", interval=0.5)
    (info,) = made["subtitle_file_info"]
    text = http("GET", info["subtitle_file_download_url"], headers=token["header"])
    assert text.status == 200 and "Hello from a worker" in text.body.decode("utf-8"), text
    assert not (Path(scaled.env["METASTUDIO_DATA_DIR"]) / "media").exists()
