"""The console's video production with Django's test client: the scripts page (scripts, their renders followed live,
duplicate, delete), the editor (the script and the materials the page draws from, new and stored scripts), the
whole-body JSON save (created, updated, every error answered with its field path: a scene's text, a layer, the
scenes limit), the render (a videos.render job followed by its state, the video played and downloaded), the
editor's pictures of the tenant's assets, the PPT import; IAM (ReadOnly sees everything and changes nothing, no
policy sees nothing) and tenant isolation. Renders run synchronously with metastudio.jobs.run, made small by
editing the queued job (as tests/test_video_rendering.py does)."""

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from assets.models import Asset, AssetFile
from metastudio import jobs
from metastudio.jobs import Job
from tenancy.audit import Actor
from tests import media_samples as ms
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.test_console import by_testid, has_message, logged_in, page
from videos import scripts
from videos.models import VideoScript

pytestmark = pytest.mark.timeout(300)
VOICE = "espeak-en-us-f"
PRESET = "preset-photo-eileen"


def _asset(t, path: Path, asset_type: str, **fields) -> Asset:
    from assets.tasks import store_generated_file

    asset = Asset.objects.create(account=t.account, project=t.project, name=path.stem, type=asset_type,
                                 state=Asset.State.ACTIVED, **fields)
    store_generated_file(asset, AssetFile.Category.MAIN, path, name=path.name, file_type=path.suffix[1:])
    return asset


@pytest.fixture
def image(tenant, tmp_path):
    asset = _asset(tenant, ms.make_image(tmp_path / "picture.png", (320, 180)), Asset.Type.IMAGE,
                   media_info={"width": 320, "height": 180})
    from assets.tasks import store_generated_file

    store_generated_file(asset, AssetFile.Category.THUMBNAIL, tmp_path / "picture.png", name="thumbnail.png")
    return asset


def body(image=None, **changes) -> dict:
    """What the editor posts: the whole script (a preset photo avatar, Chinese and English scenes)."""
    human = {"layer_type": "HUMAN", "position": {"dx": 1200, "dy": 200, "layer_index": 1},
             "size": {"width": 640, "height": 880}}
    value = {
        "script_name": "Launch video", "model_asset_id": PRESET, "model_asset_type": "PRESET_PHOTO",
        "view_mode": "LANDSCAPE", "voice_config": {"voice_asset_id": VOICE, "speed": 100},
        "video_config": {"codec": "H264", "width": 1920, "height": 1080, "frame_rate": 25,
                         "is_subtitle_enable": True, "subtitle_config": {"font_size": 48}},
        "background_music_config": {},
        "shoot_scripts": [
            {"script_type": "TEXT", "text_config": {"text": "Hello and welcome."},
             "background_config": [{"background_type": "COLOR", "background_color_config": "#1F3A5F"}],
             "layer_config": [human]},
            {"script_type": "TEXT", "text_config": {"text": "<speak>大家好<break time=\"300ms\"/>欢迎。</speak>"},
             "background_config": ([{"background_type": "IMAGE", "background_asset_id": str(image.pk)}]
                                   if image else []),
             "layer_config": [human, {"layer_type": "TEXT", "position": {"dx": 100, "dy": 80, "layer_index": 2},
                                      "size": {"width": 900, "height": 160},
                                      "text_config": {"text": "春季发布", "font_size": 72}}]},
        ],
    }
    value.update(changes)
    return value


def post_json(client, url: str, value=None):
    return client.post(url, data=json.dumps(value if value is not None else {}), content_type="application/json",
                       HTTP_ACCEPT="application/json")


def editor_config(response) -> dict:
    found = re.search(r'<script id="video-editor-config" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert found, "no editor config on the page"
    return json.loads(found.group(1))


def make_script(tenant, image=None, **changes) -> VideoScript:
    return scripts.create_script(Actor.system(tenant.account), tenant.account, body(image, **changes),
                                 project=tenant.project)


def small(job: Job, size=(320, 180)) -> Job:
    """The queued render made small (the layout canvas stays 1920x1080)."""
    Job.objects.filter(pk=job.pk).update(params={**job.params, "output_size": list(size)})
    job.refresh_from_db()
    return job


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- pages and saving -----------------------------------------------------------------------------------------

def test_a_new_script_is_created_edited_and_listed(client, tenant, image):
    logged_in(client, tenant.owner)
    listing = client.get(reverse("console:videos"))
    assert listing.status_code == 200 and 'data-testid="no-video-scripts"' in page(listing)
    assert f'href="{reverse("console:video_new")}"' in page(listing)
    assert reverse("console:videos") in page(client.get(reverse("console:overview")))  # the nav entry

    editor = client.get(reverse("console:video_new"))
    config = editor_config(editor)
    assert config["script_id"] == "" and not config["readonly"]
    assert config["body"]["model_asset_id"] == PRESET and config["body"]["video_config"]["width"] == 1920
    assert config["body"]["shoot_scripts"] == []  # the page adds the first scene
    assert config["limits"]["scenes"] == 100 and config["limits"]["scene_chars"] == 10_000
    assert config["limits"]["total_chars"] == 100_000 and config["limits"]["video_layers"] == 2
    assert [item["id"] for item in config["materials"]["images"]] == [str(image.pk)]
    assert {item["id"] for item in config["materials"]["presets"]} >= {PRESET, "preset-photo-grace"}
    html = page(editor)
    for fragment in ('data-testid="canvas"', 'data-testid="scene-strip"', 'data-testid="ssml-pinyin"',
                     'data-testid="audition"', 'data-testid="materials"', 'data-testid="settings"',
                     f'value="{VOICE}"', "video_editor.js"):
        assert fragment in html, fragment

    created = post_json(client, reverse("console:video_create"), body(image))
    assert created.status_code == 201, created.content
    script = VideoScript.objects.get(account=tenant.account)
    answer = created.json()
    assert answer["script_id"] == str(script.pk) and answer["url"] == reverse("console:video_edit", args=[script.pk])
    assert answer["urls"]["save"] == reverse("console:video_save", args=[script.pk])
    assert answer["body"]["shoot_scripts"][1]["text_config"]["ssml"] is True
    assert script.project == tenant.project and script.created_by == tenant.owner

    # the editor of the stored script: its cleaned body; a change of the whole body is saved
    config = editor_config(client.get(answer["url"]))
    assert config["script_id"] == str(script.pk) and config["can_render"]
    changed = config["body"]
    changed["script_name"] = "Launch video v2"
    changed["shoot_scripts"].append({"script_type": "TEXT", "text_config": {"text": "Thank you."},
                                     "background_config": [], "layer_config": []})
    changed["shoot_scripts"][0]["layer_config"][0]["position"]["dx"] = 1000  # dragged on the canvas
    saved = post_json(client, answer["urls"]["save"], changed)
    assert saved.status_code == 200, saved.content
    script.refresh_from_db()
    assert script.name == "Launch video v2" and len(script.shoot_scripts) == 3
    assert script.shoot_scripts[0]["layer_config"][0]["position"]["dx"] == 1000

    listing = client.get(reverse("console:videos"))
    assert by_testid(listing, "video-script-open") == "Launch video v2"
    assert by_testid(listing, "video-script-scenes") == "3"


def test_save_errors_name_the_field_path_and_store_nothing(client, tenant, image, tmp_path):
    logged_in(client, tenant.owner)
    script = make_script(tenant, image)
    url = reverse("console:video_save", args=[script.pk])

    def refused(value, field: str, status: int = 400, *words: str):
        response = post_json(client, url, value)
        assert response.status_code == status, response.content
        answer = response.json()
        assert answer["field"] == field, answer
        assert answer["error_code"] and answer["error_msg"] and answer["message"]
        for word in words:
            assert word in answer["message"], answer
        return answer

    long_text = body(image)
    long_text["shoot_scripts"].append({"script_type": "TEXT", "text_config": {"text": "字" * 10_001}})
    refused(long_text, "shoot_scripts[2].text_config.text", 400, "10000")
    too_many = body(image, shoot_scripts=[{"script_type": "TEXT", "text_config": {"text": "Hi."}}] * 101)
    refused(too_many, "shoot_scripts", 400, "100")
    video = _asset(tenant, ms.make_video(tmp_path / "clip.mp4", size="320x180", seconds=1), Asset.Type.VIDEO)
    three = body(image)
    three["shoot_scripts"][0]["layer_config"] += [
        {"layer_type": "VIDEO", "asset_id": str(video.pk), "position": {"dx": 0, "dy": 0, "layer_index": 2 + n},
         "size": {"width": 320, "height": 180}} for n in range(3)]
    refused(three, "shoot_scripts[0].layer_config[3].video_config", 400, "2 videos")
    moved = body(image)
    moved["shoot_scripts"][1]["layer_config"][1]["position"]["dx"] = 99_999
    refused(moved, "shoot_scripts[1].layer_config[1].position.dx")
    refused(body(image, voice_config={"voice_asset_id": ""}), "voice_config.voice_asset_id")
    refused(body(image, script_name=""), "script_name")
    assert post_json(client, url, ["not", "an", "object"]).status_code == 400
    bad_json = client.post(url, data="{", content_type="application/json", HTTP_ACCEPT="application/json")
    assert bad_json.status_code == 400 and "JSON" in bad_json.json()["error_msg"]
    script.refresh_from_db()
    assert script.name == "Launch video" and len(script.shoot_scripts) == 2  # nothing was stored

    # another tenant's asset in a layer does not exist here
    other = body(image)
    other["shoot_scripts"][0]["layer_config"].append(
        {"layer_type": "IMAGE", "asset_id": "6f1c1d5e-6f0b-4c55-8d7b-3d6f2f1f9a11",
         "position": {"dx": 0, "dy": 0, "layer_index": 5}, "size": {"width": 10, "height": 10}})
    refused(other, "shoot_scripts[0].layer_config[1].asset_id", 404)


# --- rendering --------------------------------------------------------------------------------------------------

def test_render_is_followed_then_played_and_downloaded(client, tenant, image):
    logged_in(client, tenant.owner)
    script = make_script(tenant, image)
    submitted = post_json(client, reverse("console:video_render", args=[script.pk]))
    assert submitted.status_code == 201, submitted.content
    state = submitted.json()
    job = Job.objects.get(pk=state["job_id"])
    assert job.kind == "videos.render" and job.params["script_id"] == str(script.pk)
    assert job.created_by == tenant.owner and job.project == tenant.project
    assert state["state"] == "WAITING" and state["video_url"] is None and state["script_name"] == "Launch video"
    assert state["state_url"] == reverse("console:video_render_state", args=[job.pk])

    listing = client.get(reverse("console:videos"))
    assert by_testid(listing, "render-state") == "WAITING"
    assert f'data-job-id="{job.pk}"' in page(listing) and 'data-testid="render-cancel"' in page(listing)

    assert jobs.run(str(small(job).pk)) == "done", Job.objects.get(pk=job.pk).error_msg
    state = client.get(state["state_url"]).json()
    assert state["state"] == "SUCCEED" and state["progress"] == 100
    assert state["video_url"] == reverse("console:video_render_file", args=[job.pk]) and state["duration"] > 0
    played = client.get(state["video_url"])
    assert played.status_code == 200 and played["Content-Type"] == "video/mp4"
    assert content(played)[4:8] == b"ftyp"
    ranged = client.get(state["video_url"], HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206 and len(content(ranged)) == 10
    downloaded = client.get(state["download_url"])
    assert "attachment" in downloaded["Content-Disposition"]
    assert client.get(reverse("console:video_renders", args=[script.pk])).json()["renders"][0]["job_id"] == str(job.pk)
    listing = page(client.get(reverse("console:videos")))
    assert f'src="{state["video_url"]}"' in listing and "charged" in listing
    config = editor_config(client.get(reverse("console:video_edit", args=[script.pk])))
    assert config["latest_render"]["job_id"] == str(job.pk) and config["latest_render"]["video_url"]


def test_a_waiting_render_is_canceled_and_a_failure_names_its_stage(client, tenant, image):
    logged_in(client, tenant.owner)
    script = make_script(tenant, image)
    job = Job.objects.get(pk=post_json(client, reverse("console:video_render", args=[script.pk])).json()["job_id"])
    canceled = post_json(client, reverse("console:video_render_cancel", args=[job.pk]))
    assert canceled.status_code == 200 and canceled.json()["state"] == "CANCELED"
    again = post_json(client, reverse("console:video_render_cancel", args=[job.pk]))
    assert again.status_code == 409

    second = Job.objects.get(pk=post_json(client, reverse("console:video_render", args=[script.pk])).json()["job_id"])
    from assets.actions import freeze

    freeze(Actor.system(tenant.account), image, "complaint")
    assert jobs.run(str(small(second).pk)) != "done"
    state = client.get(reverse("console:video_render_state", args=[second.pk])).json()
    assert state["state"] == "FAILED" and state["failure"].startswith("checking: ")
    assert "Failed: checking: " in page(client.get(reverse("console:videos")))
    refused = post_json(client, reverse("console:video_render", args=[script.pk]))  # frozen asset: refused at once
    assert refused.status_code == 409 and refused.json()["field"].startswith("shoot_scripts[1].background_config")


# --- other pages and files ------------------------------------------------------------------------------------

def test_copy_delete_and_the_editor_pictures(client, tenant, image):
    logged_in(client, tenant.owner)
    script = make_script(tenant, image)
    copied = client.post(reverse("console:video_copy", args=[script.pk]))
    made = VideoScript.objects.exclude(pk=script.pk).get(account=tenant.account)
    assert copied.status_code == 302 and copied.url == reverse("console:video_edit", args=[made.pk])
    assert made.name == "Launch video (copy)" and made.shoot_scripts == script.shoot_scripts
    deleted = client.post(reverse("console:video_delete", args=[made.pk]), follow=True)
    assert has_message(deleted, "deleted") and not VideoScript.objects.filter(pk=made.pk).exists()

    picture = client.get(reverse("console:video_media", args=[image.pk, "picture"]))
    assert picture.status_code == 200 and content(picture)[:4] == b"\x89PNG"
    assert client.get(reverse("console:video_media", args=[image.pk, "file"])).status_code == 200
    assert client.get(reverse("console:video_media", args=[image.pk, "other"])).status_code == 404


def test_another_tenants_scripts_jobs_and_assets_do_not_exist(client, tenant, other_tenant, image):
    script = make_script(tenant, image)
    job = jobs.submit(Actor.system(tenant.account), tenant.account, "videos.render",
                      {"script_id": str(script.pk), "snapshot": scripts.script_body(script)}, project=tenant.project)
    logged_in(client, other_tenant.owner)
    for url in (reverse("console:video_edit", args=[script.pk]), reverse("console:video_renders", args=[script.pk]),
                reverse("console:video_render_state", args=[job.pk]),
                reverse("console:video_render_file", args=[job.pk]),
                reverse("console:video_media", args=[image.pk, "picture"])):
        assert client.get(url).status_code == 404, url
    for url in (reverse("console:video_save", args=[script.pk]), reverse("console:video_render", args=[script.pk]),
                reverse("console:video_copy", args=[script.pk]), reverse("console:video_delete", args=[script.pk]),
                reverse("console:video_render_cancel", args=[job.pk])):
        assert post_json(client, url, body(image)).status_code == 404, url
    assert "Launch video" not in page(client.get(reverse("console:videos")))
    assert str(image.pk) not in page(client.get(reverse("console:video_new")))
    script.refresh_from_db()
    assert VideoScript.objects.filter(pk=script.pk).exists() and Job.objects.get(pk=job.pk).state == "WAITING"


def test_read_only_sees_everything_and_changes_nothing(client, tenant, image):
    script = make_script(tenant, image)
    logged_in(client, tenant.member)
    listing = page(client.get(reverse("console:videos")))
    assert "Launch video" in listing
    for absent in ('data-testid="video-new"', 'data-testid="video-script-copy"', 'data-testid="video-script-delete"'):
        assert absent not in listing, absent
    editor = client.get(reverse("console:video_edit", args=[script.pk]))
    config = editor_config(editor)
    assert editor.status_code == 200 and config["readonly"] and not config["can_render"]
    assert config["body"]["shoot_scripts"][1]["layer_config"][1]["text_config"]["text"] == "春季发布"
    assert 'data-testid="readonly-note"' in page(editor) and 'data-testid="script-save"' not in page(editor)
    assert 'data-readonly="1"' in page(editor)
    for url in (reverse("console:video_save", args=[script.pk]), reverse("console:video_create"),
                reverse("console:video_render", args=[script.pk]), reverse("console:video_copy", args=[script.pk]),
                reverse("console:video_delete", args=[script.pk]), reverse("console:video_ppt_import")):
        refused = post_json(client, url, body(image))
        assert refused.status_code == 403 and refused.json()["error_code"] == "MSS.00000005", url
    assert client.get(reverse("console:video_new")).status_code == 403
    assert client.get(reverse("console:video_media", args=[image.pk, "picture"])).status_code == 200
    script.refresh_from_db()
    assert script.name == "Launch video" and VideoScript.objects.filter(account=tenant.account).count() == 1
    assert not Job.objects.filter(account=tenant.account, kind="videos.render").exists()

    logged_in(client, tenant.nobody)
    for url in (reverse("console:videos"), reverse("console:video_edit", args=[script.pk])):
        response = client.get(url)
        assert response.status_code == 403 and "metastudio:video:show" in page(response), url


# --- PPT import (videos.ppt_import) ---------------------------------------------------------------------------

def test_a_ppt_becomes_scenes_for_the_editor(client, tenant, tmp_path):
    pytest.importorskip("videos.ppt_import")
    ms.need("soffice", "pdftoppm")
    from pptx import Presentation

    path = ms.make_pptx(tmp_path / "deck.pptx", slides=2)
    deck = Presentation(path)
    for number, slide in enumerate(deck.slides, 1):
        slide.notes_slide.notes_text_frame.text = f"Notes of page {number}."
    deck.save(path)
    ppt = _asset(tenant, path, Asset.Type.PPT)
    logged_in(client, tenant.owner)
    submitted = post_json(client, reverse("console:video_ppt_import"), {"ppt_asset_id": str(ppt.pk)})
    assert submitted.status_code == 201, submitted.content
    state = submitted.json()
    assert jobs.run(state["job_id"]) == "done", Job.objects.get(pk=state["job_id"]).error_msg
    done = client.get(state["state_url"]).json()
    assert done["state"] == "SUCCEED" and done["page_count"] == 2 and len(done["scenes"]) == 2
    first = done["scenes"][0]
    assert first["text_config"]["text"] == "Notes of page 1."
    assert first["background_config"][0]["background_type"] == "IMAGE"
    picture = client.get(reverse("console:video_media", args=[first["background_config"][0]["background_asset_id"],
                                                             "file"]))
    assert picture.status_code == 200
    missing = post_json(client, reverse("console:video_ppt_import"), {"ppt_asset_id": "nope"})
    assert missing.status_code in (400, 404) and missing.json()["field"]


def test_the_material_panel_lists_the_asset_library_only_to_who_may_see_it(client, tenant, image):
    from tenancy import actions
    from tests.factories import make_user

    videos_only = actions.create_policy(Actor.system(tenant.account), tenant.account, name="video-maker", document={
        "Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["metastudio:video:*"]}]})
    maker = make_user(tenant.account, role="none", policies=[videos_only.pk])
    logged_in(client, maker)
    config = editor_config(client.get(reverse("console:video_new")))
    assert not config["can_list_assets"] and config["materials"]["images"] == []
    assert [item["id"] for item in config["materials"]["presets"]] == [PRESET, "preset-photo-grace"]
    assert post_json(client, reverse("console:video_create"), body(image)).status_code == 201  # still usable by id
    logged_in(client, tenant.owner)
    config = editor_config(client.get(reverse("console:video_new")))
    assert config["can_list_assets"] and [item["id"] for item in config["materials"]["images"]] == [str(image.pk)]
