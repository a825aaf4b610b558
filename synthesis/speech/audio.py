"""PCM helpers: resampling, gain, silence, WAV/MP3 encoding and WAV reading. Audio is int16 mono numpy."""

from __future__ import annotations

import io
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from .types import SAMPLE_RATES, SpeechError

FORMATS = ("wav", "mp3")
MP3_BITRATE = "64k"
FFMPEG_TIMEOUT_S = 120


def to_int16(audio: np.ndarray) -> np.ndarray:
    """float in [-1, 1] (or int16 already) -> int16, clipped."""
    if audio.dtype == np.int16:
        return audio
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def resample(pcm: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly); int16 in, int16 out (float in, float out)."""
    if sr_from == sr_to or len(pcm) == 0:
        return pcm.copy() if sr_from == sr_to else np.zeros(0, dtype=pcm.dtype)
    ratio = Fraction(sr_to, sr_from)
    out = resample_poly(pcm.astype(np.float32), ratio.numerator, ratio.denominator)
    if pcm.dtype == np.int16:
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)
    return out.astype(pcm.dtype)


def apply_gain(pcm: np.ndarray, gain: float) -> np.ndarray:
    """Multiply by `gain`, clipping to the sample type's range."""
    if gain == 1.0:
        return pcm
    if pcm.dtype == np.int16:
        return np.clip(np.round(pcm.astype(np.float32) * gain), -32768, 32767).astype(np.int16)
    return np.clip(pcm * gain, -1.0, 1.0).astype(pcm.dtype)


def silence(seconds: float, sr: int, dtype=np.int16) -> np.ndarray:
    return np.zeros(max(0, int(round(seconds * sr))), dtype=dtype)


def check_sample_rate(sample_rate: int) -> int:
    if sample_rate not in SAMPLE_RATES:
        raise SpeechError(
            f"sample rate must be one of {', '.join(map(str, SAMPLE_RATES))}", field="sample_rate", code="invalid"
        )
    return sample_rate


def encode(pcm: np.ndarray, sample_rate: int, fmt: str = "wav") -> bytes:
    """Encode int16 mono PCM as "wav" (16-bit PCM) or "mp3" (ffmpeg, libmp3lame)."""
    pcm = to_int16(np.asarray(pcm))
    if fmt == "wav":
        return _encode_wav(pcm, sample_rate)
    if fmt == "mp3":
        return _encode_mp3(pcm, sample_rate)
    raise SpeechError(f"audio format must be one of {', '.join(FORMATS)}", field="format", code="invalid")


def _encode_wav(pcm: np.ndarray, sample_rate: int) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, pcm, sample_rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def _encode_mp3(pcm: np.ndarray, sample_rate: int) -> bytes:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is not installed; MP3 output is unavailable")
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
        "-codec:a", "libmp3lame", "-b:a", MP3_BITRATE, "-f", "mp3", "pipe:1",
    ]
    result = subprocess.run(command, input=pcm.astype("<i2").tobytes(), capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {result.stderr.decode(errors='replace')[-300:]}")
    return result.stdout


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a WAV (any PCM/float subtype) as int16 mono, downmixing channels by averaging."""
    import soundfile

    data, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    return to_int16(mono), int(sample_rate)
