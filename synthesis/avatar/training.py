"""Train a 2D avatar from a person's talking video.

Pass 1 tracks the face (landmarks, head pose, mouth shape) at a small analysis size and fits the
audio -> mouth-shape model on the person's own speech. The canonical frame is the most frontal frame: every
frame is mapped onto it by a similarity transform fitted to points that do not move in speech. Pass 2
decodes at the model resolution and keeps only what the renderer needs: the idle loop (the calmest stretch,
played forward then backward), the marked actions, and an atlas of aligned lower-face crops, each with its
matte."""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthesis.face import landmarks as lm
from synthesis.face.video_io import VideoWriter, output_fps, read_frames, scaled_size, video_format
from synthesis.media.errors import MediaError

from .model import Atlas, AvatarModel, Segment, decode_image, encode_crop, encode_matte, save_model

MODEL_MAX_SIDE = 1920  # 4K sources are trained at 1080p
ANALYSIS_MAX_SIDE = 640
MAX_ATLAS = 900
LOOP_SECONDS = (2.0, 6.0)  # one way: the loop plays forward then backward
MIN_FACE_SHARE = 0.6
STABLE_SMOOTHING_FRAMES = 1.0
BLINK_RATIO = 0.6
BLINK_BONUS = 0.2  # sigma of the temporal filter on the alignment points
LOWER_FACE_POINTS = tuple(dict.fromkeys(lm.LOWER_FACE + lm.LIPS_OUTER + lm.LIPS_INNER))
ProgressFn = Callable[[int, str], None]


class TrainingRejected(Exception):
    """The video cannot make a model; `reason` says why in words a user can act on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class TrainedAvatar:
    model_path: Path
    cover_path: Path
    card: dict


@dataclass(frozen=True)
class ActionMark:
    name: str
    start_s: float
    end_s: float


def _stage(progress: ProgressFn | None, lo: int, hi: int, stage: str) -> Callable[[float], None]:
    def report(fraction: float) -> None:
        if progress:
            progress(int(lo + (hi - lo) * max(0.0, min(1.0, fraction))), stage)

    report(0.0)
    return report


def train_avatar(
    video_path: os.PathLike | str,
    work_dir: os.PathLike | str,
    *,
    progress: ProgressFn | None = None,
    actions: Sequence[ActionMark] = (),
    holdout_fraction: float = 0.2,
) -> TrainedAvatar:
    started = time.monotonic()
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        fmt = video_format(video_path)
    except MediaError as exc:
        raise TrainingRejected(f"the training video could not be read: {exc}") from exc
    if not fmt.has_audio:
        raise TrainingRejected("the training video has no audio track: the mouth model learns from the person's speech")
    fps = output_fps(fmt.fps)
    size = scaled_size(fmt.width, fmt.height, MODEL_MAX_SIDE)
    frame_count = int(fmt.duration_s * fps)
    marks = [_action_frames(a, fps, frame_count) for a in actions]
    warnings: list[str] = []

    track = _track(video_path, fps, size, fmt.duration_s, _stage(progress, 2, 45, "tracking the face"))
    points, found = track
    if found.mean() < MIN_FACE_SHARE:
        raise TrainingRejected(f"the face was found in only {found.mean():.0%} of the frames")
    filled = lm.interpolate_lost(points).astype(np.float32)
    shapes = lm.mouth_shape(filled)
    shapes[~found] = np.nan
    pose = lm.head_pose(filled)

    _stage(progress, 45, 55, "learning the mouth model")
    mouth_path = work / "mouth.npz"
    validation = _fit_mouth(video_path, work, shapes, fps, holdout_fraction, mouth_path)
    if validation.get("warning"):
        warnings.append(validation["warning"])

    geometry = _canonical_geometry(filled, found, pose, size)
    blinks = blink_starts(lm.eye_openness(filled), found)
    loop = _choose_loop(filled, found, shapes, pose, fps, geometry, blinks)
    marks = [(name, a, min(b, len(filled))) for name, a, b in marks]
    atlas_idx = _choose_atlas(found, pose, geometry)
    model = _build(video_path, work, size, fps, filled, geometry, loop, marks, atlas_idx, shapes, pose,
                   _stage(progress, 55, 95, "building the appearance atlas"))
    model.card = {
        "resolution": f"{size[0]}x{size[1]}", "fps": fps, "frames": int(len(filled)),
        "training_video_seconds": round(fmt.duration_s, 2), "source_fps": round(fmt.fps, 3),
        "face_found_share": round(float(found.mean()), 4), "atlas_entries": len(atlas_idx),
        "idle_loop_seconds": round(model.base.frames / fps, 2), "green_screen": geometry["green_screen"],
        "blinks_per_minute": round(len(blinks) * 60.0 * fps / max(1, len(filled)), 1),
        "blinks_in_idle_loop": int(sum(loop[0] <= b < loop[1] for b in blinks)),
        "supports_actions": bool(model.actions), "actions": sorted(model.actions),
        "validation": validation, "warnings": warnings,
    }  # fmt: skip
    _stage(progress, 95, 100, "writing the model")
    cover = work / "cover.jpg"
    _write_cover(work / "media" / model.base.video, size, cover)
    model.card["training_seconds"] = round(time.monotonic() - started, 2)
    model_path = save_model(model, work / "avatar.model", media_dir=work / "media", mouth_model=mouth_path)
    shutil.rmtree(work / "media", ignore_errors=True)
    if progress:
        progress(100, "done")
    return TrainedAvatar(model_path, cover, model.card)


# --- pass 1 ----------------------------------------------------------------------------------------------


def _track(path, fps: int, size: tuple[int, int], duration_s: float, report) -> tuple[np.ndarray, np.ndarray]:
    analysis = scaled_size(size[0], size[1], ANALYSIS_MAX_SIDE)
    total = int(duration_s * fps) + 1
    try:
        points, _faces = lm.track_frames(read_frames(path, size=analysis, fps=fps), total=total, progress=report)
    except MediaError as exc:
        raise TrainingRejected(f"the training video could not be decoded: {exc}") from exc
    if not len(points):
        raise TrainingRejected("the training video holds no frames")
    points = points * np.float32(size[0] / analysis[0])
    found = ~np.isnan(points[:, 0, 0])
    return points, found


def _fit_mouth(path, work: Path, shapes, fps, holdout_fraction, out: Path) -> dict:
    from synthesis.media.derive import extract_mono_wav
    from synthesis.speech.audio import read_wav

    from .lipsync import fit_mouth_model

    wav = work / "speech.wav"
    try:
        extract_mono_wav(path, wav, sample_rate=16000)
    except MediaError as exc:
        raise TrainingRejected(f"the audio track could not be read: {exc}") from exc
    pcm, rate = read_wav(wav)
    model, validation = fit_mouth_model(_as_float(pcm), rate, shapes, fps, holdout_fraction=holdout_fraction)
    model.save(out)
    wav.unlink(missing_ok=True)
    return validation


def _as_float(pcm: np.ndarray) -> np.ndarray:
    if pcm.dtype == np.int16:
        return pcm.astype(np.float32) / 32768.0
    return pcm.astype(np.float32)


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    import cv2

    matrix, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    if matrix is None:
        matrix = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
    return matrix


def _apply(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ matrix[:, :2].T + matrix[:, 2]


def _canonical_geometry(points, found, pose, size) -> dict:
    """The reference (most frontal) frame, per-frame transforms onto it and the crop box of the lower face."""
    stable = list(lm.STABLE)
    frontal = np.where(found, np.abs(pose[:, 0]) + np.abs(pose[:, 2]), np.inf)
    ref = int(np.argmin(frontal))
    ref_pts = points[ref, stable, :2]
    # Landmarks tremble by a pixel or two from frame to frame; a light temporal filter of the points the transforms
    # rest on keeps the pasted mouth from trembling against the face (real head motion is far slower).
    from scipy.ndimage import gaussian_filter1d

    steady = gaussian_filter1d(points[:, stable, :2].astype(np.float64), STABLE_SMOOTHING_FRAMES, axis=0,
                               mode="nearest")
    transforms = np.stack([_similarity(steady[i], ref_pts) for i in range(len(points))])
    iod = float(lm.interocular(points[ref]))
    lower = np.stack([_apply(transforms[i], points[i, list(LOWER_FACE_POINTS), :2]) for i in range(len(points))])
    ok = lower[found].reshape(-1, 2)
    x0, y0 = np.percentile(ok, 0.5, axis=0)
    x1, y1 = np.percentile(ok, 99.5, axis=0)
    margin = 0.18 * iod
    x0, x1 = max(0, int(x0 - margin)), min(size[0], int(math.ceil(x1 + margin)))
    y0, y1 = max(0, int(y0 - 0.1 * iod)), min(size[1], int(math.ceil(y1 + 0.4 * iod)))
    origin = np.array([x0, y0], np.float64)
    return {"ref": ref, "transforms": transforms, "iod": iod, "origin": (x0, y0), "crop": (x1 - x0, y1 - y0),
            "lower_face": (lower - origin).astype(np.float32), "green_screen": False}


# --- choosing frames ---------------------------------------------------------------------------------------


def blink_starts(openness: np.ndarray, found: np.ndarray, min_gap: int = 8) -> list[int]:
    """Frames where a blink begins: the eyelid gap drops below 60 % of its usual (median) value; a dip within
    `min_gap` frames of the previous one is the same blink."""
    ok = found & np.isfinite(openness)
    if ok.sum() < 5:
        return []
    closed = ok & (openness < BLINK_RATIO * float(np.median(openness[ok])))
    starts: list[int] = []
    for i in np.flatnonzero(closed & ~np.r_[False, closed[:-1]]):
        if not starts or i - starts[-1] >= min_gap:
            starts.append(int(i))
    return starts


def _choose_loop(points, found, shapes, pose, fps, geometry, blinks=()) -> tuple[int, int]:
    """(start, end) of the idle segment: the head calm, the mouth quiet, the face always found, a natural blink
    in it when the person blinks at all, and the head slow at both ends (the loop plays the segment forward then
    backward, so it never jumps; a slow head at the turning points keeps the reversal from showing)."""
    n = len(points)
    iod = geometry["iod"]
    stable = points[:, list(lm.STABLE), :2].reshape(n, -1)
    min_len = max(2, min(int(LOOP_SECONDS[0] * fps), n))
    max_len = max(min_len, min(int(LOOP_SECONDS[1] * fps), n))
    motion = np.r_[0.0, np.linalg.norm(np.diff(stable, axis=0), axis=1) / iod] * fps  # IOD per second
    opening = np.nan_to_num(shapes[:, 0], nan=1.0)
    lost = (~found).astype(np.float64)
    c_motion, c_open, c_lost = (np.r_[0.0, np.cumsum(v)] for v in (motion, opening, lost))
    slow_end = np.convolve(motion, np.ones(5) / 5, mode="same")
    blink_at = np.zeros(n)
    blink_at[[b for b in blinks if b < n]] = 1.0
    c_blink = np.r_[0.0, np.cumsum(blink_at)]
    best, best_cost = (0, min_len), np.inf
    for length in range(min_len, max_len + 1, max(1, (max_len - min_len) // 40)):
        starts = np.arange(0, n - length + 1)
        ends = starts + length
        motion_rate, open_rate, lost_rate = ((c[ends] - c[starts]) / length for c in (c_motion, c_open, c_lost))
        turning = slow_end[starts] + slow_end[ends - 1]
        has_blink = np.minimum(c_blink[ends - 2] - c_blink[starts + 1], 1.0)  # inside, not at a turning point
        cost = (2.0 * motion_rate + 0.5 * turning + 0.5 * open_rate + 50.0 * lost_rate - 0.05 * length / fps
                - BLINK_BONUS * has_blink)
        i = int(np.argmin(cost))
        if cost[i] < best_cost:
            best_cost, best = cost[i], (int(starts[i]), int(ends[i]))
    return best


def _action_frames(mark: ActionMark, fps: int, n: int) -> tuple[str, int, int]:
    start, end = int(round(mark.start_s * fps)), int(round(mark.end_s * fps))
    if not (0 <= start < end <= n + 1) or end - start < fps // 2:
        raise TrainingRejected(f"action '{mark.name}' ({mark.start_s:g}-{mark.end_s:g} s) is not inside the video "
                               "or is shorter than half a second")
    return mark.name, start, end


def _choose_atlas(found, pose, geometry) -> np.ndarray:
    """Frames whose lower face is kept: the face found and the head near the reference pose."""
    ref_pose = pose[geometry["ref"]]
    spread = np.abs(pose[:, :2] - ref_pose[:2]).max(axis=1)
    for limit in (8.0, 12.0, 20.0, 360.0):
        idx = np.flatnonzero(found & (spread <= limit))
        if len(idx) >= min(60, found.sum()):
            break
    if len(idx) > MAX_ATLAS:
        idx = idx[np.linspace(0, len(idx) - 1, MAX_ATLAS).round().astype(int)]
    return idx


# --- pass 2 ----------------------------------------------------------------------------------------------


def _build(path, work, size, fps, points, geometry, loop, marks, atlas_idx, shapes, pose, report) -> AvatarModel:
    import cv2

    from synthesis.face.matte import Matter, detect_green_screen

    media = work / "media"
    media.mkdir(exist_ok=True)
    start, end = loop
    n = len(points)
    transforms, origin, crop = geometry["transforms"], geometry["origin"], geometry["crop"]
    to_crop = transforms.copy()
    to_crop[:, :, 2] -= np.array(origin, np.float64)
    atlas_set = {int(i): k for k, i in enumerate(atlas_idx)}
    crops: list = [None] * len(atlas_idx)
    alphas: list = [None] * len(atlas_idx)
    loop_frames: dict[int, np.ndarray] = {}
    loop_alpha: dict[int, np.ndarray] = {}
    action_frames = {name: ([], []) for name, _, _ in marks}
    green = None
    matter = None
    try:
        for i, frame in enumerate(read_frames(path, size=size, fps=fps)):
            if i >= n:
                break
            if green is None:
                green = detect_green_screen([frame])
                geometry["green_screen"] = bool(green)
                matter = Matter(green_screen=green)
            wanted_loop = start <= i < end
            wanted_action = [name for name, a, b in marks if a <= i < b]
            if not (wanted_loop or wanted_action or i in atlas_set):
                continue
            alpha = matter.alpha(frame)
            if i in atlas_set:
                k = atlas_set[i]
                crops[k] = encode_crop(cv2.warpAffine(frame, to_crop[i], crop, flags=cv2.INTER_LINEAR,
                                                      borderMode=cv2.BORDER_REPLICATE))
                alphas[k] = encode_matte(cv2.warpAffine(alpha, to_crop[i], crop, flags=cv2.INTER_LINEAR,
                                                        borderMode=cv2.BORDER_REPLICATE))
            if start <= i < end:
                loop_frames[i], loop_alpha[i] = encode_crop(frame, 97), encode_matte(alpha)
            for name in wanted_action:
                action_frames[name][0].append(encode_crop(frame, 97))
                action_frames[name][1].append(encode_matte(alpha))
            if i % 10 == 0:
                report(i / n)
    finally:
        if matter is not None:
            matter.close()
    base = _write_loop(media, size, fps, loop, loop_frames, loop_alpha, points, to_crop, geometry, pose)
    actions = {
        name: _write_segment(media, f"action_{k}", name, size, fps, frames, alpha_list, list(range(a, b)),
                             to_crop, geometry, pose)
        for k, ((name, a, b), (frames, alpha_list)) in enumerate(
            (mark, action_frames[mark[0]]) for mark in marks)
    }  # fmt: skip
    keep = [k for k, c in enumerate(crops) if c is not None]
    atlas = Atlas(
        shapes=np.nan_to_num(shapes[atlas_idx[keep]]).astype(np.float32), pose=pose[atlas_idx[keep]].astype(np.float32),
        lower_face=geometry["lower_face"][atlas_idx[keep]], source_frame=atlas_idx[keep].astype(np.int32),
        crops=[crops[k] for k in keep], alphas=[alphas[k] for k in keep],
    )  # fmt: skip
    return AvatarModel(width=size[0], height=size[1], fps=fps, crop_origin=tuple(origin), crop_size=tuple(crop),
                       interocular=geometry["iod"], base=base, actions=actions, atlas=atlas, card={})


def _write_loop(media, size, fps, loop, frames, alphas, points, to_crop, geometry, pose) -> Segment:
    """The idle loop: the segment forward, then backward without repeating its end frames, so playing it
    over and over never jumps."""
    start, end = loop
    index = list(range(start, end))
    if len(index) > 2:
        index += index[-2:0:-1]
    return _encode_segment(media, "base", "idle", size, fps, [frames[i] for i in index], [alphas[i] for i in index],
                           to_crop[index], geometry["lower_face"][index], pose[index], start / fps)


def _write_segment(media, stem, name, size, fps, frames, alphas, index, to_crop, geometry, pose) -> Segment:
    return _encode_segment(media, stem, name, size, fps, frames, alphas, to_crop[index],
                           geometry["lower_face"][index], pose[index], index[0] / fps)


def _encode_segment(media, stem, name, size, fps, frames, alphas, transforms, lower, pose, start_s) -> Segment:
    video, alpha = f"{stem}.mp4", f"{stem}_alpha.mp4"
    with VideoWriter(media / video, size=size, fps=fps, crf=16, preset="veryfast", fast_decode=True) as out:
        for frame in frames:
            out.write(decode_image(frame))
    with VideoWriter(media / alpha, size=size, fps=fps, crf=12, preset="veryfast", gray=True, fast_decode=True) as out:
        for a in alphas:
            out.write(decode_image(a, gray=True))
    return Segment(name=name, video=video, alpha=alpha, frames=len(frames),
                   to_canonical=transforms.astype(np.float32), lower_face=lower.astype(np.float32),
                   pose=np.asarray(pose, np.float32), source_start=float(start_s))


def _write_cover(base_video: Path, size: tuple[int, int], cover: Path) -> None:
    import cv2

    frame = next(read_frames(base_video, size=size))
    cv2.imwrite(str(cover), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
