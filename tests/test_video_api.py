"""Video production API at MetaStudio's paths: scripts (CRUD + copy, paging), render jobs from a stored script, an
inline script or both (the job carries the cleaned snapshot), detail, cancel only while waiting, the 21st waiting
job refused, the list of both kinds of video job with its filters and the six-month history window, the result
callback to a real loopback server, and the bad inputs of the issue, each refused with its field before anything
is stored. IAM (ReadOnly member, no-policy user) and tenant isolation on every path. No video is rendered here
(tests/test_video_api_subtitles.py renders one small video through the API)."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_q.models import OrmQ

from assets.models import Asset, AssetFile
from metastudio import jobs
from metastudio.jobs import Job
from tenancy.audit import Actor
from tests import media_samples as ms
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401
from tests.test_video_scripts import VOICE, _asset, _file, body, scene
from videos import actions as photo_actions
from videos import callbacks, scripts, video_jobs
from videos.models import VideoScript

SCRIPTS = "digital-human-video-scripts"
VIDEOS = "2d-digital-human-videos"


def pictures(t, folder) -> list[Asset]:
    folder.mkdir(exist_ok=True)
    return [_asset(t, ms.make_image(folder / f"picture{n}.png", (64, 36)), Asset.Type.IMAGE) for n in range(2)]


@pytest.fixture
def images(tenant, tmp_path):
    return pictures(tenant, tmp_path / "mine")


@pytest.fixture
def their_images(other_tenant, tmp_path):
    return pictures(other_tenant, tmp_path / "theirs")


def url(t, *parts) -> str:
    return "/".join([f"/v1/{t.project_id}", *[str(part) for part in parts]])


def call(api, user, method, path, payload=None):
    cache.clear()  # create APIs allow 3-10 calls a second; these tests call them faster
    return send_json(api(user), method, path, payload)


def make_script(t, images, **changes) -> VideoScript:
    return scripts.create_script(Actor.system(t.account), t.account, body(images, **changes), project=t.project)


def render_job(t, images, **params) -> Job:
    """A queued render of a fresh script (through the action, not the API)."""
    script = make_script(t, images)
    job = video_jobs.create_video_job(Actor.system(t.account), t.account, {"script_id": str(script.pk)},
                                      project=t.project)
    if params:
        Job.objects.filter(pk=job.pk).update(**params)
        job.refresh_from_db()
    return job


def video_asset(t, tmp_path) -> Asset:
    """A platform VIDEO asset with a MAIN and a THUMBNAIL file (what a finished render stores)."""
    from assets.tasks import store_generated_file

    asset = Asset.objects.create(account=t.account, project=t.project, name="Made", type=Asset.Type.VIDEO,
                                 state=Asset.State.ACTIVED, created_by_platform=True)
    store_generated_file(asset, AssetFile.Category.MAIN, _file(tmp_path / "clip.mp4"), name="clip.mp4",
                         file_type="mp4")
    store_generated_file(asset, AssetFile.Category.THUMBNAIL, ms.make_image(tmp_path / "thumb.png", (32, 18)),
                         name="thumbnail.png")
    return asset


# --- scripts ----------------------------------------------------------------------------------------------------

def test_script_create_show_list_update_copy_delete(api, tenant, images):
    created = call(api, tenant.owner, "post", url(tenant, SCRIPTS), body(images))
    assert created.status_code == 201, created.content
    script_id = created.json()["script_id"]
    shown = call(api, tenant.member, "get", url(tenant, SCRIPTS, script_id)).json()
    assert shown["script_id"] == script_id and shown["script_name"] == "Spring launch"
    assert shown["model_asset_id"] == "preset-photo-eileen" and shown["model_asset_type"] == "PRESET_PHOTO"
    assert shown["voice_config"]["voice_asset_id"] == VOICE and shown["voice_config"]["speed"] == 110
    assert [scene_["sequence_no"] for scene_ in shown["shoot_scripts"]] == [1, 2, 3]
    assert shown["video_config"]["frame_rate"] == 30 and shown["create_time"].endswith("Z")

    updated = call(api, tenant.owner, "put", url(tenant, SCRIPTS, script_id),
                   {"script_name": "Renamed", "shoot_scripts": [scene("Only one scene now.")]})
    assert updated.status_code == 200, updated.content
    assert updated.json()["script_name"] == "Renamed" and len(updated.json()["shoot_scripts"]) == 1
    copied = call(api, tenant.owner, "post", url(tenant, SCRIPTS, script_id, "copy"), {"script_name": "Take two"})
    assert copied.status_code == 201
    copy_id = copied.json()["script_id"]
    assert copy_id != script_id and VideoScript.objects.get(pk=copy_id).name == "Take two"
    default_copy = call(api, tenant.owner, "post", url(tenant, SCRIPTS, script_id, "copy"))
    assert VideoScript.objects.get(pk=default_copy.json()["script_id"]).name == "Renamed (copy)"

    listed = call(api, tenant.member, "get", url(tenant, SCRIPTS) + "?limit=2").json()
    assert listed["count"] == 3 and len(listed["video_scripts"]) == 2
    assert set(listed["video_scripts"][0]) >= {"script_id", "script_name", "script_description", "model_asset_id",
                                               "model_asset_type", "create_time", "update_time"}
    rest = call(api, tenant.member, "get", url(tenant, SCRIPTS) + "?limit=2&offset=2").json()
    ids = {item["script_id"] for item in listed["video_scripts"] + rest["video_scripts"]}
    assert ids == {script_id, copy_id, default_copy.json()["script_id"]}
    named = call(api, tenant.member, "get", url(tenant, SCRIPTS) + "?script_name=take").json()
    assert [item["script_id"] for item in named["video_scripts"]] == [copy_id]
    assert_error(call(api, tenant.member, "get", url(tenant, SCRIPTS) + "?limit=500"), 400, "MSS.00000003", "limit")

    assert call(api, tenant.owner, "delete", url(tenant, SCRIPTS, copy_id)).status_code == 204
    assert_error(call(api, tenant.owner, "get", url(tenant, SCRIPTS, copy_id)), 404, "MSS.00000004", "script_id")


def test_bad_scripts_are_refused_with_the_field_and_nothing_is_stored(api, tenant, other_tenant, images, tmp_path):
    frozen = _asset(tenant, ms.make_image(tmp_path / "frozen.png", (64, 64)), Asset.Type.IMAGE,
                    state=Asset.State.BLOCK)
    theirs = _asset(other_tenant, ms.make_image(tmp_path / "theirs.png", (64, 64)), Asset.Type.IMAGE)
    clip = _asset(tenant, _file(tmp_path / "clip.mp4"), Asset.Type.VIDEO)
    video_layer = {"layer_type": "VIDEO", "asset_id": str(clip.pk)}
    long_scene = body(images)
    long_scene["shoot_scripts"][1]["text_config"]["text"] = "x" * 10_001
    cases = [
        (body(images, shoot_scripts=[scene()] * 101), 400, "shoot_scripts", "at most 100"),
        (long_scene, 400, "shoot_scripts[1].text_config.text", "10000"),
        (body(images, shoot_scripts=[scene(layer_config=[{"layer_type": "IMAGE", "asset_id": str(theirs.pk)}])]),
         404, "shoot_scripts[0].layer_config[0].asset_id"),
        (body(images, shoot_scripts=[scene(layer_config=[{"layer_type": "IMAGE", "asset_id": str(frozen.pk)}])]),
         409, "shoot_scripts[0].layer_config[0].asset_id", "frozen"),
        (body(images, shoot_scripts=[scene(layer_config=[video_layer] * 3)]), 400,
         "shoot_scripts[0].layer_config[2].video_config", "at most 2"),
        (body(images, voice_config=None), 400, "voice_config.voice_asset_id"),
        ([1, 2], 400, "body"),
    ]
    codes = {400: "MSS.00000003", 404: "MSS.00000004", 409: "MSS.00000014"}
    for payload, status, *fragments in cases:
        assert_error(call(api, tenant.owner, "post", url(tenant, SCRIPTS), payload), status, codes[status],
                     *fragments)
    script = make_script(tenant, images)
    assert_error(call(api, tenant.owner, "put", url(tenant, SCRIPTS, script.pk), {"shoot_scripts": [scene()] * 101}),
                 400, "MSS.00000003", "shoot_scripts")
    assert VideoScript.objects.get().shoot_scripts == script.shoot_scripts


def test_scripts_iam_and_tenant_isolation(api, tenant, other_tenant, images):
    script = make_script(tenant, images)
    one = url(tenant, SCRIPTS, script.pk)
    for user in (tenant.member, tenant.nobody):
        for method, path, payload in (("post", url(tenant, SCRIPTS), body(images)),
                                      ("put", one, {"script_name": "x"}), ("delete", one, None),
                                      ("post", f"{one}/copy", None)):
            assert_error(call(api, user, method, path, payload), 403, "MSS.00000005")
    assert_error(call(api, tenant.nobody, "get", one), 403, "MSS.00000005")
    assert_error(call(api, tenant.nobody, "get", url(tenant, SCRIPTS)), 403, "MSS.00000005")
    theirs = url(other_tenant, SCRIPTS, script.pk)
    for method, path in (("get", theirs), ("put", theirs), ("delete", theirs), ("post", f"{theirs}/copy")):
        assert_error(call(api, other_tenant.owner, method, path, {"script_name": "mine now"}), 404, "MSS.00000004",
                     "script_id")
    assert call(api, other_tenant.owner, "get", url(other_tenant, SCRIPTS)).json() == {"count": 0,
                                                                                      "video_scripts": []}
    assert VideoScript.objects.get().name == "Spring launch"


# --- render jobs ----------------------------------------------------------------------------------------------

def test_a_job_from_a_stored_script_carries_its_cleaned_snapshot(api, tenant, images):
    script = make_script(tenant, images)
    created = call(api, tenant.owner, "post", url(tenant, VIDEOS), {
        "script_id": str(script.pk), "output_asset_config": {"asset_name": "Launch video"},
        "callback_config": {"callback_url": "https://example.com/done?token=abc"}})
    assert created.status_code == 201, created.content
    job = Job.objects.get(pk=created.json()["job_id"])
    assert job.kind == "videos.render" and job.state == Job.State.WAITING and job.project == tenant.project
    assert job.params["script_id"] == str(script.pk) and job.params["voice_tier"] == "PRESET"
    assert job.params["snapshot"] == scripts.clean_script(tenant.account, scripts.script_body(script))
    assert job.params["output_asset_name"] == "Launch video"
    assert job.params["callback_config"] == {"callback_url": "https://example.com/done?token=abc"}

    shown = call(api, tenant.member, "get", url(tenant, VIDEOS, job.pk)).json()
    assert shown["job_id"] == str(job.pk) and shown["job_type"] == "2D_DIGITAL_HUMAN_VIDEO"
    assert (shown["state"], shown["progress"], shown["stage"]) == ("WAITING", 0, "waiting")
    assert shown["script_id"] == str(script.pk) and shown["model_asset_id"] == "preset-photo-eileen"
    assert len(shown["shoot_scripts"]) == 3 and shown["voice_config"]["voice_asset_id"] == VOICE
    assert shown["error_info"] is None and shown["output_asset_config"] is None and shown["duration"] is None
    assert shown["create_time"].endswith("Z") and shown["start_time"] is None


def test_inline_scripts_and_fields_that_replace_the_stored_ones(api, tenant, images):
    inline = body(images)
    del inline["script_name"]
    created = call(api, tenant.owner, "post", url(tenant, VIDEOS), inline)
    assert created.status_code == 201, created.content
    job = Job.objects.get(pk=created.json()["job_id"])
    assert job.params["script_id"] is None and job.params["output_asset_name"] is None
    assert job.params["snapshot"]["script_name"] == video_jobs.DEFAULT_VIDEO_NAME
    assert len(job.params["snapshot"]["shoot_scripts"]) == 3 and job.params["callback_config"] is None

    script = make_script(tenant, images)
    merged = call(api, tenant.owner, "post", url(tenant, VIDEOS), {
        "script_id": str(script.pk), "shoot_scripts": [scene("Just this.")],
        "video_config": {"width": 720, "height": 1280, "frame_rate": 25}})
    snapshot = Job.objects.get(pk=merged.json()["job_id"]).params["snapshot"]
    assert [s["text_config"]["text"] for s in snapshot["shoot_scripts"]] == ["Just this."]
    assert snapshot["view_mode"] == "VERTICAL" and snapshot["script_name"] == "Spring launch"
    assert VideoScript.objects.get(pk=script.pk).view_mode == "LANDSCAPE"  # the stored script is unchanged


def test_bad_job_requests_are_refused_with_the_field_and_nothing_is_queued(api, tenant, other_tenant, images,
                                                                           their_images, tmp_path):
    mine, theirs = make_script(tenant, images), make_script(other_tenant, their_images)
    frozen = _asset(tenant, ms.make_image(tmp_path / "frozen.png", (64, 64)), Asset.Type.IMAGE,
                    state=Asset.State.BLOCK)
    foreign = _asset(other_tenant, ms.make_image(tmp_path / "foreign.png", (64, 64)), Asset.Type.IMAGE)
    clip = _asset(tenant, _file(tmp_path / "clip.mp4"), Asset.Type.VIDEO)
    video_layer = {"layer_type": "VIDEO", "asset_id": str(clip.pk)}
    layer = lambda asset: [scene(layer_config=[{"layer_type": "IMAGE", "asset_id": str(asset.pk)}])]  # noqa: E731
    stored = {"script_id": str(mine.pk)}
    cases = [
        ({}, 400, "script_id", "send script_id"),
        ({"script_id": str(theirs.pk)}, 404, "script_id"),
        ({"script_id": "not-a-uuid"}, 404, "script_id"),
        ({**stored, "shoot_scripts": [scene()] * 101}, 400, "shoot_scripts", "at most 100"),
        ({**stored, "shoot_scripts": [scene("x" * 10_001)]}, 400, "shoot_scripts[0].text_config.text", "10000"),
        ({**stored, "shoot_scripts": layer(foreign)}, 404, "shoot_scripts[0].layer_config[0].asset_id"),
        ({**stored, "shoot_scripts": layer(frozen)}, 409, "shoot_scripts[0].layer_config[0].asset_id", "frozen"),
        ({**stored, "shoot_scripts": [scene(layer_config=[video_layer] * 3)]}, 400,
         "shoot_scripts[0].layer_config[2].video_config", "at most 2"),
        ({**body(images), "voice_config": {}}, 400, "voice_config.voice_asset_id"),
        ({**stored, "callback_config": {"callback_url": "ftp://example.com/x"}}, 400,
         "callback_config.callback_url", "http"),
        ({**stored, "callback_config": {"callback_url": "not a url"}}, 400, "callback_config.callback_url"),
        ({**stored, "callback_config": {"callback_url": 42}}, 400, "callback_config.callback_url"),
        ({**stored, "callback_config": {"callback_url": "https://x.example/" + "a" * 2048}}, 400,
         "callback_config.callback_url", "2048"),
        ({**stored, "callback_config": {"callback_url": "https://x.example/", "auth_type": "MSS_A"}}, 400,
         "callback_config.auth_type"),
        ({**stored, "callback_config": "https://x.example/"}, 400, "callback_config"),
        ({**stored, "output_asset_config": {"asset_name": "n" * 257}}, 400, "output_asset_config.asset_name"),
        ([stored], 400, "body"),
    ]
    codes = {400: "MSS.00000003", 404: "MSS.00000004", 409: "MSS.00000014"}
    for payload, status, *fragments in cases:
        assert_error(call(api, tenant.owner, "post", url(tenant, VIDEOS), payload), status, codes[status],
                     *fragments)
    assert not Job.objects.filter(account=tenant.account).exists()


def test_the_21st_waiting_job_is_refused(api, tenant, other_tenant, images):
    script = make_script(tenant, images)
    snapshot = scripts.script_body(script)
    Job.objects.bulk_create([Job(account=tenant.account, kind="videos.render", params={"snapshot": snapshot},
                                 stage="waiting") for _ in range(20)])
    Job.objects.bulk_create([Job(account=other_tenant.account, kind="videos.render", stage="waiting")
                             for _ in range(20)])
    refused = call(api, tenant.owner, "post", url(tenant, VIDEOS), {"script_id": str(script.pk)})
    assert_error(refused, 400, "MSS.00000006", "at most 20", "wait")
    assert Job.objects.filter(account=tenant.account).count() == 20
    Job.objects.filter(account=tenant.account).first().delete()  # one ended: room for one more
    assert call(api, tenant.owner, "post", url(tenant, VIDEOS), {"script_id": str(script.pk)}).status_code == 201


def test_cancel_only_while_waiting(api, tenant, images):
    job = render_job(tenant, images)
    cancel = url(tenant, VIDEOS, job.pk, "cancel")
    assert_error(call(api, tenant.member, "post", cancel), 403, "MSS.00000005")
    canceled = call(api, tenant.owner, "post", cancel)
    assert canceled.status_code == 200 and canceled.json()["state"] == "CANCELED"
    assert canceled.json()["error_info"]["error_msg"].startswith("canceled by")
    assert_error(call(api, tenant.owner, "post", cancel), 409, "MSS.00000007", "job_id", "WAITING")
    running = render_job(tenant, images, state=Job.State.PROCESSING, stage="speech", progress=12)
    assert_error(call(api, tenant.owner, "post", url(tenant, VIDEOS, running.pk, "cancel")), 409, "MSS.00000007",
                 "job_id", "PROCESSING")
    running.refresh_from_db()
    assert running.state == Job.State.PROCESSING


def test_detail_of_a_finished_and_a_failed_job(api, tenant, images, tmp_path):
    asset = video_asset(tenant, tmp_path)
    done = render_job(tenant, images, state=Job.State.SUCCEED, progress=100, stage="done",
                      started_at=timezone.now(), finished_at=timezone.now(),
                      result={"asset_id": str(asset.pk), "asset_name": "Made", "duration": 3.04,
                              "charged_minutes": "0.05"})
    shown = call(api, tenant.owner, "get", url(tenant, VIDEOS, done.pk)).json()
    assert (shown["state"], shown["progress"], shown["duration"], shown["charged_minutes"]) == (
        "SUCCEED", 100, 3.04, "0.05")
    output = shown["output_asset_config"]
    assert output["asset_id"] == str(asset.pk) and output["asset_name"] == "Made"
    assert output["asset_url"].endswith(f"/v1/{tenant.project_id}/digital-assets/{asset.pk}")
    thumbnail = asset.files.get(category=AssetFile.Category.THUMBNAIL)
    assert output["cover_url"].endswith(f"/files/{thumbnail.pk}/download")
    cover = api(tenant.owner).get(output["cover_url"].split("testserver")[1])
    assert cover.status_code == 200 and b"".join(cover.streaming_content)[:4] == b"\x89PNG"
    assert output["preview_video_url"].endswith("/download") and shown["end_time"].endswith("Z")

    failed = render_job(tenant, images, state=Job.State.FAILED, stage="failed", error_code="MSS.00000011",
                        error_msg="speech: scene 2: the voice is no longer available")
    shown = call(api, tenant.owner, "get", url(tenant, VIDEOS, failed.pk)).json()
    assert shown["error_info"] == {"error_code": "MSS.00000011",
                                   "error_msg": "speech: scene 2: the voice is no longer available"}
    assert shown["output_asset_config"] is None and shown["charged_minutes"] is None


def test_the_list_shows_both_kinds_with_filters_and_six_months_of_history(api, tenant, other_tenant, images,
                                                                           their_images):
    render = render_job(tenant, images)
    photo = photo_actions.create_photo_video(
        Actor.system(tenant.account), tenant.account, preset_id="preset-photo-eileen",
        voice_config={"voice_asset_id": VOICE}, shoot_scripts=[{"text_config": {"text": "Hi."}}],
        project=tenant.project)
    failed = render_job(tenant, images, state=Job.State.FAILED, error_msg="encode: disk full")
    old = render_job(tenant, images)
    edge = render_job(tenant, images)
    now = timezone.now()
    Job.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=jobs.HISTORY_DAYS + 1))
    Job.objects.filter(pk=edge.pk).update(created_at=now - timedelta(days=jobs.HISTORY_DAYS - 1))
    Job.objects.filter(pk=render.pk).update(created_at=now - timedelta(minutes=5))
    render_job(other_tenant, their_images)
    jobs.submit(Actor.system(tenant.account), tenant.account, "audit_export", {"format": "CSV"})  # not a video

    listing = url(tenant, "digital-human-videos")
    everything = call(api, tenant.member, "get", listing).json()
    assert everything["count"] == 4
    listed = {item["job_id"]: item for item in everything["jobs"]}
    assert set(listed) == {str(render.pk), str(photo.pk), str(failed.pk), str(edge.pk)}
    assert listed[str(photo.pk)]["job_type"] == "PHOTO_DIGITAL_HUMAN_VIDEO"
    assert listed[str(render.pk)]["job_type"] == "2D_DIGITAL_HUMAN_VIDEO"
    assert listed[str(failed.pk)]["error_info"]["error_msg"] == "encode: disk full"
    assert everything["jobs"][-1]["job_id"] == str(edge.pk)  # newest first

    def ids(query: str) -> set[str]:
        answer = call(api, tenant.member, "get", f"{listing}?{query}")
        assert answer.status_code == 200, answer.content
        return {item["job_id"] for item in answer.json()["jobs"]}

    assert ids("state=FAILED") == {str(failed.pk)}
    assert ids("state=WAITING,FAILED") == {str(render.pk), str(photo.pk), str(failed.pk), str(edge.pk)}
    assert ids("job_type=PHOTO_DIGITAL_HUMAN_VIDEO") == {str(photo.pk)}
    since = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"create_since={since}") == {str(photo.pk), str(failed.pk)}
    until = (now - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"create_until={until}") == {str(render.pk), str(edge.pk)}
    assert ids(f"script_id={render.params['script_id']}") == {str(render.pk)}
    assert len(ids("limit=1&offset=1")) == 1
    assert ids("sort_dir=asc&limit=1") == {str(edge.pk)}
    for query, field in (("create_since=yesterday", "create_since"), ("state=DONE", "state"),
                         ("job_type=LIVE", "job_type"), ("limit=0", "limit"), ("sort_dir=up", "sort_dir")):
        assert_error(call(api, tenant.member, "get", f"{listing}?{query}"), 400, "MSS.00000003", field)

    assert_error(call(api, tenant.owner, "get", url(tenant, VIDEOS, old.pk)), 404, "MSS.00000004", "job_id")
    assert_error(call(api, tenant.owner, "post", url(tenant, VIDEOS, old.pk, "cancel")), 404, "MSS.00000004")
    assert call(api, tenant.owner, "get", url(tenant, VIDEOS, edge.pk)).status_code == 200
    assert call(api, other_tenant.owner, "get", url(other_tenant, "digital-human-videos")).json()["count"] == 1


def test_video_jobs_iam_and_tenant_isolation(api, tenant, other_tenant, images):
    script = make_script(tenant, images)
    job = render_job(tenant, images)
    for user in (tenant.member, tenant.nobody):
        assert_error(call(api, user, "post", url(tenant, VIDEOS), {"script_id": str(script.pk)}), 403,
                     "MSS.00000005", "metastudio:video:create")
        assert_error(call(api, user, "post", url(tenant, VIDEOS, job.pk, "cancel")), 403, "MSS.00000005")
    for path in (url(tenant, VIDEOS, job.pk), url(tenant, "digital-human-videos")):
        assert call(api, tenant.member, "get", path).status_code == 200
        assert_error(call(api, tenant.nobody, "get", path), 403, "MSS.00000005")
    for method, tail in (("get", ""), ("post", "/cancel")):
        assert_error(call(api, other_tenant.owner, method, url(other_tenant, VIDEOS, job.pk) + tail), 404,
                     "MSS.00000004", "job_id")
    assert_error(call(api, other_tenant.owner, "post", url(other_tenant, VIDEOS), {"script_id": str(script.pk)}),
                 404, "MSS.00000004", "script_id")
    photo = photo_actions.create_photo_video(
        Actor.system(tenant.account), tenant.account, preset_id="preset-photo-eileen",
        voice_config={"voice_asset_id": VOICE}, shoot_scripts=[{"text_config": {"text": "Hi."}}])
    assert_error(call(api, tenant.owner, "get", url(tenant, VIDEOS, photo.pk)), 404, "MSS.00000004")
    job.refresh_from_db()
    assert job.state == Job.State.WAITING


# --- callbacks --------------------------------------------------------------------------------------------------

class _Sink(BaseHTTPRequestHandler):
    received: list = []
    status = 204

    def do_POST(self):  # noqa: N802
        _Sink.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(_Sink.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sink():
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Sink.received, _Sink.status = [], 204
    yield f"http://127.0.0.1:{server.server_port}/video-done?token=t1"
    server.shutdown()
    server.server_close()


def _queued_callbacks(job) -> list[dict]:
    return [entry.task for entry in OrmQ.objects.all() if entry.name() == f"video-callback-{job.pk}"]


def test_a_finished_job_posts_its_result_to_the_callback_url_after_commit(tenant, images, sink, tmp_path,
                                                                          django_capture_on_commit_callbacks):
    asset = video_asset(tenant, tmp_path)
    job = render_job(tenant, images, state=Job.State.SUCCEED, params={
        **render_job(tenant, images).params, "callback_config": {"callback_url": sink}},
        result={"asset_id": str(asset.pk), "asset_name": "Made", "duration": 61.5, "charged_minutes": "1.03"})
    with django_capture_on_commit_callbacks(execute=False) as pending:
        callbacks.job_finished(job)
        assert not _queued_callbacks(job)  # nothing leaves before the job's transaction commits
    assert len(pending) == 1
    for callback in pending:
        callback()
    (task,) = _queued_callbacks(job)
    assert task["func"] == "videos.callbacks.send_callback" and list(task["args"]) == [str(job.pk)]
    assert callbacks.send_callback(*task["args"]) is True
    (sent,) = _Sink.received
    assert sent["job_id"] == str(job.pk) and sent["state"] == "SUCCEED" and sent["result"] == "SUCCEED"
    assert sent["asset_id"] == str(asset.pk) and sent["duration"] == 61.5 and sent["charged_minutes"] == "1.03"
    assert sent["output_asset_config"] == {"asset_id": str(asset.pk), "asset_name": "Made"}
    assert sent["error_info"] is None and sent["job_type"] == "2D_DIGITAL_HUMAN_VIDEO"


def test_a_failed_job_reports_its_stage_and_a_bad_callback_never_raises(tenant, images, sink, caplog,
                                                                        django_capture_on_commit_callbacks):
    params = {**render_job(tenant, images).params, "callback_config": {"callback_url": sink}}
    failed = render_job(tenant, images, state=Job.State.FAILED, params=params, error_code="MSS.00000011",
                        error_msg="lip-sync: no face found in the photo")
    with django_capture_on_commit_callbacks(execute=True):
        callbacks.job_finished(failed)
    assert callbacks.send_callback(str(failed.pk)) is True
    assert _Sink.received[-1]["result"] == "FAILED" and _Sink.received[-1]["asset_id"] is None
    assert _Sink.received[-1]["error_info"]["error_msg"] == "lip-sync: no face found in the photo"

    _Sink.status = 500
    assert callbacks.send_callback(str(failed.pk)) is False
    closed = HTTPServer(("127.0.0.1", 0), _Sink)
    port = closed.server_port
    closed.server_close()  # nothing listens there any more: the connection is refused
    Job.objects.filter(pk=failed.pk).update(params={**params, "callback_config": {
        "callback_url": f"http://127.0.0.1:{port}/gone"}})
    assert callbacks.send_callback(str(failed.pk)) is False
    assert "failed" in caplog.text

    quiet = render_job(tenant, images, state=Job.State.SUCCEED)
    with django_capture_on_commit_callbacks(execute=True) as pending:
        callbacks.job_finished(quiet)
    assert not pending and not _queued_callbacks(quiet)
    waiting = render_job(tenant, images, params=params)
    assert callbacks.send_callback(str(waiting.pk)) is False  # not ended: nothing to report


def test_a_failed_render_queues_its_callback(api, tenant, images, django_capture_on_commit_callbacks):
    script = make_script(tenant, images)
    created = call(api, tenant.owner, "post", url(tenant, VIDEOS),
                   {"script_id": str(script.pk), "callback_config": {"callback_url": "http://127.0.0.1:9/done"}})
    job_id = created.json()["job_id"]
    Asset.objects.filter(pk=images[0].pk).update(state=Asset.State.BLOCK)  # fails at "checking", nothing rendered
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run(job_id) == "failed"
    job = Job.objects.get(pk=job_id)
    assert job.error_msg.startswith("checking: ")
    (task,) = _queued_callbacks(job)
    assert task["func"] == "videos.callbacks.send_callback"
    assert callbacks.callback_body(job)["error_info"]["error_msg"].startswith("checking: ")
