"""Speech -> timed phonemes without the text (the phonetic driver of the lip-sync model, in the spirit of Rhubarb).

1. faster-whisper, the bundled multilingual "base" model, transcribes the audio with word timestamps (language
   auto-detected; faster-whisper walks long audio in 30 s windows itself, so 5-minute inputs are fine).
2. Each word span is tightened to its audible part (frames within 25 dB of the span's loudest 20 ms); a word
   with no audible frame is dropped (Whisper's hallucinated "Thank you." on silence or music).
3. Each word is read by the espeak-ng engine with the detected language's voice; its phoneme events (relative
   durations) are time-warped onto the tightened span.
4. Refinement with the audio: the vowels of a word are moved so their centres sit on the loudest voiced rows
   of the word (energy peaks: the mouth is open where the voiced energy peaks); a bilabial stop or nasal
   (p b m) inside a word is centred on the quietest row between its neighbouring vowels.

Returns `PhonemeTiming`s (the same type TTS gives) so `lipsync.track_from_phonemes` serves both paths.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from synthesis.speech.types import PhonemeTiming

SAMPLE_RATE = 16000
ROW = 320  # 20 ms
_CACHE: dict[tuple[str, str], list[tuple[str, float, float]]] = {}
_CACHE_LOCK = threading.Lock()
_ESPEAK_LOCK = threading.Lock()
# Whisper's word timestamps come early: on espeak sentences with known phoneme timings the ASR-aligned viseme track
# matched best when the words were moved ~0.1 s later (mean r 0.30 unshifted, 0.60 at +0.08-0.12 s; measured on
# generated speech only, never on the benchmark footage).
ASR_DELAY_S = 0.1
VOWEL_HEADS = set("aeiouyøœɑæɐʌäɔʊɒəɜɚɝɤɯɘɵɪɛɨ")


def _row_db(audio: np.ndarray) -> np.ndarray:
    n = int(math.ceil(len(audio) / ROW))
    if n == 0:
        return np.zeros(0)
    padded = np.zeros(n * ROW, np.float64)
    padded[: len(audio)] = audio
    return 10 * np.log10((padded.reshape(n, ROW) ** 2).mean(1) + 1e-10)


def _voiced_db(audio: np.ndarray) -> np.ndarray:
    """Loudness of the 80-1000 Hz band per 20 ms row (voiced energy: vowels, not fricatives)."""
    from scipy.signal import butter, sosfiltfilt

    if len(audio) < 100:
        return _row_db(audio)
    sos = butter(4, [80, 1000], btype="band", fs=SAMPLE_RATE, output="sos")
    return _row_db(sosfiltfilt(sos, audio.astype(np.float64)))


def _engine_voice(language: str) -> str:
    from synthesis.speech import catalog

    try:
        voice = catalog.default_voice(language)
        if voice.engine == "espeak":
            return voice.engine_voice.split("+")[0]
    except Exception:  # noqa: BLE001 - unknown language: espeak's own name, else English letters
        pass
    return {"zh": "cmn", "yue": "yue", "en": "en-us"}.get(language, language or "en-us")


def word_phonemes(word: str, language: str) -> list[tuple[str, float, float]]:
    """espeak's phonemes of one word with times relative to its length (0..1)."""
    key = (language, word)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    from synthesis.speech.engines import espeak

    out: list[tuple[str, float, float]] = []
    voices = [_engine_voice(language)]
    if voices[0] != "en-us":
        voices.append("en-us")
    for voice in voices:
        try:
            with _ESPEAK_LOCK:
                pcm, rate, _, events = espeak.synthesize_raw(word, voice)
        except Exception:  # noqa: BLE001 - a voice espeak lacks: try the next
            continue
        timings = espeak._phoneme_timings(events, len(pcm) / rate)
        timings = [t for t in timings if t.end > t.start]
        if timings:
            t0, t1 = timings[0].start, timings[-1].end
            span = max(t1 - t0, 1e-6)
            out = [(t.phoneme, (t.start - t0) / span, (t.end - t0) / span) for t in timings]
            break
    with _CACHE_LOCK:
        _CACHE[key] = out
    return out


def is_vowel(phoneme: str) -> bool:
    head = phoneme.strip().lstrip("ˈˌ'\",:")[:1].lower()
    return head in VOWEL_HEADS


def transcribe_words(audio: np.ndarray) -> tuple[list[tuple[float, float, str]], str]:
    from synthesis.speech import asr

    if len(audio) < SAMPLE_RATE // 10 or float(np.max(np.abs(audio))) < 1e-4:
        return [], ""
    tr = asr.transcribe((audio, SAMPLE_RATE), word_timestamps=True)
    return [(s, e, w) for s, e, w in (tr.words or []) if w.strip() and e > s], tr.language


def _tighten(start: float, end: float, db: np.ndarray, floor: float) -> tuple[float, float] | None:
    a, b = int(start / 0.02), int(math.ceil(end / 0.02))
    a, b = max(0, a), min(len(db), max(b, a + 1))
    if a >= b:
        return None
    seg = db[a:b]
    keep = np.flatnonzero((seg > seg.max() - 25) & (seg > floor))
    if not len(keep):
        return None
    return (a + keep[0]) * 0.02, (a + keep[-1] + 1) * 0.02


def align(audio: np.ndarray, words=None, language: str | None = None, refine: bool = True) -> list[PhonemeTiming]:
    """Timed phonemes of 16 kHz float audio (ASR words -> espeak phonemes -> warped and refined)."""
    audio = np.asarray(audio, np.float32).reshape(-1)
    if words is None:
        words, language = transcribe_words(audio)
    if not words:
        return []
    db = _row_db(audio)
    vdb = _voiced_db(audio)
    floor = max(float(np.percentile(db, 95)) - 45.0, -70.0) if len(db) else -70.0
    out: list[PhonemeTiming] = []
    for start, end, word in words:
        span = _tighten(start + ASR_DELAY_S, end + ASR_DELAY_S, db, floor)
        if span is None:
            continue
        s, e = span
        phs = word_phonemes(word.strip(" .,!?;:\"'。，！？、"), language or "en")
        if not phs:
            continue
        timed = [[p, s + a * (e - s), s + b * (e - s)] for p, a, b in phs]
        if refine and len(timed) > 1:
            timed = _refine(timed, vdb, s, e)
        out += [PhonemeTiming(p, round(a, 4), round(b, 4)) for p, a, b in timed]
    return out


def _refine(timed: list, vdb: np.ndarray, s: float, e: float) -> list:
    """Move vowel centres to voiced-energy peaks and p/b/m to dips, keeping the order; re-derive boundaries."""
    a, b = int(s / 0.02), int(math.ceil(e / 0.02))
    seg = vdb[a:b]
    if len(seg) < 3:
        return timed
    centres = np.array([(t[1] + t[2]) / 2 for t in timed])
    vowels = [i for i, t in enumerate(timed) if is_vowel(t[0])]
    for i in vowels:
        lo = timed[i - 1][1] if i > 0 else s
        hi = timed[i + 1][2] if i + 1 < len(timed) else e
        r0, r1 = max(a, int(lo / 0.02)), min(b, int(math.ceil(hi / 0.02)))
        if r1 - r0 >= 2:
            peak = r0 + int(np.argmax(vdb[r0:r1]))
            centres[i] = 0.5 * centres[i] + 0.5 * (peak + 0.5) * 0.02
    for i, t in enumerate(timed):
        head = t[0].strip().lstrip("ˈˌ'\",:")[:1]
        if head in ("p", "b", "m") and 0 < i < len(timed) - 1:
            r0, r1 = max(a, int(centres[i - 1] / 0.02)), min(b, int(math.ceil(centres[i + 1] / 0.02)))
            if r1 - r0 >= 2:
                dip = r0 + int(np.argmin(vdb[r0:r1]))
                centres[i] = 0.5 * centres[i] + 0.5 * (dip + 0.5) * 0.02
    centres = np.maximum.accumulate(np.clip(centres, s, e))
    bounds = np.concatenate([[s], (centres[:-1] + centres[1:]) / 2, [e]])
    return [[t[0], float(bounds[i]), float(max(bounds[i + 1], bounds[i]))] for i, t in enumerate(timed)]
