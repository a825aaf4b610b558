"""WORLD analysis/synthesis and the frame features the voice mapping works on."""

from dataclasses import dataclass

import numpy as np
import pyworld

FRAME_PERIOD_MS = 5.0
MCEP_DIMS = 40  # c0 (frame power) + 39 envelope coefficients
SILENCE_BELOW_PEAK_DB = 40.0


@dataclass
class WorldFeatures:
    f0: np.ndarray  # Hz, 0 where unvoiced
    mcep: np.ndarray  # frames x MCEP_DIMS
    coded_ap: np.ndarray  # frames x bands (coded aperiodicity, dB)
    fft_size: int
    length: int  # samples of the analysed signal

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0


def analyze(samples: np.ndarray, sample_rate: int, *, accurate_f0: bool = False) -> WorldFeatures:
    """F0 (harvest when `accurate_f0`, else dio+stonemask), cheaptrick envelope, d4c aperiodicity, 5 ms frames."""
    x = np.ascontiguousarray(samples, dtype=np.float64)
    if accurate_f0:
        f0, times = pyworld.harvest(x, sample_rate, f0_floor=60.0, f0_ceil=600.0, frame_period=FRAME_PERIOD_MS)
    else:
        f0, times = pyworld.dio(x, sample_rate, f0_floor=60.0, f0_ceil=600.0, frame_period=FRAME_PERIOD_MS)
        f0 = pyworld.stonemask(x, f0, times, sample_rate)
    envelope = pyworld.cheaptrick(x, f0, times, sample_rate)
    aperiodicity = pyworld.d4c(x, f0, times, sample_rate)
    fft_size = (envelope.shape[1] - 1) * 2
    return WorldFeatures(
        f0=f0,
        mcep=pyworld.code_spectral_envelope(envelope, sample_rate, MCEP_DIMS),
        coded_ap=pyworld.code_aperiodicity(aperiodicity, sample_rate),
        fft_size=fft_size,
        length=len(x),
    )


def synthesize(
    f0: np.ndarray, mcep: np.ndarray, coded_ap: np.ndarray, sample_rate: int, fft_size: int, length: int
) -> np.ndarray:
    envelope = pyworld.decode_spectral_envelope(np.ascontiguousarray(mcep, dtype=np.float64), sample_rate, fft_size)
    aperiodicity = pyworld.decode_aperiodicity(np.ascontiguousarray(coded_ap, dtype=np.float64), sample_rate, fft_size)
    out = pyworld.synthesize(
        np.ascontiguousarray(f0, dtype=np.float64), envelope, aperiodicity, sample_rate, FRAME_PERIOD_MS
    )
    if len(out) >= length:
        return out[:length]
    return np.pad(out, (0, length - len(out)))


def speech_frames(mcep: np.ndarray) -> np.ndarray:
    """Frames within SILENCE_BELOW_PEAK_DB of the loud part (c0 is the log frame power)."""
    power_db = mcep[:, 0] * (20.0 / np.log(10.0))
    reference = np.percentile(power_db, 95) if len(power_db) else 0.0
    return power_db > reference - SILENCE_BELOW_PEAK_DB


def with_context(mcep: np.ndarray, width: int = 2) -> np.ndarray:
    """Stack each frame with its neighbours (edge-padded): frames x (2*width+1)*dims."""
    padded = np.pad(mcep, ((width, width), (0, 0)), mode="edge")
    count = len(mcep)
    return np.hstack([padded[offset:offset + count] for offset in range(2 * width + 1)])


def mel_cepstral_distortion(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Mean MCD in dB over frames, excluding c0."""
    if len(reference) == 0:
        return 0.0
    diff = reference[:, 1:] - estimate[:, 1:]
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2.0 * np.sum(diff**2, axis=1))))


def dtw_path(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """For each target frame, the aligned source frame (monotonic, source advances 0-2 frames per target frame).

    Features are normalized per utterance so the alignment follows the content, not the two timbres.
    Returns (source index per target frame, mean frame cost).
    """
    source = _normalize(source)
    target = _normalize(target)
    if len(source) > 2 * len(target):  # keep within the step pattern's slope
        keep = np.linspace(0, len(source) - 1, 2 * len(target)).astype(int)
        index, cost = dtw_path(source[keep], target)
        return keep[index], cost
    cost = _pairwise(target, source)
    rows, cols = cost.shape
    total = np.full((rows, cols), np.inf)
    step = np.zeros((rows, cols), dtype=np.int8)
    total[0, 0] = cost[0, 0]
    for i in range(1, rows):
        previous = total[i - 1]
        options = np.vstack([previous, np.r_[np.inf, previous[:-1]], np.r_[np.inf, np.inf, previous[:-2]]])
        step[i] = np.argmin(options, axis=0)
        total[i] = cost[i] + options[step[i], np.arange(cols)]
    index = np.zeros(rows, dtype=int)
    column = cols - 1
    for i in range(rows - 1, -1, -1):
        index[i] = column
        column = max(column - int(step[i, column]), 0)
    return index, float(total[-1, -1] / rows) if np.isfinite(total[-1, -1]) else float("inf")


def _normalize(features: np.ndarray) -> np.ndarray:
    return (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-8)


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))
