"""A trained voice: the learned mapping from the base TTS voice to the target speaker, and its converter.

The saved file is one .npz (no pickled objects): arrays plus a JSON metadata string. A different mapping method
can be added by a new `method` value with its own arrays; `VoiceConverter.convert` stays the same.
"""

import json
import os
from dataclasses import dataclass, field

import numpy as np

from . import features

FORMAT_VERSION = 1
METHODS = ("ridge+gv", "ridge", "ridge+knn", "exemplar")
GV_MIN_FRAMES = 50  # below this many speech frames the utterance's own spread is too noisy: use training's
EXEMPLAR_KEY_DIMS = 24  # c1..c24 of the base frame (with context) find the exemplars


@dataclass
class TrainedVoice:
    sample_rate: int
    method: str
    weights: np.ndarray  # (context*dims + 1) x dims: base mcep (c1..) with context -> target mcep (c1..)
    codebook: np.ndarray  # target speech frames (c1..), for the kNN refinement
    f0_stats: dict  # {"base_mean", "base_std", "target_mean", "target_std"} of log F0
    ap_shift: np.ndarray  # per-band coded aperiodicity offset (target - base), voiced frames
    base_voice_id: str = ""
    language: str = ""
    knn_k: int = 4
    context: int = 2
    metrics: dict = field(default_factory=dict)
    # "ridge+gv": per-dimension spread (std) of the target's speech frames and of the ridge output on training data
    gv_target_std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gv_ridge_std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gv_weight: float = 0.3
    # "exemplar": DTW-aligned training pairs, normalized base keys (c1..c24 with context) -> target frames (c1..)
    exemplar_keys: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    exemplar_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    key_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    key_std: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # The speaker's speaking rate relative to the base voice (base speech time / target speech time): the base
    # voice reads at this speed multiplier, so the cloned voice keeps the speaker's tempo.
    tempo: float = 1.0

    def save(self, path: str | os.PathLike) -> None:
        meta = {
            "format_version": FORMAT_VERSION,
            "sample_rate": self.sample_rate,
            "method": self.method,
            "f0_stats": self.f0_stats,
            "base_voice_id": self.base_voice_id,
            "language": self.language,
            "knn_k": self.knn_k,
            "context": self.context,
            "metrics": self.metrics,
            "gv_weight": self.gv_weight,
            "tempo": self.tempo,
        }
        with open(path, "wb") as out:
            np.savez_compressed(
                out,
                meta=np.array(json.dumps(meta)),
                weights=self.weights.astype(np.float32),
                codebook=self.codebook.astype(np.float32),
                ap_shift=self.ap_shift.astype(np.float32),
                gv_target_std=self.gv_target_std.astype(np.float32),
                gv_ridge_std=self.gv_ridge_std.astype(np.float32),
                exemplar_keys=self.exemplar_keys.astype(np.float32),
                exemplar_values=self.exemplar_values.astype(np.float32),
                key_mean=self.key_mean.astype(np.float32),
                key_std=self.key_std.astype(np.float32),
            )

    def converter(self, method: str | None = None) -> "VoiceConverter":
        return VoiceConverter(self, method)


def load_trained(path: str | os.PathLike) -> TrainedVoice:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))

        def optional(name: str, empty_shape: tuple, dtype=np.float64) -> np.ndarray:
            return data[name].astype(dtype) if name in data.files else np.zeros(empty_shape, dtype)

        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported voice model version {meta.get('format_version')!r}")
        return TrainedVoice(
            sample_rate=int(meta["sample_rate"]),
            method=meta["method"],
            weights=data["weights"].astype(np.float64),
            codebook=data["codebook"].astype(np.float32),
            f0_stats=meta["f0_stats"],
            ap_shift=data["ap_shift"].astype(np.float64),
            base_voice_id=meta.get("base_voice_id", ""),
            language=meta.get("language", ""),
            knn_k=int(meta.get("knn_k", 4)),
            context=int(meta.get("context", 2)),
            metrics=meta.get("metrics", {}),
            gv_target_std=optional("gv_target_std", (0,)),
            gv_ridge_std=optional("gv_ridge_std", (0,)),
            gv_weight=float(meta.get("gv_weight", 0.3)),
            exemplar_keys=optional("exemplar_keys", (0, 0), np.float32),
            exemplar_values=optional("exemplar_values", (0, 0), np.float32),
            key_mean=optional("key_mean", (0,)),
            key_std=optional("key_std", (0,)),
            tempo=float(meta.get("tempo", 1.0)),
        )


def load(path: str | os.PathLike, method: str | None = None) -> "VoiceConverter":
    """The converter for a saved voice (`method` overrides the trained default, e.g. "ridge" to skip kNN)."""
    return VoiceConverter(load_trained(path), method)


class VoiceConverter:
    """Turns base-voice speech into the target voice, keeping its duration. Stateless: safe across threads."""

    def __init__(self, voice: TrainedVoice, method: str | None = None):
        self.voice = voice
        self.method = method or voice.method
        if self.method not in METHODS:
            raise ValueError(f"unknown conversion method {self.method!r}; use one of {METHODS}")
        if self.method == "ridge+gv" and not len(voice.gv_target_std):
            raise ValueError("this voice has no variance statistics for 'ridge+gv' (retrain it)")
        if self.method == "exemplar" and not len(voice.exemplar_keys):
            raise ValueError("this voice has no exemplars for 'exemplar' (retrain it)")
        self._codebook_norms = (voice.codebook.astype(np.float32) ** 2).sum(axis=1)
        self._key_norms = (voice.exemplar_keys.astype(np.float32) ** 2).sum(axis=1)

    @property
    def base_voice_id(self) -> str:
        return self.voice.base_voice_id

    @property
    def sample_rate(self) -> int:
        return self.voice.sample_rate

    @property
    def tempo(self) -> float:
        """Speed multiplier for the base voice (the speaker's speaking rate); 1.0 for older models."""
        return self.voice.tempo

    def convert(self, pcm: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
        """int16 (or float) mono PCM of the base voice -> (int16 PCM of the target voice, the model's rate)."""
        from ..asr import resample, to_float

        samples = resample(to_float(np.asarray(pcm)), int(sample_rate), self.sample_rate).astype(np.float64)
        if len(samples) < self.sample_rate // 20 or not np.any(samples):
            return _to_int16(samples), self.sample_rate
        analysis = features.analyze(samples, self.sample_rate)
        mcep = self.map_envelope(analysis.mcep)
        f0 = self.map_f0(analysis.f0)
        coded_ap = analysis.coded_ap + np.where(analysis.voiced[:, None], self.voice.ap_shift[None, :], 0.0)
        out = features.synthesize(f0, mcep, np.minimum(coded_ap, 0.0), self.sample_rate, analysis.fft_size,
                                  len(samples))
        return _to_int16(_match_level(out, samples)), self.sample_rate

    def map_envelope(self, mcep: np.ndarray) -> np.ndarray:
        """Map the envelope (c1..) of speech frames; c0 (loudness) and silent frames stay as they are."""
        mapped = mcep.copy()
        speech = features.speech_frames(mcep)
        if not speech.any():
            return mapped
        if self.method == "exemplar":
            estimate = self._exemplars(mcep, speech)
        else:
            context = features.with_context(mcep[:, 1:], self.voice.context)[speech]
            estimate = np.hstack([context, np.ones((len(context), 1))]) @ self.voice.weights
        if self.method == "ridge+knn" and len(self.voice.codebook):
            estimate = self._knn(estimate)
        elif self.method == "ridge+gv":
            estimate = self._variance_compensate(estimate)
        mapped[speech, 1:] = estimate
        return _smooth(mapped, speech)

    def _knn(self, frames: np.ndarray) -> np.ndarray:
        codebook = self.voice.codebook
        k = min(self.voice.knn_k, len(codebook))
        query = frames.astype(np.float32)
        distances = self._codebook_norms[None, :] - 2.0 * query @ codebook.T
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
        return codebook[nearest].mean(axis=1).astype(np.float64)

    def _variance_compensate(self, frames: np.ndarray) -> np.ndarray:
        """Widen the regression's over-smoothed spread per dimension part-way toward the target's (global variance)."""
        spread = frames.std(axis=0) if len(frames) >= GV_MIN_FRAMES else self.voice.gv_ridge_std
        scale = self.voice.gv_target_std / np.maximum(spread, 1e-6)
        centre = frames.mean(axis=0)
        return centre + (frames - centre) * (1.0 + self.voice.gv_weight * (scale - 1.0))

    def _exemplars(self, mcep: np.ndarray, speech: np.ndarray) -> np.ndarray:
        """Average of the target frames aligned with the k nearest training base frames (keys: base c1.. + context)."""
        keys = self.voice.exemplar_keys.astype(np.float32)
        k = min(self.voice.knn_k, len(keys))
        query = features.with_context(mcep[:, 1:EXEMPLAR_KEY_DIMS + 1], self.voice.context)[speech]
        query = ((query - self.voice.key_mean) / self.voice.key_std).astype(np.float32)
        distances = self._key_norms[None, :] - 2.0 * query @ keys.T
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
        return self.voice.exemplar_values[nearest].mean(axis=1).astype(np.float64)

    def map_f0(self, f0: np.ndarray) -> np.ndarray:
        stats = self.voice.f0_stats
        voiced = f0 > 0
        out = np.zeros_like(f0)
        log_f0 = np.log(f0[voiced])
        scaled = (log_f0 - stats["base_mean"]) / max(stats["base_std"], 1e-3) * stats["target_std"]
        out[voiced] = np.exp(scaled + stats["target_mean"])
        return out


def _smooth(mcep: np.ndarray, speech: np.ndarray) -> np.ndarray:
    # A 3-frame average over speech frames removes frame-to-frame jumps that kNN selection can cause.
    smoothed = mcep.copy()
    inner = mcep[1:-1, 1:] * 0.5 + (mcep[:-2, 1:] + mcep[2:, 1:]) * 0.25
    smoothed[1:-1, 1:] = np.where(speech[1:-1, None], inner, mcep[1:-1, 1:])
    return smoothed


def _match_level(out: np.ndarray, reference: np.ndarray) -> np.ndarray:
    reference_rms = np.sqrt(np.mean(reference**2))
    out_rms = np.sqrt(np.mean(out**2))
    if out_rms > 0:
        out = out * (reference_rms / out_rms)
    peak = np.max(np.abs(out)) if len(out) else 0.0
    return out * (0.98 / peak) if peak > 0.98 else out


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
