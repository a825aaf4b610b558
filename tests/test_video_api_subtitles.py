"""Subtitle files of rendered videos (POST /subtitle-files, its detail and the file itself): SRT and WebVTT from the
timed words a finished render kept, for the whole video or one scene timed from its start, with the SPEC's
punctuation rules and Chinese and English line breaking; the bad inputs refused with their field; IAM and tenant
isolation; the result callback queued when the file is made. The words are set on a finished render job made here
(the conversion and the endpoints are what is tested), and one small real render goes through the whole API:
script, job, progress to SUCCEED, metered minutes, subtitles of its speech."""

import pytest
from django.core.cache import cache
from django_q.models import OrmQ

from metastudio import jobs
from metastudio.jobs import Job
from synthesis.compose.subtitles import parse_srt
from tenancy.audit import Actor
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401
from tests.test_video_scripts import VOICE
from videos import scripts, subtitle_files, video_jobs

pytestmark = pytest.mark.timeout(300)
PRESET = "preset-photo-eileen"
# [text, start_s, end_s, paragraph_end, space_before] over the whole video: an English and a Chinese scene
WORDS = [
    ["Hello,", 0.10, 0.42, False, True], ["world.", 0.45, 0.90, False, True],
    ["Welcome", 1.00, 1.40, False, True], ["to", 1.42, 1.55, False, True], ["the", 1.57, 1.70, False, True],
    ["launch.", 1.72, 2.30, True, True],
    ["大", 3.00, 3.20, False, False], ["家", 3.20, 3.40, False, False], ["好，", 3.40, 3.70, False, False],
    ["欢", 3.80, 4.00, False, False], ["迎", 4.00, 4.20, False, False], ["《新品》", 4.20, 4.90, False, False],
    ["发", 4.90, 5.10, False, False], ["布。", 5.10, 5.40, True, False],
]
SCENE_TIMES = [[0.0, 2.8], [2.8, 5.8]]


def scene(text: str) -> dict:
    return {"script_type": "TEXT", "text_config": {"text": text}}


def script_body(**changes) -> dict:
    return {"script_name": "Subtitled", "model_asset_id": PRESET, "voice_config": {"voice_asset_id": VOICE},
            "video_config": {"width": 1920, "height": 1080, "frame_rate": 25, "is_subtitle_enable": True},
            "shoot_scripts": [scene("Hello, world. Welcome to the launch."), scene("大家好，欢迎《新品》发布。")],
            **changes}


def url(t, *parts) -> str:
    return "/".join([f"/v1/{t.project_id}", *[str(part) for part in parts]])


def call(api, user, method, path, payload=None):
    cache.clear()
    return send_json(api(user), method, path, payload)


def finished_render(t, *, result=None, state=Job.State.SUCCEED):
    """A render job of a stored script, ended as a real render ends it (the words set here)."""
    actor = Actor.system(t.account)
    script = scripts.create_script(actor, t.account, script_body(), project=t.project)
    job = video_jobs.create_video_job(actor, t.account, {"script_id": str(script.pk)}, project=t.project)
    if result is None:
        result = {"asset_id": None, "duration": 5.8, "charged_minutes": "0.10", "subtitle_words": WORDS,
                  "scene_times": SCENE_TIMES}
    Job.objects.filter(pk=job.pk).update(state=state, result=result, progress=100)
    job.refresh_from_db()
    return script, job


def make_file(api, t, payload) -> dict:
    created = call(api, t.owner, "post", url(t, "subtitle-files"), payload)
    assert created.status_code == 200, created.content
    job_id = created.json()["job_id"]
    waiting = call(api, t.member, "get", url(t, "subtitle-files", job_id)).json()
    assert waiting["job_state"] == "GENERATING"
    assert waiting["subtitle_file_info"][0]["subtitle_file_state"] == "GENERATING"
    assert jobs.run(job_id) == "done", Job.objects.get(pk=job_id).error_msg
    return call(api, t.member, "get", url(t, "subtitle-files", job_id)).json()


def download(api, t, shown) -> tuple[str, str]:
    link = shown["subtitle_file_info"][0]["subtitle_file_download_url"]
    answer = call(api, t.member, "get", link.split("testserver")[1])
    assert answer.status_code == 200, answer.content
    return answer.content.decode(), answer["Content-Type"]


def test_the_whole_video_as_srt_with_the_punctuation_rules(api, tenant):
    script, render = finished_render(tenant)
    shown = make_file(api, tenant, {"script_id": str(script.pk)})
    assert shown["job_state"] == "GENERATED" and shown["video_job_id"] == str(render.pk)
    info = shown["subtitle_file_info"][0]
    assert info["sequence_no"] == 0 and info["format"] == "SRT" and info["error_info"] is None
    assert info["subtitle_file_state"] == "GENERATE_SUCCEED" and info["generate_time"].endswith("Z")
    text, content_type = download(api, tenant, shown)
    assert content_type.startswith("application/x-subrip")
    assert text.startswith("1\n00:00:00,100 --> ")
    cues = parse_srt(text)
    lines = [line for cue in cues for line in cue.lines]
    # sentence marks: one space inside a line, dropped at the end of a line; 《》 kept
    assert "Hello world Welcome to the launch" in lines
    assert any("大家好 欢迎《新品》发布" in line for line in lines), lines
    assert not any(mark in "".join(lines) for mark in ",.，。")
    assert cues[0].start == pytest.approx(0.1) and cues[-1].end == pytest.approx(5.4, abs=0.01)
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:], strict=False))


def test_one_scene_as_webvtt_timed_from_its_start(api, tenant):
    _, render = finished_render(tenant)
    shown = make_file(api, tenant, {"video_job_id": str(render.pk), "sequence_no": 2, "format": "vtt"})
    assert shown["subtitle_file_info"][0]["sequence_no"] == 2
    text, content_type = download(api, tenant, shown)
    assert content_type.startswith("text/vtt")
    assert text.startswith("WEBVTT\n\n00:00:00.200 --> ")
    assert "Hello" not in text and "发布" in text


def test_chinese_lines_break_within_the_subtitle_box(api, tenant):
    words = [[ch, 0.2 * i, 0.2 * i + 0.2, False, False] for i, ch in enumerate("数字人视频制作" * 12)]
    words[-1][3] = True
    _, render = finished_render(tenant, result={"subtitle_words": words, "duration": 17})
    render.params["snapshot"]["video_config"]["subtitle_config"] = {"font_size": 60, "w": 600}
    Job.objects.filter(pk=render.pk).update(params=render.params)
    text, _ = download(api, tenant, make_file(api, tenant, {"video_job_id": str(render.pk)}))
    lines = [line for cue in parse_srt(text) for line in cue.lines]
    assert "".join(lines) == "数字人视频制作" * 12
    assert max(len(line) for line in lines) <= 10 and all(len(cue.lines) <= 2 for cue in parse_srt(text))


def test_bad_subtitle_requests_are_refused_with_the_field(api, tenant, other_tenant):
    script, render = finished_render(tenant)
    unrendered = scripts.create_script(Actor.system(tenant.account), tenant.account, script_body(),
                                       project=tenant.project)
    _, waiting = finished_render(tenant, state=Job.State.WAITING, result={})
    _, old = finished_render(tenant, result={"duration": 3.0})
    _, no_scenes = finished_render(tenant, result={"subtitle_words": WORDS})
    theirs, their_render = finished_render(other_tenant)
    by_job = {"video_job_id": str(render.pk)}
    cases = [
        ({}, 400, "script_id", "is required"),
        ({"script_id": str(unrendered.pk)}, 409, "script_id", "render it first"),
        ({"script_id": str(theirs.pk)}, 404, "script_id"),
        ({"video_job_id": str(their_render.pk)}, 404, "video_job_id"),
        ({"video_job_id": "nope"}, 404, "video_job_id"),
        ({"video_job_id": str(waiting.pk)}, 409, "video_job_id", "WAITING"),
        ({"video_job_id": str(old.pk)}, 409, "video_job_id", "word timings"),
        ({**by_job, "format": "ASS"}, 400, "format", "SRT or VTT"),
        ({**by_job, "sequence_no": 3}, 400, "sequence_no", "2 scenes"),
        ({**by_job, "sequence_no": "1"}, 400, "sequence_no"),
        ({**by_job, "sequence_no": -1}, 400, "sequence_no"),
        ({"video_job_id": str(no_scenes.pk), "sequence_no": 1}, 409, "sequence_no", "scene times"),
        ({**by_job, "callback_config": {"callback_url": "file:///etc/passwd"}}, 400, "callback_config.callback_url"),
        ([by_job], 400, "body"),
    ]
    codes = {400: "MSS.00000003", 404: "MSS.00000004", 409: "MSS.00000007"}
    for payload, status, *fragments in cases:
        assert_error(call(api, tenant.owner, "post", url(tenant, "subtitle-files"), payload), status, codes[status],
                     *fragments)
    assert not Job.objects.filter(kind=subtitle_files.SUBTITLE_FILE.name).exists()
    made = call(api, tenant.owner, "post", url(tenant, "subtitle-files"), by_job).json()["job_id"]
    assert_error(call(api, tenant.owner, "get", url(tenant, "subtitle-files", made, "file")), 409, "MSS.00000007",
                 "WAITING")


def test_subtitle_files_iam_tenant_isolation_and_callback(api, tenant, other_tenant,
                                                          django_capture_on_commit_callbacks):
    _, render = finished_render(tenant)
    payload = {"video_job_id": str(render.pk), "callback_config": {"callback_url": "http://127.0.0.1:9/done"}}
    for user in (tenant.member, tenant.nobody):
        assert_error(call(api, user, "post", url(tenant, "subtitle-files"), payload), 403, "MSS.00000005")
    job_id = call(api, tenant.owner, "post", url(tenant, "subtitle-files"), payload).json()["job_id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.run(job_id) == "done"
    assert [entry.task["args"] for entry in OrmQ.objects.all() if entry.name() == f"video-callback-{job_id}"] == [
        (job_id,)]
    for tail in ("", "/file"):
        assert call(api, tenant.member, "get", url(tenant, "subtitle-files", job_id) + tail).status_code == 200
        assert_error(call(api, tenant.nobody, "get", url(tenant, "subtitle-files", job_id) + tail), 403,
                     "MSS.00000005")
        assert_error(call(api, other_tenant.owner, "get", url(other_tenant, "subtitle-files", job_id) + tail), 404,
                     "MSS.00000004", "job_id")
    assert_error(call(api, tenant.owner, "get", url(tenant, "subtitle-files", render.pk)), 404, "MSS.00000004")


def test_a_small_video_through_the_whole_api(api, tenant):
    """Inline script -> render job (at 320x180) -> SUCCEED with metered minutes and the named asset -> subtitles of
    what was said."""
    inline = script_body(shoot_scripts=[scene("Hello and welcome.")])
    del inline["script_name"]
    created = call(api, tenant.owner, "post", url(tenant, "2d-digital-human-videos"),
                   {**inline, "output_asset_config": {"asset_name": "API video"}})
    assert created.status_code == 201, created.content
    job_id = created.json()["job_id"]
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(params={**job.params, "output_size": [320, 180]})
    assert jobs.run(job_id) == "done", Job.objects.get(pk=job_id).error_msg
    shown = call(api, tenant.member, "get", url(tenant, "2d-digital-human-videos", job_id)).json()
    assert (shown["state"], shown["progress"], shown["error_info"]) == ("SUCCEED", 100, None)
    assert 0.5 < shown["duration"] < 5 and shown["script_id"] is None
    minutes = shown["charged_minutes"]
    assert isinstance(minutes, str) and len(minutes.split(".")[1]) == 2
    assert float(minutes) == pytest.approx(shown["duration"] / 60, abs=0.005)
    output = shown["output_asset_config"]
    assert output["asset_name"] == "API video" and output["cover_url"] and output["preview_video_url"]
    listed = call(api, tenant.member, "get", url(tenant, "digital-human-videos")).json()
    assert listed["jobs"][0]["job_id"] == job_id and listed["jobs"][0]["output_asset_config"] == {
        key: output[key] for key in ("asset_id", "asset_name", "asset_url", "cover_url", "preview_video_url")}

    text, _ = download(api, tenant, make_file(api, tenant, {"video_job_id": job_id}))
    cues = parse_srt(text)
    assert " ".join(line for cue in cues for line in cue.lines) == "Hello and welcome"
    assert 0 <= cues[0].start < cues[-1].end <= shown["duration"] + 0.05
    scene_text, _ = download(api, tenant, make_file(api, tenant, {"video_job_id": job_id, "sequence_no": 1,
                                                                  "format": "VTT"}))
    assert scene_text.startswith("WEBVTT") and "Hello and welcome" in scene_text
