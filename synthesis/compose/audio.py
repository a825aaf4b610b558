"""The sound track of a timeline, built once before the pictures: each scene's speech at its first frame's
sample, music looped or cut to the whole length, ducked under the speech, faded out; written as a 16-bit
stereo WAV in chunks (the music is streamed from ffmpeg, so a 10-minute video never holds its music in
memory; the speech track, int16 mono, is 58 MB for 10 minutes at 48 kHz).

Ducking: the speech's RMS in 10 ms blocks marks where speech is (above max(-50 dBFS, loudest block - 35 dB),
held 250 ms over pauses between words); the music gain moves towards -duck_db there, linearly in dB, taking
`attack_s` to go down and `release_s` to come back, and starts going down `attack_s` BEFORE the speech (look
ahead) so the first syllable is not masked."""

from __future__ import annotations

import os
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthesis.media import _tools
from synthesis.media.errors import MediaError

from .timeline import Music

SAMPLE_RATE = 48000
BLOCK_S = 0.010
HOLD_S = 0.25
CHUNK_S = 2.0
DECODE_TIMEOUT_S = 300


def decode_mono(path: os.PathLike | str, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Any audio (or the sound of a video) as int16 mono at `rate` (channels averaged)."""
    proc = _tools.run(["ffmpeg", "-nostdin", "-v", "error", *_tools.INPUT_GUARD, "-i", _tools.abspath(path),
                       "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
                      timeout=DECODE_TIMEOUT_S, what=f"decoding {Path(path).name}")
    return np.frombuffer(proc.stdout, np.int16)


def frame_sample(frame: int, fps: float, rate: int = SAMPLE_RATE) -> int:
    """The audio sample where a frame starts (the one formula used everywhere, so nothing drifts)."""
    return int(round(frame * rate / float(fps)))


@dataclass
class SpeechClip:
    start_sample: int
    pcm: np.ndarray  # int16 mono
    gain: float = 1.0


def speech_track(clips: list[SpeechClip], total: int, max_lengths: list[int] | None = None) -> np.ndarray:
    """The clips placed on one int16 mono track of `total` samples (each cut to its max length, when given)."""
    track = np.zeros(total, np.int16)
    for k, clip in enumerate(clips):
        pcm = clip.pcm
        if max_lengths is not None:
            pcm = pcm[: max_lengths[k]]
        pcm = pcm[: max(0, total - clip.start_sample)]
        if clip.gain != 1.0:
            pcm = np.clip(pcm.astype(np.float32) * clip.gain, -32768, 32767).astype(np.int16)
        track[clip.start_sample: clip.start_sample + len(pcm)] = pcm
    return track


def block_rms_db(track: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    block = int(rate * BLOCK_S)
    n = len(track) // block
    out = np.empty(n + (1 if len(track) % block else 0), np.float32)
    for i in range(0, n, 6000):  # a minute at a time: no float copy of the whole track
        part = track[i * block: min(n, i + 6000) * block].astype(np.float32).reshape(-1, block)
        out[i: i + len(part)] = 10 * np.log10(np.mean(part * part, axis=1) / 32768.0**2 + 1e-12)
    if len(out) > n:
        rest = track[n * block:].astype(np.float32)
        out[n] = 10 * np.log10(np.mean(rest * rest) / 32768.0**2 + 1e-12)
    return out


def duck_gain_db(speech: np.ndarray, music: Music, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Music gain in dB per 10 ms block (0 or down to -duck_db), from the speech track."""
    level = block_rms_db(speech, rate)
    if not len(level) or not music.duck or music.duck_db <= 0:
        return np.zeros(len(level), np.float32)
    threshold = max(-50.0, float(level.max()) - 35.0)
    active = level > threshold
    if not active.any():
        return np.zeros(len(level), np.float32)
    # Hold over short pauses, and look ahead by the attack time (dilate forward and backward).
    hold = int(round(HOLD_S / BLOCK_S))
    ahead = int(round(music.attack_s / BLOCK_S))
    idx = np.flatnonzero(active)
    marks = np.zeros(len(level) + 1, np.int32)
    np.add.at(marks, np.maximum(0, idx - ahead), 1)
    np.add.at(marks, np.minimum(len(level), idx + hold + 1), -1)
    wanted = np.cumsum(marks[:-1]) > 0
    down = music.duck_db * BLOCK_S / max(BLOCK_S, music.attack_s)
    up = music.duck_db * BLOCK_S / max(BLOCK_S, music.release_s)
    gain = np.empty(len(level), np.float32)
    g = 0.0
    floor = -music.duck_db
    for i, w in enumerate(wanted.tolist()):
        g = max(floor, g - down) if w else min(0.0, g + up)
        gain[i] = g
    return gain


class _MusicStream:
    """Music as float32 stereo, looped forever, from one ffmpeg process."""

    def __init__(self, path: os.PathLike | str, rate: int):
        argv = [_tools.tool_path("ffmpeg"), "-nostdin", "-v", "error", "-stream_loop", "-1", *_tools.INPUT_GUARD,
                "-i", _tools.abspath(path), "-vn", "-ac", "2", "-ar", str(rate), "-f", "f32le", "-"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.name = Path(path).name

    def read(self, n: int) -> np.ndarray:
        want = n * 8
        data = bytearray()
        while len(data) < want:
            part = self.proc.stdout.read(want - len(data))
            if not part:
                break
            data += part
        if len(data) < want:
            err = self.proc.stderr.read() if self.proc.poll() is not None else b""
            raise MediaError(f"the music {self.name} could not be decoded: {_tools.tail(err) or 'no audio'}")
        return np.frombuffer(bytes(data), np.float32).reshape(n, 2)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def write_mix(out_wav: os.PathLike | str, speech: np.ndarray, music: Music | None, rate: int = SAMPLE_RATE) -> Path:
    """speech (int16 mono, the whole length) + music (looped, at music.volume, ducked, faded out) -> a 16-bit
    stereo WAV of exactly len(speech) samples."""
    out = Path(out_wav)
    total = len(speech)
    gain_db = duck_gain_db(speech, music, rate) if music is not None else None
    stream = _MusicStream(music.path, rate) if music is not None and music.volume > 0 and total else None
    chunk = int(CHUNK_S * rate)
    block = int(rate * BLOCK_S)
    fade = int((music.fade_out_s if music else 0) * rate)
    try:
        with wave.open(os.fspath(out), "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            for s0 in range(0, total, chunk):
                s1 = min(total, s0 + chunk)
                mix = np.repeat(speech[s0:s1, None].astype(np.float32), 2, axis=1)
                if stream is not None:
                    tune = stream.read(s1 - s0) * (music.volume * 32767.0)
                    # gain per sample: the block gains (centred on their blocks) interpolated
                    pos = np.arange(s0, s1, dtype=np.float64)
                    centres = (np.arange(len(gain_db)) + 0.5) * block
                    g = 10.0 ** (np.interp(pos, centres, gain_db) / 20.0)
                    if fade > 0 and s1 > total - fade:
                        g = g * np.clip((total - pos) / fade, 0.0, 1.0)
                    mix += tune * g[:, None].astype(np.float32)
                wav.writeframes(np.clip(np.rint(mix), -32768, 32767).astype("<i2").tobytes())
    finally:
        if stream is not None:
            stream.close()
    return out
