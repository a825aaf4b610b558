"""Train a voice from prompted recordings: parallel-data conversion from a base TTS voice with WORLD features."""

import time
from collections.abc import Callable

import numpy as np

from . import features
from .model import METHODS, TrainedVoice, VoiceConverter

BaseTTS = Callable[[str], tuple[np.ndarray, int]]
Progress = Callable[[float, str], None]

# Measured (benchmarks/voice_clone.py, 12 sentences): "ridge+gv" raised similarity a little over "ridge" at the same
# WER; "exemplar" and "ridge+knn" raised it a little more but cost 30-50 WER points.
DEFAULT_METHOD = "ridge+gv"
RIDGE_ALPHA = 1.0
CODEBOOK_SIZE = 8000
HOLDOUT_SHARE = 0.1
TEMPO_RANGE = (0.7, 1.4)
REALIGN_PASSES = 1  # re-run DTW between the ridge-converted base and the target, then refit
_BASE_VOICES = {"zh": "espeak-cmn-f", "en": "piper-en-us-joe"}


def default_base_voice(language: str) -> str:
    """The preset voice whose readings the mapping learns from (the neural English voice maps best)."""
    return _BASE_VOICES.get(language.split("-")[0].lower(), f"espeak-{language}-f")


def synth_base_tts(voice_id: str, sample_rate: int = 16000) -> BaseTTS:
    """A `base_tts` that reads with one of the project's preset voices (synthesis.speech.synth)."""

    def read(text: str) -> tuple[np.ndarray, int]:
        from ..synth import synthesize
        from ..types import SynthesisOptions

        result = synthesize(text, voice_id=voice_id, options=SynthesisOptions(sample_rate=sample_rate))
        return result.pcm, result.sample_rate

    return read


def train(
    recordings: list[tuple],
    *,
    base_tts: BaseTTS,
    language: str,
    progress: Progress | None = None,
    sample_rate: int = 16000,
    method: str = DEFAULT_METHOD,
    base_voice_id: str = "",
) -> TrainedVoice:
    """`recordings`: (path or (pcm, rate), text) pairs of the target speaker; `base_tts(text) -> (pcm, rate)`."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    if not recordings:
        raise ValueError("no recordings to train on")
    started = time.monotonic()
    report = progress or (lambda percent, stage: None)
    pairs = _analyse_pairs(recordings, base_tts, sample_rate, report)
    report(55.0, "aligning")
    aligned = [_align(base, target) for base, target in pairs]
    report(70.0, "fitting mapping")
    holdout = _holdout_indices(len(pairs))
    train_ids = [i for i in range(len(pairs)) if i not in holdout] or list(range(len(pairs)))
    weights = _fit_ridge([aligned[i] for i in train_ids])
    for _ in range(REALIGN_PASSES):
        aligned = [_align(base, target, weights) for base, target in pairs]
        weights = _fit_ridge([aligned[i] for i in train_ids])
    voice = TrainedVoice(
        sample_rate=sample_rate,
        method=method,
        weights=weights,
        codebook=_codebook([pairs[i][1] for i in range(len(pairs))]),
        f0_stats=_f0_stats([p[0] for p in pairs], [p[1] for p in pairs]),
        ap_shift=_ap_shift([p[0] for p in pairs], [p[1] for p in pairs]),
        base_voice_id=base_voice_id,
        language=language,
        **_variance_stats([aligned[i] for i in train_ids], weights),
        **_exemplars([pairs[i] for i in train_ids], [aligned[i] for i in train_ids]),
        tempo=_tempo(pairs),
    )
    report(90.0, "writing model")
    voice.metrics = _metrics(voice, pairs, aligned, holdout, started)
    report(100.0, "done")
    return voice


def _tempo(pairs) -> float:
    """Base speech frames per target speech frame over all sentences, kept to a moderate range (0.7-1.4)."""
    base = sum(int(features.speech_frames(b.mcep).sum()) for b, _ in pairs)
    target = sum(int(features.speech_frames(t.mcep).sum()) for _, t in pairs)
    return float(np.clip(base / max(target, 1), TEMPO_RANGE[0], TEMPO_RANGE[1]))


def _analyse_pairs(recordings, base_tts, sample_rate, report) -> list[tuple]:
    from ..asr import load_audio, resample, to_float

    pairs = []
    count = len(recordings)
    for number, (audio, text) in enumerate(recordings):
        report(50.0 * number / count, "synthesizing base readings" if number == 0 else "analysing")
        pcm, rate = base_tts(text)
        base_samples = resample(to_float(np.asarray(pcm)), int(rate), sample_rate).astype(np.float64)
        target_samples = load_audio(audio, sample_rate).astype(np.float64)
        base = features.analyze(base_samples, sample_rate)
        target = features.analyze(target_samples, sample_rate, accurate_f0=True)
        pairs.append((base, target))
    return pairs


def _align(
    base: features.WorldFeatures, target: features.WorldFeatures, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """(base frames with context, matching target frames (c1..), mean alignment cost, base frame per target frame)
    over speech frames. With `weights`, DTW compares the ridge-converted base with the target (a refinement pass)."""
    base_speech = np.flatnonzero(features.speech_frames(base.mcep))
    target_speech = np.flatnonzero(features.speech_frames(target.mcep))
    if len(base_speech) < 5 or len(target_speech) < 5:
        empty = np.zeros(0, dtype=int)
        return np.zeros((0, 5 * (features.MCEP_DIMS - 1))), np.zeros((0, features.MCEP_DIMS - 1)), 0.0, empty
    context = features.with_context(base.mcep[:, 1:])
    if weights is None:
        index, cost = features.dtw_path(base.mcep[base_speech, 1:25], target.mcep[target_speech, 1:25])
    else:
        converted = np.hstack([context[base_speech], np.ones((len(base_speech), 1))]) @ weights
        index, cost = features.dtw_path(converted, target.mcep[target_speech, 1:])
    frames = base_speech[index]
    return context[frames], target.mcep[target_speech, 1:], cost, frames


def _holdout_indices(count: int) -> set[int]:
    if count < 5:
        return set()
    held = max(1, int(round(count * HOLDOUT_SHARE)))
    return set(range(count - held, count))


def _fit_ridge(aligned: list[tuple]) -> np.ndarray:
    inputs = np.vstack([a[0] for a in aligned])
    outputs = np.vstack([a[1] for a in aligned])
    design = np.hstack([inputs, np.ones((len(inputs), 1))])
    regularizer = RIDGE_ALPHA * len(design) / 1000.0 * np.eye(design.shape[1])
    regularizer[-1, -1] = 0.0  # do not shrink the bias
    return np.linalg.solve(design.T @ design + regularizer, design.T @ outputs)


def _variance_stats(aligned: list[tuple], weights: np.ndarray) -> dict:
    inputs = np.vstack([a[0] for a in aligned])
    predicted = np.hstack([inputs, np.ones((len(inputs), 1))]) @ weights
    return {"gv_target_std": np.vstack([a[1] for a in aligned]).std(axis=0), "gv_ridge_std": predicted.std(axis=0)}


def _exemplars(pairs: list[tuple], aligned: list[tuple]) -> dict:
    """Aligned (base key -> target frame) pairs for the "exemplar" method, at most CODEBOOK_SIZE of them."""
    from .model import EXEMPLAR_KEY_DIMS

    keys = np.vstack([
        features.with_context(base.mcep[:, 1:EXEMPLAR_KEY_DIMS + 1])[a[3]]
        for (base, _), a in zip(pairs, aligned, strict=True)
    ])
    values = np.vstack([a[1] for a in aligned])
    if len(keys) > CODEBOOK_SIZE:
        keep = np.sort(np.random.default_rng(0).choice(len(keys), CODEBOOK_SIZE, replace=False))
        keys, values = keys[keep], values[keep]
    mean, std = keys.mean(axis=0), keys.std(axis=0) + 1e-6
    return {
        "exemplar_keys": ((keys - mean) / std).astype(np.float32),
        "exemplar_values": values.astype(np.float32),
        "key_mean": mean,
        "key_std": std,
    }


def _codebook(targets: list[features.WorldFeatures]) -> np.ndarray:
    frames = np.vstack([t.mcep[features.speech_frames(t.mcep), 1:] for t in targets])
    if len(frames) > CODEBOOK_SIZE:
        frames = frames[np.random.default_rng(0).choice(len(frames), CODEBOOK_SIZE, replace=False)]
    return frames.astype(np.float32)


def _f0_stats(bases, targets) -> dict:
    base_log = np.log(np.concatenate([b.f0[b.voiced] for b in bases]) + 1e-9)
    target_log = np.log(np.concatenate([t.f0[t.voiced] for t in targets]) + 1e-9)
    return {
        "base_mean": float(base_log.mean()),
        "base_std": float(base_log.std()),
        "target_mean": float(target_log.mean()),
        "target_std": float(target_log.std()),
        "target_median_hz": float(np.exp(np.median(target_log))),
        "base_median_hz": float(np.exp(np.median(base_log))),
    }


def _ap_shift(bases, targets) -> np.ndarray:
    base_ap = np.vstack([b.coded_ap[b.voiced] for b in bases])
    target_ap = np.vstack([t.coded_ap[t.voiced] for t in targets])
    return target_ap.mean(axis=0) - base_ap.mean(axis=0)


def _metrics(voice: TrainedVoice, pairs, aligned, holdout: set[int], started: float) -> dict:
    evaluate = sorted(holdout) or list(range(len(pairs)))
    converter = VoiceConverter(voice, voice.method)
    before, after = [], []
    for i in evaluate:
        base, target = pairs[i]
        base_speech = np.flatnonzero(features.speech_frames(base.mcep))
        target_speech = np.flatnonzero(features.speech_frames(target.mcep))
        if len(base_speech) < 5 or len(target_speech) < 5:
            continue
        index, _ = features.dtw_path(base.mcep[base_speech, 1:25], target.mcep[target_speech, 1:25])
        reference = target.mcep[target_speech]
        before.append(features.mel_cepstral_distortion(reference, base.mcep[base_speech[index]]))
        mapped = converter.map_envelope(base.mcep)
        after.append(features.mel_cepstral_distortion(reference, mapped[base_speech[index]]))
    stats = voice.f0_stats
    return {
        "sentences": len(pairs),
        "held_out_sentences": len(holdout),
        "frames_used": int(sum(len(a[1]) for a in aligned)),
        "alignment_cost": round(float(np.mean([a[2] for a in aligned])), 4),
        "mcd_before_db": round(float(np.mean(before)), 3) if before else None,
        "mcd_after_db": round(float(np.mean(after)), 3) if after else None,
        "codebook_frames": int(len(voice.codebook)),
        "tempo": round(voice.tempo, 3),
        "f0_target_median_hz": round(stats["target_median_hz"], 1),
        "f0_base_median_hz": round(stats["base_median_hz"], 1),
        "target_seconds": round(sum(t.length for _, t in pairs) / voice.sample_rate, 2),
        "training_seconds": round(time.monotonic() - started, 2),
    }
