"""Voice cloning: train -> save -> load -> convert on a tiny espeak set (one voice as target, another as base)."""

import threading

import numpy as np
import pytest

from synthesis.speech import clone, prompts
from synthesis.speech.clone import features

RATE = 16000
TEST_TEXT = "A gentle breeze carried the smell of fresh bread through the open kitchen window."


def reader(voice_id: str):
    """A base_tts-style reader of a preset voice (what training uses)."""
    return clone.synth_base_tts(voice_id, RATE)


def envelope_distance(pcm: np.ndarray, rate: int, reference: np.ndarray, reference_rate: int) -> float:
    """Mel-cepstral distortion of speech frames after DTW alignment."""
    from synthesis.speech.asr import resample, to_float

    a = features.analyze(resample(to_float(pcm), rate, RATE), RATE)
    b = features.analyze(resample(to_float(reference), reference_rate, RATE), RATE)
    a_speech = np.flatnonzero(features.speech_frames(a.mcep))
    b_speech = np.flatnonzero(features.speech_frames(b.mcep))
    index, _ = features.dtw_path(a.mcep[a_speech, 1:25], b.mcep[b_speech, 1:25])
    return features.mel_cepstral_distortion(b.mcep[b_speech], a.mcep[a_speech[index]])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base, target = reader("espeak-en-us-m"), reader("espeak-en-us-f")
    recordings = [(target(text), text) for text in prompts.prompts("en", 20)[:6]]
    stages: list[tuple[float, str]] = []
    voice = clone.train(recordings, base_tts=base, language="en", base_voice_id="espeak-en-us-m",
                        progress=lambda percent, stage: stages.append((percent, stage)))
    path = tmp_path_factory.mktemp("voice") / "voice.npz"
    voice.save(path)
    return voice, path, stages


def test_training_reports_progress_and_metrics(trained):
    voice, _, stages = trained
    names = [stage for _, stage in stages]
    for stage in ("synthesizing base readings", "analysing", "aligning", "fitting mapping", "writing model"):
        assert stage in names
    assert [percent for percent, _ in stages] == sorted(percent for percent, _ in stages)
    metrics = voice.metrics
    assert metrics["frames_used"] > 1000 and metrics["held_out_sentences"] == 1
    assert metrics["mcd_after_db"] < metrics["mcd_before_db"]
    assert metrics["f0_target_median_hz"] > metrics["f0_base_median_hz"]  # female target, male base
    assert metrics["training_seconds"] < 60


def test_converted_speech_is_closer_to_target(trained):
    _, path, _ = trained
    converter = clone.load(path)
    assert converter.base_voice_id == "espeak-en-us-m" and converter.voice.language == "en"
    base_pcm, base_rate = reader("espeak-en-us-m")(TEST_TEXT)
    target_pcm, target_rate = reader("espeak-en-us-f")(TEST_TEXT)
    out, out_rate = converter.convert(base_pcm, base_rate)
    assert out.dtype == np.int16 and out_rate == RATE
    assert abs(len(out) / out_rate - len(base_pcm) / base_rate) < 0.01  # word timings stay valid
    before = envelope_distance(base_pcm, base_rate, target_pcm, target_rate)
    after = envelope_distance(out, out_rate, target_pcm, target_rate)
    assert after < before


def test_converter_is_thread_safe_and_methods_selectable(trained):
    _, path, _ = trained
    converter = clone.load(path)
    pcm, rate = reader("espeak-en-us-m")(TEST_TEXT[:40])
    expected = converter.convert(pcm, rate)[0]
    results = [None] * 3

    def run(slot: int) -> None:
        results[slot] = converter.convert(pcm, rate)[0]

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.array_equal(result, expected) for result in results)
    other = "ridge+knn" if converter.method == "ridge" else "ridge"
    plain = clone.load(path, method=other).convert(pcm, rate)[0]
    assert len(plain) == len(expected) and not np.array_equal(plain, expected)
    with pytest.raises(ValueError):
        clone.load(path, method="nonsense")


def test_every_method_converts_and_default_is_saved(trained):
    voice, path, _ = trained
    assert clone.DEFAULT_METHOD in clone.METHODS and voice.method == clone.DEFAULT_METHOD == "ridge+gv"
    with np.load(path, allow_pickle=False) as data:  # one .npz, no pickled objects
        assert {"gv_target_std", "exemplar_keys", "exemplar_values"} <= set(data.files)
    loaded = clone.load_trained(path)
    assert np.allclose(loaded.gv_target_std, voice.gv_target_std, rtol=1e-5)
    assert loaded.exemplar_keys.shape == voice.exemplar_keys.shape and loaded.gv_weight == voice.gv_weight
    pcm, rate = reader("espeak-en-us-m")(TEST_TEXT[:40])
    outputs = {method: clone.load(path, method=method).convert(pcm, rate)[0] for method in clone.METHODS}
    for out in outputs.values():
        assert len(out) == len(outputs["ridge"]) and np.abs(out.astype(float)).max() > 1000
    assert not np.array_equal(outputs["ridge+gv"], outputs["ridge"])


def test_voice_without_new_arrays_still_loads(trained, tmp_path):
    voice, _, _ = trained
    import dataclasses

    old = dataclasses.replace(voice, method="ridge", gv_target_std=np.zeros(0), gv_ridge_std=np.zeros(0),
                              exemplar_keys=np.zeros((0, 0)), exemplar_values=np.zeros((0, 0)),
                              key_mean=np.zeros(0), key_std=np.zeros(0))
    old.save(tmp_path / "old.npz")
    pcm, rate = reader("espeak-en-us-m")(TEST_TEXT[:40])
    assert len(clone.load(tmp_path / "old.npz").convert(pcm, rate)[0]) > 0
    with pytest.raises(ValueError):
        clone.load(tmp_path / "old.npz", method="ridge+gv")


def test_default_base_voices():
    assert clone.default_base_voice("zh").startswith("espeak-cmn")
    assert clone.default_base_voice("en") in {"piper-en-us-joe", "espeak-en-us-f", "espeak-en-us-m"}


def test_tempo_follows_the_speakers_rate_and_is_saved(tmp_path):
    """A target that speaks slower than the base gives tempo < 1: the base then reads slower for this voice."""
    from synthesis.speech.synth import synthesize
    from synthesis.speech.types import SynthesisOptions

    base = reader("espeak-en-us-m")

    def slow_target(text):
        result = synthesize(text, voice_id="espeak-en-us-f", options=SynthesisOptions(sample_rate=RATE, speed=70))
        return result.pcm, result.sample_rate

    texts = prompts.prompts("en", 20)[6:10]
    voice = clone.train([(slow_target(text), text) for text in texts], base_tts=base, language="en",
                        base_voice_id="espeak-en-us-m")
    assert 0.6 < voice.tempo < 0.9 and voice.metrics["tempo"] == round(voice.tempo, 3)
    path = tmp_path / "slow.npz"
    voice.save(path)
    converter = clone.load(path)
    assert converter.tempo == pytest.approx(voice.tempo)
    text = "A sentence read by the cloned voice."
    plain = synthesize(text, voice_id="espeak-en-us-m", options=SynthesisOptions(sample_rate=RATE))
    cloned = synthesize(text, voice_id="espeak-en-us-m", options=SynthesisOptions(sample_rate=RATE),
                        converter=converter)
    assert cloned.duration > plain.duration * 1.15
    assert cloned.words[-1].end <= cloned.duration + 0.01
