"""Video production: a video script rendered to a VIDEO asset (the job `videos.render`).

`submit_render(actor, script)` checks the stored script again (its assets must still be usable) and queues the
job with a snapshot of the cleaned script, so later edits of the script do not change a queued render. Params:
{"script_id" (None for a script sent inline with the job), "snapshot", "voice_tier" (TTS metering),
"output_asset_name" (optional: the name of the stored VIDEO asset; default "<script name> <date time>"),
"callback_config" (optional; read by the callback hooks, not by the handler), optional "output_size": [w, h] (a
smaller render of the same layout: previews, tests; not settable through any API)}.

`render_script(run)`, the handler, in stages (the job's progress):
- "checking" (1 %): the snapshot is cleaned again: a deleted or frozen asset, or a voice gone, fails the job.
- "speech" (2-30 %): each TEXT scene spoken with the script's voice (its phoneme and word timings kept for the
  mouth and the subtitles; an action at `text_position`, a character offset of the text, starts with the first
  word ending after it). An AUDIO scene takes its audio asset; speech recognition (Whisper, synthesis.avatar.
  phonetic) hears its words (the subtitles) and aligns phonemes to them (the mouth: the avatar renderers do not
  recognise it again); its actions start at `action_start_time`. Recognition runs whether or not captions are
  burned in, so the timed words of the whole video are always complete.
- "lip-sync" (30-35 %): each scene's avatar layer: a trained model (HUMAN_MODEL_2D, compositor.avatar_layer, with
  the scene's actions; an action the model file does not have fails the job here, naming it) or a talking photo
  (PRESET_PHOTO / PHOTO, talking_layer.photo_layer; actions are ignored), in the scene's HUMAN layer box scaled
  from the layout canvas to the output size (or centred, bottom-anchored, 80 % of the height without one). The
  frames themselves are made while composing.
- "compose" / "encode" (35-95 %): backgrounds (COLOR, IMAGE, VIDEO), IMAGE / VIDEO / TEXT layers in layer_index
  order, the sounds (below), background music (volume, ducking) and burned-in subtitles, rendered by
  synthesis.compose.compositor: MP4 (H.264 + AAC), or WEBM (VP9) / MOV (ProRes 4444) that keep a transparent
  background. A scene lasts its speech, or longer when a video layer has `is_play_the_entire_video` (to that
  video's end, once through).
- "storing" (96 %): the video as a platform-made VIDEO asset (media_info: video_script_id, video_job_id,
  scene_times) with the timed words as its OTHER file `subtitle_words.json`.

Sounds besides the speech (synthesis.compose.audio): an AUDIO background is a bed under the scene's speech at its
own level, looped through the scene and ducked 12 dB under the speech; a VIDEO layer is heard at `video_sound`
percent (0, the default, is silent), from the sample of its first frame, repeating with its picture when it
loops, ducked like the bed. A VIDEO background is silent by default (it is scenery; a background item has no
video_config in the cleaned script), and heard like a layer if its item carries `video_config.video_sound`.

Result: {"asset_id", "asset_name", "duration" (seconds), "charged_minutes" (string, 2 decimals), "subtitle_words":
[[text, start_s, end_s, paragraph_end, space_before], ...]}: every word of the video on its timeline exactly as
the captions are burned in (TEXT scenes from the TTS timings, AUDIO scenes from recognition; a scene's words are
offset by its first frame), for SRT/VTT sidecars; `space_before` may be null (guess: a space unless CJK);
"scene_times": [[start_s, end_s], ...] of each scene on the video's timeline (per-scene subtitle files).
The caller's callback URL (videos.callbacks) is told once the job ends, whichever way, after commit.

A retry after the video was stored finds it (and its words file) and does not render again. Usage (VIDEO_2D
seconds, TTS characters per voice tier) is recorded in the engine's completing transaction, once per job. Every
expected failure fails the job with its stage in the message ("speech: ...", "lip-sync: ..."), charging nothing;
a media file damaged in storage (it cannot be probed and its first frame decoded) fails the stage that needs it,
naming the asset ("compose: the video layer (asset ...) cannot be read: ...").

`bitrate` (kbps) sets an average bitrate (capped at 1.5x) instead of the encoder's constant quality. Captions
are centred in their box (`w`, bottom at `dy`) with their `opacity`; the box's `h` is not a limit (long cues
take more lines). Fonts: the platform's Noto Sans CJK only (videos.scripts refuses other `font_name`s).
MetaStudio's is_end_at_first_frame, is_enable_super_resolution, is_vocabulary_config_enable false and a
loop_count above 1 are refused by the script checks (videos.scripts).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from assets.models import Asset, AssetFile
from assets.tasks import local_copy
from metastudio import jobs
from metastudio.errors import ServiceError
from metastudio.jobs import JobFailure, JobKind, JobRun, register_kind
from tenancy.audit import Actor
from videos import actions, presets, scripts
from videos.models import VideoScript

RENDER = register_kind(JobKind(name="videos.render", label="Video production", iam_resource="video",
                               handler="videos.rendering.render_script", on_fail="videos.rendering.render_failed",
                               on_succeed="videos.callbacks.job_finished", lease_seconds=600, max_attempts=2))
VIDEO_RESOURCE = "VIDEO_2D"  # metered in seconds, charged in minutes (videos.actions.billable_minutes)
SPEECH_SAMPLE_RATE = 24000
DEFAULT_HUMAN_HEIGHT = 0.8  # share of the output height of an avatar placed by default
OUTPUTS = {"H264": ("h264", "mp4"), "VP8": ("vp9-alpha", "webm"), "QTRLE": ("prores-alpha", "mov")}
ModelKind = VideoScript.ModelKind


# --- submitting -----------------------------------------------------------------------------------------------

def submit_render(actor: Actor, script: VideoScript, *, project=None) -> jobs.Job:
    """Queue the render of `script` as it is now (cleaned again: its assets and voice must still be usable)."""
    from videos.video_jobs import create_video_job

    return create_video_job(actor, script.account, {"script_id": str(script.pk)}, project=project)


def render_failed(job) -> None:
    """on_fail: a video stored by an attempt that then failed (the worker was lost after storing it and the
    attempts ran out) was never charged; it is removed rather than left in the library. The caller's callback
    URL, if any, hears of the failure (or of the cancel of a waiting job) after commit."""
    from assets.actions import delete_asset
    from videos import callbacks

    for video in Asset.objects.filter(account=job.account, type=Asset.Type.VIDEO,
                                      media_info__video_job_id=str(job.pk)):
        delete_asset(Actor.system(job.account), video, force=True)
    callbacks.job_finished(job)


# --- the handler ----------------------------------------------------------------------------------------------

@dataclass
class _Speech:
    audio: Path
    phonemes: list | None = None
    words: list = field(default_factory=list)  # subtitle Words, seconds from the scene start
    seconds: float = 0.0  # as the compositor decodes it (frame accounting)
    actions: list = field(default_factory=list)  # (action name, seconds from the scene start)


class _Stage(contextlib.AbstractContextManager):
    """Expected failures inside a stage become a JobFailure naming the stage."""

    def __init__(self, name: str):
        self.name = name

    def __exit__(self, kind, error, tb):
        if error is None:
            return False
        from synthesis.compose.subtitles import CardFontMissing
        from synthesis.media.errors import MediaError
        from synthesis.speech.types import SpeechError

        if isinstance(error, JobFailure):
            if not error.message.startswith(f"{self.name}: "):
                raise JobFailure(f"{self.name}: {error.message}", code=error.code) from None
            return False
        if isinstance(error, ServiceError):
            raise JobFailure(f"{self.name}: {error.message}") from None
        if isinstance(error, SpeechError):
            raise JobFailure(f"{self.name}: {error.field}: {error.message}") from None
        if isinstance(error, MediaError | CardFontMissing | ValueError):
            raise JobFailure(f"{self.name}: {error}") from None
        return False


def render_script(run: JobRun) -> dict:
    job = run.job
    snapshot = job.params["snapshot"]
    stored = Asset.objects.filter(account=job.account, type=Asset.Type.VIDEO,
                                  media_info__video_job_id=str(job.pk)).first()
    if stored is not None:  # a retry after the video was stored: resume, do not render again
        return _finish(run, stored, _stored_words(stored))
    run.progress(1, "checking")
    with _Stage("checking"):
        scripts.clean_script(job.account, snapshot)  # deleted or frozen assets, a voice gone
    if job.params.get("output_size"):  # a smaller render of the same layout (previews, tests)
        width, height = (int(side) // 2 * 2 for side in job.params["output_size"])
        snapshot = {**snapshot, "video_config": {**snapshot["video_config"], "width": width, "height": height}}
    video_config = snapshot["video_config"]
    codec, extension = OUTPUTS[video_config["codec"]]
    with tempfile.TemporaryDirectory(prefix="video-render-") as folder, contextlib.ExitStack() as stack:
        work = Path(folder)
        files = _Files(job.account, stack)
        with _Stage("speech"):
            speech = _speak_scenes(run, snapshot, work, files)
        run.progress(30, "lip-sync")
        with _Stage("lip-sync"):
            humans = _avatar_layers(snapshot, speech, files)
        run.progress(35, "compose")
        with _Stage("compose"):
            timeline, words, scene_times = _timeline(snapshot, speech, humans, files)
        from synthesis.compose.compositor import render

        with _Stage("compose"):
            clip = render(timeline, work / f"video.{extension}", codec=codec, progress=run.scaled_progress(35, 95),
                          bitrate_kbps=video_config.get("bitrate")).path
        run.progress(96, "storing")
        with _Stage("storing"):
            video = _store(run, snapshot, Path(clip), work, extension, words, scene_times)
    return _finish(run, video, words)


def usable_asset(account, asset_id: str, what: str) -> Asset:
    """The tenant's asset a job is about to use, still there and usable (not frozen, not failed), or a
    JobFailure naming it as `what`."""
    from assets.actions import ensure_usable

    asset = Asset.objects.filter(account=account, pk=asset_id).first()
    if asset is None or asset.state in (Asset.State.DELETED, Asset.State.WAITING_DELETE):
        raise JobFailure(f"the {what} (asset {asset_id}) no longer exists")
    try:
        ensure_usable(asset)
    except ServiceError as error:
        raise JobFailure(f"the {what} (asset {asset_id}) cannot be used: {error.detail}") from None
    return asset


class _Files:
    """Local paths of the tenant's asset files (MAIN), each checked usable when it is fetched and, for media,
    decodable (a file damaged in storage fails the stage that needs it, naming the asset)."""

    def __init__(self, account, stack: contextlib.ExitStack):
        self.account, self.stack = account, stack
        self._paths: dict[str, Path] = {}

    def main(self, asset_id: str, what: str, *, media: bool = True) -> Path:
        if asset_id in self._paths:
            return self._paths[asset_id]
        asset = usable_asset(self.account, asset_id, what)
        main = asset.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).first()
        if main is None:
            raise JobFailure(f"the {what} (asset {asset_id}) has no file")
        path = Path(self.stack.enter_context(local_copy(main.stored.name)))
        if media:
            from synthesis.media.probe import probe

            info = probe(path)
            if not info.ok:
                reason = info.error or info.unsafe or "unknown format"
                raise JobFailure(f"the {what} (asset {asset_id}) cannot be read: {reason}")
        self._paths[asset_id] = path
        return path


# --- speech ---------------------------------------------------------------------------------------------------

def _speak_scenes(run: JobRun, snapshot: dict, work: Path, files: _Files) -> list[_Speech]:
    from synthesis.compose.audio import SAMPLE_RATE, decode_mono

    scenes = snapshot["shoot_scripts"]
    out = []
    for n, scene in enumerate(scenes):
        run.progress(2 + int(28 * n / len(scenes)), "speech")
        if scene["script_type"] == "TEXT":
            spoken = _speak(run.job.account, snapshot["voice_config"], scene, work / f"speech{n}.wav")
        else:
            spoken = _listen(files.main(scene["audio_asset_id"], f"audio of scene {n + 1}"), scene)
        # the scene's length exactly as the compositor will count it (its decoded samples at the mix rate)
        spoken.seconds = len(decode_mono(spoken.audio, SAMPLE_RATE)) / SAMPLE_RATE
        if spoken.seconds <= 0:
            raise JobFailure(f"scene {n + 1} has no sound")
        out.append(spoken)
    return out


def _speak(account, voice_config: dict, scene: dict, target: Path) -> _Speech:
    """A TEXT scene spoken by the script's voice as WAV, with its timed phonemes (the mouth) and words (the
    subtitles, with the script's punctuation); an action at `text_position` (a character offset of the text)
    starts with the first word that ends after that offset."""
    from avatars.tasks import synthesize_speech
    from synthesis.compose.subtitles import words_from_tts
    from voices import speech

    text_config = scene["text_config"]
    tts = speech.clean_tts_request(account, {**voice_config, "text": text_config["text"],
                                             "sample_rate": SPEECH_SAMPLE_RATE}, max_chars=scripts.MAX_SSML_CHARS)
    chunks = synthesize_speech(account, tts, target)
    words = words_from_tts(chunks, text_config["text"], ssml=tts["ssml"])
    timings = sorted(((t.source_end, t.start) for chunk in chunks for t in chunk.words), key=lambda t: t[1])
    end = sum(len(chunk.pcm) for chunk in chunks) / SPEECH_SAMPLE_RATE
    actions = [(item["action_name"],
                next((start for source_end, start in timings if source_end > item["text_position"]), end))
               for item in scene.get("action_config") or []]
    return _Speech(target, [phoneme for chunk in chunks for phoneme in chunk.phonemes], words, actions=actions)


def _listen(audio: Path, scene: dict) -> _Speech:
    """An AUDIO scene: its words heard by speech recognition (the subtitles) and its phonemes aligned to them
    (the mouth; the avatar renderers would run the same recognition themselves otherwise). Actions start at
    their `action_start_time`."""
    import numpy as np

    from synthesis.avatar import phonetic
    from synthesis.compose.audio import decode_mono
    from synthesis.compose.subtitles import words_from_asr

    pcm = decode_mono(audio, phonetic.SAMPLE_RATE).astype(np.float32) / 32768.0
    heard, language = phonetic.transcribe_words(pcm)
    phonemes = phonetic.align(pcm, heard, language) if heard else None
    actions = [(item["action_name"], float(item["action_start_time"]))
               for item in scene.get("audio_drive_action_config") or []]
    return _Speech(audio, phonemes or None, words_from_asr(heard), actions=actions)


# --- the avatar ------------------------------------------------------------------------------------------------

def _canvas_scale(snapshot: dict) -> tuple[float, float, int, int]:
    video = snapshot["video_config"]
    width, height = int(video["width"]), int(video["height"])
    canvas = video["canvas"]
    return width / canvas["width"], height / canvas["height"], width, height


def _box(item: dict, snapshot: dict) -> tuple[int, int, int, int]:
    """A layer's position and size in output pixels."""
    sx, sy, _, _ = _canvas_scale(snapshot)
    position, size = item["position"], item["size"]
    return (int(round(position["dx"] * sx)), int(round(position["dy"] * sy)),
            max(1, int(round(size["width"] * sx))), max(1, int(round(size["height"] * sy))))


def _default_box(snapshot: dict, aspect: float) -> tuple[int, int, int, int]:
    """Centred, standing on the bottom edge, DEFAULT_HUMAN_HEIGHT of the height (narrower when too wide)."""
    _, _, width, height = _canvas_scale(snapshot)
    h = DEFAULT_HUMAN_HEIGHT * height
    w = h * aspect
    if w > width:
        w, h = width, width / aspect
    w, h = max(1, int(round(w))), max(1, int(round(h)))
    return (width - w) // 2, height - h, w, h


@dataclass
class _Avatar:
    kind: str
    path: Path
    aspect: float  # width / height
    actions: frozenset = frozenset()  # the model's action names (a photo has none)


def _avatar_source(snapshot: dict, files: _Files) -> _Avatar:
    """The script's avatar: a model file (with its actions) or a photo."""
    kind, asset_id = snapshot["model_asset_type"], snapshot["model_asset_id"]
    if kind == ModelKind.HUMAN_MODEL_2D:
        from synthesis.avatar.model import ModelFileError, load_model

        path = files.main(asset_id, "avatar model", media=False)
        try:
            model = load_model(path)
        except ModelFileError as error:
            raise JobFailure(f"the avatar model (asset {asset_id}) cannot be read: {error}") from None
        try:
            return _Avatar(kind, path, model.width / model.height, frozenset(model.actions))
        finally:
            model.close()
    if kind == ModelKind.PRESET_PHOTO:
        path = presets.preset_photo_path(presets.get_preset(asset_id, field="model_asset_id"))
    else:
        path = files.main(asset_id, "photo")
    import cv2

    from synthesis.photo.talking import find_face

    photo = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if photo is None:
        raise JobFailure("the photo cannot be read")
    find_face(photo)  # ValueError "no face found in the photo" now, not halfway through composing
    return _Avatar(kind, path, photo.shape[1] / photo.shape[0])


def _action_cues(avatar: _Avatar, spoken: _Speech, number: int) -> list:
    """The scene's actions for the renderer; every one must be an action of the model (checked here, before
    anything is composed). A photo avatar has no actions: they are ignored."""
    if avatar.kind != ModelKind.HUMAN_MODEL_2D or not spoken.actions:
        return []
    from synthesis.avatar.render import ActionCue

    for name, _ in spoken.actions:
        if name not in avatar.actions:
            known = ", ".join(sorted(avatar.actions)) or "none"
            raise JobFailure(f"scene {number}: the avatar model has no action named {name!r} (its actions: {known})")
    return [ActionCue(name, at) for name, at in spoken.actions]


def _avatar_layers(snapshot: dict, speech: list[_Speech], files: _Files) -> list:
    """Each scene's avatar layer (frames are made when the scene is composed)."""
    from synthesis.compose.compositor import avatar_layer
    from synthesis.compose.talking_layer import photo_layer

    avatar = _avatar_source(snapshot, files)
    fps = snapshot["video_config"]["frame_rate"]
    layers = []
    for n, (scene, spoken) in enumerate(zip(snapshot["shoot_scripts"], speech, strict=True)):
        human = next((item for item in scene["layer_config"] if item["layer_type"] == "HUMAN"), None)
        box = _box(human, snapshot) if human is not None else _default_box(snapshot, avatar.aspect)
        if avatar.kind == ModelKind.HUMAN_MODEL_2D:
            layers.append(avatar_layer(avatar.path, spoken.audio, spoken.phonemes, box,
                                       actions=_action_cues(avatar, spoken, n + 1)))
        else:
            layers.append(photo_layer(avatar.path, spoken.audio, spoken.phonemes, box, fps=fps, seed=n))
    return layers


# --- the timeline -----------------------------------------------------------------------------------------------

def _rgb(colour: str) -> tuple[int, ...]:
    value = colour.lstrip("#")
    return tuple(int(value[i:i + 2], 16) for i in range(0, len(value), 2))


def _background(scene: dict, files: _Files, transparent: bool) -> tuple[object, list]:
    """(the scene's picture background, its sounds): an AUDIO background is a bed under the speech, looped
    through the scene and ducked; a VIDEO background is silent unless its item carries
    `video_config.video_sound` (0-100) like a video layer."""
    from synthesis.compose.timeline import Colour, ImageBackground, Sound, VideoBackground

    picture, sounds = None, []
    for item in scene["background_config"]:
        kind = item["background_type"]
        if kind == "COLOR":
            picture = Colour(_rgb(item["background_color_config"]))
        elif kind == "IMAGE":
            picture = ImageBackground(files.main(item["background_asset_id"], "background image"))
        elif kind == "VIDEO":
            path = files.main(item["background_asset_id"], "background video")
            picture = VideoBackground(path)
            volume = (item.get("video_config") or {}).get("video_sound") or 0
            if volume > 0:
                sounds.append(Sound(path, gain=volume / 100.0, loop=picture.loop))
        elif kind == "AUDIO":
            sounds.append(Sound(files.main(item["background_asset_id"], "background audio"), loop=True))
    if picture is None and not transparent:
        picture = Colour((0, 0, 0))
    return picture, sounds


def _layers(scene: dict, human, snapshot: dict, files: _Files) -> tuple[list, list]:
    """(the scene's layers in layer_index order, the sounds of its videos): a video layer is heard at
    `video_sound` percent (0, the default, is silent), looping with its picture."""
    from synthesis.compose.timeline import ImageLayer, Sound, TextLayer, VideoLayer

    _, sy, _, _ = _canvas_scale(snapshot)
    layers, sounds = [], []
    ordered = sorted(scene["layer_config"], key=lambda item: item["position"]["layer_index"])
    if not any(item["layer_type"] == "HUMAN" for item in ordered):
        ordered.append({"layer_type": "HUMAN"})  # the avatar placed by default, on top
    for item in ordered:
        kind = item["layer_type"]
        if kind == "HUMAN":
            layers.append(human)
            continue
        x, y, w, h = _box(item, snapshot)
        if kind == "IMAGE":
            layers.append(ImageLayer(x, y, w, h, path=files.main(item["asset_id"], "image layer")))
        elif kind == "VIDEO":
            config = item.get("video_config") or {}
            layer = VideoLayer(x, y, w, h, path=files.main(item["asset_id"], "video layer"),
                               loop=config.get("loop_count", 1) != 1)
            layers.append(layer)
            if config.get("video_sound"):
                sounds.append(Sound(layer.path, gain=config["video_sound"] / 100.0, loop=layer.loop))
        else:
            text = item["text_config"]
            layers.append(TextLayer(x, y, w, h, text=text["text"],
                                    font_size=max(8, int(round(text["font_size"] * sy))),
                                    colour=_rgb(text["font_color"])[:3]))
    return layers, sounds


def _scene_frames(scene: dict, spoken: _Speech, fps: int, files: _Files) -> int:
    """Frames of a scene: its speech rounded up to a whole frame, or longer, to the end of a video layer marked
    `is_play_the_entire_video` (played through once)."""
    from synthesis.compose.audio import stream_times

    frames = max(1, math.ceil(spoken.seconds * fps - 1e-6))
    for item in scene["layer_config"]:
        if item["layer_type"] == "VIDEO" and (item.get("video_config") or {}).get("is_play_the_entire_video"):
            length = stream_times(files.main(item["asset_id"], "video layer")).video_length or 0.0
            frames = max(frames, int(round(length * fps)))
    return frames


def _music(snapshot: dict, files: _Files):
    from synthesis.compose.timeline import Music

    config = snapshot.get("background_music_config") or {}
    if not config.get("music_asset_id"):
        return None
    return Music(files.main(config["music_asset_id"], "background music"), volume=config["volume"] / 100.0,
                 duck=bool(config["ducking"]))


def _timed_words(speech: list[_Speech], frames: list[int], fps: int) -> list:
    """The words of every scene on the video's timeline (a scene starts at its first frame); each scene's last
    word ends a paragraph."""
    from synthesis.compose.subtitles import Word

    words, start = [], 0
    for spoken, count in zip(speech, frames, strict=True):
        offset = start / fps
        for k, word in enumerate(spoken.words):
            words.append(Word(word.text, word.start + offset, word.end + offset,
                              word.paragraph_end or k == len(spoken.words) - 1, word.space_before))
        start += count
    return words


def _subtitles(snapshot: dict, words: list):
    """Burned-in captions of the timed words (None when the script has subtitles off)."""
    from synthesis.compose.subtitles import SubtitleTrack, cues_for_style

    video = snapshot["video_config"]
    if not video["is_subtitle_enable"] or not words:
        return None
    _, sy, width, height = _canvas_scale(snapshot)
    style = subtitle_style(video, sy)
    size = (width, height)
    return SubtitleTrack(cues_for_style(words, size, style), size, style)


def subtitle_style(video_config: dict, scale: float = 1.0):
    """The captions' look from the script's subtitle_config (pixels of the layout canvas), scaled to the output
    by `scale`. The text block is centred in a box `w` wide; its bottom edge is at `dy`. The SRT/VTT sidecars
    break their lines with the same style on the layout canvas (scale 1), so they match what is burned in."""
    from synthesis.compose.subtitles import SubtitleStyle

    config = video_config.get("subtitle_config") or {}
    canvas = video_config.get("canvas") or {"width": video_config["width"], "height": video_config["height"]}
    width, height = int(canvas["width"]), int(canvas["height"])
    box = config.get("w") or width * 0.8
    return SubtitleStyle(
        font_size=max(6, int(round(config.get("font_size", 48) * scale))),
        color=_rgb(config.get("font_color", "#FFFFFF"))[:3],
        stroke_color=_rgb(config.get("stroke_color", "#000000"))[:3],
        stroke_width=int(round(config.get("stroke_thickness", 2.0) * scale)),
        margin=min(0.45, max(0.0, (height - config.get("dy", height)) / height)),
        side_margin=min(0.45, max(0.0, (width - box) / 2 / width)),
        opacity=float(config.get("opacity", 1.0)),
    )


def _timeline(snapshot: dict, speech: list[_Speech], humans: list, files: _Files) -> tuple[object, list, list]:
    """(the timeline, the video's timed words, [start_s, end_s] of each scene on the video's timeline)."""
    from synthesis.compose.timeline import Canvas, Scene, Timeline

    video = snapshot["video_config"]
    transparent = video["is_transparent_background"]
    fps = video["frame_rate"]
    scenes, frames = [], []
    for scene, spoken, human in zip(snapshot["shoot_scripts"], speech, humans, strict=True):
        background, bed = _background(scene, files, transparent)
        layers, sounds = _layers(scene, human, snapshot, files)
        count = _scene_frames(scene, spoken, fps, files)
        longer = count > math.ceil(spoken.seconds * fps - 1e-6)
        scenes.append(Scene(duration=count / fps if longer else None, background=background, layers=layers,
                            audio=spoken.audio, sounds=[*bed, *sounds]))
        frames.append(count)
    words = _timed_words(speech, frames, fps)
    timeline = Timeline(Canvas(video["width"], video["height"], fps=fps, alpha=transparent), scenes,
                        music=_music(snapshot, files), subtitles=_subtitles(snapshot, words))
    ends = list(itertools.accumulate(frames))
    scene_times = [[round((end - count) / fps, 3), round(end / fps, 3)]
                   for end, count in zip(ends, frames, strict=True)]
    return timeline, words, scene_times


# --- storing and metering -----------------------------------------------------------------------------------------

WORDS_FILE = "subtitle_words.json"


def words_json(words: list) -> list:
    """Timed words as stored and returned: [text, start_s, end_s, paragraph_end, space_before]."""
    return [[word.text, round(float(word.start), 3), round(float(word.end), 3), bool(word.paragraph_end),
             word.space_before] for word in words]


@transaction.atomic
def _store(run: JobRun, snapshot: dict, clip: Path, work: Path, extension: str, words: list,
           scene_times: list) -> Asset:
    """The video as a platform VIDEO asset, with its timed words as an OTHER file (so a retry that finds the
    video returns them too, without speaking or recognising anything again)."""
    import json

    from assets.tasks import store_generated_file
    from avatars.tasks import store_platform_video

    params = run.job.params
    name = params.get("output_asset_name") or f"{snapshot['script_name']} {timezone.now():%Y-%m-%d %H:%M:%S}"
    video = store_platform_video(run.job, clip, work, name=name, extension=extension,
                                 media_info={"video_script_id": params.get("script_id"),
                                             "video_job_id": str(run.job.pk), "scene_times": scene_times})
    listing = work / WORDS_FILE
    listing.write_text(json.dumps(words_json(words), ensure_ascii=False), encoding="utf-8")
    stored = store_generated_file(video, AssetFile.Category.OTHER, listing, name=WORDS_FILE, file_type="json")
    Asset.objects.filter(pk=video.pk).update(size_bytes=video.size_bytes + stored.declared_size)
    video.refresh_from_db()
    return video


def _stored_words(video: Asset) -> list:
    import json

    from synthesis.compose.subtitles import Word

    listing = video.files.filter(category=AssetFile.Category.OTHER, name=WORDS_FILE).first()
    if listing is None:
        return []
    with listing.stored.open("rb") as handle:
        return [Word(*item) for item in json.loads(handle.read().decode("utf-8"))]


def _finish(run: JobRun, video: Asset, words: list) -> dict:
    params = run.job.params
    seconds = round(float((video.media_info or {}).get("duration_s") or 0), 3)
    run.meter(VIDEO_RESOURCE, seconds, "seconds")
    characters = params["snapshot"].get("characters") or 0
    if characters and params.get("voice_tier"):
        from voices import speech

        run.meter(speech.tts_resource(params["voice_tier"]), characters, "characters")
    return {"asset_id": str(video.pk), "asset_name": video.name, "duration": seconds,
            "charged_minutes": str(actions.billable_minutes(seconds)), "subtitle_words": words_json(words),
            "scene_times": (video.media_info or {}).get("scene_times") or []}
