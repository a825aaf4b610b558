"""Speech recordings made on the spot for voice tests: a "person" is an espeak voice the platform does not use
as a base, so recognisable speech with known text exists on a fresh machine without any media files."""

import io
import zipfile
from pathlib import Path

import numpy as np
import soundfile

from synthesis.speech import synth
from synthesis.speech.audio import encode
from synthesis.speech.types import SynthesisOptions

SPEAKER = "espeak-en-gb-m"  # the test speaker; bases are other voices


def speech(text: str, *, voice: str = SPEAKER, sample_rate: int = 16000, pitch: int = 80) -> np.ndarray:
    result = synth.synthesize(text, voice_id=voice, options=SynthesisOptions(sample_rate=sample_rate, pitch=pitch),
                              ssml=False)
    quiet = np.zeros(int(0.3 * sample_rate), dtype=np.int16)
    return np.concatenate([quiet, result.pcm, quiet])


def wav_bytes(pcm: np.ndarray, sample_rate: int = 16000) -> bytes:
    return encode(pcm, sample_rate, "wav")


def speech_wav(text: str, **kwargs) -> bytes:
    sample_rate = kwargs.get("sample_rate", 16000)
    return wav_bytes(speech(text, **kwargs), sample_rate)


def stereo_wav(text: str) -> bytes:
    pcm = speech(text)
    buffer = io.BytesIO()
    soundfile.write(buffer, np.stack([pcm, pcm], axis=1), 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def clipped_wav(text: str) -> bytes:
    pcm = speech(text).astype(np.int32) * 12
    return wav_bytes(np.clip(pcm, -32768, 32767).astype(np.int16))


def silent_wav(seconds: float = 3.0) -> bytes:
    return wav_bytes(np.zeros(int(seconds * 16000), dtype=np.int16))


def recordings_zip(prompts: list[str], *, skip: tuple[int, ...] = (), extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, text in enumerate(prompts, start=1):
            if number not in skip:
                archive.writestr(f"{number}.wav", speech_wav(text))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


PDF_LETTER = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
