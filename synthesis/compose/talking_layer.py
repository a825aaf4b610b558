"""A talking photo as a compositor layer: the photo speaking a scene's audio, frame by frame, in a box.

`photo_layer(...)` returns a FramesLayer whose source opens the photo, finds the face (once, on the full-size
photo, where the face detector works best; the set-up is reused by the next scenes with the same photo and
box), scales the photo for the box and animates it with
`synthesis.photo.talking.TalkingPhoto` driven by `photo_mouth_track` (the scene's timed phonemes when known)
and `motion_tracks` (blinks, head motion, breathing). Nothing is read before the scene starts. Past the end of
the speech the photo keeps blinking and breathing with its mouth closed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from .timeline import FramesLayer

MIN_WORK_SIDE = 256  # the talking photo is animated at least this large (tiny faces warp badly), then fitted
TALKER_CACHE = 2  # talking photos kept set up (a few MB each), for the next scene with the same photo and box
_TALKERS: OrderedDict = OrderedDict()
_TALKERS_LOCK = threading.Lock()


def _work_scale(photo_size: tuple[int, int], box: tuple[int, int]) -> float:
    """Scale of the photo for a box: fitted ("contain"), never enlarged, and not below MIN_WORK_SIDE on its long
    side (the compositor shrinks the frames into the box)."""
    pw, ph = photo_size
    k = min(box[0] / pw, box[1] / ph, 1.0)
    floor = min(1.0, MIN_WORK_SIDE / max(pw, ph))
    return max(k, floor)


def _speech_pcm(audio_path: os.PathLike | str) -> np.ndarray:
    """The speech as float32 mono at 16 kHz."""
    from .audio import decode_mono

    return decode_mono(audio_path, 16000).astype(np.float32) / 32768.0


def _talker(photo_bgr: np.ndarray, box: tuple[int, int]):
    """A TalkingPhoto of the photo scaled for the box. The set-up (FaceMesh on the full-size photo, the warp's
    motion fields) is the same for every scene of a video with that photo and box, so the last few are kept
    (keyed by the photo's pixels) and each caller gets a clone with its own buffers."""
    import cv2

    from synthesis.photo.talking import TalkingPhoto, find_face

    photo = np.ascontiguousarray(photo_bgr[:, :, :3])
    key = (hashlib.sha1(photo.data).hexdigest(), photo.shape, tuple(box))
    with _TALKERS_LOCK:
        template = _TALKERS.get(key)
        if template is not None:
            _TALKERS.move_to_end(key)
    if template is None:
        points = find_face(photo)
        k = _work_scale((photo.shape[1], photo.shape[0]), box)
        if k < 1.0:
            size = (max(2, int(round(photo.shape[1] * k))), max(2, int(round(photo.shape[0] * k))))
            photo = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
            points = points * np.float32(k)
        template = TalkingPhoto(photo, points)
        with _TALKERS_LOCK:
            _TALKERS[key] = template
            while len(_TALKERS) > TALKER_CACHE:
                _TALKERS.popitem(last=False)
    return template.clone()


def photo_frames(photo_bgr: np.ndarray, pcm16k: np.ndarray, phonemes: list | None, *, fps: float,
                 frames: int | None, box: tuple[int, int], seed: int = 0) -> Iterator[np.ndarray]:
    """BGR frames of `photo_bgr` speaking `pcm16k` (float, 16 kHz): `frames` of them (None: as many as the
    speech lasts), scaled for a box of (width, height)."""
    from synthesis.photo.talking import motion_tracks, photo_mouth_track

    talker = _talker(photo_bgr, box)
    opening, width = photo_mouth_track(pcm16k, fps, phonemes or None)
    n = len(opening) if frames is None else int(frames)
    if len(opening) < n:
        rest = np.zeros(n - len(opening), np.float32)
        opening, width = np.concatenate([opening, rest]), np.concatenate([width, rest])
    opening, width = opening[:n], width[:n]
    motion = motion_tracks(n, fps, opening, seed=seed)
    for i in range(n):
        yield talker.frame(float(opening[i]), float(width[i]), float(motion["blink"][i]), float(motion["yaw"][i]),
                           float(motion["pitch"][i]), float(motion["breath"][i]), copy=True)


def photo_layer(photo_path: os.PathLike | str, audio_path: os.PathLike | str, phonemes: list | None,
                box: tuple[int, int, int, int], *, fps: float, start: float | None = None,
                end: float | None = None, seed: int = 0) -> FramesLayer:
    """A FramesLayer of the photo at `photo_path` speaking `audio_path` (its timed `phonemes` when known, e.g.
    from the TTS; otherwise they are aligned from the audio, or the loudness drives the mouth), fitted into
    `box` = (x, y, width, height) of the canvas. `fps` is the video's rate (the compositor's own rate wins if
    it differs); the layer yields one BGR frame per output frame of the scene."""
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError("the box must have a positive width and height")

    def source(rate: float, frames: int) -> Iterator[np.ndarray]:
        import cv2

        photo = cv2.imread(os.fspath(photo_path), cv2.IMREAD_COLOR)
        if photo is None:
            raise ValueError(f"the photo {os.path.basename(os.fspath(photo_path))} could not be read")
        yield from photo_frames(photo, _speech_pcm(audio_path), phonemes, fps=float(rate or fps), frames=frames,
                                box=(box[2], box[3]), seed=seed)

    return FramesLayer(x=box[0], y=box[1], width=box[2], height=box[3], start=start, end=end, source=source)
