"""The sound track of a timeline, built once before the pictures: each scene's speech at its first frame's
sample, the scenes' other sounds (audio beds, the sound of videos: `scene_sounds`) and music looped or cut to
the whole length, both ducked under the speech, the music faded out; written as a 16-bit stereo WAV in chunks
(the music is streamed from ffmpeg, so a 10-minute video never holds its music in memory; the speech track,
int16 mono, is 58 MB for 10 minutes at 48 kHz; a scene sound holds at most one pass of itself, no longer than
its scene).

Scene sounds on the frame grid: a sound starts at the sample of its first frame (`frame_sample`) and stops at
the sample of its last; the sound of a video is shifted by the video's own offset between its audio and its
picture (stream start times), and when the video loops, the sound repeats every round(video stream length *
rate) samples, the period the compositor's looping video reader repeats its picture with (ffmpeg's
`-stream_loop` offsets each pass by the video stream's length and the `fps` filter samples it on the frame
grid), so a picture and its sound never drift apart, however many passes. A sound cut at its end fades out over
10 ms (no click at a scene change).

Ducking: the speech's RMS in 10 ms blocks marks where speech is (above max(-50 dBFS, loudest block - 35 dB),
held 250 ms over pauses between words); the music gain moves towards -duck_db there, linearly in dB, taking
`attack_s` to go down and `release_s` to come back, and starts going down `attack_s` BEFORE the speech (look
ahead) so the first syllable is not masked."""

from __future__ import annotations

import json
import os
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthesis.media import _tools
from synthesis.media.errors import MediaError

from .timeline import Music, Sound, Timeline

SAMPLE_RATE = 48000
BLOCK_S = 0.010
HOLD_S = 0.25
CHUNK_S = 2.0
DECODE_TIMEOUT_S = 300
PROBE_TIMEOUT_S = 60
EDGE_FADE_S = 0.010
# Scene sounds (beds, the sound of videos) duck under the speech like ducked music.
SOUND_DUCK = Music(path="", duck=True, duck_db=12.0)


def decode_mono(path: os.PathLike | str, rate: int = SAMPLE_RATE, *, seconds: float | None = None) -> np.ndarray:
    """Any audio (or the sound of a video) as int16 mono at `rate` (ffmpeg's downmix: the same signal in both
    channels of a stereo file comes out 3 dB lower); only the first `seconds` when given."""
    limit = ["-t", f"{max(seconds, 0.001):.6f}"] if seconds is not None else []
    proc = _tools.run(["ffmpeg", "-nostdin", "-v", "error", *_tools.INPUT_GUARD, "-i", _tools.abspath(path),
                       *limit, "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
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


# --- scene sounds ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamTimes:
    """What a file's streams say about where its sound sits against its picture."""

    has_audio: bool
    audio_start: float = 0.0
    video_start: float | None = None  # None: no picture (cover art does not count)
    video_length: float | None = None  # seconds of the video stream (its loop period)


def _seconds(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.count(":") == 2:  # Matroska's DURATION tag, "00:00:01.520000000"
            hours, minutes, rest = value.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(rest)
        return None
    return number if np.isfinite(number) else None


def stream_times(path: os.PathLike | str) -> StreamTimes:
    """The audio and video streams of a file (ffprobe); MediaError when it cannot be read."""
    proc = _tools.run(["ffprobe", "-v", "error", "-show_entries",
                       "stream=codec_type,start_time,duration:stream_tags=DURATION:stream_disposition=attached_pic"
                       ":format=duration", "-of", "json", _tools.abspath(path)],
                      timeout=PROBE_TIMEOUT_S, what=f"reading {Path(path).name}")
    try:
        info = json.loads(proc.stdout or b"{}")
    except ValueError:
        raise MediaError(f"{Path(path).name} could not be read") from None
    streams = info.get("streams") or []
    audio = next((st for st in streams if st.get("codec_type") == "audio"), None)
    video = next((st for st in streams if st.get("codec_type") == "video"
                  and not (st.get("disposition") or {}).get("attached_pic")), None)
    if video is None:
        return StreamTimes(audio is not None, _seconds((audio or {}).get("start_time")) or 0.0)
    length = (_seconds(video.get("duration")) or _seconds((video.get("tags") or {}).get("DURATION"))
              or _seconds((info.get("format") or {}).get("duration")))
    return StreamTimes(audio is not None, _seconds((audio or {}).get("start_time")) or 0.0,
                       _seconds(video.get("start_time")) or 0.0, length)


@dataclass
class PlacedSound:
    """A scene sound on the whole track: `pcm` (float32 mono, its gain applied) plays from sample `start` to
    `end` (exclusive), repeating every `period` samples when `period` is set."""

    start: int
    end: int
    pcm: np.ndarray
    period: int | None = None
    duck: bool = True
    fade: int = int(EDGE_FADE_S * SAMPLE_RATE)

    def samples(self, s0: int, s1: int) -> tuple[int, np.ndarray] | None:
        """(first track sample, samples) of this sound within [s0, s1), with its edge fades; None if silent."""
        a, b = max(s0, self.start), min(s1, self.end)
        if self.period is None:
            b = min(b, self.start + len(self.pcm))
        if b <= a or not len(self.pcm):
            return None
        pos = np.arange(a - self.start, b - self.start)
        part = self.pcm[pos % self.period] if self.period else self.pcm[pos[0]:pos[-1] + 1]
        fade = max(1, self.fade)
        length = self.end - self.start
        if pos[-1] >= length - fade:  # cut at its end: faded out (it starts where its file starts)
            part = part * np.clip((length - pos) / fade, 0.0, 1.0).astype(np.float32)
        return a, part


def place_sound(sound: Sound, start: int, end: int, rate: int = SAMPLE_RATE) -> PlacedSound | None:
    """`sound` from track sample `start` to `end` (see the module docstring); None when it has no sound."""
    window = end - start
    if window <= 0 or sound.gain <= 0:
        return None
    times = stream_times(sound.path)
    if not times.has_audio:
        return None
    lead = 0 if times.video_start is None else int(round((times.audio_start - times.video_start) * rate))
    period = None
    if sound.loop and times.video_start is not None and times.video_length:
        period = max(1, int(round(times.video_length * rate)))
    need = window if period is None else min(window, period)
    pcm = decode_mono(sound.path, rate, seconds=(need - lead) / rate + 0.05).astype(np.float32) * sound.gain
    if lead > 0:
        pcm = np.concatenate([np.zeros(lead, np.float32), pcm])
    elif lead < 0:
        pcm = pcm[-lead:]
    if period is None and sound.loop and 0 < len(pcm) < window:
        period = len(pcm)  # a sound-only file repeats its own length
    if period is not None:
        pcm = np.concatenate([pcm[:need], np.zeros(max(0, need - len(pcm)), np.float32)])
    else:
        pcm = pcm[:need]
    if not np.any(pcm):
        return None
    return PlacedSound(start, end, pcm, period, sound.duck, int(EDGE_FADE_S * rate))


def scene_sounds(timeline: Timeline, counts: Sequence[int], rate: int = SAMPLE_RATE) -> list[PlacedSound]:
    """Every scene's sounds placed on the whole track (`counts`: each scene's frames)."""
    fps = float(timeline.canvas.fps)
    placed, at = [], 0
    for scene, count in zip(timeline.scenes, counts, strict=True):
        for sound in scene.sounds:
            first, last = sound.frame_range(count, fps)
            one = place_sound(sound, frame_sample(at + first, fps, rate), frame_sample(at + last, fps, rate), rate)
            if one is not None:
                placed.append(one)
        at += count
    return placed


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


def _gain(gain_db: np.ndarray, s0: int, s1: int, block: int) -> np.ndarray:
    """Linear gain per sample of [s0, s1) from block gains in dB (centred on their blocks, interpolated)."""
    pos = np.arange(s0, s1, dtype=np.float64)
    centres = (np.arange(len(gain_db)) + 0.5) * block
    return 10.0 ** (np.interp(pos, centres, gain_db) / 20.0)


def _sounds_mix(sounds: Sequence[PlacedSound], s0: int, s1: int, ducked: np.ndarray | None) -> np.ndarray | None:
    """The scene sounds of [s0, s1) as float32 mono (the ducked ones times `ducked`), None when silent."""
    out = None
    for sound in sounds:
        got = sound.samples(s0, s1)
        if got is None:
            continue
        a, part = got
        if sound.duck and ducked is not None:
            part = part * ducked[a - s0:a - s0 + len(part)]
        if out is None:
            out = np.zeros(s1 - s0, np.float32)
        out[a - s0:a - s0 + len(part)] += part
    return out


def write_mix(out_wav: os.PathLike | str, speech: np.ndarray, music: Music | None, rate: int = SAMPLE_RATE, *,
              sounds: Sequence[PlacedSound] = ()) -> Path:
    """speech (int16 mono, the whole length) + the scene sounds (ducked, see `scene_sounds`) + music (looped, at
    music.volume, ducked, faded out) -> a 16-bit stereo WAV of exactly len(speech) samples."""
    out = Path(out_wav)
    total = len(speech)
    gain_db = duck_gain_db(speech, music, rate) if music is not None else None
    sound_db = duck_gain_db(speech, SOUND_DUCK, rate) if any(sound.duck for sound in sounds) else None
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
                if sounds:
                    ducked = _gain(sound_db, s0, s1, block).astype(np.float32) if sound_db is not None else None
                    bed = _sounds_mix(sounds, s0, s1, ducked)
                    if bed is not None:
                        mix += bed[:, None]
                if stream is not None:
                    tune = stream.read(s1 - s0) * (music.volume * 32767.0)
                    g = _gain(gain_db, s0, s1, block)
                    if fade > 0 and s1 > total - fade:
                        g = g * np.clip((total - np.arange(s0, s1, dtype=np.float64)) / fade, 0.0, 1.0)
                    mix += tune * g[:, None].astype(np.float32)
                wav.writeframes(np.clip(np.rint(mix), -32768, 32767).astype("<i2").tobytes())
    finally:
        if stream is not None:
            stream.close()
    return out
