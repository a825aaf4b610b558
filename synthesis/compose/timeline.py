"""What a video is made of: a canvas, scenes (a background, z-ordered layers, the scene's speech) and music.

Plain dataclasses, checked by `Timeline.validate()` (called by the compositor). Positions and sizes are canvas
pixels; times are seconds within the scene.

Frame accounting (so audio and pictures never drift): every scene lasts a whole number of frames,
`Scene.frame_count(fps)`:
* an explicit `duration` is rounded to the nearest frame (at least one);
* without one, the scene lasts as long as its speech, rounded UP to a whole frame (speech is never cut).
A scene starts at the sum of the frame counts before it; its speech starts at sample
`round(start_frame * sample_rate / fps)` of the mixed track (exact for 25/30/50/60 fps at 48 kHz). Layer
`start`/`end` are rounded to frames the same way, and so are the scene sounds (`Sound`: an audio bed, the sound of
a video): a sound starts at the sample of its first frame and stops at the sample of its last, and one that loops
with a video's picture repeats with the picture's period (see `audio.scene_sounds`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MAX_SCENES = 100
MAX_VIDEO_LAYERS = 2  # SPEC 2: at most 2 inserted videos overlaid at once
MAX_CANVAS_SIDE = 4096
RGB = tuple[int, int, int]


def frames_for(seconds: float, fps: float) -> int:
    """A time in whole frames (nearest)."""
    return int(round(seconds * fps + 1e-9))


# --- backgrounds -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Colour:
    """A flat colour, (r, g, b) or (r, g, b, a) 0-255 (alpha only matters for transparent output)."""

    rgb: tuple[int, ...] = (0, 0, 0)


@dataclass(frozen=True)
class ImageBackground:
    """A picture scaled to cover the canvas (centre-cropped to its aspect)."""

    path: os.PathLike | str


@dataclass(frozen=True)
class VideoBackground:
    """A video scaled to cover the canvas; it loops when shorter than the scene (or freezes on its last frame
    with loop=False). Its own sound is heard only when the scene lists it as a `Sound` (same path and loop)."""

    path: os.PathLike | str
    loop: bool = True


Background = Colour | ImageBackground | VideoBackground | None  # None: transparent (alpha canvas) or black


# --- layers ------------------------------------------------------------------------------------------------


@dataclass
class Layer:
    """A box on the canvas (x, y, width, height in canvas pixels; it may reach past the edges) shown from
    `start` to `end` seconds of its scene (None: the whole scene)."""

    x: int = 0
    y: int = 0
    width: int = 0
    height: int = 0
    start: float | None = None
    end: float | None = None
    opacity: float = 1.0

    def frame_range(self, scene_frames: int, fps: float) -> tuple[int, int]:
        first = 0 if self.start is None else max(0, frames_for(self.start, fps))
        last = scene_frames if self.end is None else min(scene_frames, frames_for(self.end, fps))
        return first, max(first, last)

    def _check(self, what: str) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"{what}: width and height must be positive")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"{what}: end must be after start")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"{what}: opacity must be between 0 and 1")


@dataclass
class ImageLayer(Layer):
    """A picture (PNG alpha kept) fitted into the box: "contain" (whole picture, centred), "cover" (fills the
    box, centre-cropped) or "stretch"."""

    path: os.PathLike | str = ""
    fit: str = "contain"


@dataclass
class TextLayer(Layer):
    """Text set in the card font (Noto Sans CJK: Chinese and Latin mix), wrapped to the box width and shrunk
    until it fits the box; optional outline and a rounded box behind it."""

    text: str = ""
    font_size: int = 48
    colour: RGB = (255, 255, 255)
    bold: bool = False
    align: str = "center"  # left | center | right
    valign: str = "middle"  # top | middle | bottom
    line_spacing: float = 1.25
    stroke_width: int = 0
    stroke_colour: RGB = (0, 0, 0)
    box_colour: tuple[int, ...] | None = None  # (r, g, b[, a]) drawn behind the text's lines


@dataclass
class VideoLayer(Layer):
    """A video fitted (proportionally, "contain") into the box, playing from the layer's start. loop=False:
    it freezes on its last frame when shorter than the layer. alpha=True reads its alpha channel (VP9 WEBM
    with alpha, ProRes 4444). Its sound is heard only when the scene lists it as a `Sound`."""

    path: os.PathLike | str = ""
    loop: bool = False
    alpha: bool = False


class FrameSource(Protocol):
    def __call__(self, fps: float, frames: int) -> Iterable[np.ndarray]: ...


@dataclass
class FramesLayer(Layer):
    """Frames made by code (an avatar, a talking photo), one per output frame from the layer's start: BGR
    (h, w, 3) or BGRA (h, w, 4, straight alpha) uint8, OpenCV channel order. `source` is an iterable of
    frames or a callable (fps, frames) -> iterable, called when the scene starts (so a renderer opens its
    files only then). Frames of another size are fitted into the box ("contain"); when the source ends early
    its last frame is held."""

    source: Iterable[np.ndarray] | FrameSource | None = None


# --- audio and the whole -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Music:
    """Background music looped or cut to the video's length, at `volume` (linear gain, 0-1+), ducked under
    speech by `duck_db` with the given attack and release, faded out over the last `fade_out` seconds."""

    path: os.PathLike | str
    volume: float = 0.3
    duck: bool = True
    duck_db: float = 12.0
    attack_s: float = 0.15
    release_s: float = 0.30
    fade_out_s: float = 1.0


@dataclass
class Sound:
    """A sound of one scene mixed under its speech (mono): an audio bed, or the sound of a video layer or a video
    background, from `start` to `end` seconds of the scene (None: its start / its end; rounded to frames like a
    layer), at `gain` (linear), ducked under the speech when `duck` (like ducked music).

    `loop`: repeat until the end. A file with a picture repeats with its picture's period (the length of its
    video stream, as the compositor's video reader loops it), so sound and picture stay together on every pass;
    a sound-only file repeats its own length. Without `loop` it plays once (a video's picture then freezes on its
    last frame while the sound, if longer, plays on)."""

    path: os.PathLike | str
    gain: float = 1.0
    start: float | None = None
    end: float | None = None
    loop: bool = False
    duck: bool = True

    def frame_range(self, scene_frames: int, fps: float) -> tuple[int, int]:
        first = 0 if self.start is None else max(0, frames_for(self.start, fps))
        last = scene_frames if self.end is None else min(scene_frames, frames_for(self.end, fps))
        return first, max(first, last)


@dataclass
class Scene:
    """One scene: `duration` seconds (None: the length of `audio`), a background, layers drawn in list order
    (later on top), the scene's speech (any audio file ffmpeg reads; mono is taken) and other sounds mixed under
    the speech (`sounds`: an audio bed, the sound of its videos)."""

    duration: float | None = None
    background: Background = field(default_factory=lambda: Colour((0, 0, 0)))
    layers: Sequence[Layer] = ()
    audio: os.PathLike | str | None = None
    audio_gain: float = 1.0
    sounds: Sequence[Sound] = ()

    def frame_count(self, fps: float, audio_seconds: Callable[[Path], float] | None = None) -> int:
        if self.duration is not None:
            return max(1, frames_for(self.duration, fps))
        if self.audio is None:
            raise ValueError("a scene needs a duration or an audio file")
        seconds = (audio_seconds or _audio_seconds)(Path(self.audio))
        return max(1, int(math.ceil(seconds * fps - 1e-6)))


class Overlay(Protocol):
    def overlay_at(self, t: float) -> Any: ...


@dataclass(frozen=True)
class Canvas:
    width: int
    height: int
    fps: float = 25.0
    alpha: bool = False  # a transparent canvas (for the VP9-alpha and ProRes 4444 outputs)


@dataclass
class Timeline:
    """The whole video. `subtitles`: any object with `overlay_at(t) -> ndarray | None` (t in seconds of the
    whole video), returning an RGBA picture the size of the canvas (or `(rgba, (x, y))` for a smaller one);
    an attribute `channel_order = "BGRA"` on it says the pictures are in OpenCV order instead."""

    canvas: Canvas
    scenes: Sequence[Scene]
    music: Music | None = None
    subtitles: Overlay | None = None

    def validate(self) -> None:
        c = self.canvas
        if not (16 <= c.width <= MAX_CANVAS_SIDE and 16 <= c.height <= MAX_CANVAS_SIDE):
            raise ValueError(f"canvas size {c.width}x{c.height} is out of range (16-{MAX_CANVAS_SIDE})")
        if c.width % 2 or c.height % 2:
            raise ValueError("canvas width and height must be even (4:2:0 video)")
        if not 1 <= c.fps <= 60:
            raise ValueError("fps must be between 1 and 60")
        if not self.scenes:
            raise ValueError("a timeline needs at least one scene")
        if len(self.scenes) > MAX_SCENES:
            raise ValueError(f"at most {MAX_SCENES} scenes")
        for n, scene in enumerate(self.scenes, 1):
            if scene.duration is None and scene.audio is None:
                raise ValueError(f"scene {n}: give a duration or an audio file")
            if scene.duration is not None and scene.duration <= 0:
                raise ValueError(f"scene {n}: duration must be positive")
            videos = sum(isinstance(layer, VideoLayer) for layer in scene.layers)
            if videos > MAX_VIDEO_LAYERS:
                raise ValueError(f"scene {n}: at most {MAX_VIDEO_LAYERS} video layers, got {videos}")
            for k, layer in enumerate(scene.layers, 1):
                if not isinstance(layer, Layer):
                    raise ValueError(f"scene {n}, layer {k}: not a layer ({type(layer).__name__})")
                layer._check(f"scene {n}, layer {k}")
                if isinstance(layer, ImageLayer | VideoLayer) and not os.fspath(layer.path):
                    raise ValueError(f"scene {n}, layer {k}: no file")
                if isinstance(layer, ImageLayer) and layer.fit not in ("contain", "cover", "stretch"):
                    raise ValueError(f"scene {n}, layer {k}: fit must be contain, cover or stretch")
                if isinstance(layer, FramesLayer) and layer.source is None:
                    raise ValueError(f"scene {n}, layer {k}: no frame source")
            for k, sound in enumerate(scene.sounds, 1):
                if not isinstance(sound, Sound) or not os.fspath(sound.path):
                    raise ValueError(f"scene {n}, sound {k}: not a sound file")
                if sound.gain < 0:
                    raise ValueError(f"scene {n}, sound {k}: gain must not be negative")
                if sound.start is not None and sound.end is not None and sound.end <= sound.start:
                    raise ValueError(f"scene {n}, sound {k}: end must be after start")
            if scene.background is not None and not isinstance(scene.background,
                                                               Colour | ImageBackground | VideoBackground):
                raise ValueError(f"scene {n}: unknown background {type(scene.background).__name__}")
        if self.music is not None and self.music.volume < 0:
            raise ValueError("music volume must not be negative")

    def frame_counts(self) -> list[int]:
        return [scene.frame_count(self.canvas.fps) for scene in self.scenes]

    @property
    def total_frames(self) -> int:
        return sum(self.frame_counts())

    @property
    def duration(self) -> float:
        """Seconds of video (whole frames)."""
        return self.total_frames / self.canvas.fps

    def scene_starts(self) -> list[int]:
        """First frame of each scene."""
        starts, at = [], 0
        for count in self.frame_counts():
            starts.append(at)
            at += count
        return starts


def _audio_seconds(path: Path) -> float:
    from synthesis.media.probe import probe

    info = probe(path, decode_check=False)
    if info.error or not info.duration_s:
        raise ValueError(f"{path.name}: {info.error or 'no audio duration'}")
    return float(info.duration_s)
