"""Photo digital human API on the real engine: photo detection (every rule, the marked-up preview), photo videos
from text (preset or uploaded photo, 9:16 crop) and from audio, metering in seconds once even after a retry,
cancel while waiting, the bad inputs of the SPEC (each refused with the rule or field it breaks), IAM and
tenant isolation. Photos are the presets (public-domain portraits shipped in packages) and pictures made here."""

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.cache import cache
from PIL import Image

from assets.models import Asset, AssetFile
from billing.models import UsageRecord
from metastudio import jobs
from metastudio.jobs import Job
from synthesis.media.probe import probe
from tests import media_samples as ms
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401
from videos import actions, presets

pytestmark = pytest.mark.timeout(300)
SHARED_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "media" / "photo"
VOICE = "espeak-en-us-f"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def picture(array: np.ndarray, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def detect(api, user, t, data: bytes):
    answer = send_json(api(user), "post", f"/v1/{t.project_id}/photo-detection", {"human_image": b64(data)})
    assert answer.status_code == 201, answer.content
    job_id = answer.json()["job_id"]
    assert jobs.run(job_id) == "done"
    return send_json(api(user), "get", f"/v1/{t.project_id}/photo-detection/{job_id}").json()


def video_body(**changes) -> dict:
    body = {"preset_id": "preset-photo-eileen", "voice_config": {"voice_asset_id": VOICE},
            "shoot_scripts": [{"script_type": "TEXT", "text_config": {"text": "Hello, nice to meet you."}}]}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def create_video(api, user, t, body):
    return send_json(api(user), "post", f"/v1/{t.project_id}/photo-digital-human-videos", body)


# --- detection ----------------------------------------------------------------------------------------------

def test_detection_reports_every_rule_with_value_threshold_and_a_preview(api, tenant, astronaut):
    shown = detect(api, tenant.owner, tenant, picture(astronaut, "JPEG"))
    assert shown["state"] == "SUCCEED" and shown["error_info"] is None
    result = shown["detection_result"]
    assert result["passed"] is True and result["faces"] == 1
    rules = {rule["rule"]: rule for rule in result["rules"]}
    assert {"readable", "format", "file_size", "resolution", "one_face", "face_size", "pose", "eyes", "occlusion",
            "lighting", "sharpness", "real_photo"} <= set(rules)
    assert rules["pose"]["threshold"] is not None and rules["format"]["value"] == "jpeg"
    assert 0.5 < result["photo_confidence"] <= 1
    preview = api(tenant.owner).get(shown["preview_url"].split("testserver")[1])
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
    assert b"".join(preview.streaming_content)[:4] == b"\x89PNG"


@pytest.mark.parametrize(("make", "rule"), [
    (lambda a: np.asarray(Image.fromarray(a).resize((70, 70))), "resolution"),
    (lambda a: np.hstack([a, a[:, ::-1]]), "one_face"),
    (lambda a: np.rot90(a).copy(), "pose"),
    (lambda a: np.full((300, 300, 3), 128, np.uint8), "one_face"),
])
def test_detection_fails_the_rule_a_bad_photo_breaks(api, tenant, astronaut, make, rule):
    result = detect(api, tenant.owner, tenant, picture(make(astronaut)))["detection_result"]
    assert result["passed"] is False
    assert rule in [r["rule"] for r in result["rules"] if r["status"] == "fail"]


def test_a_17_mb_photo_fails_the_file_size_rule(api, tenant, astronaut):
    data = picture(astronaut, "JPEG")
    data += b"\0" * (17 * 2**20 - len(data))
    result = detect(api, tenant.owner, tenant, data)["detection_result"]
    assert [r["rule"] for r in result["rules"] if r["status"] == "fail"] == ["file_size"]


@pytest.mark.skipif(not SHARED_PHOTOS.is_dir(), reason="../shared/media/photo is not present")
@pytest.mark.parametrize(("name", "passed"), [
    ("woman_frontal_1145.jpg", True), ("dog.jpg", False), ("multi_face_1000x667.jpg", False),
    ("man_looking_up_side.jpg", False), ("cartoon_boy_3d.jpg", False), ("painting_mona_lisa.jpg", False),
])
def test_detection_of_the_shared_photos(api, tenant, name, passed):
    shown = detect(api, tenant.owner, tenant, (SHARED_PHOTOS / name).read_bytes())
    assert shown["detection_result"]["passed"] is passed


def test_detection_input_errors(api, tenant):
    url = f"/v1/{tenant.project_id}/photo-detection"
    assert_error(send_json(api(tenant.owner), "post", url, {}), 400, "MSS.00000003", "human_image")
    assert_error(send_json(api(tenant.owner), "post", url, {"human_image": "not base64!"}), 400, "MSS.00000003",
                 "human_image", "base64")
    assert_error(api(tenant.owner).get(f"{url}/{'0' * 8}-0000-0000-0000-{'0' * 12}"), 404, "MSS.00000004", "job_id")


# --- photo videos -------------------------------------------------------------------------------------------

def test_a_preset_photo_speaks_text_and_the_seconds_are_metered_once(api, tenant):
    answer = create_video(api, tenant.owner, tenant, video_body(output_asset_config={"asset_name": "Hello video"}))
    assert answer.status_code == 201, answer.content
    job_id = answer.json()["job_id"]
    url = f"/v1/{tenant.project_id}/photo-digital-human-videos/{job_id}"
    assert send_json(api(tenant.member), "get", url).json()["state"] == "WAITING"
    assert jobs.run(job_id) == "done"
    shown = send_json(api(tenant.member), "get", url).json()
    assert shown["state"] == "SUCCEED" and shown["progress"] == 100 and shown["preset_id"] == "preset-photo-eileen"
    asset = Asset.objects.get(pk=shown["output_asset_config"]["asset_id"], account=tenant.account)
    assert asset.type == Asset.Type.VIDEO and asset.name == "Hello video" and asset.state == Asset.State.ACTIVED
    main = asset.files.get(category=AssetFile.Category.MAIN)
    with main.stored.open("rb") as handle, open(Path(main.stored.path), "rb"):
        assert handle.read(12)[4:8] == b"ftyp"
    info = probe(Path(main.stored.path))
    assert info.video_codec == "h264" and info.audio_codec == "aac" and info.width == 512
    assert 1.0 < shown["duration"] < 4.0
    assert shown["charged_minutes"] == str(actions.billable_minutes(shown["duration"]))
    usage = UsageRecord.objects.get(account=tenant.account, resource_type="PHOTO_VIDEO")
    assert float(usage.quantity) == pytest.approx(shown["duration"]) and usage.unit == "seconds"
    assert UsageRecord.objects.filter(account=tenant.account, resource_type="TTS_CHARACTERS_PRESET").count() == 1

    # a retry of the same job (a worker died after storing the video) renders nothing and charges nothing again
    Job.objects.filter(pk=job_id).update(state=Job.State.WAITING, result={})
    assert jobs.run(job_id) == "done"
    assert Asset.objects.filter(account=tenant.account, type=Asset.Type.VIDEO).count() == 1
    assert UsageRecord.objects.filter(account=tenant.account, resource_type="PHOTO_VIDEO").count() == 1


def test_an_uploaded_photo_cropped_to_9_16(api, tenant, astronaut):
    body = video_body(preset_id=None, human_image=b64(picture(astronaut, "JPEG")),
                      video_config={"frame_rate": "30", "aspect_ratio": "9:16"})
    job_id = create_video(api, tenant.owner, tenant, body).json()["job_id"]
    assert jobs.run(job_id) == "done"
    asset = Asset.objects.get(pk=Job.objects.get(pk=job_id).result["asset_id"])
    info = probe(Path(asset.files.get(category=AssetFile.Category.MAIN).stored.path))
    assert info.fps == pytest.approx(30, abs=0.1)
    assert info.width / info.height == pytest.approx(9 / 16, abs=0.02)


def _audio_asset(tenant, path: Path) -> Asset:
    from assets.tasks import store_generated_file

    asset = Asset.objects.create(account=tenant.account, project=tenant.project, name="speech",
                                 type=Asset.Type.MUSIC, state=Asset.State.ACTIVED)
    store_generated_file(asset, AssetFile.Category.MAIN, path, name=path.name, file_type=path.suffix[1:])
    return asset


def test_audio_drives_the_photo(api, tenant, tmp_path):
    asset = _audio_asset(tenant, ms.make_wav(tmp_path / "speech.wav", rate=16000, channels=1, seconds=2))
    body = video_body(voice_config=None, shoot_scripts=[{"script_type": "AUDIO", "audio_asset_id": str(asset.pk)}])
    job_id = create_video(api, tenant.owner, tenant, body).json()["job_id"]
    assert jobs.run(job_id) == "done"
    job = Job.objects.get(pk=job_id)
    assert job.result["duration"] == pytest.approx(2.0, abs=0.2)
    assert not UsageRecord.objects.filter(account=tenant.account, resource_type__startswith="TTS").exists()


def test_a_photo_that_breaks_a_face_rule_fails_the_job_and_is_not_charged(api, tenant, astronaut):
    body = video_body(preset_id=None, human_image=b64(picture(np.hstack([astronaut, astronaut[:, ::-1]]))))
    job_id = create_video(api, tenant.owner, tenant, body).json()["job_id"]
    assert jobs.run(job_id) == "failed"
    shown = send_json(api(tenant.owner), "get", f"/v1/{tenant.project_id}/photo-digital-human-videos/{job_id}").json()
    assert shown["state"] == "FAILED" and "one_face" in shown["error_info"]["error_msg"]
    assert not UsageRecord.objects.filter(account=tenant.account).exists()


def test_bad_photo_video_requests_are_refused_with_the_field(api, tenant, other_tenant, astronaut, tmp_path):
    small = b64(picture(np.asarray(Image.fromarray(astronaut).resize((70, 70)))))
    big = picture(astronaut, "JPEG")
    big = b64(big + b"\0" * (17 * 2**20 - len(big)))
    stereo = _audio_asset(tenant, ms.make_wav(tmp_path / "stereo.wav", rate=48000, channels=2, seconds=1))
    long = _audio_asset(tenant, ms.make_wav(tmp_path / "long.wav", rate=8000, channels=1, seconds=361))
    theirs = _audio_asset(other_tenant, ms.make_wav(tmp_path / "theirs.wav", rate=16000, channels=1, seconds=1))
    audio = lambda asset: [{"script_type": "AUDIO", "audio_asset_id": str(asset.pk)}]  # noqa: E731
    cases = [
        (video_body(shoot_scripts=[{"script_type": "TEXT", "text_config": {"text": "x" * 2001}}]), 400,
         "shoot_scripts[0].text_config.text", "at most 2000 characters"),
        (video_body(preset_id=None, human_image=small), 400, "human_image", "resolution"),
        (video_body(preset_id=None, human_image=big), 400, "human_image", "file_size"),
        (video_body(preset_id=None, human_image="%%%"), 400, "human_image", "base64"),
        (video_body(human_image=small), 400, "human_image", "exactly one photo"),
        (video_body(preset_id="preset-photo-nobody"), 400, "preset_id", "preset-photo-eileen"),
        (video_body(voice_config={}), 400, "voice_config.voice_asset_id"),
        (video_body(voice_config={"voice_asset_id": VOICE, "speed": 20}), 400, "voice_config.speed: must be"),
        (video_body(video_config={"frame_rate": "24"}), 400, "video_config.frame_rate"),
        (video_body(video_config={"bitrate": 4000}), 400, "video_config.bitrate"),
        (video_body(video_config={"aspect_ratio": "4:3"}), 400, "video_config.aspect_ratio"),
        (video_body(shoot_scripts=[]), 400, "shoot_scripts"),
        (video_body(shoot_scripts=[{"text_config": {"text": "Say forbidden-word-example now."}}]), 400,
         "shoot_scripts[0].text_config.text", "machine review"),
        (video_body(shoot_scripts=audio(stereo)), 400, "audio_asset_id", "mono", "2 channels"),
        (video_body(shoot_scripts=audio(long)), 400, "audio_asset_id", "at most 5 minutes"),
        (video_body(shoot_scripts=audio(theirs)), 404, "audio_asset_id"),
    ]
    for body, status, *fragments in cases:
        cache.clear()  # the create API allows 5 calls a second
        code = "MSS.00000004" if status == 404 else "MSS.00000003"
        assert_error(create_video(api, tenant.owner, tenant, body), status, code, *fragments)
    assert not Job.objects.filter(account=tenant.account).exists()


def test_cancel_only_while_waiting(api, tenant):
    job_id = create_video(api, tenant.owner, tenant, video_body()).json()["job_id"]
    url = f"/v1/{tenant.project_id}/photo-digital-human-videos/{job_id}/cancel"
    assert_error(send_json(api(tenant.member), "post", url), 403, "MSS.00000005")
    canceled = send_json(api(tenant.owner), "post", url)
    assert canceled.status_code == 200 and canceled.json()["state"] == "CANCELED"
    assert_error(send_json(api(tenant.owner), "post", url), 409, "MSS.00000007", "WAITING")


def test_iam_and_tenant_isolation(api, tenant, other_tenant, astronaut):
    base = f"/v1/{tenant.project_id}"
    for path, body in (("photo-detection", {"human_image": b64(picture(astronaut))}),
                       ("photo-digital-human-videos", video_body())):
        assert_error(send_json(api(tenant.member), "post", f"{base}/{path}", body), 403, "MSS.00000005")
        assert_error(send_json(api(tenant.nobody), "post", f"{base}/{path}", body), 403, "MSS.00000005")
        job_id = send_json(api(tenant.owner), "post", f"{base}/{path}", body).json()["job_id"]
        assert send_json(api(tenant.member), "get", f"{base}/{path}/{job_id}").status_code == 200
        assert_error(send_json(api(tenant.nobody), "get", f"{base}/{path}/{job_id}"), 403, "MSS.00000005")
        other = f"/v1/{other_tenant.project_id}/{path}/{job_id}"
        assert_error(send_json(api(other_tenant.owner), "get", other), 404, "MSS.00000004", "job_id")
    detection_id = Job.objects.get(account=tenant.account, kind="videos.photo_detection").pk
    assert_error(send_json(api(tenant.owner), "get", f"{base}/photo-digital-human-videos/{detection_id}"), 404,
                 "MSS.00000004")


def test_presets_are_listed_and_made_from_package_pictures(api, tenant):
    answer = send_json(api(tenant.member), "get", f"/v1/{tenant.project_id}/photo-digital-human-presets").json()
    assert {p["preset_id"] for p in answer["presets"]} == {"preset-photo-eileen", "preset-photo-grace"}
    assert all("public domain" in p["source"] for p in answer["presets"])
    for preset in presets.preset_photos():
        with Image.open(presets.preset_photo_path(preset)) as image:
            assert min(image.size) >= 256
    assert_error(send_json(api(tenant.nobody), "get", f"/v1/{tenant.project_id}/photo-digital-human-presets"), 403,
                 "MSS.00000005")
