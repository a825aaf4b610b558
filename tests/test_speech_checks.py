"""Recording checks, ASR and long-audio splitting on speech made with the bundled TTS (no database)."""

import io

import numpy as np
import pytest
import soundfile

from synthesis.speech import asr, checks, clone, longform, prompts

EN_TEXT = "The quick brown fox jumps over the lazy dog near the riverbank."
ZH_TEXT = "今天天气很好，我们一起去公园散散步吧。"


def read(text: str, voice_id: str) -> tuple[np.ndarray, int]:
    """Speech from the project's TTS."""
    return clone.synth_base_tts(voice_id)(text)


def as_recording(pcm: np.ndarray, rate: int, *, noise_dbfs: float = -70.0, seed: int = 0) -> np.ndarray:
    """Pad with room tone like a real microphone take (float, mono)."""
    speech = pcm.astype(np.float64) / 32768.0
    pad = np.zeros(int(0.4 * rate))
    take = np.concatenate([pad, speech, pad])
    noise = np.random.default_rng(seed).normal(0.0, 10 ** (noise_dbfs / 20.0), len(take))
    return take + noise


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def good_take():
    pcm, rate = read(EN_TEXT, "piper-en-us-joe")
    return as_recording(pcm, rate), rate


def codes(report) -> set[str]:
    return {problem.code for problem in report.problems}


def test_good_recording_passes(good_take):
    samples, rate = good_take
    report = checks.check_recording(wav_bytes(samples, rate), EN_TEXT, "en")
    assert report.ok, report.problems
    assert report.metrics["sample_rate"] == rate and report.metrics["channels"] == 1
    assert report.metrics["error_rate"] <= 0.4
    assert report.metrics["noise_floor_dbfs"] < -55


def test_unreadable_and_format_problems(tmp_path, good_take):
    samples, rate = good_take
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all")
    assert codes(checks.check_recording(junk, EN_TEXT, "en")) == {"UNREADABLE"}

    narrowband = asr.resample(samples.astype(np.float32), rate, 8000)
    report = checks.check_recording(wav_bytes(narrowband, 8000), EN_TEXT, "en", asr=False)
    assert codes(report) == {"SAMPLE_RATE"}
    assert "8000 Hz" in report.problems[0].message

    stereo = np.stack([samples, samples], axis=1)
    assert codes(checks.check_recording(wav_bytes(stereo, rate), EN_TEXT, "en", asr=False)) == {"NOT_MONO"}

    short = samples[int(0.5 * rate): int(1.2 * rate)]
    assert "TOO_SHORT" in codes(checks.check_recording(wav_bytes(short, rate), None, "en"))
    long = np.tile(samples, int(31 * rate / len(samples)) + 1)
    assert "TOO_LONG" in codes(checks.check_recording(wav_bytes(long, rate), None, "en"))


def test_level_problems(good_take):
    samples, rate = good_take
    clipped = np.clip(samples * 10.0, -1.0, 1.0)
    assert codes(checks.check_recording(wav_bytes(clipped, rate), EN_TEXT, "en", asr=False)) == {"CLIPPING"}

    silent = np.random.default_rng(1).normal(0.0, 1e-4, len(samples))
    report = checks.check_recording(wav_bytes(silent, rate), EN_TEXT, "en")
    assert codes(report) == {"SILENT"}

    noisy = samples + np.random.default_rng(2).normal(0.0, 0.03, len(samples))
    report = checks.check_recording(wav_bytes(noisy, rate), EN_TEXT, "en", asr=False)
    assert codes(report) == {"NOISY"}
    assert f"{report.metrics['noise_floor_dbfs']:.0f} dBFS" in report.problems[0].message


def test_wrong_sentence_is_reported(good_take):
    samples, rate = good_take
    other = prompts.prompts("en", 20)[5]
    report = checks.check_recording((samples, rate), other, "en", sentence_number=6)
    assert codes(report) == {"TEXT_MISMATCH"}
    assert "sentence 6" in report.problems[0].message and "heard '" in report.problems[0].message


def test_asr_english_and_chinese():
    pcm, rate = read(EN_TEXT, "piper-en-us-joe")
    english = asr.transcribe((pcm, rate), "en")
    assert asr.error_rate(EN_TEXT, english.text, "en") <= 0.3, english.text
    assert english.segments and english.segments[0][0] >= 0.0

    pcm, rate = read(ZH_TEXT, "espeak-cmn-f")
    chinese = asr.transcribe((pcm, rate), "zh")
    assert chinese.language == "zh"
    assert asr.error_rate(ZH_TEXT, chinese.text, "zh") <= 0.5, chinese.text


def test_error_rate_normalization():
    assert asr.error_rate("I have 25 apples, in 1999!", "i have twenty-five apples in nineteen ninety nine", "en") == 0
    assert asr.error_rate("我有25个苹果。", "我有二十五個蘋果", "zh") == 0
    assert asr.error_rate("one two three four", "one two four", "en") == pytest.approx(0.25)
    assert asr.error_rate("", "", "en") == 0.0


def test_prompt_sets():
    for language in ("en", "zh"):
        basic, middle = prompts.prompts(language, 20), prompts.prompts(language, 100)
        assert len(basic) == 20 and len(set(middle)) == 100 and middle[:20] == basic
        assert not any(char.isdigit() for sentence in middle for char in sentence)
    assert all(8 <= len(sentence.split()) <= 25 for sentence in prompts.prompts("en", 100))
    with pytest.raises(ValueError):
        prompts.prompts("xx", 20)


def test_longform_splits_at_pauses(tmp_path):
    sentences = prompts.prompts("en", 20)[:4]
    rate = 22050
    parts, pause = [], np.zeros(int(1.2 * rate))
    for sentence in sentences:
        pcm, source_rate = read(sentence, "piper-en-us-joe")
        parts += [pause, asr.resample(pcm.astype(np.float32) / 32768.0, source_rate, rate)]
    long_path = tmp_path / "long.wav"
    soundfile.write(long_path, np.concatenate(parts + [pause]), rate, subtype="PCM_16")
    stages = []
    original_block = longform.BLOCK_SECONDS
    longform.BLOCK_SECONDS = 7.0  # force several blocks so the carry-over between blocks is exercised
    try:
        utterances = longform.split_long_audio(long_path, "en", tmp_path / "out", lambda p, s: stages.append(s))
    finally:
        longform.BLOCK_SECONDS = original_block
    assert len(utterances) == len(sentences)
    for utterance, sentence in zip(utterances, sentences, strict=True):
        assert asr.error_rate(sentence, utterance.text, "en") <= 0.4, utterance.text
        info = soundfile.info(utterance.path)
        assert info.channels == 1 and info.subtype == "PCM_16"
        assert 2.0 <= utterance.end - utterance.start <= 15.0
    assert "transcribing" in stages and stages[-1] == "done"
