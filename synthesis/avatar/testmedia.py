"""Test media the core test suite makes itself, so it needs no footage from outside the project.

`make_talking_clip` animates the public-domain astronaut photo that ships with scikit-image (Eileen Collins,
NASA): the lower face is warped down by a known, per-frame mouth opening, a dark mouth interior is painted
between the parted lips, the head sways a little and blinks, and the audio track is a voiced buzz whose
loudness and formants follow the opening (silence when the mouth is closed). The returned track is in the
units of `synthesis.face.landmarks.mouth_opening` (inner-lip gap / inter-ocular distance), so a tracker's
measure can be compared with it directly; FaceMesh reads it back with r > 0.9.

Everything is deterministic for a given `seed`."""

from __future__ import annotations

import functools
import os
import tempfile
import wave
from pathlib import Path

import numpy as np

from synthesis.face.video_io import VideoWriter

AUDIO_RATE = 16000
CHROMA_GREEN_BGR = (64, 177, 0)

# FaceMesh on skimage.data.astronaut() (512x512), measured once with mediapipe 0.10.21 (static mode).
_UPPER_INNER = np.array([  # inner upper-lip edge, left corner -> right corner
    (203.3, 139.9), (205.9, 140.1), (209.1, 140.7), (212.9, 141.5), (217.6, 142.4), (223.5, 143.2),
    (229.4, 142.9), (234.1, 142.3), (237.8, 141.8), (240.9, 141.6), (243.4, 141.5),
])  # fmt: skip
_LOWER_INNER = np.array([  # inner lower-lip edge, left corner -> right corner
    (203.3, 139.9), (206.4, 143.2), (209.0, 145.5), (212.6, 147.7), (217.3, 149.3), (223.0, 150.1),
    (228.6, 149.7), (233.3, 148.5), (237.1, 146.6), (239.9, 144.6), (243.4, 141.5),
])  # fmt: skip
_MOUTH_X = 223.0  # mouth centre
_CHIN_Y = 177.4
_JAW_HALF_WIDTH = 46.0  # the cheeks at 179 and 270 do not move
_EYES = (((195.2, 100.9), (213.3, 103.7), 97.6, 104.3), ((237.0, 104.9), (255.8, 104.3), 99.7, 106.7))
_FACE_CENTER = (225.0, 124.0)
_FACE_HEIGHT = 106.0
INTEROCULAR_PX = 42.17  # in the 512x512 photo
BASE_OPENING = 0.163  # mouth_opening FaceMesh reads on the photo (the smile shows the upper teeth)
_WARP_BOX = (130, 240, 170, 280)  # rows, columns of the photo the jaw warp touches
MAX_OPENING = 0.5  # added inner-lip gap at the widest, in inter-ocular units


@functools.lru_cache(maxsize=1)
def _photo() -> np.ndarray:
    import cv2
    import skimage.data

    return np.ascontiguousarray(cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))


@functools.lru_cache(maxsize=1)
def _person_mask() -> np.ndarray:
    """Soft float mask (0..1) of the astronaut in the photo, from mediapipe's selfie segmentation."""
    import cv2
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        mask = seg.process(cv2.cvtColor(_photo(), cv2.COLOR_BGR2RGB)).segmentation_mask
    mask = (mask > 0.5).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    return cv2.GaussianBlur(mask, (5, 5), 0).astype(np.float32) / 255.0


def opening_track(seconds: float, fps: float, *, seed: int = 0) -> np.ndarray:
    """A speech-like added mouth opening per frame (inter-ocular units, 0 = closed): syllables of 0.12-0.3 s
    grouped in words, with pauses between them."""
    rng = np.random.default_rng(seed)
    n = max(1, int(round(seconds * fps)))
    t = np.arange(n) / fps
    track = np.zeros(n)
    pos = 0.3
    while pos < seconds - 0.2:
        for _ in range(int(rng.integers(2, 6))):  # one word
            length = float(rng.uniform(0.12, 0.3))
            peak = float(rng.uniform(0.25, 1.0)) * MAX_OPENING
            inside = (t >= pos) & (t < pos + length)
            track[inside] = np.maximum(track[inside], peak * np.sin(np.pi * (t[inside] - pos) / length) ** 2)
            pos += length * float(rng.uniform(0.75, 1.0))
        pos += float(rng.uniform(0.25, 0.6))  # pause
    return track


def speech_like_audio(track: np.ndarray, fps: float, *, rate: int = AUDIO_RATE, seed: int = 0) -> np.ndarray:
    """float32 mono audio: a voiced harmonic buzz whose loudness and first formant follow the opening."""
    rng = np.random.default_rng(seed + 1)
    n = int(round(len(track) / fps * rate))
    t = np.arange(n) / rate
    opening = np.interp(t, (np.arange(len(track)) + 0.5) / fps, track / MAX_OPENING)
    opening = np.clip(opening, 0.0, 1.0)
    f0 = 200.0 + 15.0 * np.sin(2 * np.pi * 0.7 * t) + 30.0 * opening
    phase = 2 * np.pi * np.cumsum(f0) / rate
    f1 = 300.0 + 550.0 * opening
    f2 = 1500.0 + 300.0 * opening
    audio = np.zeros(n)
    for k in range(1, 26):
        freq = k * f0
        gain = (
            1.0 / (1.0 + ((freq - f1) / 90.0) ** 2)
            + 0.5 / (1.0 + ((freq - f2) / 130.0) ** 2)
            + 0.2 / (1.0 + ((freq - 2700.0) / 180.0) ** 2)
            + 0.02
        ) / k**0.5
        audio += gain * np.sin(k * phase)
    loudness = np.where(opening > 0.02, opening**0.6, 0.0)
    audio *= loudness
    audio = 0.5 * audio / max(1e-9, float(np.abs(audio).max()))
    audio += rng.normal(0.0, 1e-4, n)  # a faint room-noise floor instead of digital silence
    return audio.astype(np.float32)


def write_wav(path: os.PathLike | str, audio: np.ndarray, rate: int = AUDIO_RATE) -> Path:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(os.fspath(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return Path(path)


# --- the face warp ------------------------------------------------------------------------------------------


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@functools.lru_cache(maxsize=1)
def _jaw_field() -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel weight (0..1) of the downward jaw movement in the photo, and the seam row it starts at."""
    h, w = _photo().shape[:2]
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)[:, None]
    dx = np.abs(xs - _MOUTH_X)
    # The jaw: 1 at the centre, 0 at the cheeks.
    across = np.maximum(np.cos(np.clip(dx / _JAW_HALF_WIDTH, 0, 1) * np.pi / 2), 0.0) ** 1.5
    seam = np.interp(xs, _LOWER_INNER[:, 0], _LOWER_INNER[:, 1], left=141.0, right=141.5)
    soft = 0.5 + 17.5 * _smoothstep((dx - 12.0) / 14.0)  # a sharp lip edge in the mouth, stretched skin beside
    below = _smoothstep((ys - seam) / soft)
    fade = 1.0 - _smoothstep((ys - (_CHIN_Y + 8.0)) / 35.0)  # the neck below the chin stays
    return (across * below * fade).astype(np.float32), seam.astype(np.float32)


def _open_mouth(image: np.ndarray, mask: np.ndarray | None, opening: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The photo with its jaw dropped by `opening` (inter-ocular units) and a mouth interior painted in."""
    import cv2

    if opening <= 1e-3:
        return image, mask
    shift = opening * INTEROCULAR_PX
    weight, _ = _jaw_field()
    y0, y1, x0, x1 = _WARP_BOX  # the jaw field is zero outside this box
    local = np.ascontiguousarray(weight[y0:y1, x0:x1])
    h, w = local.shape
    map_x = np.tile(np.arange(w, dtype=np.float32), (h, 1))
    ys = np.arange(h, dtype=np.float32)[:, None]
    src_y = ys - shift * local
    for _ in range(3):  # invert the forward field: source row whose moved position lands here
        sampled = cv2.remap(local, map_x, src_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        src_y = ys - shift * sampled
    src_y = src_y.astype(np.float32)
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.remap(image[y0:y1, x0:x1], map_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if mask is not None:
        mask = mask.copy()
        mask[y0:y1, x0:x1] = cv2.remap(
            np.ascontiguousarray(mask[y0:y1, x0:x1]), map_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    # The gap between the still upper lip (with its teeth) and the moved lower lip: a dark mouth interior.
    lower = _LOWER_INNER.copy()
    lower[:, 1] += shift * weight[(lower[:, 1] + 2).round().astype(int), lower[:, 0].round().astype(int)]
    lower[[0, -1]] = _LOWER_INNER[[0, -1]]  # the corners stay
    top = _LOWER_INNER.copy()
    top[:, 1] -= 0.5
    polygon = np.concatenate([top, lower[::-1]]).astype(np.float32) - np.float32([x0, y0])
    interior = np.zeros((h, w), np.uint8)
    cv2.fillPoly(interior, [np.round(polygon * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    interior = cv2.GaussianBlur(interior, (3, 3), 0).astype(np.float32)[..., None] / 255.0
    depth = np.clip((ys + y0 - _LOWER_INNER[:, 1].min()) / max(shift, 1.0), 0, 1)[..., None]
    dark = np.array([38, 30, 78], np.float32) * (1.0 - 0.5 * depth) * np.ones((1, w, 1), np.float32)
    patch = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = (patch * (1 - interior) + dark * interior).astype(np.uint8)
    return out, mask


def _blink(image: np.ndarray, amount: float) -> np.ndarray:
    """Close both eyes by `amount` (0..1): skin-coloured upper lids drawn down over the eyes."""
    import cv2

    if amount <= 0.02:
        return image
    out = image.copy()
    for (ax, _ay), (bx, _by), top, bottom in _EYES:
        cx, cy = (ax + bx) / 2, (top + bottom) / 2
        half_w, half_h = (bx - ax) / 2 + 3, (bottom - top) / 2 + 3
        skin = image[int(top) - 9 : int(top) - 5, int(cx) - 4 : int(cx) + 4].reshape(-1, 3).mean(axis=0)
        lid = np.zeros(image.shape[:2], np.uint8)
        cv2.ellipse(
            lid,
            (int(round(cx * 4)), int(round((cy - half_h + 2 * half_h * amount - half_h) * 4))),
            (int(half_w * 4), int(half_h * 4 * 1.0)),
            0,
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
            shift=2,
        )
        eye = np.zeros_like(lid)
        cv2.ellipse(
            eye,
            (int(round(cx * 4)), int(round(cy * 4))),
            (int(half_w * 4), int(half_h * 4)),
            0,
            0,
            360,
            255,
            -1,
            cv2.LINE_AA,
            shift=2,
        )
        cover = cv2.GaussianBlur(cv2.bitwise_and(lid, eye), (3, 3), 0).astype(np.float32)[..., None] / 255.0
        out = (out * (1 - cover) + skin * cover).astype(np.uint8)
    return out


def _crop_transform(size: tuple[int, int], t: float, *, sway: bool = True) -> np.ndarray:
    """2x3 affine from the photo to an output frame of `size`: face large and centred, swaying slightly."""
    import cv2

    width, height = size
    aspect = width / height
    crop_h = max(2.1 * _FACE_HEIGHT, 150.0 / aspect)  # the face about half the frame height
    crop_w = crop_h * aspect
    scale = width / crop_w
    angle = 2.0 * np.sin(2 * np.pi * 0.23 * t) if sway else 0.0
    dx = 3.0 * np.sin(2 * np.pi * 0.17 * t + 1.0) if sway else 0.0
    dy = 2.0 * np.sin(2 * np.pi * 0.29 * t) if sway else 0.0
    cx, cy = _FACE_CENTER[0] + dx, _FACE_CENTER[1] + 10.0 + dy
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    matrix[0, 2] += width / 2 - cx
    matrix[1, 2] += height / 2 - cy
    return matrix


def _blink_amount(t: float, blinks: tuple[float, ...]) -> float:
    return max((max(0.0, 1.0 - abs(t - b) / 0.1) for b in blinks), default=0.0)


def render_frame(
    opening: float, t: float, size: tuple[int, int], *, green_screen: bool = False, faces: int = 1, blink: float = 0.0
) -> np.ndarray:
    """One BGR frame of the animated photo with the given added mouth opening (inter-ocular units)."""
    import cv2

    photo = _photo()
    mask = _person_mask() if green_screen else None
    image, mask = _open_mouth(photo, mask, opening)
    image = _blink(image, blink)
    if green_screen:
        green = np.array(CHROMA_GREEN_BGR, np.float32)
        image = (image * mask[..., None] + green * (1 - mask[..., None])).astype(np.uint8)
    width, height = size
    faces = max(1, int(faces))
    tile_w = width // faces
    tiles = []
    for i in range(faces):
        tw = tile_w if i < faces - 1 else width - tile_w * (faces - 1)
        matrix = _crop_transform((tw, height), t + 0.7 * i)
        tiles.append(
            cv2.warpAffine(
                image,
                matrix,
                (tw, height),
                flags=cv2.INTER_AREA if tw < 300 else cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
        )
    return np.ascontiguousarray(np.concatenate(tiles, axis=1))


def make_talking_clip(
    path: os.PathLike | str,
    *,
    seconds: float = 4.0,
    size: tuple[int, int] = (256, 256),
    fps: float = 25,
    green_screen: bool = False,
    audio: bool = True,
    faces: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """Write an MP4 of the astronaut talking; returns the per-frame mouth opening it animated, in
    `mouth_opening` units (BASE_OPENING, her smile's resting gap, plus the added jaw drop)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    track = opening_track(seconds, fps, seed=seed)
    blinks = tuple(b for b in (1.1, 3.3, 6.0, 9.5) if b < seconds - 0.2)
    with tempfile.TemporaryDirectory(prefix="testmedia-") as tmp:
        wav = None
        if audio:
            wav = write_wav(Path(tmp) / "speech.wav", speech_like_audio(track, fps, seed=seed))
        with VideoWriter(path, size=size, fps=fps, audio=wav, crf=18) as writer:
            for i, opening in enumerate(track):
                t = i / fps
                writer.write(
                    render_frame(
                        float(opening), t, size, green_screen=green_screen, faces=faces, blink=_blink_amount(t, blinks)
                    )
                )
    return BASE_OPENING + track


def make_still_clip(
    path: os.PathLike | str,
    seconds: float = 3.0,
    size: tuple[int, int] = (256, 256),
    *,
    fps: float = 25,
    audio: bool = True,
) -> Path:
    """A clip with no face: a slowly moving colour gradient (and a quiet tone when `audio`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    n = max(1, int(round(seconds * fps)))
    with tempfile.TemporaryDirectory(prefix="testmedia-") as tmp:
        wav = None
        if audio:
            t = np.arange(int(seconds * AUDIO_RATE)) / AUDIO_RATE
            wav = write_wav(Path(tmp) / "tone.wav", (0.05 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
        with VideoWriter(path, size=size, fps=fps, audio=wav) as writer:
            for i in range(n):
                phase = i / n
                frame = np.stack([
                    200 * xs + 40 * phase + 0 * ys,
                    120 + 100 * ys + 0 * xs,
                    200 * (1 - xs) * (1 - ys) + 30 * phase,
                ], axis=-1)  # fmt: skip
                writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    return path


def corrupt_file(path: os.PathLike | str, *, size: int = 64 * 1024, seed: int = 0) -> Path:
    """A file named like a video that holds no decodable media: an MP4 'ftyp' header followed by noise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + noise)
    return path


__all__ = [
    "AUDIO_RATE", "BASE_OPENING", "CHROMA_GREEN_BGR", "MAX_OPENING", "corrupt_file", "make_still_clip",
    "make_talking_clip", "opening_track", "render_frame", "speech_like_audio", "write_wav",
]  # fmt: skip
