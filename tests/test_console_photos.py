"""The console's photo digital human page with Django's test client: the page (upload form, presets with their
pictures and source notes, driving and output options, voices), photo detection run on the real engine and its
report rule by rule with the marked-up preview, a failed photo that cannot be used, generate (preset or checked
upload, text or audio) with each bad input shown next to the field the actions name, the recent videos, the
result video streamed with Range, cancel; IAM (read-only looks, cannot change; no policy sees nothing) and tenant
isolation of every id-taking URL. Photo videos are not rendered here (tests/test_photo_api.py does): a finished
job is faked as the worker leaves it."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from assets.models import Asset, AssetFile
from assets.tasks import store_generated_file
from metastudio import jobs
from metastudio.jobs import Job
from tenancy.audit import Actor
from tests import media_samples as ms
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.test_console import logged_in, nav_urls, page
from videos import actions

pytestmark = pytest.mark.timeout(300)
VOICE = "espeak-en-us-f"
DETECTION, VIDEO = "videos.photo_detection", "videos.photo_video"


def picture(array: np.ndarray, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict:
    import skimage.data

    folder = tmp_path_factory.mktemp("console-photo-media")
    astronaut = skimage.data.astronaut()
    return {"astronaut": picture(astronaut), "blank": picture(np.full((300, 300, 3), 128, np.uint8), "PNG"),
            "video": ms.make_video(folder / "clip.mp4", size="320x240", seconds=2),
            "mono": ms.make_wav(folder / "mono.wav", rate=16000, channels=1, seconds=1),
            "stereo": ms.make_wav(folder / "stereo.wav", rate=48000, channels=2, seconds=1)}


def upload(data: bytes, name: str = "me.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def wav(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="audio/wav")


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def post_json(client, url, data):
    return client.post(url, data, HTTP_ACCEPT="application/json")


def detected(client, data: bytes) -> Job:
    """Upload a photo on the page and run its detection job as the worker would."""
    answer = post_json(client, reverse("console:photo_detect"), {"photo": upload(data)})
    assert answer.status_code == 201, answer.content
    assert jobs.run(answer.json()["job_id"]) == "done"
    return Job.objects.get(pk=answer.json()["job_id"])


def text_form(**changes) -> dict:
    form = {"photo": "preset:preset-photo-eileen", "script_type": "TEXT", "text": "Hello, nice to meet you.",
            "voice_id": VOICE, "speed": "100", "aspect_ratio": "ORIGINAL", "frame_rate": "25", "asset_name": ""}
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def finished(tenant, job: Job, media, name: str = "Hello video") -> Asset:
    """What the worker leaves behind: a VIDEO asset made by the platform and the job's result."""
    video = Asset.objects.create(account=tenant.account, name=name, type=Asset.Type.VIDEO,
                                 state=Asset.State.ACTIVED, created_by_platform=True)
    store_generated_file(video, AssetFile.Category.MAIN, media["video"], name="video.mp4", file_type="mp4")
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEED, progress=100, stage="done", result={
        "asset_id": str(video.pk), "asset_name": name, "duration": 2.0, "charged_minutes": "0.03",
        "photo_warnings": []})
    return video


def text_of(body: str, name: str) -> str:
    found = re.search(rf'data-testid="{re.escape(name)}"[^>]*>(.*?)</', body, re.S)
    assert found, f"no data-testid={name!r}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


# --- the page -------------------------------------------------------------------------------------------------

def test_page_has_upload_presets_driving_and_output(client, tenant):
    mine = Asset.objects.create(account=tenant.account, name="My voice", type=Asset.Type.VOICE_MODEL,
                                state=Asset.State.ACTIVED, media_info={"voice_tier": "BASIC", "language": "en"})
    response = logged_in(client, tenant.owner).get(reverse("console:photos"))
    assert response.status_code == 200
    assert reverse("console:photos") in nav_urls(response)
    body = page(response)
    for testid in ("photo-upload-form", "photo-input", "generate-form", "text-input", "text-count", "voice-select",
                   "speed-input", "audio-input", "aspect-select", "fps-select", "name-input", "generate",
                   "photo-videos"):
        assert f'data-testid="{testid}"' in body, testid
    assert 'accept=".png,.jpg,.jpeg,.webp' in body and 'maxlength="2000"' in body
    assert 'min="50" max="200"' in body
    assert body.count('data-testid="preset-card"') == 2
    for preset_id in ("preset-photo-eileen", "preset-photo-grace"):
        assert reverse("console:photo_preset", args=[preset_id]) in body and f'value="preset:{preset_id}"' in body
    assert body.count("public domain") >= 2
    form = body[body.index('data-testid="voice-select"'):]
    assert f'<option value="{mine.pk}">My voice (BASIC)</option>' in form
    assert f'value="{VOICE}" selected' in form and 'value="espeak-cmn-f"' in form
    for value in ('value="ORIGINAL"', 'value="9:16"', 'value="16:9"', 'value="25"', 'value="30"'):
        assert value in body, value
    assert 'data-testid="no-photo-videos"' in body


def test_preset_pictures_are_served(client, tenant):
    logged_in(client, tenant.member)
    answer = client.get(reverse("console:photo_preset", args=["preset-photo-grace"]))
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    assert content(answer)[:4] == b"\x89PNG"
    assert client.get(reverse("console:photo_preset", args=["preset-photo-nobody"])).status_code == 404


def test_member_sees_the_page_without_the_actions(client, tenant):
    body = page(logged_in(client, tenant.member).get(reverse("console:photos")))
    assert 'data-testid="photo-create-denied"' in body and body.count('data-testid="preset-card"') == 2
    assert 'data-testid="photo-upload-form"' not in body and 'data-testid="generate-form"' not in body
    assert 'data-testid="generate"' not in body


def test_nobody_gets_the_forbidden_page(client, tenant):
    logged_in(client, tenant.nobody)
    for url in (reverse("console:photos"), reverse("console:photo_videos")):
        response = client.get(url)
        assert response.status_code == 403 and 'data-testid="forbidden"' in page(response), url
    # the preset pictures are public-domain portraits: any tenant user may see them
    assert client.get(reverse("console:photo_preset", args=["preset-photo-eileen"])).status_code == 200
    assert reverse("console:photos") not in nav_urls(client.get(reverse("console:overview")))


# --- photo detection ------------------------------------------------------------------------------------------

def test_upload_runs_detection_and_shows_the_report(client, tenant, media):
    logged_in(client, tenant.owner)
    answer = post_json(client, reverse("console:photo_detect"), {"photo": upload(media["astronaut"])})
    assert answer.status_code == 201, answer.content
    started = answer.json()
    job = Job.objects.get(pk=started["job_id"])
    assert job.kind == DETECTION and job.account == tenant.account and job.created_by == tenant.owner
    assert started["state"] == "WAITING" and started["verdict"] == "checking" and started["report_html"] == ""
    assert started["state_url"] == reverse("console:photo_detection", args=[job.pk])
    assert client.get(reverse("console:photo_preview", args=[job.pk])).status_code == 404  # not checked yet

    assert jobs.run(str(job.pk)) == "done"
    state = client.get(started["state_url"], HTTP_ACCEPT="application/json").json()
    assert state["state"] == "SUCCEED" and state["verdict"] == "pass" and state["passed"] is True
    assert state["choice"] == f"detection:{job.pk}"
    report = state["report_html"]
    rules = re.findall(r'data-rule="([a-z_]+)" data-status="(pass|warn|fail)"', report)
    assert {"readable", "format", "file_size", "resolution", "one_face", "face_size", "pose", "eyes", "occlusion",
            "lighting", "sharpness", "real_photo"} <= {rule for rule, _ in rules}
    assert "fail" not in {status for _, status in rules}
    preview_url = reverse("console:photo_preview", args=[job.pk])
    assert f'src="{preview_url}"' in report and 'data-verdict="pass"' in report

    # the page opened on the check (as after an upload without the script) shows the same report
    body = page(client.get(f"{reverse('console:photos')}?detection={job.pk}"))
    assert 'data-testid="detection-verdict" data-verdict="pass"' in body
    assert body.count('data-testid="detection-rule"') == len(rules)
    row = body[body.index('data-rule="pose"'):]
    row = row[:row.index("</tr>")]
    assert "The face looks at the camera." in row and "yaw" in row and "15" in row  # message, value, threshold
    size = body[body.index('data-rule="file_size"'):]
    assert "MB</td>" in size[:size.index("</tr>")]
    assert f'value="detection:{job.pk}" checked' in body
    assert reverse("console:photo_job_photo", args=[job.pk]) in body

    preview = client.get(preview_url)
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
    assert content(preview)[:4] == b"\x89PNG"
    photo = client.get(reverse("console:photo_job_photo", args=[job.pk]))
    assert photo.status_code == 200 and content(photo) == media["astronaut"]
    assert photo["Content-Type"] == "image/jpeg"

    # without the script: the form posts and the page opens on the check
    posted = client.post(reverse("console:photo_detect"), {"photo": upload(media["astronaut"])})
    second = Job.objects.filter(kind=DETECTION).exclude(pk=job.pk).get()
    assert posted.status_code == 302 and posted["Location"] == f"{reverse('console:photos')}?detection={second.pk}"


def test_a_photo_that_fails_cannot_be_used(client, tenant, media):
    logged_in(client, tenant.owner)
    job = detected(client, media["blank"])
    state = client.get(reverse("console:photo_detection", args=[job.pk]), HTTP_ACCEPT="application/json").json()
    assert state["verdict"] == "fail" and "One face" in state["reason"]
    assert re.search(r'data-rule="one_face" data-status="fail"', state["report_html"])
    body = page(client.get(f"{reverse('console:photos')}?detection={job.pk}"))
    assert 'data-testid="detection-verdict" data-verdict="fail"' in body
    assert 'data-verdict="fail"' in body[body.index('data-testid="photo-choice-upload"') - 300:]
    refused = post_json(client, reverse("console:photo_generate"), text_form(photo=f"detection:{job.pk}"))
    assert refused.status_code == 400 and refused.json()["field"] == "photo"
    assert "failed the check (One face)" in refused.json()["error_msg"]
    assert not Job.objects.filter(kind=VIDEO).exists()


def test_a_photo_still_being_checked_cannot_be_used_yet(client, tenant, media):
    logged_in(client, tenant.owner)
    answer = post_json(client, reverse("console:photo_detect"), {"photo": upload(media["astronaut"])})
    checking = f"detection:{answer.json()['job_id']}"
    refused = post_json(client, reverse("console:photo_generate"), text_form(photo=checking))
    assert refused.status_code == 409 and refused.json()["field"] == "photo"
    assert "still being checked" in refused.json()["error_msg"]


def test_detection_upload_errors(client, tenant):
    logged_in(client, tenant.owner)
    missing = post_json(client, reverse("console:photo_detect"), {})
    assert missing.status_code == 400 and missing.json()["field"] == "photo"
    shown = client.post(reverse("console:photo_detect"), {})
    assert shown.status_code == 400
    assert "photo: choose a photo to upload" in text_of(page(shown), "error-photo-upload")
    assert not Job.objects.filter(kind=DETECTION).exists()


# --- generate -------------------------------------------------------------------------------------------------

def test_generate_with_a_preset_and_text(client, tenant):
    logged_in(client, tenant.owner)
    answer = post_json(client, reverse("console:photo_generate"),
                       text_form(aspect_ratio="9:16", frame_rate="30", asset_name="Hello video", speed="120"))
    assert answer.status_code == 201, answer.content
    started = answer.json()
    job = Job.objects.get(pk=started["job_id"])
    assert job.kind == VIDEO and job.account == tenant.account and job.created_by == tenant.owner
    assert job.params["preset_id"] == "preset-photo-eileen" and job.params["script_type"] == "TEXT"
    assert job.params["fps"] == 30 and job.params["aspect_ratio"] == "9:16"
    assert job.params["asset_name"] == "Hello video"
    assert job.params["tts"]["characters"] == len("Hello, nice to meet you.") and job.params["tts"]["speed"] == 120
    assert started["state"] == "WAITING" and started["video_url"] is None
    assert started["state_url"] == reverse("console:photo_video_state", args=[job.pk])
    assert client.get(started["state_url"]).json()["job_id"] == str(job.pk)

    body = page(client.get(reverse("console:photos")))
    rows = body[body.index('data-testid="photo-videos"'):]
    assert f'data-job-id="{job.pk}" data-state="WAITING"' in rows and "Hello video" in rows and "Eileen" in rows
    fragment = page(client.get(reverse("console:photo_videos")))
    assert f'data-job-id="{job.pk}"' in fragment and 'data-testid="photo-video-cancel"' in fragment
    listed = client.get(reverse("console:photo_videos"), HTTP_ACCEPT="application/json").json()["videos"]
    assert [item["job_id"] for item in listed] == [str(job.pk)]

    # without the script: the form posts and the page opens on the video
    posted = client.post(reverse("console:photo_generate"), text_form())
    second = Job.objects.filter(kind=VIDEO).exclude(pk=job.pk).get()
    assert posted.status_code == 302 and posted["Location"] == f"{reverse('console:photos')}?video={second.pk}"
    opened = page(client.get(posted["Location"]))
    assert f'data-job-id="{second.pk}" data-state="WAITING"' in opened


def test_generate_with_a_checked_upload_and_audio(client, tenant, media):
    logged_in(client, tenant.owner)
    checked = detected(client, media["astronaut"])
    answer = post_json(client, reverse("console:photo_generate"),
                       {"photo": f"detection:{checked.pk}", "script_type": "AUDIO", "audio": wav(media["mono"]),
                        "aspect_ratio": "16:9", "frame_rate": "25"})
    assert answer.status_code == 201, answer.content
    job = Job.objects.get(pk=answer.json()["job_id"])
    assert job.params["script_type"] == "AUDIO" and "preset_id" not in job.params
    assert job.params["audio_seconds"] == pytest.approx(1, abs=0.1) and job.params["aspect_ratio"] == "16:9"
    assert job.params["photo_name"] and job.params["photo_name"] != checked.params["photo_name"]
    photo = client.get(reverse("console:photo_job_photo", args=[job.pk]))
    assert photo.status_code == 200 and content(photo) == media["astronaut"]


@pytest.mark.parametrize("changes, status, field, group, words", [
    ({"text": "x" * 2001}, 400, "shoot_scripts[0].text_config.text", "text", "at most 2000 characters"),
    ({"text": "  "}, 400, "shoot_scripts[0].text_config.text", "text", "must not be empty"),
    ({"voice_id": ""}, 400, "voice_config.voice_asset_id", "voice", "a voice is required"),
    ({"voice_id": "no-such-voice"}, 404, "voice_config.voice_asset_id", "voice", "does not exist"),
    ({"speed": "20"}, 400, "voice_config.speed", "speed", "from 50 to 200"),
    ({"photo": ""}, 400, "photo", "photo", "choose a photo"),
    ({"photo": "preset:preset-photo-nobody"}, 400, "preset_id", "photo", "preset-photo-eileen"),
    ({"frame_rate": "24"}, 400, "video_config.frame_rate", "fps", "25, 30"),
    ({"aspect_ratio": "4:3"}, 400, "video_config.aspect_ratio", "aspect", "ORIGINAL"),
    ({"asset_name": "n" * 300}, 400, "output_asset_config.asset_name", "name", "at most 256"),
    ({"script_type": "AUDIO"}, 400, "audio", "audio", "choose a file"),
    ({"script_type": "AUDIO", "audio": "stereo"}, 400, "audio", "audio", "must be mono"),
])
def test_bad_inputs_are_shown_next_to_their_field(client, tenant, media, changes, status, field, group, words):
    logged_in(client, tenant.owner)

    def form():
        data = text_form(**changes)
        if data.get("audio") == "stereo":
            data["audio"] = wav(media["stereo"])
        return data

    answer = post_json(client, reverse("console:photo_generate"), form())
    assert answer.status_code == status, answer.content
    error = answer.json()
    assert error["field"] == field and error["group"] == group and words in error["error_msg"], error
    assert error["error_code"] == ("MSS.00000004" if status == 404 else "MSS.00000003")
    shown = client.post(reverse("console:photo_generate"), form())
    assert shown.status_code == status
    body = page(shown)
    assert words in text_of(body, f"error-{group}")
    names = re.search(rf'data-fields="([^"]*)" data-testid="error-{group}"', body).group(1).split()
    assert field in names  # the element shows the errors of the API field
    assert not Job.objects.filter(kind=VIDEO).exists()
    if "text" in changes and len(changes["text"]) > 10:
        assert changes["text"] in body  # what was typed is kept


# --- the result -----------------------------------------------------------------------------------------------

def test_the_video_plays_with_range_and_downloads(client, tenant, media):
    job = actions.create_photo_video(
        Actor.system(tenant.account), tenant.account, preset_id="preset-photo-grace",
        shoot_scripts=[{"script_type": "TEXT", "text_config": {"text": "Hi there."}}],
        voice_config={"voice_asset_id": VOICE}, project=tenant.project)
    logged_in(client, tenant.member)
    file_url = reverse("console:photo_video_file", args=[job.pk])
    assert client.get(file_url).status_code == 404  # not rendered yet
    finished(tenant, job, media)
    state = client.get(reverse("console:photo_video_state", args=[job.pk])).json()
    assert state["state"] == "SUCCEED" and state["video_url"] == file_url
    assert state["download_url"] == f"{file_url}?download=1"
    assert state["duration"] == 2.0 and state["charged_minutes"] == "0.03" and state["asset_name"] == "Hello video"
    played = client.get(file_url)
    data = media["video"].read_bytes()
    assert played.status_code == 200 and played["Content-Type"] == "video/mp4" and content(played) == data
    assert played["Accept-Ranges"] == "bytes"
    ranged = client.get(file_url, HTTP_RANGE="bytes=100-199")
    assert ranged.status_code == 206 and content(ranged) == data[100:200]
    assert ranged["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert client.get(file_url, HTTP_RANGE=f"bytes={len(data) + 10}-").status_code == 416
    download = client.get(f"{file_url}?download=1")
    assert download["Content-Disposition"].startswith("attachment") and "Hello video.mp4" in download[
        "Content-Disposition"]

    body = page(client.get(f"{reverse('console:photos')}?video={job.pk}"))
    assert f'src="{file_url}"' in body and 'data-testid="video-player"' in body
    rows = body[body.index('data-testid="photo-videos"'):]
    assert f'href="{file_url}"' in rows and "SUCCEED" in rows and "Grace (preset)" in rows

    owner_page = page(logged_in(client, tenant.owner).get(f"{reverse('console:photos')}?video={job.pk}"))
    assert text_of(owner_page, "video-duration") == "2.0" and text_of(owner_page, "video-charged") == "0.03"
    assert f'href="{file_url}?download=1"' in owner_page

    Asset.objects.filter(pk=state["asset_id"]).update(state=Asset.State.DELETED)  # in the recycle bin: gone here
    assert client.get(file_url).status_code == 404


def test_only_the_latest_ten_videos_are_listed(client, tenant):
    actor = Actor.system(tenant.account)
    made = [actions.create_photo_video(actor, tenant.account, preset_id="preset-photo-eileen",
                                       shoot_scripts=[{"script_type": "TEXT", "text_config": {"text": f"n {i}"}}],
                                       voice_config={"voice_asset_id": VOICE}) for i in range(12)]
    Job.objects.filter(pk__in=[job.pk for job in made[:2]]).update(state=Job.State.CANCELED)
    body = page(logged_in(client, tenant.owner).get(reverse("console:photo_videos")))
    assert body.count('data-testid="photo-video-row"') == 10
    assert str(made[0].pk) not in body and str(made[-1].pk) in body


def test_cancel_a_waiting_video(client, tenant):
    logged_in(client, tenant.owner)
    job_id = post_json(client, reverse("console:photo_generate"), text_form()).json()["job_id"]
    url = reverse("console:photo_video_cancel", args=[job_id])
    canceled = post_json(client, url, {})
    assert canceled.status_code == 200 and canceled.json()["state"] == "CANCELED"
    again = post_json(client, url, {})
    assert again.status_code == 409 and again.json()["field"] == "job_id"


# --- IAM and tenant isolation ---------------------------------------------------------------------------------

def test_member_is_refused_the_actions(client, tenant, media):
    owner_job = actions.create_photo_video(
        Actor.system(tenant.account), tenant.account, preset_id="preset-photo-eileen",
        shoot_scripts=[{"script_type": "TEXT", "text_config": {"text": "hi"}}], voice_config={"voice_asset_id": VOICE})
    logged_in(client, tenant.member)
    for url, data, action in (
            (reverse("console:photo_detect"), {"photo": upload(media["astronaut"])}, "metastudio:photo:create"),
            (reverse("console:photo_generate"), text_form(), "metastudio:photo:create"),
            (reverse("console:photo_video_cancel", args=[owner_job.pk]), {}, "metastudio:photo:cancel")):
        refused = post_json(client, url, data)
        assert refused.status_code == 403 and refused.json()["error_code"] == "MSS.00000005", url
        assert action in refused.json()["error_msg"]
        page_refused = client.post(url, data)
        assert page_refused.status_code == 403 and 'data-testid="forbidden"' in page(page_refused)
    assert Job.objects.filter(account=tenant.account).count() == 1
    assert Job.objects.get(pk=owner_job.pk).state == Job.State.WAITING
    assert client.get(reverse("console:photo_video_state", args=[owner_job.pk])).status_code == 200


def test_other_tenants_jobs_are_not_found(client, tenant, other_tenant, media):
    logged_in(client, other_tenant.owner)
    theirs = detected(client, media["astronaut"])
    their_video = actions.create_photo_video(
        Actor.system(other_tenant.account), other_tenant.account, preset_id="preset-photo-eileen",
        shoot_scripts=[{"script_type": "TEXT", "text_config": {"text": "hi"}}], voice_config={"voice_asset_id": VOICE})
    finished(other_tenant, their_video, media)
    assert client.get(reverse("console:photo_preview", args=[theirs.pk])).status_code == 200

    logged_in(client, tenant.owner)
    for url in (reverse("console:photo_detection", args=[theirs.pk]),
                reverse("console:photo_preview", args=[theirs.pk]),
                reverse("console:photo_job_photo", args=[theirs.pk]),
                reverse("console:photo_job_photo", args=[their_video.pk]),
                reverse("console:photo_video_state", args=[their_video.pk]),
                reverse("console:photo_video_file", args=[their_video.pk]),
                reverse("console:photo_video_state", args=[theirs.pk]),  # a detection is not a video either
                reverse("console:photo_preview", args=[their_video.pk])):
        assert client.get(url, HTTP_ACCEPT="application/json").status_code == 404, url
    assert post_json(client, reverse("console:photo_video_cancel", args=[their_video.pk]), {}).status_code == 404
    used = post_json(client, reverse("console:photo_generate"), text_form(photo=f"detection:{theirs.pk}"))
    assert used.status_code == 404 and used.json()["field"] == "photo"
    body = page(client.get(f"{reverse('console:photos')}?detection={theirs.pk}&video={their_video.pk}"))
    assert str(theirs.pk) not in body and str(their_video.pk) not in body
    assert not Job.objects.filter(account=tenant.account).exists()


def test_the_avatar_library_offers_the_presets_and_opens_them_on_the_photo_page(client, tenant):
    body = page(logged_in(client, tenant.member).get(reverse("console:avatars")))
    assert body.count('data-testid="preset-avatar"') == 2 and "preset-photo-grace" in body
    studio = page(client.get(reverse("console:photos") + "?preset=preset-photo-grace"))
    checked = re.search(r'<input[^>]*value="preset:preset-photo-grace"[^>]*>', studio).group(0)
    assert " checked" in checked
    unknown = page(client.get(reverse("console:photos") + "?preset=preset-photo-nobody"))
    assert not re.search(r'value="preset:[^"]*" checked', unknown)
