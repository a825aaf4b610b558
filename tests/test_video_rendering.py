"""Video production renders (videos.rendering): a script queued with a snapshot of its cleaned body is spoken,
lip-synced and composed into a platform VIDEO asset; a retry does not render or meter again; an asset frozen
before the render fails it with the stage named; transparent output keeps its alpha; an AUDIO background bed and
the sound of a video layer are in the output audio, an audio scene's words are recognised into the video's timed
words (kept for retries); avatar actions play, a missing one fails the job at lip-sync; damaged media fail their
stage uncharged. Outputs are made small (320x180) by editing the queued snapshot, to keep the tests fast."""

import math
from pathlib import Path

import numpy as np
import pytest

from assets.models import Asset, AssetFile
from billing.models import UsageRecord
from metastudio import jobs
from metastudio.jobs import Job
from synthesis.media.probe import probe
from tenancy.audit import Actor
from tests import media_samples as ms
from videos import rendering, scripts

pytestmark = pytest.mark.timeout(300)
VOICE = "espeak-en-us-f"
PRESET = "preset-photo-eileen"
TEXTS = ("Hello and welcome.", "Thank you, goodbye.")


def _asset(t, path: Path, asset_type: str) -> Asset:
    from assets.tasks import store_generated_file

    asset = Asset.objects.create(account=t.account, project=t.project, name=path.stem, type=asset_type,
                                 state=Asset.State.ACTIVED)
    store_generated_file(asset, AssetFile.Category.MAIN, path, name=path.name, file_type=path.suffix[1:])
    return asset


@pytest.fixture
def actor(tenant):
    return Actor(user=tenant.owner, account=tenant.account, via="api")


@pytest.fixture
def image(tenant, tmp_path):
    return _asset(tenant, ms.make_image(tmp_path / "picture.png", (320, 180)), Asset.Type.IMAGE)


@pytest.fixture
def music(tenant, tmp_path):
    return _asset(tenant, ms.make_mp3(tmp_path / "music.mp3", seconds=1), Asset.Type.MUSIC)


def two_scenes(image, music=None, **video) -> dict:
    human = {"layer_type": "HUMAN", "position": {"dx": 1200, "dy": 180, "layer_index": 2},
             "size": {"width": 600, "height": 900}}
    body = {
        "script_name": "Render me", "model_asset_id": PRESET, "voice_config": {"voice_asset_id": VOICE},
        "video_config": {"width": 1280, "height": 720, "frame_rate": 25, **video},
        "shoot_scripts": [
            {"script_type": "TEXT", "text_config": {"text": TEXTS[0]},
             "background_config": [{"background_type": "COLOR", "background_color_config": "#2040C0"}],
             "layer_config": [human, {"layer_type": "TEXT", "position": {"dx": 80, "dy": 80, "layer_index": 3},
                                      "size": {"width": 800, "height": 160}, "text_config": {"text": "Spring"}}]},
            {"script_type": "TEXT", "text_config": {"text": TEXTS[1]},
             "background_config": [{"background_type": "IMAGE", "background_asset_id": str(image.pk)}]},
        ],
    }
    if music is not None:
        body["background_music_config"] = {"music_asset_id": str(music.pk), "volume": 30, "ducking": True}
    return body


def small(job: Job, size=(320, 180)) -> Job:
    """The queued snapshot rendered at a small size (the layout canvas stays 1920x1080)."""
    params = {**job.params, "output_size": list(size)}
    Job.objects.filter(pk=job.pk).update(params=params)
    job.refresh_from_db()
    return job


def speech_seconds(account, texts) -> float:
    from synthesis.speech import synth
    from synthesis.speech.types import SynthesisOptions
    from voices import speech

    voice = speech.resolve_voice(account, VOICE)
    total = 0.0
    for text in texts:
        result = synth.synthesize(text, voice_id=voice.base_voice_id, options=SynthesisOptions(sample_rate=24000))
        total += math.ceil(len(result.pcm) / result.sample_rate * 25) / 25
    return total


def test_a_script_renders_to_a_video_asset_once(tenant, actor, image, music):
    script = scripts.create_script(actor, tenant.account,
                                   two_scenes(image, music, is_subtitle_enable=True), project=tenant.project)
    job = small(rendering.submit_render(actor, script))
    assert job.kind == "videos.render" and job.params["script_id"] == str(script.pk)
    assert job.params["snapshot"]["shoot_scripts"][0]["text_config"]["text"] == TEXTS[0]
    assert jobs.run(str(job.pk)) == "done", Job.objects.get(pk=job.pk).error_msg
    job.refresh_from_db()
    video = Asset.objects.get(pk=job.result["asset_id"])
    assert video.type == Asset.Type.VIDEO and video.created_by_platform and video.state == Asset.State.ACTIVED
    assert video.media_info["video_script_id"] == str(script.pk)
    assert video.media_info["video_job_id"] == str(job.pk)
    main = video.files.get(category=AssetFile.Category.MAIN)
    info = probe(Path(main.stored.path))
    assert (info.width, info.height) == (320, 180)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    expected = speech_seconds(tenant.account, TEXTS)
    assert job.result["duration"] == pytest.approx(expected, abs=0.15)
    assert info.duration_s == pytest.approx(expected, abs=0.15)
    assert job.result["charged_minutes"] == str(rendering.actions.billable_minutes(job.result["duration"]))
    usage = UsageRecord.objects.filter(account=tenant.account, source_job_id=job.pk)
    assert usage.filter(resource_type="VIDEO_2D").count() == 1
    assert float(usage.get(resource_type="VIDEO_2D").quantity) == pytest.approx(job.result["duration"])
    tts = usage.get(resource_type="TTS_CHARACTERS_PRESET")
    assert int(tts.quantity) == sum(map(len, TEXTS))
    # the same job again (as after a lost worker): the stored video is found, nothing is rendered or metered
    Job.objects.filter(pk=job.pk).update(state=Job.State.WAITING)
    rendered = []
    original = rendering._speak_scenes
    rendering._speak_scenes = lambda *a, **k: rendered.append(1) or original(*a, **k)
    try:
        assert jobs.run(str(job.pk)) == "done"
    finally:
        rendering._speak_scenes = original
    assert rendered == []
    assert Job.objects.get(pk=job.pk).result["asset_id"] == str(video.pk)
    assert Asset.objects.filter(account=tenant.account, type=Asset.Type.VIDEO).count() == 1
    assert UsageRecord.objects.filter(account=tenant.account).count() == 2


def test_a_frozen_asset_fails_the_render_with_the_stage_and_charges_nothing(tenant, actor, image):
    script = scripts.create_script(actor, tenant.account, two_scenes(image), project=tenant.project)
    job = small(rendering.submit_render(actor, script))
    Asset.objects.filter(pk=image.pk).update(state=Asset.State.BLOCK)
    assert jobs.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.error_msg.startswith("checking: ") and "frozen" in job.error_msg, job.error_msg
    assert "background_asset_id" in job.error_msg
    assert not UsageRecord.objects.filter(account=tenant.account).exists()
    assert not Asset.objects.filter(account=tenant.account, type=Asset.Type.VIDEO).exists()
    # a frozen asset is refused at submit time too
    with pytest.raises(scripts.StateConflict):
        rendering.submit_render(actor, script)


def test_a_transparent_webm_keeps_its_alpha(tenant, actor, image):
    body = two_scenes(image, codec="VP8", is_transparent_background=True)
    body["shoot_scripts"] = [{"script_type": "TEXT", "text_config": {"text": "Hi there."}}]
    script = scripts.create_script(actor, tenant.account, body, project=tenant.project)
    job = small(rendering.submit_render(actor, script))
    assert jobs.run(str(job.pk)) == "done", Job.objects.get(pk=job.pk).error_msg
    video = Asset.objects.get(pk=Job.objects.get(pk=job.pk).result["asset_id"])
    main = video.files.get(category=AssetFile.Category.MAIN)
    assert main.name == "clip.webm" and main.file_type == "webm" and main.stored.name.endswith("/clip.webm")
    info = probe(Path(main.stored.path))
    assert info.video_codec == "vp9" and info.duration_s == pytest.approx(speech_seconds(tenant.account,
                                                                                         ["Hi there."]), abs=0.15)
    frame = _first_frame_rgba(Path(main.stored.path))
    assert frame.shape == (180, 320, 4)
    assert frame[5, 5, 3] < 16  # the corner is transparent (no background)
    assert frame[170, 160, 3] > 240  # the avatar, centred at the bottom, is opaque


def _first_frame_rgba(path: Path) -> np.ndarray:
    import subprocess

    out = subprocess.run(["ffmpeg", "-v", "error", "-c:v", "libvpx-vp9", "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgba", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(180, 320, 4)


# --- the talking photo layer (no Django) ---------------------------------------------------------------------

def test_photo_layer_speaks_for_the_whole_scene(tmp_path):
    import cv2
    import skimage.data

    from synthesis.compose.compositor import compose_frames
    from synthesis.compose.talking_layer import photo_layer
    from synthesis.compose.timeline import Canvas, Colour, Scene, Timeline
    from synthesis.face import landmarks as lm
    from synthesis.photo.talking import find_face
    from synthesis.speech import catalog, synth
    from synthesis.speech.audio import encode

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    result = synth.synthesize("Hello, how are you today?", voice_id=catalog.get_voice(VOICE).voice_id)
    wav = tmp_path / "speech.wav"
    wav.write_bytes(encode(result.pcm, result.sample_rate, "wav"))
    seconds = len(result.pcm) / result.sample_rate
    fps = 25
    layer = photo_layer(photo, wav, result.phonemes, (0, 0, 256, 256), fps=fps)
    expected = math.ceil(seconds * fps - 1e-6)
    frames = list(compose_frames(Timeline(Canvas(256, 256, fps=fps), [Scene(background=Colour((0, 0, 0)),
                                                                              layers=[layer], audio=wav)])))
    assert len(frames) == expected
    # the mouth moves while speaking: its region differs from the closed mouth of the first frame
    points = find_face(cv2.resize(cv2.imread(str(photo)), (256, 256), interpolation=cv2.INTER_AREA))
    lips = points[list(lm.OUTER_MOUTH_CORNERS) + [lm.UPPER_INNER_LIP, lm.LOWER_INNER_LIP], :2]
    x0, y0 = (lips.min(0) - 4).astype(int)
    x1, y1 = (lips.max(0) + 8).astype(int)
    change = [float(np.abs(f[y0:y1, x0:x1].astype(int) - frames[0][y0:y1, x0:x1]).mean()) for f in frames]
    assert max(change) > 8
    # the source makes exactly the frames it is asked for (the mouth at rest past the speech)
    assert sum(1 for _ in layer.source(fps, expected + 10)) == expected + 10


def test_a_trained_avatar_speaks_an_audio_scene_over_a_video_with_its_actions(tenant, actor, tmp_path):
    from synthesis.avatar import testmedia
    from synthesis.avatar.training import ActionMark, train_avatar

    clip = tmp_path / "talk.mp4"
    testmedia.make_talking_clip(clip, seconds=4, size=(256, 256), green_screen=True)
    trained = train_avatar(clip, tmp_path / "train", actions=[ActionMark("wave", 2.5, 3.5)])
    model = _asset(tenant, Path(trained.model_path), Asset.Type.HUMAN_MODEL_2D)
    # the library says the model has "nod" too (as a stale card could): the render finds out
    Asset.objects.filter(pk=model.pk).update(media_info={"supports_actions": True, "actions": ["wave", "nod"]})
    audio = _asset(tenant, ms.make_wav(tmp_path / "speech.wav", rate=16000, channels=1, seconds=1.2),
                   Asset.Type.MUSIC)
    background = _asset(tenant, ms.make_video(tmp_path / "background.mp4", seconds=1), Asset.Type.VIDEO)

    def body(action: str) -> dict:
        return {"script_name": "Model", "model_asset_id": str(model.pk), "video_config": {"frame_rate": 25},
                "shoot_scripts": [{"script_type": "AUDIO", "audio_asset_id": str(audio.pk), "background_config": [
                    {"background_type": "VIDEO", "background_asset_id": str(background.pk)}],
                    "audio_drive_action_config": [{"action_name": action, "action_start_time": 0.3}]}]}

    script = scripts.create_script(actor, tenant.account, body("wave"), project=tenant.project)
    assert script.model_kind == "HUMAN_MODEL_2D" and script.voice_config == {}
    job = small(rendering.submit_render(actor, script))
    assert jobs.run(str(job.pk)) == "done", Job.objects.get(pk=job.pk).error_msg
    job.refresh_from_db()
    assert job.result["duration"] == pytest.approx(1.2, abs=0.05)
    assert set(UsageRecord.objects.filter(source_job_id=job.pk).values_list("resource_type", flat=True)) == {
        "VIDEO_2D"}
    # an action the model file does not have: the job fails at lip-sync, naming it, and charges nothing
    script = scripts.create_script(actor, tenant.account, body("nod"), project=tenant.project)
    job = small(rendering.submit_render(actor, script))
    assert jobs.run(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.error_msg.startswith("lip-sync: scene 1: ") and "'nod'" in job.error_msg and "wave" in job.error_msg
    assert not UsageRecord.objects.filter(source_job_id=job.pk).exists()


# --- sounds, recognised words and damaged media ---------------------------------------------------------------

def _speech_wav(path: Path, text: str, *, silence_s: float = 0.0) -> Path:
    """`text` spoken by the test voice, then `silence_s` of silence."""
    from synthesis.speech import catalog, synth
    from synthesis.speech.audio import encode
    from synthesis.speech.types import SynthesisOptions

    result = synth.synthesize(text, voice_id=catalog.get_voice(VOICE).voice_id,
                              options=SynthesisOptions(sample_rate=24000))
    pcm = np.concatenate([result.pcm, np.zeros(int(silence_s * result.sample_rate), result.pcm.dtype)])
    path.write_bytes(encode(pcm, result.sample_rate, "wav"))
    return path


def _audio(path: Path) -> np.ndarray:
    import subprocess

    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar", "48000", "-f", "s16le",
                          "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.int16).astype(np.float64)


def _tone_db(pcm: np.ndarray, freq: float, a: float, b: float) -> float:
    """Level (dB) of a narrow band around `freq` in [a, b) seconds: a steady tone stands far above speech."""
    part = pcm[int(a * 48000): int(b * 48000)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)))) / len(part)
    freqs = np.fft.rfftfreq(len(part), 1 / 48000)
    return 20 * np.log10(spectrum[np.abs(freqs - freq) < 4].max() + 1e-9)


def test_an_audio_bed_a_video_sound_and_recognised_words_are_in_the_video(tenant, actor, tmp_path):
    from synthesis.compose.audio import decode_mono

    greeting = _speech_wav(tmp_path / "greeting.wav", "Good morning everyone.", silence_s=1.0)
    speech = _asset(tenant, greeting, Asset.Type.MUSIC)
    bed = _asset(tenant, ms.make_wav(tmp_path / "bed.wav", seconds=0.7), Asset.Type.MUSIC)  # 330 Hz, looped
    clip = _asset(tenant, ms.make_video(tmp_path / "clip.mp4", seconds=2), Asset.Type.VIDEO)  # 440 Hz
    body = {
        "script_name": "Sounds", "model_asset_id": PRESET, "voice_config": {"voice_asset_id": VOICE},
        "video_config": {"frame_rate": 25, "is_subtitle_enable": True},
        "shoot_scripts": [
            {"script_type": "AUDIO", "audio_asset_id": str(speech.pk), "background_config": [
                {"background_type": "COLOR", "background_color_config": "#203040"},
                {"background_type": "AUDIO", "background_asset_id": str(bed.pk)}]},
            {"script_type": "TEXT", "text_config": {"text": TEXTS[1]}, "layer_config": [
                {"layer_type": "VIDEO", "asset_id": str(clip.pk), "position": {"dx": 0, "dy": 0, "layer_index": 1},
                 "size": {"width": 640, "height": 360},
                 "video_config": {"video_sound": 100, "loop_count": 0, "is_play_the_entire_video": True}}]},
        ],
    }
    script = scripts.create_script(actor, tenant.account, body, project=tenant.project)
    job = Job.objects.get(pk=rendering.submit_render(actor, script).pk)
    Job.objects.filter(pk=job.pk).update(params={**job.params, "output_size": [320, 180],
                                                 "output_asset_name": "Morning greeting"})
    assert jobs.run(str(job.pk)) == "done", Job.objects.get(pk=job.pk).error_msg
    job.refresh_from_db()
    video = Asset.objects.get(pk=job.result["asset_id"])
    assert job.result["asset_name"] == video.name == "Morning greeting"
    first = math.ceil(len(decode_mono(greeting)) / 48000 * 25) / 25  # the audio scene, whole frames
    # the words: recognised in the audio scene, from the TTS in the text scene, offset by the first scene
    words = job.result["subtitle_words"]
    assert all(len(word) == 5 for word in words)
    heard = [word for word in words if word[1] < first]
    said = [word for word in words if word[1] >= first]
    assert "morning" in " ".join(word[0] for word in heard).lower() and heard[-1][3] is True
    assert "".join(word[0] for word in said).replace(" ", "") == "Thankyou,goodbye."
    assert said[0][1] == pytest.approx(first, abs=0.3) and said[-1][2] < first + 1.8
    assert job.result["duration"] == pytest.approx(first + 2.0, abs=0.05)  # the text scene plays the whole video
    # the sound: the bed under the audio scene, the video's sound in the text scene, each only there
    pcm = _audio(Path(video.files.get(category=AssetFile.Category.MAIN).stored.path))
    end = len(pcm) / 48000
    quiet = pcm[int((first - 0.35) * 48000): int((first - 0.05) * 48000)]  # no speech: the bed at its own level
    bed_rms = np.sqrt(np.mean(decode_mono(tmp_path / "bed.wav").astype(np.float64) ** 2))
    assert np.sqrt(np.mean(quiet ** 2)) == pytest.approx(bed_rms, rel=0.2)
    assert _tone_db(pcm, 330, first - 0.35, first - 0.05) - _tone_db(pcm, 330, first + 0.05, first + 0.35) > 12
    assert _tone_db(pcm, 440, first + 0.05, end - 0.05) - _tone_db(pcm, 440, 0.05, first - 0.05) > 12
    # a retry that finds the stored video returns the same words without speaking or recognising again
    Job.objects.filter(pk=job.pk).update(state=Job.State.WAITING)
    assert jobs.run(str(job.pk)) == "done"
    assert Job.objects.get(pk=job.pk).result["subtitle_words"] == words
    assert video.files.filter(category=AssetFile.Category.OTHER, name=rendering.WORDS_FILE).count() == 1


def test_damaged_media_fails_the_render_at_its_stage_and_charges_nothing(tenant, actor, tmp_path, image):
    speech = _asset(tenant, _speech_wav(tmp_path / "hello.wav", "Hello."), Asset.Type.MUSIC)
    clip = _asset(tenant, ms.make_video(tmp_path / "clip.mp4", seconds=1), Asset.Type.VIDEO)
    layer = {"layer_type": "VIDEO", "asset_id": str(clip.pk), "position": {"dx": 0, "dy": 0, "layer_index": 1},
             "size": {"width": 640, "height": 360}}
    body = {"script_name": "Damaged", "model_asset_id": PRESET, "video_config": {"frame_rate": 25},
            "shoot_scripts": [{"script_type": "AUDIO", "audio_asset_id": str(speech.pk), "layer_config": [layer]}]}
    script = scripts.create_script(actor, tenant.account, body, project=tenant.project)

    def damage(asset):  # the stored bytes overwritten after the checks on upload
        Path(asset.files.get(category=AssetFile.Category.MAIN).stored.path).write_bytes(bytes(range(256)) * 64)

    cases = ((clip, "compose: the video layer"), (speech, "speech: the audio of scene 1"))
    for asset, message in cases:
        damage(asset)
        job = small(rendering.submit_render(actor, script))
        assert jobs.run(str(job.pk)) == "failed"
        job.refresh_from_db()
        assert job.error_msg.startswith(f"{message} (asset {asset.pk}) cannot be read"), job.error_msg
        assert not UsageRecord.objects.filter(account=tenant.account).exists()
        assert not Asset.objects.filter(account=tenant.account, type=Asset.Type.VIDEO,
                                        created_by_platform=True).exists()


def test_an_action_at_a_text_position_starts_with_the_word_there(tenant, tmp_path):
    scene = {"text_config": {"text": "Hello and welcome.", "ssml": False},
             "action_config": [{"action_name": "wave", "text_position": 12}, {"action_name": "nod", "text_position": 0},
                               {"action_name": "bow", "text_position": 17}]}
    spoken = rendering._speak(tenant.account, {"voice_asset_id": VOICE}, scene, tmp_path / "speech.wav")
    assert [word.text.strip() for word in spoken.words] == ["Hello", "and", "welcome."]
    welcome = spoken.words[2].start
    assert spoken.actions[:2] == [("wave", welcome), ("nod", spoken.words[0].start)]  # inside "welcome": its start
    assert spoken.actions[2][0] == "bow" and spoken.actions[2][1] >= spoken.words[2].end  # after the last word
