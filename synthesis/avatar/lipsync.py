"""Audio -> mouth shape: the avatar's lip-sync model, a speaker-independent phonetic driver calibrated on the
person's own speech, blended with an acoustic map learned on it.

Acoustic driver: the encoder states of the bundled multilingual Whisper "base" model (faster-whisper / CTranslate2,
CPU int8), run on short overlapping windows of fixed layout (left context, a hop of new audio, a small look-ahead),
so the batch path (`predict_acoustic`) and the streaming path (`StreamingMouth`) compute exactly the same numbers.
Per person: PCA of the states, a context stack around each video frame, a ridge map (regularisation chosen by
contiguous cross-validation) to the 4-value mouth shape of `synthesis.face.landmarks.mouth_shape`, light smoothing.

Phonetic driver (`synthesis.avatar.phonetic`, in the spirit of Rhubarb Lip Sync): Whisper base transcribes with word
timestamps (any language), espeak-ng gives each word's phonemes, their timings are warped onto the word and refined
on the voiced energy, and each phoneme's viseme class (`viseme_of`) becomes a per-frame class-coverage vector.
It needs no person data: the prior shape of each viseme is a quantile target of the person's shape distribution.
Calibration on the person's training video: the A/V lag (+-6 frames, the shift of the prior viseme track that best
matches their opening), each viseme's shape (ridge toward the prior), and the blend weight between the z-scored
acoustic and phonetic outputs, chosen on contiguous CV folds of the training part (with under 10 s of speech the
phonetic prior gets a small bonus). The blend is then quantile-matched to the person's own shape distribution, so
open/closed states land where their mouth does.

`predict` = the blend (runs the ASR; acoustic only when the model has no phonetic driver or the ASR hears no
words); `predict_acoustic` and `StreamingMouth` = acoustic only (streaming cannot wait for the ASR's words);
`track_from_phonemes` = the calibrated phonetic driver on known (TTS) phoneme timings. Validation: fit on the head
of the clip, measure on its tail, then refit on everything; the report (the model card's validation dict) names the
chosen driver, blend weight and lag.
"""

from __future__ import annotations

import json
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
ROW_S = 0.02  # Whisper encoder rows are 20 ms apart
SHAPE_DIMS = 4
MODEL_VERSION = 2
_OPTIONAL_ARRAYS = ("viseme_shapes", "blend_norm", "comb_quantiles", "phon_quantiles")

# Encoder window layout, in 20 ms rows: left context, new rows per window (hop), look-ahead.
CONTEXT_ROWS = 50
HOP_ROWS = 5
LOOKAHEAD_ROWS = 4
# Feature rows around a video frame fed to the ridge map (mouth leads the sound a little: look ahead too).
ROW_OFFSETS = (-8, -4, 0, 2, 4)
PCA_DIMS = 32
LAMBDAS = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
QUANTILES = 101
MIN_TRAIN_FRAMES = 25
SHORT_TRAIN_S = 10.0
# Phonetic driver calibration.
MAX_LAG_FRAMES = 6
LAG_PENALTY = 0.01  # per frame of lag: a real A/V offset must earn its keep
VISEME_PRIOR_FRAMES = 8.0  # pseudo-frames pulling each viseme's shape to its prior quantile target
BLEND_WEIGHTS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)
SHORT_SPEECH_PHONETIC_BONUS = 0.05
PHONEME_LEAD_S = 0.04  # the mouth leads the sound

_ENCODER_LOCK = threading.Lock()


# --- features -----------------------------------------------------------------------------------------------


def _whisper():
    from synthesis.speech.asr import get_model

    return get_model("base")


def _encode_windows(windows: list[np.ndarray]) -> np.ndarray:
    """Encoder states of equal-length audio windows -> (len(windows), rows, 512)."""
    import ctranslate2

    model = _whisper()
    feats = []
    for w in windows:
        mel = model.feature_extractor(w, padding=0)
        n = (len(w) // 160) & ~1  # an even number of mel frames: rows = frames / 2
        feats.append(mel[:, :n])
    batch = np.ascontiguousarray(np.stack(feats).astype(np.float32))
    with _ENCODER_LOCK:
        out = model.model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=True)
    return np.asarray(out, dtype=np.float32)


class _FeatureStream:
    """Whisper states at 50 Hz, window by window; batch use = push everything, then finish()."""

    window_samples = (CONTEXT_ROWS + HOP_ROWS + LOOKAHEAD_ROWS) * 320
    hop_samples = HOP_ROWS * 320

    def __init__(self, batch_windows: int = 16):
        self.audio = np.zeros(CONTEXT_ROWS * 320, np.float32)  # zero left context
        self.offset = 0  # absolute padded-sample index of self.audio[0]
        self.next_window = 0  # absolute padded start of the next window
        self.received = 0  # real samples received
        self.rows: list[np.ndarray] = []
        self.batch_windows = batch_windows

    def push(self, pcm: np.ndarray) -> list[np.ndarray]:
        self.audio = np.concatenate([self.audio, np.asarray(pcm, np.float32)])
        self.received += len(pcm)
        return self._run(final=False)

    def finish(self) -> list[np.ndarray]:
        rows_needed = math.ceil(self.received / 320)
        have = len(self.rows) * HOP_ROWS
        if rows_needed > have:
            # pad with zeros so the last window is complete
            end = CONTEXT_ROWS * 320 + rows_needed * 320 + (HOP_ROWS + LOOKAHEAD_ROWS) * 320
            missing = end - (self.offset + len(self.audio))
            if missing > 0:
                self.audio = np.concatenate([self.audio, np.zeros(missing, np.float32)])
        return self._run(final=True)

    def _run(self, final: bool) -> list[np.ndarray]:
        new: list[np.ndarray] = []
        rows_needed = math.ceil(self.received / 320)
        while True:
            starts = []
            s = self.next_window
            while s + self.window_samples <= self.offset + len(self.audio):
                if final and len(self.rows) * HOP_ROWS + len(starts) * HOP_ROWS >= rows_needed:
                    break
                starts.append(s)
                s += self.hop_samples
                if len(starts) >= self.batch_windows:
                    break
            if not starts:
                break
            windows = [self.audio[st - self.offset: st - self.offset + self.window_samples] for st in starts]
            states = _encode_windows(windows)[:, CONTEXT_ROWS:CONTEXT_ROWS + HOP_ROWS]
            for block in states:
                self.rows.append(block)
                new.append(block)
            self.next_window = starts[-1] + self.hop_samples
            drop = self.next_window - self.offset
            if drop > 0:
                self.audio = self.audio[drop:]
                self.offset += drop
        return new


def encoder_states(pcm: np.ndarray) -> np.ndarray:
    """(ceil(len/320), 512) Whisper encoder states of 16 kHz audio, computed window by window."""
    stream = _FeatureStream()
    stream.push(pcm)
    stream.finish()
    rows = math.ceil(len(pcm) / 320)
    if not stream.rows:
        return np.zeros((0, 512), np.float32)
    return np.concatenate(stream.rows)[:rows]


def _resample(pcm: np.ndarray, sample_rate: int) -> np.ndarray:
    pcm = np.asarray(pcm)
    if pcm.dtype == np.int16:
        pcm = pcm.astype(np.float32) / 32768.0
    pcm = pcm.astype(np.float32).reshape(-1)
    if int(sample_rate) == SAMPLE_RATE:
        return pcm
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sample_rate), SAMPLE_RATE)
    return resample_poly(pcm, SAMPLE_RATE // g, int(sample_rate) // g).astype(np.float32)


def n_frames(duration_s: float, fps: float) -> int:
    return int(math.ceil(duration_s * fps - 1e-9))


def _frame_rows(frames: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Left feature row and weight for interpolating at each frame's centre."""
    pos = (frames + 0.5) / fps / ROW_S - 0.5
    left = np.floor(pos).astype(int)
    return left, (pos - left)


def _design(reduced: np.ndarray, frames: np.ndarray, fps: float, total_rows: int) -> np.ndarray:
    """Context-stacked features (len(frames), PCA_DIMS * len(ROW_OFFSETS)); rows clip at 0 and total_rows-1."""
    left, w = _frame_rows(frames, fps)
    parts = []
    last = max(total_rows - 1, 0)
    for off in ROW_OFFSETS:
        a = np.clip(left + off, 0, last)
        b = np.clip(left + off + 1, 0, last)
        parts.append(reduced[a] * (1 - w)[:, None] + reduced[b] * w[:, None])
    return np.concatenate(parts, axis=1)


def _smooth(raw: np.ndarray) -> np.ndarray:
    """[1/4, 1/2, 1/4] along time, edges repeated."""
    if len(raw) < 2:
        return raw.copy()
    padded = np.concatenate([raw[:1], raw, raw[-1:]])
    return 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]


def frame_lookahead_rows(fps: float) -> int:
    """Feature rows beyond a frame's own that its prediction needs (interpolation, offsets, smoothing)."""
    return int(math.ceil(1.0 / fps / ROW_S)) + max(ROW_OFFSETS) + 2


# --- the model ----------------------------------------------------------------------------------------------


@dataclass
class MouthModel:
    pca_mean: np.ndarray  # (512,)
    pca_basis: np.ndarray  # (PCA_DIMS, 512)
    x_mean: np.ndarray  # (D,)
    x_scale: np.ndarray  # (D,)
    weights: np.ndarray  # (D, 4)
    bias: np.ndarray  # (4,)
    pred_quantiles: np.ndarray  # (4, QUANTILES) smoothed raw predictions' distribution (cross-validated)
    shape_quantiles: np.ndarray  # (4, QUANTILES) the person's own shape distribution
    meta: dict = field(default_factory=dict)
    sample_rate: int = SAMPLE_RATE
    # phonetic driver (None: acoustic only): per-viseme shapes, the z-scoring of both drivers' smoothed outputs
    # (rows: acoustic mean, acoustic sd, phonetic mean, phonetic sd), the blended output's and the phonetic-only
    # output's cross-validated distributions. Blend weight and A/V lag live in meta ("blend", "lag_frames").
    viseme_shapes: np.ndarray | None = None  # (len(VISEMES), 4)
    blend_norm: np.ndarray | None = None  # (4, 4)
    comb_quantiles: np.ndarray | None = None  # (4, QUANTILES)
    phon_quantiles: np.ndarray | None = None  # (4, QUANTILES)

    # -- prediction --
    def reduce(self, states: np.ndarray) -> np.ndarray:
        return ((states - self.pca_mean) @ self.pca_basis.T).astype(np.float32)

    def raw_frames(self, reduced: np.ndarray, frames: np.ndarray, fps: float, total_rows: int) -> np.ndarray:
        x = _design(reduced, frames, fps, total_rows)
        return ((x - self.x_mean) / self.x_scale) @ self.weights + self.bias

    def to_shapes(self, smoothed: np.ndarray, quantiles: np.ndarray | None = None) -> np.ndarray:
        quantiles = self.pred_quantiles if quantiles is None else quantiles
        out = np.empty_like(smoothed, dtype=np.float64)
        for d in range(SHAPE_DIMS):
            out[:, d] = np.interp(smoothed[:, d], quantiles[d], self.shape_quantiles[d])
        return out.astype(np.float32)

    def acoustic_smoothed(self, reduced: np.ndarray, n: int, fps: float) -> np.ndarray:
        return _smooth(self.raw_frames(reduced, np.arange(n), fps, len(reduced)))

    def predict_reduced(self, reduced: np.ndarray, n: int, fps: float) -> np.ndarray:
        """Acoustic-only shapes from reduced encoder states (what StreamingMouth emits)."""
        if n <= 0:
            return np.zeros((0, SHAPE_DIMS), np.float32)
        if len(reduced) == 0:
            return np.tile(self.rest_shape(), (n, 1))
        return self.to_shapes(self.acoustic_smoothed(reduced, n, fps))

    @property
    def phonetic(self) -> bool:
        return self.viseme_shapes is not None and float(self.meta.get("blend", 0.0)) > 0.0

    def phonetic_raw(self, phonemes: list, n: int, fps: float) -> np.ndarray:
        feats = viseme_features(phonemes, n, fps, lag_frames=int(self.meta.get("lag_frames", 0)))
        return feats @ self.viseme_shapes

    def blend(self, acoustic: np.ndarray, phon: np.ndarray) -> np.ndarray:
        w = float(self.meta.get("blend", 0.0))
        nrm = self.blend_norm
        return (1 - w) * (acoustic - nrm[0]) / nrm[1] + w * (phon - nrm[2]) / nrm[3]

    def predict_acoustic(self, pcm: np.ndarray, sample_rate: int, fps: float) -> np.ndarray:
        """Acoustic-only shapes (Whisper encoder states -> ridge); equals StreamingMouth's output."""
        audio = _resample(pcm, sample_rate)
        n = n_frames(len(audio) / SAMPLE_RATE, fps)
        return self.predict_reduced(self.reduce(encoder_states(audio)), n, fps)

    def predict(self, pcm: np.ndarray, sample_rate: int, fps: float, *, phonemes: list | None = None) -> np.ndarray:
        """(ceil(duration * fps), 4) mouth shapes for any speech: the acoustic ridge blended with the phonetic
        driver (ASR words -> espeak phonemes -> visemes), when the model has one and the ASR heard words.
        `phonemes` skips the ASR (timed phonemes known already, e.g. from TTS)."""
        audio = _resample(pcm, sample_rate)
        n = n_frames(len(audio) / SAMPLE_RATE, fps)
        reduced = self.reduce(encoder_states(audio))
        if n > 0 and len(reduced) and self.phonetic and phonemes is None:
            from synthesis.avatar import phonetic

            phonemes = phonetic.align(audio)
        return self.predict_combined(reduced, n, fps, phonemes)

    def predict_combined(self, reduced: np.ndarray, n: int, fps: float, phonemes: list | None) -> np.ndarray:
        if n <= 0 or len(reduced) == 0 or not self.phonetic or not phonemes:
            return self.predict_reduced(reduced, n, fps)
        comb = self.blend(self.acoustic_smoothed(reduced, n, fps), self.phonetic_raw(phonemes, n, fps))
        return self.to_shapes(comb, self.comb_quantiles)

    def rest_shape(self) -> np.ndarray:
        """A closed, relaxed mouth: low quantile of opening, median of the rest."""
        q = self.shape_quantiles
        return np.array([q[0, 5], q[1, 50], q[2, 5], q[3, 10]], np.float32)

    def shape_at_quantile(self, qs: tuple[float, float, float, float]) -> np.ndarray:
        grid = np.linspace(0, 1, QUANTILES)
        return np.array([np.interp(q, grid, self.shape_quantiles[d]) for d, q in enumerate(qs)], np.float32)

    # -- storage (npz, no pickle) --
    def save(self, path: os.PathLike | str) -> Path:
        path = Path(path)
        meta = dict(self.meta, version=MODEL_VERSION, sample_rate=self.sample_rate)
        extra = {k: getattr(self, k) for k in _OPTIONAL_ARRAYS if getattr(self, k) is not None}
        with open(path, "wb") as fh:
            np.savez(
                fh, pca_mean=self.pca_mean, pca_basis=self.pca_basis, x_mean=self.x_mean, x_scale=self.x_scale,
                weights=self.weights, bias=self.bias, pred_quantiles=self.pred_quantiles,
                shape_quantiles=self.shape_quantiles, meta=np.array(json.dumps(meta)), **extra,
            )  # fmt: skip
        return path

    @classmethod
    def load(cls, path: os.PathLike | str) -> MouthModel:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("version") not in (1, MODEL_VERSION):
                raise ValueError(f"unsupported mouth model version {meta.get('version')}")
            extra = {k: z[k] for k in _OPTIONAL_ARRAYS if k in z.files}  # version 1: acoustic only
            return cls(**extra,
                pca_mean=z["pca_mean"], pca_basis=z["pca_basis"], x_mean=z["x_mean"], x_scale=z["x_scale"],
                weights=z["weights"], bias=z["bias"], pred_quantiles=z["pred_quantiles"],
                shape_quantiles=z["shape_quantiles"], meta=meta, sample_rate=int(meta.get("sample_rate", SAMPLE_RATE)),
            )  # fmt: skip


# --- fitting ------------------------------------------------------------------------------------------------


def _fill_lost(shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shapes = np.asarray(shapes, np.float64).reshape(len(shapes), -1)[:, :SHAPE_DIMS]
    ok = np.isfinite(shapes).all(axis=1)
    return shapes, ok


def _ridge_solve(x: np.ndarray, y: np.ndarray, lam: float):
    mean = x.mean(0)
    scale = x.std(0) + 1e-6
    xs = (x - mean) / scale
    ym = y.mean(0)
    gram = xs.T @ xs + lam * len(xs) * np.eye(xs.shape[1]) / 100.0
    w = np.linalg.solve(gram, xs.T @ (y - ym))
    return mean, scale, w, ym


def _ridge_predict(model, x: np.ndarray) -> np.ndarray:
    mean, scale, w, ym = model
    return ((x - mean) / scale) @ w + ym


def _folds(n: int, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    edges = np.linspace(0, n, k + 1).astype(int)
    out = []
    for i in range(k):
        test = np.arange(edges[i], edges[i + 1])
        train = np.setdiff1d(np.arange(n), test)
        out.append((train, test))
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64) - np.mean(a)
    b = np.asarray(b, np.float64) - np.mean(b)
    d = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / d) if d > 1e-12 else 0.0


def _cross_validated(x: np.ndarray, y: np.ndarray, ok: np.ndarray) -> tuple[float, np.ndarray]:
    """Best lambda by contiguous 4-fold CV (mean opening correlation) and its out-of-fold predictions."""
    n = len(x)
    k = 4 if n >= 4 * 12 else 2
    best = (-2.0, LAMBDAS[0], None)
    for lam in LAMBDAS:
        pred = np.zeros((n, y.shape[1]))
        for train, test in _folds(n, k):
            tr = train[ok[train]]
            if len(tr) < 5:
                pred[test] = np.nanmean(y[ok], axis=0)
                continue
            pred[test] = _ridge_predict(_ridge_solve(x[tr], y[tr], lam), x[test])
        score = float(np.mean([_corr(_smooth(pred)[ok, d], y[ok, d]) for d in (0, 2)]))
        if score > best[0]:
            best = (score, lam, pred)
    return best[1], _smooth(best[2])


def _quantiles(values: np.ndarray) -> np.ndarray:
    q = np.quantile(values, np.linspace(0, 1, QUANTILES), axis=0).T  # (dims, Q)
    # strictly increasing so interpolation is well defined
    return q + np.arange(QUANTILES)[None, :] * 1e-9


def _fit_on(
    states: np.ndarray, shapes: np.ndarray, ok: np.ndarray, fps: float, phonemes: list | None = None,
    speech_s: float = 0.0,
) -> tuple[MouthModel, dict]:
    n = len(shapes)
    used = states[: min(len(states), int(math.ceil(n / fps / ROW_S)) + max(ROW_OFFSETS) + 2)]
    pca_mean = used.mean(0)
    centred = used - pca_mean
    _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // 3000)], full_matrices=False)
    basis = vt[:PCA_DIMS].astype(np.float32)
    reduced = (centred @ basis.T).astype(np.float32)
    x = _design(reduced, np.arange(n), fps, len(reduced))
    y = np.where(ok[:, None], shapes, 0.0)
    lam, cv_pred = _cross_validated(x, y, ok)
    ridge = _ridge_solve(x[ok], y[ok], lam)
    model = MouthModel(
        pca_mean=pca_mean.astype(np.float32), pca_basis=basis, x_mean=ridge[0], x_scale=ridge[1], weights=ridge[2],
        bias=ridge[3], pred_quantiles=_quantiles(cv_pred[ok]), shape_quantiles=_quantiles(shapes[ok]),
        meta={"lambda": lam, "fps": fps, "frames": int(ok.sum()), "driver": "acoustic", "blend": 0.0},
    )  # fmt: skip
    info = {"lambda": lam, "driver": "acoustic", "blend": 0.0}
    if phonemes:
        info.update(_calibrate_phonetic(model, phonemes, cv_pred, y, ok, fps, speech_s))
    return model, info


def _cv_folds(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return _folds(n, 4 if n >= 4 * 12 else 2)


def _calibrate_phonetic(model: MouthModel, phonemes: list, cv_acoustic: np.ndarray, y: np.ndarray, ok: np.ndarray,
                        fps: float, speech_s: float) -> dict:
    """Person calibration of the phonetic driver: A/V lag, per-viseme shapes, blend weight (contiguous CV)."""
    n = len(y)
    prior = _prior_viseme_shapes(model)
    # A/V lag: the shift of the prior-shaped viseme track that best matches the real opening.
    best_lag, best_r = 0, -2.0
    feats_by_lag = {}
    for lag in range(-MAX_LAG_FRAMES, MAX_LAG_FRAMES + 1):
        f = viseme_features(phonemes, n, fps, lag_frames=lag)
        feats_by_lag[lag] = f
        r = _corr((f @ prior)[ok, 0], y[ok, 0]) - LAG_PENALTY * abs(lag)
        if r > best_r:
            best_lag, best_r = lag, r
    f = feats_by_lag[best_lag]
    rest = _VISEME_NAMES.index("rest")
    if float(np.delete(f, rest, axis=1)[ok].sum()) < 5.0:  # (almost) no recognised speech in the training part
        return {}

    def solve(rows: np.ndarray) -> np.ndarray:
        fr, yr = f[rows], y[rows]
        gram = fr.T @ fr + VISEME_PRIOR_FRAMES * np.eye(len(prior))
        return np.linalg.solve(gram, fr.T @ yr + VISEME_PRIOR_FRAMES * prior)

    phon_cv = np.zeros_like(y)
    for train, test in _cv_folds(n):
        phon_cv[test] = f[test] @ solve(train[ok[train]])
    acoustic_mu, acoustic_sd = cv_acoustic[ok].mean(0), cv_acoustic[ok].std(0) + 1e-6
    phon_mu, phon_sd = phon_cv[ok].mean(0), phon_cv[ok].std(0) + 1e-6
    norm = np.stack([acoustic_mu, acoustic_sd, phon_mu, phon_sd])
    scores = {}
    for w in BLEND_WEIGHTS:
        comb = (1 - w) * (cv_acoustic - norm[0]) / norm[1] + w * (phon_cv - norm[2]) / norm[3]
        score = float(np.mean([_corr(comb[ok, d], y[ok, d]) for d in (0, 2)]))
        # little speech to learn the acoustic map from: lean on the speaker-independent phonetic prior
        scores[w] = score + SHORT_SPEECH_PHONETIC_BONUS * w * max(0.0, 1 - speech_s / SHORT_TRAIN_S)
    w = max(scores, key=scores.get)
    comb = (1 - w) * (cv_acoustic - norm[0]) / norm[1] + w * (phon_cv - norm[2]) / norm[3]
    model.viseme_shapes = solve(np.flatnonzero(ok))
    model.blend_norm = norm
    model.comb_quantiles = _quantiles(comb[ok])
    model.phon_quantiles = _quantiles(phon_cv[ok])
    driver = "phonetic" if w >= 1 else ("acoustic+phonetic" if w > 0 else "acoustic")
    model.meta.update(blend=float(w), lag_frames=int(best_lag), driver=driver)
    return {"blend": float(w), "lag_frames": int(best_lag), "driver": driver,
            "cv_scores": {str(k): round(v, 4) for k, v in scores.items()}}


def _frame_loudness(audio: np.ndarray, n: int, fps: float) -> np.ndarray:
    """log RMS of each video frame's audio span (dB)."""
    out = np.full(n, -100.0)
    for i in range(n):
        a, b = int(i / fps * SAMPLE_RATE), int((i + 1) / fps * SAMPLE_RATE)
        seg = audio[a:b]
        if len(seg):
            out[i] = 10 * np.log10(float(np.mean(seg.astype(np.float64) ** 2)) + 1e-10)
    return out


def _speech_seconds(loud: np.ndarray, fps: float) -> float:
    if not len(loud):
        return 0.0
    top = np.percentile(loud, 95)
    return float(np.sum((loud > top - 30) & (loud > -55)) / fps)


def match_share(pred: np.ndarray, real: np.ndarray, tolerance: int = 2) -> float:
    """Share of frames whose open/closed state (open = above 30 % of the real range) equals the real state at some
    frame within +-tolerance."""
    real = np.asarray(real, np.float64)
    pred = np.asarray(pred, np.float64)
    if not len(real):
        return float("nan")
    lo, hi = float(real.min()), float(real.max())
    th = lo + 0.3 * (hi - lo)
    ps, rs = pred > th, real > th
    n = len(real)
    hits = 0
    for i in range(n):
        window = rs[max(0, i - tolerance): min(n, i + tolerance + 1)]
        hits += bool(np.any(window == ps[i]))
    return hits / n


def shift_reference(real: np.ndarray, shift: int = 2) -> float:
    real = np.asarray(real, np.float64)
    if len(real) <= shift + 2:
        return float("nan")
    return _corr(real[shift:], real[:-shift])


def _loudness_baseline(loud: np.ndarray, y: np.ndarray, ok: np.ndarray, cut: int) -> np.ndarray:
    """Ridge on the frame loudness with the same frame context, fit on the head; predictions for the tail."""
    n = len(loud)
    offs = (-3, -2, -1, 0, 1, 2)
    x = np.stack([loud[np.clip(np.arange(n) + o, 0, n - 1)] for o in offs], 1)
    head = np.arange(cut)[ok[:cut]]
    model = _ridge_solve(x[head], y[head], 1.0)
    return _ridge_predict(model, x[cut:])


def fit_mouth_model(
    pcm: np.ndarray, sample_rate: int, shapes: np.ndarray, fps: float, *, holdout_fraction: float = 0.2,
    use_phonetic: bool = True,
) -> tuple[MouthModel, dict]:
    """Learn the person's audio -> mouth-shape map; validate on the held-out tail, then refit on everything.

    `use_phonetic`: also calibrate the phonetic driver (runs the ASR over the training audio)."""
    audio = _resample(pcm, sample_rate)
    shapes, ok = _fill_lost(shapes)
    n = min(len(shapes), n_frames(len(audio) / SAMPLE_RATE, fps))
    shapes, ok = shapes[:n], ok[:n]
    warnings: list[str] = []
    loud = _frame_loudness(audio, n, fps)
    report: dict = {
        "method": "whisper-base encoder states (windowed) -> PCA -> context ridge, blended with a phonetic driver "
                  "(whisper-base words -> espeak phonemes -> visemes, person-calibrated) -> quantile map",
        "fps": float(fps), "frames": int(n), "face_found_share": float(ok.mean()) if n else 0.0,
    }  # fmt: skip
    if n and ok.mean() < 0.8:
        warnings.append(f"the face was lost in {100 * (1 - ok.mean()):.0f}% of the frames")
    if ok.sum() < MIN_TRAIN_FRAMES:
        # Nothing to learn from: a constant model at the person's (or a neutral) shape.
        warnings.append("too few frames with a face to learn the mouth from; the mouth stays at rest")
        model = _constant_model(shapes[ok] if ok.any() else None, fps)
        report.update(warnings=warnings, warning="; ".join(warnings), opening_r=None, match_share=None,
                      shift2_r=None, loudness_r=None, train_speech_s=_speech_seconds(loud, fps), val_speech_s=0.0)
        return model, report

    states = encoder_states(audio)
    phonemes: list = []
    if use_phonetic:
        from synthesis.avatar import phonetic

        phonemes = phonetic.align(audio)
    # validation: head -> tail
    cut = int(round(n * (1 - holdout_fraction)))
    val: dict = {}
    if holdout_fraction > 0 and cut >= MIN_TRAIN_FRAMES and n - cut >= 10 and ok[cut:].sum() >= 10:
        head_model, _ = _fit_on(states, shapes[:cut], ok[:cut], fps, phonemes, _speech_seconds(loud[:cut], fps))
        pred = head_model.predict_combined(head_model.reduce(states), n, fps, phonemes)[cut:]
        tail_ok = ok[cut:]
        real = shapes[cut:, 0][tail_ok]
        popen = pred[tail_ok, 0]
        base = _loudness_baseline(loud, shapes, ok, cut)[tail_ok, 0]
        val = {
            "opening_r": _corr(popen, real),
            "match_share": match_share(popen, real),
            "shift2_r": shift_reference(interp_nan(shapes[cut:, 0])),
            "loudness_r": _corr(base, real),
            "closed_mouth_r": 0.0,
            "shape_r": [_corr(pred[tail_ok, d], shapes[cut:, d][tail_ok]) for d in range(SHAPE_DIMS)],
            "mean_abs_error_iod": [float(np.mean(np.abs(pred[tail_ok, d] - shapes[cut:, d][tail_ok])))
                                   for d in range(SHAPE_DIMS)],
            "train_speech_s": _speech_seconds(loud[:cut], fps),
            "val_speech_s": _speech_seconds(loud[cut:], fps),
            "train_s": cut / fps, "val_s": (n - cut) / fps,
        }  # fmt: skip
        if val["val_speech_s"] < 1.0:
            warnings.append("the held-out tail holds little speech; the validation figures say little")
        elif val["opening_r"] < 0.3:
            warnings.append(f"weak lip-sync on the held-out tail (opening r {val['opening_r']:.2f})")
    else:
        warnings.append("the clip is too short to hold out a validation tail; no validation figures")
        val = {"opening_r": None, "match_share": None, "shift2_r": None, "loudness_r": None,
               "train_speech_s": _speech_seconds(loud, fps), "val_speech_s": 0.0}  # fmt: skip

    total_speech = _speech_seconds(loud, fps)
    model, info = _fit_on(states, shapes, ok, fps, phonemes, total_speech)
    if total_speech < 1.0:
        warnings.append("the audio holds (almost) no speech; the mouth model learnt little")
    elif total_speech < SHORT_TRAIN_S:
        warnings.append(f"only {total_speech:.1f} s of speech to learn from; 30 s or more gives a better lip-sync")
    model.meta.update(report_keys=list(val))
    report.update(val)
    report.update(lambda_=info["lambda"], driver=info["driver"], blend=info["blend"],
                  lag_frames=info.get("lag_frames", 0), phonemes_recognised=len(phonemes),
                  total_speech_s=total_speech, warnings=warnings,
                  warning="; ".join(warnings))
    return model, _jsonable(report)


def interp_nan(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, np.float64).copy()
    ok = np.isfinite(v)
    if ok.all() or not ok.any():
        return v
    idx = np.arange(len(v))
    v[~ok] = np.interp(idx[~ok], idx[ok], v[ok])
    return v


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k).rstrip("_"): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if not math.isfinite(f) else round(f, 4)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _constant_model(shapes: np.ndarray | None, fps: float) -> MouthModel:
    if shapes is None or not len(shapes):
        shapes = np.array([[0.0, 0.9, 0.25, 1.1]])  # a closed mouth in IOD units
    dim = PCA_DIMS * len(ROW_OFFSETS)
    grid = np.linspace(-1, 1, QUANTILES)
    return MouthModel(
        pca_mean=np.zeros(512, np.float32), pca_basis=np.zeros((PCA_DIMS, 512), np.float32),
        x_mean=np.zeros(dim), x_scale=np.ones(dim), weights=np.zeros((dim, SHAPE_DIMS)), bias=np.zeros(SHAPE_DIMS),
        pred_quantiles=np.tile(grid, (SHAPE_DIMS, 1)),
        shape_quantiles=np.tile(np.median(shapes, axis=0)[:, None], (1, QUANTILES)) + grid[None] * 1e-9,
        meta={"constant": True, "fps": fps},
    )  # fmt: skip


# --- phoneme driver -----------------------------------------------------------------------------------------

# Viseme classes as quantiles of the person's own distribution: (opening, width, outer opening, jaw).
_VISEMES = {
    "closed": (0.03, 0.45, 0.03, 0.05),  # p b m
    "labiodental": (0.2, 0.5, 0.2, 0.2),  # f v
    "rounded": (0.45, 0.1, 0.5, 0.5),  # u o w
    "spread": (0.5, 0.9, 0.45, 0.4),  # i e
    "open": (0.92, 0.6, 0.9, 0.9),  # a
    "mid": (0.7, 0.55, 0.65, 0.65),  # schwa and other vowels
    "consonant": (0.35, 0.55, 0.3, 0.3),  # t d s n k g ...
    "rest": (0.05, 0.5, 0.05, 0.1),
}


def viseme_of(phoneme: str) -> str:
    p = phoneme.strip().lower()
    if not p or p in {"_", "sil", "sp", "pau", "#", "|", "||", " "}:
        return "rest"
    head = p.lstrip("ˈˌ'\",:")[:1]
    if head in {"p", "b", "m"}:
        return "closed"
    if head in {"f", "v"}:
        return "labiodental"
    if head in {"u", "o", "w", "ɔ", "ʊ", "ɒ", "y", "ø", "œ"}:
        return "rounded"
    if head in {"i", "e", "ɪ", "ɛ", "j", "ɨ"}:
        return "spread"
    if head in {"a", "ɑ", "æ", "ɐ", "ʌ", "ä"}:
        return "open"
    if head in {"ə", "ɜ", "ɚ", "ɝ", "ɤ", "ɯ", "ɘ", "ɵ"}:
        return "mid"
    return "consonant"


_VISEME_NAMES = list(_VISEMES)


def viseme_features(phonemes: list, n: int, fps: float, lag_frames: int = 0) -> np.ndarray:
    """(n, len(VISEMES)) share of each frame covered by each viseme class (rest where no phoneme), the mouth
    leading the sound by PHONEME_LEAD_S and following it by `lag_frames`, then a short coarticulation blur."""
    k = len(_VISEME_NAMES)
    rest = _VISEME_NAMES.index("rest")
    cover = np.zeros((n, k))
    shift = -PHONEME_LEAD_S + lag_frames / fps
    for ph in phonemes:
        start, end = float(ph.start) + shift, float(ph.end) + shift
        if end <= start or n == 0:
            continue
        col = _VISEME_NAMES.index(viseme_of(getattr(ph, "phoneme", "")))
        a, b = start * fps, end * fps  # in frames
        i0, i1 = max(0, int(math.floor(a))), min(n, int(math.ceil(b)))
        for i in range(i0, i1):
            cover[i, col] += max(0.0, min(b, i + 1) - max(a, i))
    total = cover.sum(1)
    over = total > 1
    cover[over] /= total[over, None]
    cover[:, rest] += np.clip(1 - cover.sum(1), 0, 1)
    if n > 2:
        from scipy.ndimage import gaussian_filter1d

        cover = gaussian_filter1d(cover, max(0.5, 0.035 * fps), axis=0, mode="nearest")
    return cover


def _prior_viseme_shapes(model: MouthModel) -> np.ndarray:
    return np.stack([model.shape_at_quantile(q) for q in _VISEMES.values()]).astype(np.float64)


def track_from_phonemes(model: MouthModel, phonemes: list, duration_s: float, fps: float) -> np.ndarray:
    """A mouth track from timed phonemes (TTS, or `phonetic.align` of any speech): per-viseme shapes (the person's
    calibrated ones when the model has a phonetic driver, else quantile targets of their shape distribution),
    blended with a short coarticulation window and mapped onto the person's range."""
    n = n_frames(duration_s, fps)
    if model.viseme_shapes is not None:
        raw = model.phonetic_raw(phonemes, n, fps)
        return model.to_shapes(raw, model.phon_quantiles)
    return (viseme_features(phonemes, n, fps) @ _prior_viseme_shapes(model)).astype(np.float32)


# --- streaming ----------------------------------------------------------------------------------------------


class StreamingMouth:
    """Incremental predict(): push 16 kHz float32 chunks, get the rows of frames that are complete.

    Output equals `model.predict` on the concatenated audio. Look-ahead: a frame is emitted once the audio up to
    `latency_s` past its end has arrived (plus up to one encoder hop of buffering)."""

    def __init__(self, model: MouthModel, fps: float):
        self.model = model
        self.fps = float(fps)
        self.features = _FeatureStream(batch_windows=4)
        self.reduced = np.zeros((0, PCA_DIMS), np.float32)
        self.emitted = 0
        self.samples = 0
        self.closed = False

    @property
    def latency_s(self) -> float:
        return (LOOKAHEAD_ROWS + frame_lookahead_rows(self.fps)) * ROW_S

    def _absorb(self, blocks: list[np.ndarray]) -> None:
        if blocks:
            self.reduced = np.concatenate([self.reduced, self.model.reduce(np.concatenate(blocks))])

    def _frames(self, upto: int, total_rows: int) -> np.ndarray:
        if upto <= self.emitted:
            return np.zeros((0, SHAPE_DIMS), np.float32)
        lo = max(0, self.emitted - 1)
        hi = upto + 1
        frames = np.arange(lo, hi)
        raw = self.model.raw_frames(self.reduced, frames, self.fps, total_rows)
        # edge handling identical to _smooth on the whole track
        total_frames = self._total_frames
        if lo == 0:
            raw = np.concatenate([raw[:1], raw])
        if total_frames is not None and hi > total_frames:
            raw = raw[: total_frames - lo + (1 if lo == 0 else 0)]
            raw = np.concatenate([raw, raw[-1:]])
        smooth = 0.25 * raw[:-2] + 0.5 * raw[1:-1] + 0.25 * raw[2:]
        out = self.model.to_shapes(smooth)
        self.emitted = upto
        return out

    _total_frames: int | None = None

    def push(self, pcm_chunk: np.ndarray) -> np.ndarray:
        if self.closed:
            raise RuntimeError("the stream was flushed")
        chunk = np.asarray(pcm_chunk, np.float32).reshape(-1)
        self.samples += len(chunk)
        self._absorb(self.features.push(chunk))
        rows = len(self.reduced)
        # frame i is final once rows up to left(i+1)+max offset+1 exist and frame i+1's raw is computable
        ready = self.emitted
        limit = n_frames(self.samples / SAMPLE_RATE, self.fps)
        while ready + 1 < limit:
            left, _ = _frame_rows(np.array([ready + 1]), self.fps)
            if left[0] + max(ROW_OFFSETS) + 1 >= rows:
                break
            ready += 1
        return self._frames(ready, rows)

    def flush(self) -> np.ndarray:
        if self.closed:
            return np.zeros((0, SHAPE_DIMS), np.float32)
        self.closed = True
        self._absorb(self.features.finish())
        total = n_frames(self.samples / SAMPLE_RATE, self.fps)
        self._total_frames = total
        rows = len(self.reduced)
        if rows == 0:
            rest = np.tile(self.model.rest_shape(), (max(0, total - self.emitted), 1))
            self.emitted = total
            return rest
        rows_real = math.ceil(self.samples / 320)
        self.reduced = self.reduced[:rows_real]
        return self._frames(total, rows_real)
