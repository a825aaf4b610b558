"""Audio -> mouth-shape model (synthesis.avatar.lipsync): interface, storage, streaming, edge cases, and a
synthetic signal whose mouth track is known. Real footage checks skip without ../shared/media."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from synthesis.avatar import lipsync
from synthesis.avatar.lipsync import MouthModel, StreamingMouth, fit_mouth_model, track_from_phonemes
from synthesis.speech.types import PhonemeTiming

SR = 16000
FPS = 25.0
MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


def _syllable_track(seconds: float, seed: int) -> np.ndarray:
    """A known mouth-opening pattern at FPS: syllables of random length and height, pauses between phrases."""
    rng = np.random.default_rng(seed)
    n = int(math.ceil(seconds * FPS))
    track = np.zeros(n)
    i = 0
    while i < n:
        if rng.random() < 0.15:
            i += int(rng.integers(6, 15))  # pause
            continue
        length = int(rng.integers(4, 9))
        height = rng.uniform(0.3, 1.0)
        end = min(n, i + length)
        track[i:end] = height * np.sin(np.linspace(0, np.pi, end - i))
        i = end + int(rng.integers(0, 3))
    return track


def _vowel_audio(track: np.ndarray, seed: int) -> np.ndarray:
    """Buzz through formants whose loudness and first formant follow the track (open mouth: loud, high F1)."""
    rng = np.random.default_rng(seed)
    n = int(len(track) / FPS * SR)
    t = np.arange(n) / SR
    env = np.interp(t, (np.arange(len(track)) + 0.5) / FPS, track)
    f0 = 120 + 15 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    out = np.zeros(n)
    for h in range(1, 30):
        freq = h * f0
        f1 = 300 + 500 * env
        gain = 1.0 / (1 + ((freq - f1) / 120) ** 2) + 0.5 / (1 + ((freq - 1500) / 200) ** 2)
        out += gain * np.sin(h * phase) / h
    out *= env
    out += 0.002 * rng.standard_normal(n)
    return (0.3 * out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def _shapes(track: np.ndarray) -> np.ndarray:
    return np.stack([0.05 + 0.4 * track, 0.9 - 0.1 * track, 0.2 + 0.4 * track, 1.1 + 0.15 * track], 1)


@pytest.fixture(scope="module")
def fitted():
    track = _syllable_track(24.0, seed=1)
    audio = _vowel_audio(track, seed=1)
    shapes = _shapes(track)
    shapes[50:55] = np.nan  # face lost for a moment
    model, report = fit_mouth_model(audio, SR, shapes, FPS)
    return model, report


def test_fit_report_is_json_and_has_the_model_card_figures(fitted):
    model, report = fitted
    json.dumps(report)
    for key in ("opening_r", "match_share", "shift2_r", "loudness_r", "train_speech_s", "val_speech_s", "warning"):
        assert key in report
    assert report["opening_r"] > 0.5


def test_predict_follows_a_known_mouth_track_on_new_audio(fitted):
    model, _ = fitted
    track = _syllable_track(8.0, seed=7)
    audio = _vowel_audio(track, seed=7)
    pred = model.predict(audio, SR, FPS)
    assert pred.shape == (math.ceil(len(audio) / SR * FPS), 4)
    assert np.corrcoef(pred[:, 0], track[: len(pred)])[0, 1] > 0.6
    # other sample rates and int16 input
    pcm16 = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    from scipy.signal import resample_poly

    pred22 = model.predict(resample_poly(audio, 441, 320).astype(np.float32), 22050, FPS)
    assert abs(len(pred22) - len(pred)) <= 1
    assert np.corrcoef(pred22[: len(pred) - 1, 0], pred[: len(pred22) - 1, 0])[0, 1] > 0.9
    assert model.predict(pcm16, SR, FPS).shape == pred.shape


def test_save_load_roundtrip(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "mouth.npz")
    loaded = MouthModel.load(path)
    audio = _vowel_audio(_syllable_track(3.0, seed=3), seed=3)
    np.testing.assert_array_equal(model.predict(audio, SR, 30.0), loaded.predict(audio, SR, 30.0))
    with np.load(path, allow_pickle=False) as z:  # no pickled objects inside
        assert "meta" in z.files


@pytest.mark.parametrize("fps", [25.0, 30.0])
def test_streaming_equals_batch(fitted, fps):
    model, _ = fitted
    audio = _vowel_audio(_syllable_track(4.3, seed=4), seed=4)
    batch = model.predict_acoustic(audio, SR, fps)  # streaming cannot wait for the ASR: acoustic only
    stream = StreamingMouth(model, fps)
    rng = np.random.default_rng(0)
    parts, i = [], 0
    while i < len(audio):
        k = int(rng.integers(50, 5000))
        parts.append(stream.push(audio[i:i + k]))
        i += k
    parts.append(stream.flush())
    out = np.concatenate(parts)
    assert out.shape == batch.shape
    np.testing.assert_allclose(out, batch, atol=1e-5)
    assert stream.latency_s <= 0.25


def test_streaming_emits_before_the_end(fitted):
    model, _ = fitted
    audio = _vowel_audio(_syllable_track(3.0, seed=5), seed=5)
    stream = StreamingMouth(model, FPS)
    early = stream.push(audio[: 2 * SR])
    # everything up to 2 s minus the look-ahead and one encoder hop is out already
    assert len(early) >= int((2.0 - stream.latency_s - 0.12) * FPS)


def test_short_and_silent_audio_degrade_gracefully():
    rng = np.random.default_rng(0)
    silent = np.zeros(4 * SR, np.float32)
    shapes = _shapes(np.zeros(100)) + 0.001 * rng.standard_normal((100, 4))
    model, report = fit_mouth_model(silent, SR, shapes, FPS)
    json.dumps(report)
    assert report["warning"]
    pred = model.predict(silent[:SR], SR, FPS)
    assert pred.shape == (25, 4) and np.isfinite(pred).all()
    # a clip too short to learn from, and a face never found
    model, report = fit_mouth_model(silent[: SR // 2], SR, shapes[:12], FPS)
    assert "too few" in report["warning"]
    assert model.predict(np.zeros(SR, np.float32), SR, FPS).shape == (25, 4)
    lost = np.full((100, 4), np.nan)
    model, report = fit_mouth_model(silent, SR, lost, FPS)
    assert np.isfinite(model.predict(silent, SR, FPS)).all()
    # empty audio
    assert model.predict(np.zeros(0, np.float32), SR, FPS).shape == (0, 4)


def test_track_from_phonemes_uses_the_persons_shapes(fitted):
    model, _ = fitted
    phonemes = [PhonemeTiming("m", 0.1, 0.2), PhonemeTiming("a", 0.2, 0.5), PhonemeTiming("p", 0.5, 0.6),
                PhonemeTiming("i", 0.6, 0.9)]
    track = track_from_phonemes(model, phonemes, 1.2, FPS)
    assert track.shape == (30, 4)
    lo, hi = model.shape_quantiles[0, 0], model.shape_quantiles[0, -1]
    assert (track[:, 0] >= lo - 1e-6).all() and (track[:, 0] <= hi + 1e-6).all()
    assert track[int(0.35 * FPS), 0] > track[int(0.55 * FPS), 0] + 0.05  # "a" open, "p" closed
    assert track[int(1.1 * FPS), 0] < track[int(0.35 * FPS), 0]


def test_match_share_and_shift_reference():
    real = np.sin(np.linspace(0, 20, 200))
    assert lipsync.match_share(real, real) == 1.0
    assert lipsync.match_share(np.roll(real, 2), real) == 1.0
    assert lipsync.match_share(-real, real) < 0.7
    assert 0.8 < lipsync.shift_reference(real) < 1.0


@pytest.mark.skipif(not (MEDIA / "video" / "man_zh_talking_480.mp4").exists(), reason="needs ../shared/media")
def test_real_clip_fit_beats_a_closed_mouth(tmp_path):
    import soundfile as sf

    from synthesis.face.landmarks import mouth_shape, track_video
    from synthesis.media.derive import extract_mono_wav

    clip = MEDIA / "video" / "man_zh_talking_480.mp4"
    wav = extract_mono_wav(clip, tmp_path / "a.wav", SR)
    audio, _ = sf.read(wav, dtype="float32")
    shapes = mouth_shape(track_video(clip, fps=25).points)
    model, report = fit_mouth_model(audio, SR, shapes, 25.0)
    pred = model.predict(audio, SR, 25.0)
    assert abs(len(pred) - len(shapes)) <= 1
    assert report["match_share"] is not None and report["match_share"] > 0.5


def test_phonetic_driver_recovers_the_phonemes_of_generated_speech(fitted):
    """ASR words -> espeak phonemes -> audio-refined timings, against the true timings of an espeak sentence."""
    from synthesis.avatar import phonetic
    from synthesis.speech import catalog, synth

    model, _ = fitted
    voice = catalog.default_voice("en")
    result = synth.synthesize("Please bring my old map back to the open window before the rain comes.",
                              voice_id=voice.voice_id)
    pcm = result.pcm.astype(np.float32) / 32768.0
    audio = lipsync._resample(pcm, result.sample_rate)
    duration = len(audio) / SR
    aligned = phonetic.align(audio)
    assert len(aligned) > 20
    assert all(a.start <= a.end for a in aligned)
    true_track = track_from_phonemes(model, result.phonemes, duration, FPS)[:, 0]
    asr_track = track_from_phonemes(model, aligned, duration, FPS)[:, 0]
    assert np.corrcoef(true_track, asr_track)[0, 1] > 0.5
    # silence and noise: no words survive (Whisper's hallucinations on silence are dropped), no phonemes
    assert phonetic.align(np.zeros(2 * SR, np.float32)) == []
    # predict() with known phonemes skips the ASR and equals the blended path
    out = model.predict(pcm, result.sample_rate, FPS, phonemes=result.phonemes)
    assert out.shape == (math.ceil(duration * FPS - 1e-9), 4) and np.isfinite(out).all()
