"""Video production: a video script rendered to a VIDEO asset (the job `videos.render`).

`submit_render(actor, script)` checks the stored script again (its assets must still be usable) and queues the
job with a snapshot of the cleaned script, so later edits of the script do not change a queued render. Params:
{"script_id", "snapshot", "voice_tier" (TTS metering), optional "output_size": [w, h] (a smaller render of the
same layout: previews, tests; not settable through any API)}.

`render_script(run)`, the handler, in stages (the job's progress):
- "checking" (1 %): the snapshot is cleaned again: a deleted or frozen asset, or a voice gone, fails the job.
- "speech" (2-30 %): each TEXT scene spoken with the script's voice (its phoneme and word timings kept for the
  mouth and the subtitles); an AUDIO scene takes its audio asset.
- "lip-sync" (30-35 %): each scene's avatar layer: a trained model (HUMAN_MODEL_2D, compositor.avatar_layer) or
  a talking photo (PRESET_PHOTO / PHOTO, talking_layer.photo_layer), in the scene's HUMAN layer box scaled from
  the layout canvas to the output size (or centred, bottom-anchored, 80 % of the height without one). The
  frames themselves are made while composing.
- "compose" / "encode" (35-95 %): backgrounds (COLOR, IMAGE, VIDEO), IMAGE / VIDEO / TEXT layers in layer_index
  order, background music (volume, ducking) and burned-in subtitles, rendered by synthesis.compose.compositor:
  MP4 (H.264 + AAC), or WEBM (VP9) / MOV (ProRes 4444) that keep a transparent background.
- "storing" (96 %): the video as a platform-made VIDEO asset (media_info: video_script_id, video_job_id).

A retry after the video was stored finds it and does not render again. Usage (VIDEO_2D seconds, TTS characters
per voice tier) is recorded in the engine's completing transaction, once per job. Every expected failure fails
the job with its stage in the message ("speech: ...", "lip-sync: ...").
"""

from __future__ import annotations

import contextlib
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
                               lease_seconds=600, max_attempts=2))
VIDEO_RESOURCE = "VIDEO_2D"  # metered in seconds, charged in minutes (videos.actions.billable_minutes)
SPEECH_SAMPLE_RATE = 24000
DEFAULT_HUMAN_HEIGHT = 0.8  # share of the output height of an avatar placed by default
OUTPUTS = {"H264": ("h264", "mp4"), "VP8": ("vp9-alpha", "webm"), "QTRLE": ("prores-alpha", "mov")}
ModelKind = VideoScript.ModelKind


# --- submitting -----------------------------------------------------------------------------------------------

def submit_render(actor: Actor, script: VideoScript, *, project=None) -> jobs.Job:
    """Queue the render of `script` as it is now (cleaned again: its assets and voice must still be usable)."""
    cleaned = scripts.clean_script(script.account, scripts.script_body(script))
    params = {"script_id": str(script.pk), "snapshot": cleaned, "voice_tier": None}
    if cleaned["voice_config"]:
        from voices import speech

        params["voice_tier"] = speech.resolve_voice(script.account, cleaned["voice_config"]["voice_asset_id"]).tier
    return jobs.submit(actor, script.account, RENDER.name, params, project=project or script.project)


def render_failed(job) -> None:
    """on_fail: a video stored by an attempt that then failed (the worker was lost after storing it and the
    attempts ran out) was never charged; it is removed rather than left in the library."""
    from assets.actions import delete_asset

    for video in Asset.objects.filter(account=job.account, type=Asset.Type.VIDEO,
                                      media_info__video_job_id=str(job.pk)):
        delete_asset(Actor.system(job.account), video, force=True)


# --- the handler ----------------------------------------------------------------------------------------------

@dataclass
class _Speech:
    audio: Path
    phonemes: list | None = None
    words: list = field(default_factory=list)  # subtitle Words, seconds from the scene start
    seconds: float = 0.0  # as the compositor decodes it (frame accounting)


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
        return _finish(run, stored)
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
            timeline = _timeline(snapshot, speech, humans, files)
        from synthesis.compose.compositor import render

        with _Stage("compose"):
            clip = render(timeline, work / f"video.{extension}", codec=codec, progress=run.scaled_progress(35, 95)).path
        run.progress(96, "storing")
        with _Stage("storing"):
            video = _store(run, snapshot, Path(clip), work, extension)
    return _finish(run, video)


class _Files:
    """Local paths of the tenant's asset files (MAIN), each checked usable when it is fetched."""

    def __init__(self, account, stack: contextlib.ExitStack):
        self.account, self.stack = account, stack
        self._paths: dict[str, Path] = {}

    def main(self, asset_id: str, what: str) -> Path:
        if asset_id in self._paths:
            return self._paths[asset_id]
        from assets.actions import ensure_usable

        asset = Asset.objects.filter(account=self.account, pk=asset_id).first()
        if asset is None or asset.state in (Asset.State.DELETED, Asset.State.WAITING_DELETE):
            raise JobFailure(f"the {what} (asset {asset_id}) no longer exists")
        try:
            ensure_usable(asset)
        except ServiceError as error:
            raise JobFailure(f"the {what} (asset {asset_id}) cannot be used: {error.detail}") from None
        main = asset.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).first()
        if main is None:
            raise JobFailure(f"the {what} (asset {asset_id}) has no file")
        path = Path(self.stack.enter_context(local_copy(main.stored.name)))
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
            spoken = _speak(run.job.account, snapshot["voice_config"], scene["text_config"], work / f"speech{n}.wav")
        else:
            spoken = _Speech(files.main(scene["audio_asset_id"], f"audio of scene {n + 1}"))
        # the scene's length exactly as the compositor will count it (its decoded samples at the mix rate)
        spoken.seconds = len(decode_mono(spoken.audio, SAMPLE_RATE)) / SAMPLE_RATE
        if spoken.seconds <= 0:
            raise JobFailure(f"scene {n + 1} has no sound")
        out.append(spoken)
    return out


def _speak(account, voice_config: dict, text_config: dict, target: Path) -> _Speech:
    """A TEXT scene spoken by the script's voice as WAV, with its timed phonemes (the mouth) and words (the
    subtitles, with the script's punctuation)."""
    from avatars.tasks import synthesize_speech
    from synthesis.compose.subtitles import words_from_tts
    from voices import speech

    tts = speech.clean_tts_request(account, {**voice_config, "text": text_config["text"],
                                             "sample_rate": SPEECH_SAMPLE_RATE}, max_chars=scripts.MAX_SSML_CHARS)
    chunks = synthesize_speech(account, tts, target)
    words = words_from_tts(chunks, text_config["text"], ssml=tts["ssml"])
    return _Speech(target, [phoneme for chunk in chunks for phoneme in chunk.phonemes], words)


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


def _avatar_source(snapshot: dict, files: _Files) -> tuple[str, Path, float]:
    """(kind, local file, width / height) of the script's avatar: a model file or a photo."""
    kind, asset_id = snapshot["model_asset_type"], snapshot["model_asset_id"]
    if kind == ModelKind.HUMAN_MODEL_2D:
        from synthesis.avatar.model import load_model

        path = files.main(asset_id, "avatar model")
        model = load_model(path)
        try:
            return kind, path, model.width / model.height
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
    return kind, path, photo.shape[1] / photo.shape[0]


def _avatar_layers(snapshot: dict, speech: list[_Speech], files: _Files) -> list:
    """Each scene's avatar layer (frames are made when the scene is composed)."""
    from synthesis.compose.compositor import avatar_layer
    from synthesis.compose.talking_layer import photo_layer

    kind, path, aspect = _avatar_source(snapshot, files)
    fps = snapshot["video_config"]["frame_rate"]
    layers = []
    for n, (scene, spoken) in enumerate(zip(snapshot["shoot_scripts"], speech, strict=True)):
        human = next((item for item in scene["layer_config"] if item["layer_type"] == "HUMAN"), None)
        box = _box(human, snapshot) if human is not None else _default_box(snapshot, aspect)
        if kind == ModelKind.HUMAN_MODEL_2D:
            layers.append(avatar_layer(path, spoken.audio, spoken.phonemes, box))
        else:
            layers.append(photo_layer(path, spoken.audio, spoken.phonemes, box, fps=fps, seed=n))
    return layers


# --- the timeline -----------------------------------------------------------------------------------------------

def _rgb(colour: str) -> tuple[int, ...]:
    value = colour.lstrip("#")
    return tuple(int(value[i:i + 2], 16) for i in range(0, len(value), 2))


def _background(scene: dict, files: _Files, transparent: bool):
    from synthesis.compose.timeline import Colour, ImageBackground, VideoBackground

    for item in scene["background_config"]:
        kind = item["background_type"]
        if kind == "COLOR":
            return Colour(_rgb(item["background_color_config"]))
        if kind == "IMAGE":
            return ImageBackground(files.main(item["background_asset_id"], "background image"))
        if kind == "VIDEO":
            return VideoBackground(files.main(item["background_asset_id"], "background video"))
    return None if transparent else Colour((0, 0, 0))


def _layers(scene: dict, human, snapshot: dict, files: _Files) -> list:
    from synthesis.compose.timeline import ImageLayer, TextLayer, VideoLayer

    _, sy, _, _ = _canvas_scale(snapshot)
    layers = []
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
            layers.append(VideoLayer(x, y, w, h, path=files.main(item["asset_id"], "video layer"),
                                     loop=config.get("loop_count", 1) != 1))
        else:
            text = item["text_config"]
            layers.append(TextLayer(x, y, w, h, text=text["text"],
                                    font_size=max(8, int(round(text["font_size"] * sy))),
                                    colour=_rgb(text["font_color"])[:3]))
    return layers


def _music(snapshot: dict, files: _Files):
    from synthesis.compose.timeline import Music

    config = snapshot.get("background_music_config") or {}
    if not config.get("music_asset_id"):
        return None
    return Music(files.main(config["music_asset_id"], "background music"), volume=config["volume"] / 100.0,
                 duck=bool(config["ducking"]))


def _subtitles(snapshot: dict, speech: list[_Speech], fps: int):
    """Burned-in captions of the spoken scenes, timed on the whole video."""
    from synthesis.compose.subtitles import SubtitleStyle, SubtitleTrack, Word, cues_for_style

    video = snapshot["video_config"]
    if not video["is_subtitle_enable"]:
        return None
    config = video["subtitle_config"] or {}
    _, sy, width, height = _canvas_scale(snapshot)
    canvas = video["canvas"]
    words, start = [], 0
    for spoken in speech:
        offset = start / fps
        for k, word in enumerate(spoken.words):
            words.append(Word(word.text, word.start + offset, word.end + offset,
                              word.paragraph_end or k == len(spoken.words) - 1, word.space_before))
        start += max(1, math.ceil(spoken.seconds * fps - 1e-6))
    if not words:
        return None
    style = SubtitleStyle(
        font_size=max(6, int(round(config.get("font_size", 48) * sy))),
        color=_rgb(config.get("font_color", "#FFFFFF"))[:3],
        stroke_color=_rgb(config.get("stroke_color", "#000000"))[:3],
        stroke_width=int(round(config.get("stroke_thickness", 2.0) * sy)),
        margin=min(0.45, max(0.0, (canvas["height"] - config.get("dy", canvas["height"])) / canvas["height"])),
        side_margin=min(0.45, max(0.0, config.get("dx", 0) / canvas["width"])),
    )
    size = (width, height)
    return SubtitleTrack(cues_for_style(words, size, style), size, style)


def _timeline(snapshot: dict, speech: list[_Speech], humans: list, files: _Files):
    from synthesis.compose.timeline import Canvas, Scene, Timeline

    video = snapshot["video_config"]
    transparent = video["is_transparent_background"]
    fps = video["frame_rate"]
    scenes = [Scene(background=_background(scene, files, transparent),
                    layers=_layers(scene, human, snapshot, files), audio=spoken.audio)
              for scene, spoken, human in zip(snapshot["shoot_scripts"], speech, humans, strict=True)]
    return Timeline(Canvas(video["width"], video["height"], fps=fps, alpha=transparent), scenes,
                    music=_music(snapshot, files), subtitles=_subtitles(snapshot, speech, fps))


# --- storing and metering -----------------------------------------------------------------------------------------

@transaction.atomic
def _store(run: JobRun, snapshot: dict, clip: Path, work: Path, extension: str) -> Asset:
    from avatars.tasks import store_platform_video

    name = f"{snapshot['script_name']} {timezone.now():%Y-%m-%d %H:%M:%S}"
    return store_platform_video(run.job, clip, work, name=name, extension=extension,
                                media_info={"video_script_id": run.job.params["script_id"],
                                            "video_job_id": str(run.job.pk)})


def _finish(run: JobRun, video: Asset) -> dict:
    params = run.job.params
    seconds = round(float((video.media_info or {}).get("duration_s") or 0), 3)
    run.meter(VIDEO_RESOURCE, seconds, "seconds")
    characters = params["snapshot"].get("characters") or 0
    if characters and params.get("voice_tier"):
        from voices import speech

        run.meter(speech.tts_resource(params["voice_tier"]), characters, "characters")
    return {"asset_id": str(video.pk), "asset_name": video.name, "duration": seconds,
            "charged_minutes": str(actions.billable_minutes(seconds))}
