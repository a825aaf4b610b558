"""Video production scripts: the MetaStudio CreateVideoScripts body is checked against every limit, with the
exact field named, before anything is stored; create, update, copy and delete are audited."""

import base64
import copy
from pathlib import Path

import pytest

from assets.models import Asset, AssetFile
from metastudio.errors import InvalidParameter, NotFound, StateConflict
from tenancy.audit import Actor
from tenancy.models import AuditLog
from tests import media_samples as ms
from tests.api_helpers import fast_password_hashing  # noqa: F401
from videos import scripts
from videos.models import VideoScript

VOICE = "espeak-en-us-f"
PRESET = "preset-photo-eileen"


def _asset(t, path: Path, asset_type: str, *, state=Asset.State.ACTIVED, media_info=None) -> Asset:
    from assets.tasks import store_generated_file

    asset = Asset.objects.create(account=t.account, project=t.project, name=path.stem, type=asset_type, state=state,
                                 media_info=media_info or {})
    store_generated_file(asset, AssetFile.Category.MAIN, path, name=path.name, file_type=path.suffix[1:])
    return asset


def _file(path: Path, size: int = 64) -> Path:
    path.write_bytes(b"\0" * size)
    return path


@pytest.fixture
def images(tenant, tmp_path):
    return [_asset(tenant, ms.make_image(tmp_path / f"picture{n}.png", (320, 180)), Asset.Type.IMAGE)
            for n in range(2)]


@pytest.fixture
def actor(tenant):
    return Actor(user=tenant.owner, account=tenant.account, via="api")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def body(images, **changes) -> dict:
    """A valid 3-scene script: preset photo avatar, preset voice, COLOR and IMAGE backgrounds, TEXT layers."""
    human = {"layer_type": "HUMAN", "position": {"dx": 600, "dy": 0, "layer_index": 2},
             "size": {"width": 720, "height": 1080}}
    value = {
        "script_name": "Spring launch", "script_description": "Three scenes",
        "model_asset_id": PRESET, "voice_config": {"voice_asset_id": VOICE, "speed": 110},
        "video_config": {"width": 1920, "height": 1080, "frame_rate": "30", "is_subtitle_enable": True},
        "shoot_scripts": [
            {"script_type": "TEXT", "text_config": {"text": "Hello and welcome to our spring launch."},
             "background_config": [{"background_type": "COLOR", "background_color_config": "20a0ff"}],
             "layer_config": [human, {"layer_type": "TEXT", "position": {"dx": 80, "dy": 900, "layer_index": 3},
                                      "size": {"width": 800, "height": 120},
                                      "text_config": {"text_context": b64("Spring sale"), "font_size": 64}}]},
            {"script_type": "TEXT",
             "text_config": {"text": "<speak>Our new product <break time='300ms'/> is here.</speak>"},
             "background_config": [{"background_type": "IMAGE", "background_asset_id": str(images[0].pk)}],
             "layer_config": [human, {"layer_type": "IMAGE", "asset_id": str(images[1].pk),
                                      "position": {"dx": 100, "dy": 100, "layer_index": 1},
                                      "size": {"width": 320, "height": 180}}]},
            {"sequence_no": 3, "shoot_script": {  # MetaStudio's ShootScriptItem form
                "script_type": "TEXT", "text_config": {"text": "Thank you for watching."},
                "background_config": [{"background_type": "IMAGE", "background_asset_id": str(images[0].pk)}],
                "layer_config": [{"layer_type": "TEXT", "text_config": {"text": "See you soon"}}]}},
        ],
    }
    value.update(changes)
    return value


def scene(text: str = "Hello.", **extra) -> dict:
    return {"script_type": "TEXT", "text_config": {"text": text}, **extra}


def refused(account, value: dict, field: str, error=InvalidParameter, *fragments: str):
    with pytest.raises(error) as caught:
        scripts.clean_script(account, value)
    assert caught.value.field == field, caught.value.message
    for fragment in fragments:
        assert fragment in caught.value.message
    return caught.value


def test_a_valid_script_round_trips(tenant, images, actor):
    script = scripts.create_script(actor, tenant.account, body(images), project=tenant.project)
    script = VideoScript.objects.get(pk=script.pk)
    assert (script.name, script.model_asset_id, script.model_kind, script.voice_asset_id) == (
        "Spring launch", PRESET, "PRESET_PHOTO", VOICE)
    assert script.voice_config == {"voice_asset_id": VOICE, "speed": 110, "pitch": 100, "volume": 140}
    video = script.video_config
    assert (video["codec"], video["format"], video["width"], video["height"], video["frame_rate"]) == (
        "H264", "MP4", 1920, 1080, 30)
    assert video["canvas"] == {"width": 1920, "height": 1080} and video["subtitle_config"]["font_color"] == "#FFFFFF"
    first, second, third = script.shoot_scripts
    assert [s["sequence_no"] for s in script.shoot_scripts] == [1, 2, 3]
    assert first["background_config"] == [{"background_type": "COLOR", "background_color_config": "#20A0FF"}]
    assert first["layer_config"][0]["asset_id"] == PRESET
    assert first["layer_config"][1]["text_config"] == {"text": "Spring sale", "font_name": "", "font_size": 64,
                                                       "font_color": "#FFFFFF"}
    assert second["text_config"]["ssml"] is True and second["text_config"]["characters"] == len(
        "Our new product  is here.")
    assert second["background_config"][0]["background_asset_id"] == str(images[0].pk)
    assert second["layer_config"][1]["asset_id"] == str(images[1].pk)
    assert third["layer_config"][0]["position"] == {"dx": 0, "dy": 0, "layer_index": 1}
    assert third["layer_config"][0]["size"] == {"width": 1920, "height": 1080}
    # the cleaned form is a valid body that cleans to itself
    stored = scripts.script_body(script)
    assert scripts.clean_script(tenant.account, copy.deepcopy(stored)) == stored
    photo = scripts.clean_script(tenant.account, body(images, model_asset_id=str(images[0].pk)))
    assert photo["model_asset_type"] == "PHOTO" and photo["shoot_scripts"][0]["layer_config"][0]["asset_id"] == str(
        images[0].pk)
    log = AuditLog.objects.get(action="video_script.create")
    assert log.target_id == str(script.pk) and log.detail["scenes"] == 3


def test_vertical_transparent_webm_with_music_audio_scene_and_actions(tenant, tmp_path, actor):
    model = _asset(tenant, _file(tmp_path / "model.bin"), Asset.Type.HUMAN_MODEL_2D,
                   media_info={"supports_actions": True, "actions": ["wave", "nod"]})
    speech = _asset(tenant, ms.make_wav(tmp_path / "speech.wav", rate=16000, channels=1, seconds=1),
                    Asset.Type.MUSIC)
    clip = _asset(tenant, _file(tmp_path / "clip.mp4"), Asset.Type.VIDEO)
    value = {
        "script_name": "Vertical", "model_asset_id": str(model.pk), "view_mode": "VERTICAL",
        "voice_config": {"voice_asset_id": VOICE},
        "video_config": {"codec": "VP8", "is_transparent_background": True, "frame_rate": 25, "bitrate": 4000},
        "background_music_config": {"music_asset_id": str(speech.pk), "volume": 30, "ducking": True},
        "shoot_scripts": [
            scene("Hello there, friends.", action_config=[{"action_name": "wave", "text_position": 6}],
                  layer_config=[{"layer_type": "VIDEO", "asset_id": str(clip.pk), "video_config": {"loop_count": 0}}]),
            {"script_type": "AUDIO", "audio_asset_id": str(speech.pk),
             "audio_drive_action_config": [{"action_name": "nod", "action_start_time": 0.5}]},
        ],
    }
    cleaned = scripts.clean_script(tenant.account, value)
    assert cleaned["model_asset_type"] == "HUMAN_MODEL_2D" and cleaned["view_mode"] == "VERTICAL"
    assert (cleaned["video_config"]["width"], cleaned["video_config"]["height"]) == (1080, 1920)
    assert cleaned["video_config"]["format"] == "WEBM" and cleaned["video_config"]["is_transparent_background"]
    assert cleaned["background_music_config"] == {"music_asset_id": str(speech.pk), "volume": 30, "ducking": True}
    assert cleaned["shoot_scripts"][0]["action_config"] == [{"action_name": "wave", "text_position": 6}]
    assert cleaned["shoot_scripts"][0]["layer_config"][0]["video_config"] == {
        "loop_count": 0, "video_sound": 0, "is_play_the_entire_video": False}
    assert cleaned["shoot_scripts"][1]["audio_asset_id"] == str(speech.pk)
    assert cleaned["shoot_scripts"][1]["audio_drive_action_config"][0]["action_start_time"] == 0.5
    assert scripts.clean_script(tenant.account, copy.deepcopy(cleaned)) == cleaned
    # a picture background would hide the transparency; an action the model lacks is refused
    with_colour = copy.deepcopy(value)
    with_colour["shoot_scripts"][0]["background_config"] = [{"background_type": "COLOR",
                                                             "background_color_config": "#000000"}]
    refused(tenant.account, with_colour, "shoot_scripts[0].background_config[0].background_type")
    jump = copy.deepcopy(value)
    jump["shoot_scripts"][0]["action_config"] = [{"action_name": "jump", "text_position": 0}]
    refused(tenant.account, jump, "shoot_scripts[0].action_config[0].action_name", InvalidParameter, "wave")


def test_every_bad_input_is_refused_with_the_field(tenant, other_tenant, images, tmp_path):
    account = tenant.account
    frozen = _asset(tenant, ms.make_image(tmp_path / "frozen.png", (64, 64)), Asset.Type.IMAGE,
                    state=Asset.State.BLOCK)
    theirs = _asset(other_tenant, ms.make_image(tmp_path / "theirs.png", (64, 64)), Asset.Type.IMAGE)
    clip = _asset(tenant, _file(tmp_path / "clip.mp4"), Asset.Type.VIDEO)
    video_layer = {"layer_type": "VIDEO", "asset_id": str(clip.pk)}
    image_layer = lambda asset: {"layer_type": "IMAGE", "asset_id": str(asset.pk)}  # noqa: E731

    refused(account, body(images, shoot_scripts=[scene()] * 101), "shoot_scripts", InvalidParameter, "at most 100")
    too_long = body(images)
    too_long["shoot_scripts"][1]["text_config"]["text"] = "x" * 10_001
    refused(account, too_long, "shoot_scripts[1].text_config.text", InvalidParameter, "10000", "10001")
    nested = body(images)
    nested["shoot_scripts"][2]["shoot_script"]["text_config"]["text"] = "y" * 10_001
    refused(account, nested, "shoot_scripts[2].shoot_script.text_config.text")
    in_all = [scene("z" * 10_000) for _ in range(10)] + [scene("!")]
    refused(account, body(images, shoot_scripts=in_all), "shoot_scripts", InvalidParameter, "100000", "100001")
    ssml = "<speak>" + "<break time='1ms'/>" * 7000 + "hi</speak>"
    refused(account, body(images, shoot_scripts=[scene("a"), scene(ssml)]), "shoot_scripts[1].text_config.text",
            InvalidParameter, "131072")
    refused(account, body(images, shoot_scripts=[scene("<speak>Hello <break time='1s'>x</speak>")]),
            "shoot_scripts[0].text_config.text")
    refused(account, body(images, shoot_scripts=[scene(layer_config=[{}, image_layer(frozen)])]),
            "shoot_scripts[0].layer_config[0].layer_type")
    error = refused(account, body(images, shoot_scripts=[scene(), scene(layer_config=[image_layer(images[0]),
                                                                                     image_layer(frozen)])]),
                    "shoot_scripts[1].layer_config[1].asset_id", StateConflict, "frozen")
    assert error.status == 409
    error = refused(account, body(images, shoot_scripts=[scene(background_config=[
        {"background_type": "IMAGE", "background_asset_id": str(theirs.pk)}])]),
        "shoot_scripts[0].background_config[0].background_asset_id", NotFound)
    assert error.status == 404
    refused(account, body(images, shoot_scripts=[scene(layer_config=[image_layer(theirs)])]),
            "shoot_scripts[0].layer_config[0].asset_id", NotFound)
    refused(account, body(images, shoot_scripts=[scene(layer_config=[video_layer, video_layer, video_layer])]),
            "shoot_scripts[0].layer_config[2].video_config", InvalidParameter, "at most 2")
    refused(account, body(images, shoot_scripts=[scene(layer_config=[image_layer(clip)])]),
            "shoot_scripts[0].layer_config[0].asset_id", InvalidParameter, "IMAGE")
    refused(account, body(images, voice_config=None), "voice_config.voice_asset_id")
    refused(account, body(images, voice_config={"voice_asset_id": str(theirs.pk)}), "voice_config.voice_asset_id",
            NotFound)
    refused(account, body(images, model_asset_id=None), "model_asset_id")
    refused(account, body(images, model_asset_id=str(theirs.pk)), "model_asset_id", NotFound)
    refused(account, body(images, shoot_scripts=[scene(voice_config={"voice_asset_id": "espeak-en-us-m"})]),
            "shoot_scripts[0].voice_config.voice_asset_id")
    refused(account, body(images, shoot_scripts=[scene(layer_config=[{"layer_type": "HUMAN", "asset_id": "x"}])]),
            "shoot_scripts[0].layer_config[0].asset_id")
    refused(account, body(images, video_config={"is_transparent_background": True}), "video_config.codec",
            InvalidParameter, "MP4")
    refused(account, body(images, video_config={"codec": "H264", "is_transparent_background": True}),
            "video_config.codec")
    refused(account, body(images, video_config={"frame_rate": "24"}), "video_config.frame_rate")
    refused(account, body(images, video_config={"width": 3840, "height": 2160}), "video_config.width",
            InvalidParameter, "1080p")
    refused(account, body(images, video_config={"width": 1440, "height": 1080}), "video_config.height")
    refused(account, body(images, video_config={"bitrate": 50}), "video_config.bitrate")
    refused(account, body(images, video_config={"codec": "QTRLE", "bitrate": 4000}), "video_config.bitrate",
            InvalidParameter, "ProRes")
    refused(account, body(images, view_mode="VERTICAL"), "view_mode")
    refused(account, body(images, video_config={"is_subtitle_enable": True, "subtitle_config": {"font_size": 2}}),
            "video_config.subtitle_config.font_size")
    refused(account, body(images, shoot_scripts=[scene(script_type="VIDEO")]), "shoot_scripts[0].script_type")
    refused(account, body(images, shoot_scripts=[{"script_type": "AUDIO"}]), "shoot_scripts[0].audio_asset_id")
    refused(account, body(images, shoot_scripts=[{"script_type": "AUDIO", "audio_asset_id": str(images[0].pk)}]),
            "shoot_scripts[0].audio_asset_id", InvalidParameter, "MUSIC")
    refused(account, body(images, shoot_scripts=[scene(background_config=[
        {"background_type": "COLOR", "background_color_config": "blue"}])]),
        "shoot_scripts[0].background_config[0].background_color_config")
    refused(account, body(images, shoot_scripts=[scene(action_config=[{"action_name": "wave", "text_position": 0}])]),
            "shoot_scripts[0].action_config", InvalidParameter, "does not support actions")
    refused(account, body(images, background_music_config={"music_asset_id": str(images[0].pk), "volume": 50}),
            "background_music_config.music_asset_id")
    refused(account, body(images, shoot_scripts=[scene(layer_config=[
        {"layer_type": "TEXT", "text_config": {"text_context": "%%%"}}])]),
        "shoot_scripts[0].layer_config[0].text_config.text_context")
    refused(account, body(images, script_name=""), "script_name")
    assert not VideoScript.objects.exists()


def test_big_audio_and_music_volume(tenant, images, tmp_path):
    big = _asset(tenant, _file(tmp_path / "big.mp3", 64), Asset.Type.MUSIC)
    AssetFile.objects.filter(asset=big).update(declared_size=100 * 2**20 + 1)
    refused(tenant.account, body(images, shoot_scripts=[{"script_type": "AUDIO", "audio_asset_id": str(big.pk)}]),
            "shoot_scripts[0].audio_asset_id", InvalidParameter, "100 MB")
    ogg = _asset(tenant, _file(tmp_path / "sound.ogg"), Asset.Type.MUSIC)
    refused(tenant.account, body(images, shoot_scripts=[{"script_type": "AUDIO", "audio_asset_id": str(ogg.pk)}]),
            "shoot_scripts[0].audio_asset_id", InvalidParameter, "MP3")
    music = _asset(tenant, _file(tmp_path / "music.mp3"), Asset.Type.MUSIC)
    refused(tenant.account, body(images, background_music_config={"music_asset_id": str(music.pk), "volume": 101}),
            "background_music_config.volume")


def test_nothing_is_stored_when_validation_fails(tenant, images, actor):
    with pytest.raises(InvalidParameter):
        scripts.create_script(actor, tenant.account, body(images, video_config={"frame_rate": 60}))
    assert not VideoScript.objects.exists() and not AuditLog.objects.filter(action__startswith="video_script").exists()
    script = scripts.create_script(actor, tenant.account, body(images))
    with pytest.raises(InvalidParameter):
        scripts.update_script(actor, script, {"shoot_scripts": [scene("x" * 10_001)]})
    script.refresh_from_db()
    assert len(script.shoot_scripts) == 3 and script.updated_at == VideoScript.objects.get(pk=script.pk).updated_at
    assert not AuditLog.objects.filter(action="video_script.update").exists()


def test_update_copy_and_delete(tenant, images, actor):
    script = scripts.create_script(actor, tenant.account, body(images))
    scripts.update_script(actor, script, {"script_name": "Renamed", "view_mode": "VERTICAL"})
    script.refresh_from_db()
    assert script.name == "Renamed" and len(script.shoot_scripts) == 3
    assert (script.video_config["width"], script.video_config["height"]) == (1080, 1920)
    scripts.update_script(actor, script, {"shoot_scripts": [scene("Only one scene now.")]})
    script.refresh_from_db()
    assert [s["text_config"]["text"] for s in script.shoot_scripts] == ["Only one scene now."]
    copied = scripts.copy_script(actor, script)
    assert copied.pk != script.pk and copied.name == "Renamed (copy)"
    assert copied.shoot_scripts == script.shoot_scripts and copied.video_config == script.video_config
    named = scripts.copy_script(actor, script, name="Second take")
    assert named.name == "Second take" and VideoScript.objects.filter(account=tenant.account).count() == 3
    with pytest.raises(InvalidParameter) as caught:
        scripts.copy_script(actor, script, name="")
    assert caught.value.field == "script_name"
    copy_id = str(copied.pk)
    scripts.delete_script(actor, copied)
    assert not VideoScript.objects.filter(pk=copy_id).exists()
    actions = list(AuditLog.objects.filter(action__startswith="video_script").values_list("action", flat=True))
    assert sorted(actions) == sorted(["video_script.create", "video_script.update", "video_script.update",
                                      "video_script.copy", "video_script.copy", "video_script.delete"])
    assert AuditLog.objects.get(action="video_script.delete").target_id == copy_id


@pytest.mark.parametrize(("key", "value"), [("is_end_at_first_frame", True), ("is_enable_super_resolution", True),
                                            ("is_vocabulary_config_enable", False)])
def test_options_not_offered_are_refused_rather_than_ignored(tenant, images, key, value):
    refused(tenant.account, body(images, video_config={"width": 1920, "height": 1080, key: value}),
            f"video_config.{key}", InvalidParameter, "not offered" if key != "is_vocabulary_config_enable"
            else "always apply")
    assert scripts.clean_script(tenant.account, body(images, video_config={key: not value}))["video_config"][key] \
        is (not value)


def test_a_fixed_number_of_video_loops_is_refused(tenant, images, tmp_path):
    clip = _asset(tenant, _file(tmp_path / "clip.mp4"), Asset.Type.VIDEO)
    layer = {"layer_type": "VIDEO", "asset_id": str(clip.pk), "video_config": {"loop_count": 3}}
    refused(tenant.account, body(images, shoot_scripts=[scene(layer_config=[layer])]),
            "shoot_scripts[0].layer_config[0].video_config.loop_count", InvalidParameter, "play once")


def test_only_the_platform_font_is_offered(tenant, images):
    subtitles = {"is_subtitle_enable": True, "subtitle_config": {"font_name": "Comic Sans"}}
    refused(tenant.account, body(images, video_config=subtitles), "video_config.subtitle_config.font_name",
            InvalidParameter, "Noto Sans CJK")
    subtitles["subtitle_config"]["font_name"] = "Noto Sans CJK SC"
    assert scripts.clean_script(tenant.account, body(images, video_config=subtitles))["video_config"][
        "subtitle_config"]["font_name"] == "Noto Sans CJK SC"
