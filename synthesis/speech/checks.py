"""Quality checks for one prompted sentence of a voice-training set.

Each problem carries a stable code and a message that tells the speaker what to do about it.
"""

import io
import os
from dataclasses import dataclass, field

import numpy as np

from . import asr as asr_module

MIN_SAMPLE_RATE = 16000
MIN_SECONDS = 1.0
MAX_SECONDS = 30.0
CLIPPING_SHARE = 0.001  # share of samples at full scale
SILENT_DBFS = -40.0  # loudest speech frames below this: nothing usable was recorded
NOISE_FLOOR_DBFS = -45.0
MIN_SNR_DB = 20.0
MISMATCH_ERROR_RATE = 0.45
FRAME_SECONDS = 0.02
_WAV_FORMATS = {"WAV", "WAVEX", "RF64"}


@dataclass(frozen=True)
class Problem:
    code: str  # UNREADABLE, NOT_WAV, SAMPLE_RATE, NOT_MONO, TOO_SHORT, TOO_LONG, CLIPPING, SILENT, NOISY, TEXT_MISMATCH
    message: str


@dataclass
class RecordingReport:
    ok: bool
    problems: list[Problem] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return [problem.code for problem in self.problems]


def check_recording(
    audio,
    expected_text: str | None,
    language: str,
    *,
    asr: bool = True,
    sentence_number: int | None = None,
) -> RecordingReport:
    """Check a path, bytes or (pcm, sample_rate) recording of `expected_text` read in `language`."""
    problems: list[Problem] = []
    try:
        samples, sample_rate, channels, file_format = _read(audio)
    except (RuntimeError, ValueError, OSError) as error:
        message = "the file could not be read as audio; upload an uncompressed WAV recording (16-bit PCM, mono)"
        return RecordingReport(False, [Problem("UNREADABLE", message)], {"error": str(error)})
    if file_format is not None and file_format not in _WAV_FORMATS:
        problems.append(Problem("NOT_WAV", f"this is a {file_format} file; export the recording as WAV and upload it"))
    metrics = {"sample_rate": sample_rate, "channels": channels, "duration": round(len(samples) / sample_rate, 3)}
    problems += _format_problems(sample_rate, channels, metrics["duration"])
    mono = samples.mean(axis=1) if samples.ndim > 1 else samples
    levels = measure_levels(mono, sample_rate)
    metrics.update(levels)
    level_problems = _level_problems(levels)
    problems += level_problems
    silent = any(problem.code == "SILENT" for problem in level_problems)
    if asr and expected_text and not silent and len(mono) > 0:
        mismatch = _text_problem(mono, sample_rate, expected_text, language, sentence_number, metrics)
        if mismatch:
            problems.append(mismatch)
    return RecordingReport(not problems, problems, metrics)


def _read(audio) -> tuple[np.ndarray, int, int, str | None]:
    if isinstance(audio, tuple):
        pcm, sample_rate = audio
        samples = asr_module.to_float(np.asarray(pcm))
        channels = 1 if samples.ndim == 1 else samples.shape[1]
        return samples, int(sample_rate), channels, None
    import soundfile

    source = io.BytesIO(audio) if isinstance(audio, (bytes, bytearray)) else os.fspath(audio)
    try:
        with soundfile.SoundFile(source) as sound:
            samples = sound.read(dtype="float32", always_2d=False)
            return samples, sound.samplerate, sound.channels, sound.format
    except soundfile.LibsndfileError as error:
        raise ValueError(str(error)) from error


def _format_problems(sample_rate: int, channels: int, duration: float) -> list[Problem]:
    problems = []
    if sample_rate < MIN_SAMPLE_RATE:
        problems.append(Problem(
            "SAMPLE_RATE", f"record at 16 kHz or more; this file is {sample_rate} Hz (telephone quality is not enough)"
        ))
    if channels != 1:
        problems.append(Problem(
            "NOT_MONO", f"the recording has {channels} channels; stereo is refused: record or export it as mono"
        ))
    if duration < MIN_SECONDS:
        problems.append(Problem(
            "TOO_SHORT", f"the recording is only {duration:.2f} s long; read the whole sentence (at least 1 s)"
        ))
    elif duration > MAX_SECONDS:
        problems.append(Problem(
            "TOO_LONG", f"the recording is {duration:.1f} s long; keep each sentence under 30 s and trim the silence"
        ))
    return problems


def measure_levels(samples: np.ndarray, sample_rate: int) -> dict:
    """Peak, RMS, noise floor (quietest frames) and speech level (loudest frames) in dBFS, plus clipping share."""
    if len(samples) == 0:
        return {"peak_dbfs": -120.0, "rms_dbfs": -120.0, "noise_floor_dbfs": -120.0, "speech_dbfs": -120.0,
                "snr_db": 0.0, "clipped_share": 0.0}
    frame = max(1, int(sample_rate * FRAME_SECONDS))
    usable = len(samples) // frame * frame or len(samples)
    frames = samples[:usable].reshape(-1, min(frame, usable)).astype(np.float64)
    frame_db = _db(np.sqrt(np.mean(frames**2, axis=1)))
    noise_floor = float(np.percentile(frame_db, 10))
    speech_level = float(np.percentile(frame_db, 95))
    return {
        "peak_dbfs": round(_db(np.max(np.abs(samples))), 1),
        "rms_dbfs": round(_db(np.sqrt(np.mean(samples.astype(np.float64) ** 2))), 1),
        "noise_floor_dbfs": round(noise_floor, 1),
        "speech_dbfs": round(speech_level, 1),
        "snr_db": round(speech_level - noise_floor, 1),
        "clipped_share": round(float(np.mean(np.abs(samples) >= 0.999)), 5),
    }


def _db(value) -> float | np.ndarray:
    return 20.0 * np.log10(np.maximum(value, 1e-6))


def _level_problems(levels: dict) -> list[Problem]:
    if levels["speech_dbfs"] < SILENT_DBFS:
        return [Problem(
            "SILENT",
            f"no speech was heard (loudest part {levels['speech_dbfs']:.0f} dBFS); check the microphone is on and "
            "selected, move closer and read the sentence aloud",
        )]
    problems = []
    if levels["clipped_share"] > CLIPPING_SHARE:
        problems.append(Problem(
            "CLIPPING",
            f"the recording is too loud and distorts ({levels['clipped_share'] * 100:.1f} % of samples at full "
            "scale); lower the microphone gain or move back a little and record again",
        ))
    if levels["noise_floor_dbfs"] > NOISE_FLOOR_DBFS or levels["snr_db"] < MIN_SNR_DB:
        problems.append(Problem(
            "NOISY",
            f"the background noise is too loud ({levels['noise_floor_dbfs']:.0f} dBFS between words, "
            f"{levels['snr_db']:.0f} dB below the voice); record in a quiet room, away from fans and traffic "
            "(noise should stay under -45 dBFS)",
        ))
    return problems


def _text_problem(samples, sample_rate, expected_text, language, sentence_number, metrics) -> Problem | None:
    transcript = asr_module.transcribe((samples, sample_rate), language)
    rate = asr_module.error_rate(expected_text, transcript.text, language)
    metrics["transcript"] = transcript.text
    metrics["error_rate"] = round(rate, 3)
    if rate <= MISMATCH_ERROR_RATE:
        return None
    which = f"sentence {sentence_number}" if sentence_number is not None else "the sentence"
    heard = transcript.text or "nothing clear"
    return Problem(
        "TEXT_MISMATCH",
        f"the recording does not match {which}: heard '{heard}'; read exactly the text shown and record again",
    )
