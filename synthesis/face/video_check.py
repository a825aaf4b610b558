"""Checks on an avatar training video before training: one rule per requirement, each with a verdict
("pass", "warn" or "fail"), a message that tells the user what to do, and the measured value.

Frames are sampled (4 per second for clips up to a minute, 2 up to five minutes, 1 beyond), decoded by ffmpeg
at 640 pixels on the long side; faces are counted by mediapipe's full-range face detector and measured with
FaceMesh. The audio is read once as 16 kHz mono for a voice-activity measure. Bad media never raises: an
unreadable file gets a failing "readable" rule."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthesis.media.errors import MediaError

PASS, WARN, FAIL = "pass", "warn", "fail"

ANALYSIS_MAX_SIDE = 640

# Resolution, on the short side of the picture.
RECOMMENDED_SHORT_SIDE = 1080
ACCEPTED_SHORT_SIDE = 720
MIN_SHORT_SIDE = 240  # below this the mouth is too few pixels to learn from (the face_size rule covers the rest)

# Frame rate.
MIN_FPS = 20.0
CONVERTED_FPS = (25, 30)

# Duration (seconds).
MIN_SECONDS = 3.0
SHORT_SECONDS = 60.0  # 1-5 minutes recommended
LONG_SECONDS = 300.0
MAX_SECONDS = 600.0

# Faces.
NO_FACE_SHARE = 0.5  # a face in fewer than half the sampled frames: "no face"
TWO_FACES_SHARE = 0.2  # a second face in a fifth of the frames: "two faces"
SECOND_FACE_MIN_RATIO = 0.35  # a second face counts when at least this tall relative to the main one
DETECTION_SCORE = 0.6
MAX_LOST_SECONDS = 1.0
# Head pose: FaceMesh reads a frontal face at pitch about -10 degrees.
FRONTAL_PITCH = -10.0
MAX_ANGLE = 20.0
TURNED_WARN_SHARE = 0.15
TURNED_FAIL_SHARE = 0.5
# Face height (forehead to chin) relative to the frame height (portrait: relative to the width * 16/9).
FACE_WARN = 0.2
FACE_FAIL = 0.08
# Lighting: mean luma of the face, and the brightness difference between its two halves.
DARK_LUMA = 60.0
BRIGHT_LUMA = 210.0
UNEVEN_RATIO = 0.35
# Sharpness: variance of the Laplacian of the face scaled to SHARP_FACE_HEIGHT pixels.
SHARP_FACE_HEIGHT = 160
BLUR_VARIANCE = 5.0  # real 480-720p clips read 7.7-217; a face blurred out of focus reads about 1-3
# Speech: share of 20 ms audio frames that are voiced (periodic and clearly above the noise floor).
SILENT_DBFS = -50.0
MIN_VOICED_SHARE = 0.05
LOW_VOICED_SHARE = 0.2


@dataclass
class RuleResult:
    rule: str
    status: str  # "pass" | "warn" | "fail"
    message: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class RuleVerdicts:
    """What a report of rule verdicts answers (video check, photo check): `rules` is its list of RuleResults."""

    rules: list[RuleResult]

    @property
    def passed(self) -> bool:
        return all(r.status != FAIL for r in self.rules)

    @property
    def warnings(self) -> list[str]:
        return [r.message for r in self.rules if r.status == WARN]

    @property
    def failures(self) -> list[str]:
        return [r.message for r in self.rules if r.status == FAIL]

    def rule(self, name: str) -> RuleResult | None:
        return next((r for r in self.rules if r.rule == name), None)


@dataclass
class VideoCheckReport(RuleVerdicts):
    rules: list[RuleResult] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration_s: float | None = None
    has_audio: bool = False
    green_screen: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "duration_s": self.duration_s,
            "has_audio": self.has_audio,
            "green_screen": self.green_screen,
            "warnings": self.warnings,
            "rules": [r.to_dict() for r in self.rules],
        }


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _num(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


# --- rules on the container facts -------------------------------------------------------------------------


def grade_resolution(width: int, height: int) -> RuleResult:
    short = min(width, height)
    value = f"{width}x{height}"
    if short >= RECOMMENDED_SHORT_SIDE:
        return RuleResult("resolution", PASS, f"Resolution {value} is good.", value)
    if short >= ACCEPTED_SHORT_SIDE:
        return RuleResult(
            "resolution", WARN, f"Resolution {value} is accepted; 1080p (1920x1080) gives a sharper model.", value
        )
    if short >= MIN_SHORT_SIDE:
        return RuleResult(
            "resolution",
            WARN,
            f"Resolution {value} is below 720p: the model will be of lower quality. Record in 1080p if you can.",
            value,
        )
    return RuleResult(
        "resolution",
        FAIL,
        f"Resolution {value} is too low (the short side needs at least {MIN_SHORT_SIDE} pixels; 1080p is "
        "recommended). Record the video again at a higher resolution.",
        value,
    )


def grade_frame_rate(fps: float | None) -> RuleResult:
    if not fps:
        return RuleResult("frame_rate", WARN, "The frame rate could not be read; it will be converted to 25 fps.")
    value = _num(fps, 3)
    target = 30 if fps >= 29.0 else 25
    if any(abs(fps - f) < 0.5 for f in CONVERTED_FPS) or abs(fps - 29.97) < 0.05:
        return RuleResult("frame_rate", PASS, f"Frame rate {fps:g} fps is good.", value)
    if fps < MIN_FPS:
        return RuleResult(
            "frame_rate",
            FAIL,
            f"Frame rate {fps:.3g} fps is too low (at least {MIN_FPS:g} fps; 25 or 30 fps recommended). "
            "Record the video again at 25 or 30 fps.",
            value,
        )
    return RuleResult(
        "frame_rate",
        WARN,
        f"Frame rate {fps:.3g} fps will be converted to {target} fps (25 or 30 fps recommended).",
        value,
    )


def grade_duration(seconds: float | None) -> RuleResult:
    value = _num(seconds or 0.0)
    if not seconds or seconds < MIN_SECONDS - 0.05:  # a 3 s recording may probe as 2.98 s
        return RuleResult(
            "duration",
            FAIL,
            f"The video is too short ({value:g} s): at least {MIN_SECONDS:g} s are needed and 1 to 5 minutes "
            "are recommended.",
            value,
        )
    if seconds > MAX_SECONDS:
        return RuleResult(
            "duration",
            FAIL,
            f"The video is too long ({_clock(seconds)}): at most {MAX_SECONDS / 60:g} minutes are accepted. "
            "Cut it to 1 to 5 minutes.",
            value,
        )
    if seconds < SHORT_SECONDS:
        return RuleResult(
            "duration",
            WARN,
            f"The video is short ({value:g} s): the model will be of lower quality. 1 to 5 minutes of speech "
            "are recommended.",
            value,
        )
    if seconds > LONG_SECONDS:
        return RuleResult(
            "duration",
            WARN,
            f"The video is longer than needed ({_clock(seconds)}); 1 to 5 minutes are recommended and training "
            "will take longer.",
            value,
        )
    return RuleResult("duration", PASS, f"Duration {_clock(seconds)} is good.", value)


def sample_rate_for(duration_s: float) -> float:
    if duration_s <= 60:
        return 4.0
    if duration_s <= 300:
        return 2.0
    return 1.0


# --- frame analysis -----------------------------------------------------------------------------------------


@dataclass
class _Samples:
    times: list[float] = field(default_factory=list)
    detected: list[int] = field(default_factory=list)  # faces the detector counted (big enough)
    found: list[bool] = field(default_factory=list)  # FaceMesh or the detector saw the main face
    pose: list[tuple[float, float]] = field(default_factory=list)  # yaw, pitch (mesh frames)
    face_height: list[float] = field(default_factory=list)  # pixels (mesh frames)
    face_width: list[float] = field(default_factory=list)
    luma: list[float] = field(default_factory=list)
    uneven: list[float] = field(default_factory=list)
    sharpness: list[float] = field(default_factory=list)
    green: list[float] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)


def _count_faces(detector, frame_bgr: np.ndarray) -> tuple[int, float]:
    """Faces the detector finds (a second one only when not tiny next to the main one), and the main one's
    height in pixels (0 if none)."""
    import cv2

    result = detector.process(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
    heights = sorted(
        (
            d.location_data.relative_bounding_box.height
            for d in (result.detections or [])
            if d.score[0] >= DETECTION_SCORE
        ),
        reverse=True,
    )
    if not heights:
        return 0, 0.0
    count = 1 + sum(1 for hgt in heights[1:] if hgt >= SECOND_FACE_MIN_RATIO * heights[0])
    return count, heights[0] * frame_bgr.shape[0]


def _face_measures(frame_bgr: np.ndarray, points: np.ndarray) -> tuple[float, float, float]:
    """Mean luma, left/right imbalance and normalised sharpness of the face (inner face: eyes to mouth)."""
    import cv2

    from .landmarks import face_box

    h, w = frame_bgr.shape[:2]
    x0, y0, x1, y1 = face_box(points)
    # The inner face (no hair, no background): shrink the landmark box.
    mx, my = (x1 - x0) * 0.18, (y1 - y0) * 0.12
    x0, x1 = int(max(0, x0 + mx)), int(min(w, x1 - mx))
    y0, y1 = int(max(0, y0 + my)), int(min(h, y1 - my))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return float("nan"), float("nan"), float("nan")
    gray = cv2.cvtColor(frame_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    luma = float(gray.mean())
    half = gray.shape[1] // 2
    left, right = float(gray[:, :half].mean()), float(gray[:, half:].mean())
    uneven = abs(left - right) / max(1.0, (left + right) / 2)
    k = SHARP_FACE_HEIGHT / gray.shape[0]
    scaled = cv2.resize(
        gray,
        (max(8, round(gray.shape[1] * k)), SHARP_FACE_HEIGHT),
        interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
    )
    sharp = float(cv2.Laplacian(scaled, cv2.CV_32F).var())
    if k > 1:  # an upscaled face is as blurry as its pixels: scale the measure back
        sharp /= k * k
    return luma, uneven, sharp


def _analyse_frames(
    path: os.PathLike | str, width: int, height: int, duration_s: float, progress: Callable[[float], None]
) -> _Samples:
    import mediapipe as mp

    from .landmarks import head_pose, mesh_points, new_face_mesh
    from .matte import green_share
    from .video_io import read_frames, scaled_size

    rate = sample_rate_for(duration_s)
    size = scaled_size(width, height, ANALYSIS_MAX_SIDE)
    samples = _Samples(size=size)
    total = max(1, int(duration_s * rate))
    mesh = new_face_mesh(max_faces=1)
    detector = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
    try:
        for i, frame in enumerate(read_frames(path, size=size, fps=rate)):
            samples.times.append(i / rate)
            count, _ = _count_faces(detector, frame)
            points, _ = mesh_points(mesh, frame)
            samples.detected.append(count)
            samples.found.append(points is not None or count > 0)
            samples.green.append(green_share(frame))
            if points is not None:
                yaw, pitch, _roll = head_pose(points)
                samples.pose.append((float(yaw), float(pitch)))
                samples.face_height.append(float(np.ptp(points[:, 1])))
                samples.face_width.append(float(np.ptp(points[:, 0])))
                luma, uneven, sharp = _face_measures(frame, points)
                samples.luma.append(luma)
                samples.uneven.append(uneven)
                samples.sharpness.append(sharp)
            if i % 8 == 0:
                progress(min(1.0, (i + 1) / total))
    finally:
        mesh.close()
        detector.close()
    return samples


def _lost_spans(times: list[float], found: list[bool], step: float) -> list[tuple[float, float]]:
    spans = []
    start = None
    for t, ok in zip(times, found, strict=True):
        if not ok and start is None:
            start = t
        elif ok and start is not None:
            spans.append((start, t))
            start = None
    if start is not None:
        spans.append((start, times[-1] + step))
    return spans


def _face_rules(s: _Samples, rate: float, width: int, height: int) -> list[RuleResult]:
    rules: list[RuleResult] = []
    n = len(s.times)
    if n == 0:
        return [RuleResult("one_person", FAIL, "No frame could be decoded from the video.", 0)]
    found_share = float(np.mean(s.found))
    two_share = float(np.mean([c >= 2 for c in s.detected]))
    if found_share < NO_FACE_SHARE:
        rules.append(RuleResult(
            "one_person", FAIL,
            f"No face found (a face was seen in {found_share:.0%} of the video). Record one person facing the "
            "camera, with the whole face in the picture.", _num(found_share),
        ))  # fmt: skip
        return rules
    if two_share >= TWO_FACES_SHARE:
        rules.append(RuleResult(
            "one_person", FAIL,
            f"Two or more faces in the picture ({two_share:.0%} of the video). Only one person may be in the "
            "video: record it again alone.", _num(two_share),
        ))  # fmt: skip
    else:
        rules.append(RuleResult("one_person", PASS, "One person in the video.", _num(two_share)))

    step = 1.0 / rate
    spans = [(a, b) for a, b in _lost_spans(s.times, s.found, step) if b - a > MAX_LOST_SECONDS]
    if spans:
        a, b = max(spans, key=lambda ab: ab[1] - ab[0])
        more = f" (and {len(spans) - 1} more time(s))" if len(spans) > 1 else ""
        rules.append(RuleResult(
            "face_visible", FAIL,
            f"Face not visible from {_clock(a)} to {_clock(b)}{more}. The face must stay in the picture for the "
            "whole video: cut that part or record again.", f"{_clock(a)}-{_clock(b)}",
        ))  # fmt: skip
    else:
        rules.append(RuleResult("face_visible", PASS, "The face is visible throughout.", _num(found_share)))

    if not s.pose:
        return rules
    pose = np.array(s.pose)
    turned = (np.abs(pose[:, 0]) > MAX_ANGLE) | (np.abs(pose[:, 1] - FRONTAL_PITCH) > MAX_ANGLE)
    share = float(turned.mean())
    if share >= TURNED_FAIL_SHARE:
        status, msg = (
            FAIL,
            (
                f"The head is turned away from the camera in {share:.0%} of the video (more than "
                f"{MAX_ANGLE:g} degrees). Look straight into the camera and record again."
            ),
        )
    elif share >= TURNED_WARN_SHARE:
        status, msg = (
            WARN,
            (
                f"The head is turned away from the camera in {share:.0%} of the video; keep it facing "
                "the camera for a better model."
            ),
        )
    else:
        status, msg = PASS, "The face looks at the camera."
    rules.append(RuleResult("frontal", status, msg, _num(share)))

    aw, ah = s.size
    # The face height as a share of the frame height; for a vertical video, of the height a landscape frame
    # of the same width would have, so a half-body portrait is not penalised for its tall frame.
    reference = ah if aw >= ah else min(ah, aw * 16 / 9)
    ratio = float(np.median(s.face_height)) / reference
    if ratio < FACE_FAIL:
        status, msg = (
            FAIL,
            (
                f"The face is too small ({ratio:.0%} of the picture height). Move closer to the camera "
                "so that the face fills at least a fifth of the height."
            ),
        )
    elif ratio < FACE_WARN:
        status, msg = (
            WARN,
            (
                f"The face is small ({ratio:.0%} of the picture height); the model will be sharper "
                "if you come closer to the camera."
            ),
        )
    else:
        status, msg = PASS, "The face is large enough."
    rules.append(RuleResult("face_size", status, msg, _num(ratio)))
    if width < height:
        narrow = float(np.median(s.face_width)) / aw
        if narrow < 0.2:
            rules.append(
                RuleResult(
                    "orientation",
                    WARN,
                    f"Vertical video ({width}x{height}) with a small face "
                    f"({narrow:.0%} of the width): come closer or record in landscape.",
                    "portrait",
                )
            )
    luma = float(np.nanmedian(s.luma)) if s.luma else float("nan")
    uneven = float(np.nanmedian(s.uneven)) if s.uneven else float("nan")
    if luma < DARK_LUMA:
        status, msg = WARN, "The face is too dark: add light in front of the person."
    elif luma > BRIGHT_LUMA:
        status, msg = WARN, "The face is overexposed: reduce the light or the camera exposure."
    elif uneven > UNEVEN_RATIO:
        status, msg = WARN, "The face is lit unevenly (one side much darker): light it from the front."
    else:
        status, msg = PASS, "The face is well lit."
    rules.append(RuleResult("lighting", status, msg, _num(luma, 1)))

    sharp = float(np.nanmedian(s.sharpness)) if s.sharpness else float("nan")
    if sharp < BLUR_VARIANCE:
        status, msg = WARN, "The face is blurry: focus the camera on the face and avoid motion blur."
    else:
        status, msg = PASS, "The face is sharp."
    rules.append(RuleResult("blur", status, msg, _num(sharp, 1)))
    return rules


# --- audio --------------------------------------------------------------------------------------------------


def voiced_share(audio: np.ndarray, rate: int = 16000) -> tuple[float, float]:
    """(share of 20 ms frames that are voiced, peak level in dBFS). Voiced: louder than the noise floor by
    15 dB, above -50 dBFS, and periodic with a pitch of 70-500 Hz (speech and singing; music partly too)."""
    audio = np.asarray(audio, np.float32)
    if audio.size < rate // 10:
        return 0.0, -120.0
    peak_db = 20 * np.log10(max(1e-9, float(np.abs(audio).max())))
    hop, win = rate // 50, rate // 25
    n = 1 + (len(audio) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    frames = audio[idx] - audio[idx].mean(axis=1, keepdims=True)
    energy = (frames**2).mean(axis=1) + 1e-12
    db = 10 * np.log10(energy)
    floor = float(np.percentile(db, 10))
    loud = (db > max(SILENT_DBFS, floor + 15.0)) | ((db > SILENT_DBFS + 20) & (db > floor + 6.0))
    spec = np.fft.rfft(frames * np.hanning(win)[None, :], n=2 * win, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :win]
    ac = ac / np.maximum(ac[:, :1], 1e-12)
    lo, hi = rate // 500, rate // 70
    periodic = ac[:, lo:hi].max(axis=1) > 0.45
    return float((loud & periodic).mean()), peak_db


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(os.fspath(path)) as wav:
        data = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").astype(np.float32) / 32768.0
        channels = wav.getnchannels()
    return data.reshape(-1, channels).mean(axis=1) if channels > 1 else data


def _speech_rule(path: os.PathLike | str, has_audio: bool) -> RuleResult:
    from synthesis.media.derive import extract_mono_wav

    if not has_audio:
        return RuleResult(
            "speech",
            FAIL,
            "Audio missing: the video has no sound track. Record it with the person "
            "speaking; the avatar learns lip movement from the voice.",
            None,
        )
    try:
        with tempfile.TemporaryDirectory(prefix="videocheck-") as tmp:
            wav = extract_mono_wav(path, Path(tmp) / "audio.wav", 16000)
            audio = _read_wav(wav)
    except (MediaError, OSError, wave.Error) as exc:
        return RuleResult("speech", FAIL, f"The audio could not be read ({exc}). Export the video again.", None)
    share, peak = voiced_share(audio)
    if peak < SILENT_DBFS or share < 0.01:
        return RuleResult("speech", FAIL, "The audio is silent: the person must speak in the video.", _num(share))
    if share < MIN_VOICED_SHARE:
        return RuleResult(
            "speech",
            WARN,
            f"Hardly any speech was heard ({share:.0%} of the video): the person should speak throughout the video.",
            _num(share),
        )
    if share < LOW_VOICED_SHARE:
        return RuleResult(
            "speech",
            WARN,
            f"Little speech was heard ({share:.0%} of the video): the person should "
            "speak for most of the video for a good lip-sync model.",
            _num(share),
        )
    return RuleResult("speech", PASS, f"Speech present ({share:.0%} of the video).", _num(share))


# --- the check ----------------------------------------------------------------------------------------------


def check_training_video(
    path: os.PathLike | str, *, progress: Callable[[int, str], None] | None = None
) -> VideoCheckReport:
    """Check a training video against every rule; never raises for bad media (see the "readable" rule)."""
    from synthesis.media.probe import probe

    def report_progress(percent: float, stage: str) -> None:
        if progress:
            progress(int(max(0, min(100, percent))), stage)

    report = VideoCheckReport()
    report_progress(0, "probe")
    try:
        info = probe(path)
    except (MediaError, OSError) as exc:
        report.rules.append(RuleResult("readable", FAIL, f"The file cannot be read: {exc}", None))
        report_progress(100, "done")
        return report
    if info.error or info.kind != "video" or not info.width or not info.height:
        why = info.error or ("the file holds no video" if info.kind != "video" else "no picture size")
        report.rules.append(
            RuleResult("readable", FAIL, f"The video cannot be read ({why}). Upload an MP4 or MOV video file.", None)
        )
        report_progress(100, "done")
        return report
    width, height = int(info.width), int(info.height)
    duration = float(info.duration_s or 0.0)
    report.width, report.height, report.fps = width, height, info.fps
    report.duration_s, report.has_audio = duration, bool(info.has_audio)
    report.rules.append(RuleResult("readable", PASS, "The video can be read.", info.container))
    report.rules.append(grade_resolution(width, height))
    shape = "landscape" if width > height else "portrait" if height > width else "square"
    report.rules.append(RuleResult("orientation", PASS, f"{shape.capitalize()} video ({width}x{height}).", shape))
    report.rules.append(grade_frame_rate(info.fps))
    report.rules.append(grade_duration(duration))

    report_progress(5, "frames")
    rate = sample_rate_for(duration)
    try:
        samples = _analyse_frames(
            path,
            width,
            height,
            min(duration, MAX_SECONDS * 1.5) or 1.0,
            lambda f: report_progress(5 + 80 * f, "frames"),
        )
    except MediaError as exc:
        report.rules[0] = RuleResult(
            "readable", FAIL, f"The video cannot be decoded ({exc}). Export it again as MP4 (H.264).", info.container
        )
        report_progress(100, "done")
        return report
    face_rules = _face_rules(samples, rate, width, height)
    portrait_warn = next((r for r in face_rules if r.rule == "orientation"), None)
    if portrait_warn:
        face_rules.remove(portrait_warn)
        report.rules[2] = portrait_warn
    report.rules.extend(face_rules)

    report_progress(85, "audio")
    report.rules.append(_speech_rule(path, report.has_audio))
    green = bool(samples.green) and float(np.median(samples.green)) >= _green_threshold()
    report.green_screen = green
    report.rules.append(
        RuleResult(
            "green_screen",
            PASS,
            "Green screen detected: the background will be keyed out."
            if green
            else "No green screen: the person will be cut out by segmentation.",
            green,
        )
    )
    report_progress(100, "done")
    return report


def _green_threshold() -> float:
    from .matte import GREEN_BORDER_SHARE

    return GREEN_BORDER_SHARE


__all__ = [
    "FAIL", "PASS", "WARN", "RuleResult", "VideoCheckReport", "check_training_video", "grade_duration",
    "grade_frame_rate", "grade_resolution", "voiced_share",
]  # fmt: skip
