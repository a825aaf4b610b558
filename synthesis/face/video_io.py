"""Raw frames in and out of ffmpeg through pipes.

Decoding in an ffmpeg process (not in Python) keeps a core free for the analysis and gives a constant frame
rate even for variable-frame-rate phone footage."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthesis.media import _tools
from synthesis.media.errors import MediaError


@dataclass(frozen=True)
class VideoFormat:
    width: int
    height: int
    fps: float
    duration_s: float
    has_audio: bool


def video_format(path: os.PathLike | str) -> VideoFormat:
    """Size, frame rate, duration and audio presence of a video file (MediaError when it has no video)."""
    from synthesis.media.probe import probe

    info = probe(path)
    if info.error or not info.width or not info.height:
        raise MediaError(info.error or "the file holds no video stream")
    return VideoFormat(int(info.width), int(info.height), float(info.fps or 25.0), float(info.duration_s or 0.0),
                       bool(info.has_audio))


def output_fps(source_fps: float) -> int:
    """The constant frame rate a model is trained at: 30 for 30 fps and faster sources, 25 otherwise."""
    return 30 if source_fps >= 29.0 else 25


def even(n: float) -> int:
    return max(2, int(round(n / 2.0)) * 2)


def scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    if not max_side or max(width, height) <= max_side:
        return even(width), even(height)
    k = max_side / float(max(width, height))
    return even(width * k), even(height * k)


def read_frames(
    path: os.PathLike | str,
    *,
    size: tuple[int, int],
    fps: float | None = None,
    start_s: float = 0.0,
    duration_s: float | None = None,
    gray: bool = False,
) -> Iterator[np.ndarray]:
    """Yield BGR (or grey) uint8 frames scaled to `size`, resampled to a constant `fps` when given."""
    width, height = size
    filters = [f"scale={width}:{height}:flags=area"]
    if fps:
        filters.insert(0, f"fps={fps:g}")
    seek = ["-ss", f"{start_s:.3f}"] if start_s > 0 else []
    length = ["-t", f"{duration_s:.3f}"] if duration_s else []
    pix_fmt, channels = ("gray", 1) if gray else ("bgr24", 3)
    argv = [
        _tools.tool_path("ffmpeg"), "-nostdin", "-v", "error", *_tools.INPUT_GUARD, *seek,
        "-i", os.fspath(path), *length, "-an", "-vf", ",".join(filters), "-f", "rawvideo", "-pix_fmt", pix_fmt, "-",
    ]  # fmt: skip
    frame_bytes = width * height * channels
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, bufsize=frame_bytes * 2)
    try:
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            frame = np.frombuffer(buf, np.uint8)
            yield frame.reshape(height, width) if gray else frame.reshape(height, width, 3)
        proc.stdout.close()
        err = proc.stderr.read()
        if proc.wait(timeout=30) != 0:
            raise MediaError(f"the video could not be decoded: {_tools.tail(err) or 'ffmpeg failed'}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class VideoWriter:
    """Frames in, H.264 MP4 out (optionally muxed with an audio file); use as a context manager."""

    def __init__(
        self,
        path: os.PathLike | str,
        *,
        size: tuple[int, int],
        fps: float,
        audio: os.PathLike | str | None = None,
        crf: int = 20,
        preset: str = "veryfast",
        gray: bool = False,
        fast_decode: bool = False,
    ):
        self.path = Path(path)
        tune = ["-tune", "fastdecode"] if fast_decode else []
        self.size = size
        audio_in = ["-i", os.fspath(audio)] if audio else []
        audio_out = ["-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "128k", "-shortest"] if audio else []
        self._argv = [
            _tools.tool_path("ffmpeg"), "-nostdin", "-v", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "gray" if gray else "bgr24", "-s", f"{size[0]}x{size[1]}",
            "-r", f"{fps:g}", "-i", "-", *audio_in, *audio_out,
            "-c:v", "libx264", "-preset", preset, *tune, "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", os.fspath(self.path),
        ]  # fmt: skip
        self._proc: subprocess.Popen | None = None
        self.frames = 0

    def __enter__(self) -> VideoWriter:
        self._proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, start_new_session=True)
        return self

    def write(self, frame: np.ndarray) -> None:
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError as exc:
            raise MediaError(f"the video encoder stopped: {_tools.tail(self._proc.stderr.read())}") from exc
        self.frames += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        self._proc.stdin.close()
        err = self._proc.stderr.read()
        code = self._proc.wait(timeout=120)
        if exc_type is None and code != 0:
            raise MediaError(f"the video could not be encoded: {_tools.tail(err)}")
