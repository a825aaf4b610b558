"""Split a long recording (an hour or more) into short transcribed utterances for voice training.

The file is streamed in blocks: each block is downmixed and resampled to 16 kHz for voice activity detection
(Silero, bundled with faster-whisper; an energy detector when it is unavailable), cut at pauses into
2-15 s utterances, and each utterance is written as a 16-bit mono WAV at the source rate and transcribed.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import asr

MIN_SECONDS = 2.0
MAX_SECONDS = 15.0
BLOCK_SECONDS = 120.0
VAD_RATE = 16000
ENERGY_FRAME_SECONDS = 0.03

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Utterance:
    path: str
    text: str
    start: float
    end: float


def split_long_audio(
    path: str | os.PathLike,
    language: str | None,
    out_dir: str | os.PathLike,
    progress: Progress | None = None,
    *,
    transcribe: bool = True,
) -> list[Utterance]:
    """Cut `path` at pauses into 2-15 s utterances, written as WAVs under `out_dir`, each with its transcript."""
    import soundfile

    report = progress or (lambda percent, stage: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    utterances: list[Utterance] = []
    with soundfile.SoundFile(os.fspath(path)) as sound:
        rate = sound.samplerate
        total = max(sound.frames, 1)
        block_frames = int(BLOCK_SECONDS * rate)
        carry = np.zeros(0, dtype=np.float32)  # unfinished speech from the previous block
        carry_start = 0  # its position in source samples
        position = 0
        while True:
            block = sound.read(block_frames, dtype="float32", always_2d=True)
            last = len(block) < block_frames
            mono = block.mean(axis=1) if len(block) else np.zeros(0, dtype=np.float32)
            position += len(mono)
            audio = np.concatenate([carry, mono])
            spans = _utterance_spans(audio, rate)
            # Keep the last span for the next block unless the file ended: it may continue there.
            keep_from = len(audio) if last or not spans else spans[-1][0]
            finished = spans if last else spans[:-1]
            for start, end in finished:
                utterances.append(_write(audio[start:end], rate, carry_start + start, out, len(utterances)))
            carry_start += keep_from
            carry = audio[keep_from:]
            if len(carry) > int(MAX_SECONDS * rate) * 2:  # no pause for a long time: drop what cannot be cut
                carry_start += len(carry) - int(MAX_SECONDS * rate)
                carry = carry[-int(MAX_SECONDS * rate):]
            report(min(50.0, 50.0 * position / total), "detecting speech")
            if last:
                break
    if transcribe:
        utterances = _transcribe_all(utterances, language, report)
    report(100.0, "done")
    return utterances


def _write(samples: np.ndarray, rate: int, start_sample: int, out: Path, number: int) -> Utterance:
    import soundfile

    file_path = out / f"utt_{number + 1:05d}.wav"
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    soundfile.write(os.fspath(file_path), pcm, rate, subtype="PCM_16")
    return Utterance(str(file_path), "", round(start_sample / rate, 3), round((start_sample + len(samples)) / rate, 3))


def _transcribe_all(utterances: list[Utterance], language: str | None, report: Progress) -> list[Utterance]:
    done = []
    for number, utterance in enumerate(utterances):
        report(50.0 + 50.0 * number / max(len(utterances), 1), "transcribing")
        text = asr.transcribe(utterance.path, language).text
        done.append(Utterance(utterance.path, text, utterance.start, utterance.end))
    return done


def _utterance_spans(audio: np.ndarray, rate: int) -> list[tuple[int, int]]:
    """Speech spans (source samples) merged/split into MIN_SECONDS..MAX_SECONDS pieces at pauses."""
    if len(audio) == 0:
        return []
    speech = _speech_spans(asr.resample(audio, rate, VAD_RATE))
    scale = rate / VAD_RATE
    spans = [(int(start * scale), min(int(end * scale), len(audio))) for start, end in speech]
    return _group(spans, rate)


def _speech_spans(samples16k: np.ndarray) -> list[tuple[int, int]]:
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        options = VadOptions(min_silence_duration_ms=300, speech_pad_ms=150, min_speech_duration_ms=250)
        stamps = get_speech_timestamps(samples16k, options, sampling_rate=VAD_RATE)
        return [(stamp["start"], stamp["end"]) for stamp in stamps]
    except (ImportError, RuntimeError, OSError):
        return _energy_spans(samples16k, VAD_RATE)


def _energy_spans(samples: np.ndarray, rate: int) -> list[tuple[int, int]]:
    frame = int(rate * ENERGY_FRAME_SECONDS)
    count = len(samples) // frame
    if count == 0:
        return []
    energy = 20 * np.log10(np.sqrt(np.mean(samples[: count * frame].reshape(count, frame) ** 2, axis=1)) + 1e-6)
    active = energy > max(np.percentile(energy, 95) - 35.0, -60.0)
    spans, start = [], None
    for index, is_speech in enumerate(np.append(active, False)):
        if is_speech and start is None:
            start = index
        elif not is_speech and start is not None:
            spans.append((start * frame, index * frame))
            start = None
    return spans


def _group(spans: list[tuple[int, int]], rate: int) -> list[tuple[int, int]]:
    """Join neighbouring speech spans up to MAX_SECONDS; split single spans that are longer; drop short leftovers."""
    max_len, min_len = int(MAX_SECONDS * rate), int(MIN_SECONDS * rate)
    pieces = []
    for start, end in spans:
        while end - start > max_len:
            pieces.append((start, start + max_len))
            start += max_len
        pieces.append((start, end))
    groups: list[tuple[int, int]] = []
    for start, end in pieces:
        if groups and end - groups[-1][0] <= max_len and groups[-1][1] - groups[-1][0] < min_len:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((start, end))
    if len(groups) > 1 and groups[-1][1] - groups[-1][0] < min_len and groups[-1][1] - groups[-2][0] <= max_len:
        groups[-2:] = [(groups[-2][0], groups[-1][1])]
    return [group for group in groups if group[1] - group[0] >= min_len]
