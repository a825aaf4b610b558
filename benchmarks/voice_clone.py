"""Voice cloning benchmark: speaker similarity (resemblyzer), intelligibility (Whisper WER) and training time.

Target speaker: real speech from ../shared/media/audio, cut into sentences with Whisper segments; most sentences
train the voice, a few are held out. The held-out texts are read by the base voice and converted; resemblyzer
(a separate venv: benchmarks/requirements-bench.txt) compares both to the held-out real recordings.

    .venv/bin/python benchmarks/voice_clone.py [--language en|zh] [--method M] [--compare] [--bench-python PATH]

Prints one JSON line and one human line. Skips (exit 0) when the media or the bench venv is absent. `--compare`
also converts with every method of the same trained voice (JSON "methods": similarity, WER, RTF per method).
Ceiling references in the JSON: "similarity_target_loo" (each held-out recording vs the mean of the other held-out
ones) and "similarity_train_targets" (the speaker's own training recordings vs the held-out reference).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from synthesis.speech import asr, clone  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media" / "audio"
SOURCES = {"en": "en_speech_60s_16k.wav", "zh": "zh_speech_22s_44k.wav"}
RATE = 16000
HELD_OUT = 3
DEFAULT_BENCH_PYTHON = [ROOT / ".venv-bench" / "bin" / "python", Path("/tmp/venv-bench/bin/python")]

_SIMILARITY = """
import json, sys
import numpy as np
from resemblyzer import VoiceEncoder, preprocess_wav
groups = json.loads(sys.argv[1])
encoder = VoiceEncoder("cpu", verbose=False)
embed = {name: [encoder.embed_utterance(preprocess_wav(path)) for path in paths] for name, paths in groups.items()}
reference = np.mean(embed["target"], axis=0)
reference /= np.linalg.norm(reference)
out = {name: float(np.mean([e @ reference / np.linalg.norm(e) for e in items])) for name, items in embed.items()
       if name != "target"}
unit = [e / np.linalg.norm(e) for e in embed["target"]]
others = [np.mean([u for j, u in enumerate(unit) if j != i], axis=0) for i in range(len(unit))]
out["target_loo"] = float(np.mean([u @ o / np.linalg.norm(o) for u, o in zip(unit, others)]))
print(json.dumps(out))
"""


def read_with(voice_id: str, rate: int = RATE):
    """base_tts for a preset voice: the project's synth, as training uses it."""
    return clone.synth_base_tts(voice_id, rate)


def cut_sentences(path: Path, language: str) -> list[tuple[np.ndarray, str]]:
    """Whisper segments of the real recording as (16 kHz float samples, transcript), 1-15 s each."""
    samples = asr.load_audio(str(path), RATE)
    transcript = asr.transcribe((samples, RATE), language, beam_size=5)
    pieces = []
    for start, end, text in transcript.segments:
        piece = samples[int(start * RATE): int(end * RATE)]
        if 1.0 <= len(piece) / RATE <= 15.0 and text.strip():
            pieces.append((piece, text.strip()))
    return pieces


def bench_python(explicit: str | None) -> Path | None:
    candidates = [Path(explicit)] if explicit else DEFAULT_BENCH_PYTHON
    return next((path for path in candidates if path.exists()), None)


def similarity(python: Path, groups: dict[str, list[str]]) -> dict[str, float]:
    output = subprocess.run(
        [str(python), "-c", _SIMILARITY, json.dumps(groups)], capture_output=True, text=True, timeout=600, check=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def write(directory: Path, name: str, samples: np.ndarray, rate: int) -> str:
    path = directory / f"{name}.wav"
    soundfile.write(path, samples, rate, subtype="PCM_16")
    return str(path)


def run(language: str, method: str, python: Path | None, base_voice: str | None, compare: bool = False) -> dict:
    pieces = cut_sentences(MEDIA / SOURCES[language], language)
    if len(pieces) < HELD_OUT + 4:
        return {"benchmark": "voice_clone", "language": language, "skipped": f"only {len(pieces)} sentences"}
    train_pieces, held_out = pieces[:-HELD_OUT], pieces[-HELD_OUT:]
    base_voice = base_voice or clone.default_base_voice(language)
    base_tts = read_with(base_voice)
    started = time.monotonic()
    voice = clone.train([((s, RATE), text) for s, text in train_pieces], base_tts=base_tts, language=language,
                        method=method, base_voice_id=base_voice)
    training_seconds = time.monotonic() - started
    methods = [method] + [other for other in clone.METHODS if compare and other != method]
    converters = {name: voice.converter(name) for name in methods}
    result = {
        "benchmark": "voice_clone", "language": language, "method": method, "base_voice": base_voice,
        "train_sentences": len(train_pieces), "held_out": len(held_out),
        "train_audio_seconds": round(sum(len(s) for s, _ in train_pieces) / RATE, 1),
        "training_seconds": round(training_seconds, 1),
        "mcd_before_db": voice.metrics["mcd_before_db"], "mcd_after_db": voice.metrics["mcd_after_db"],
    }
    result["training_time_ratio"] = round(training_seconds / result["train_audio_seconds"], 3)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        names = {name: "cloned" if name == method else f"cloned:{name}" for name in methods}
        groups: dict[str, list[str]] = {"target": [], "base": [], **{group: [] for group in names.values()}}
        groups["train_targets"] = [write(directory, f"train{n}", s, RATE) for n, (s, _) in enumerate(train_pieces)]
        errors: dict[str, list[float]] = {"base": [], "target": [], **{group: [] for group in names.values()}}
        convert_seconds = dict.fromkeys(methods, 0.0)
        converted_audio = 0.0
        for number, (target, text) in enumerate(held_out):
            groups["target"].append(write(directory, f"target{number}", target, RATE))
            pcm, rate = base_tts(text)
            groups["base"].append(write(directory, f"base{number}", pcm, rate))
            outputs = [("base", (pcm, rate)), ("target", (target, RATE))]
            for name, converter in converters.items():
                started = time.monotonic()
                converter.convert(pcm, rate)
                convert_seconds[name] += time.monotonic() - started
                cloned, cloned_rate = cloned_reading(base_voice, text, converter)
                if name == method:
                    converted_audio += len(cloned) / cloned_rate
                groups[names[name]].append(write(directory, f"cloned{len(outputs)}_{number}", cloned, cloned_rate))
                outputs.append((names[name], (cloned, cloned_rate)))
            for name, audio in outputs:
                errors[name].append(asr.error_rate(text, asr.transcribe(audio, language).text, language))
        metric = "cer" if language == "zh" else "wer"
        result["convert_rtf"] = round(convert_seconds[method] / converted_audio, 3)
        for name in ("base", "cloned", "target"):
            result[f"{metric}_held_out_{name}"] = round(float(np.mean(errors[name])), 3)
        pooled = pooled_error_rates(base_tts, converters[method], language, base_voice)
        result[f"{metric}_base"], result[f"{metric}_cloned"] = pooled["base"], pooled["cloned"]
        result[f"{metric}_sentences"] = pooled["sentences"]
        scores = similarity(python, groups) if python is not None else {}
        if python is None:
            result["similarity"] = "skipped: no bench venv (see benchmarks/requirements-bench.txt)"
        else:
            result["similarity_cloned"] = round(scores["cloned"], 3)
            result["similarity_base"] = round(scores["base"], 3)
            result["similarity_gain"] = round(scores["cloned"] - scores["base"], 3)
            result["similarity_target_loo"] = round(scores["target_loo"], 3)
            result["similarity_train_targets"] = round(scores["train_targets"], 3)
        if compare:
            result["methods"] = {
                name: {
                    "similarity": round(scores[group], 3) if scores else None,
                    metric: round(float(np.mean(errors[group])), 3),
                    "convert_rtf": round(convert_seconds[name] / converted_audio, 3),
                }
                for name, group in names.items()
            }
    return result


def cloned_reading(base_voice: str, text: str, converter) -> tuple[np.ndarray, int]:
    """What the product plays: the base voice at the speaker's tempo, converted sentence by sentence."""
    from synthesis.speech.synth import synthesize
    from synthesis.speech.types import SynthesisOptions

    result = synthesize(text, voice_id=base_voice, options=SynthesisOptions(sample_rate=RATE), converter=converter)
    return result.pcm, result.sample_rate


def pooled_error_rates(base_tts, converter, language: str, base_voice: str, count: int = 12) -> dict:
    """WER (CER for zh) of base and cloned readings of `count` prompts the voice never trained on, pooled over
    all their words: a few short held-out sentences alone make a very noisy figure."""
    from synthesis.speech.prompts import prompts

    texts = prompts(language, 100)[-count:]
    edits = {"base": 0, "cloned": 0}
    words = 0
    for text in texts:
        pcm, rate = base_tts(text)
        reference = asr.tokens(text, language)
        words += len(reference)
        for name, audio in (("base", (pcm, rate)), ("cloned", cloned_reading(base_voice, text, converter))):
            heard = asr.tokens(asr.transcribe(audio, language).text, language)
            edits[name] += asr.edit_distance(reference, heard)
    return {"base": round(edits["base"] / words, 3), "cloned": round(edits["cloned"] / words, 3),
            "sentences": len(texts)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="en", choices=sorted(SOURCES))
    parser.add_argument("--method", default=clone.DEFAULT_METHOD, choices=clone.METHODS)
    parser.add_argument("--base-voice", default=None)
    parser.add_argument("--bench-python", default=os.environ.get("BENCH_PYTHON"))
    parser.add_argument("--compare", action="store_true", help="also convert with every other method (JSON 'methods')")
    args = parser.parse_args()
    if not (MEDIA / SOURCES[args.language]).exists():
        print(json.dumps({"benchmark": "voice_clone", "skipped": f"{MEDIA} not found"}))
        print("voice_clone: skipped (no shared media)")
        return 0
    result = run(args.language, args.method, bench_python(args.bench_python), args.base_voice, args.compare)
    print(json.dumps(result))
    error_name = "CER" if args.language == "zh" else "WER"
    metric = error_name.lower()
    print(
        f"voice_clone[{args.language}, {args.method}]: similarity cloned {result.get('similarity_cloned', '?')} vs "
        f"base {result.get('similarity_base', '?')}; {error_name} cloned {result.get(metric + '_cloned', '?')} vs "
        f"base {result.get(metric + '_base', '?')}; trained {result.get('train_sentences')} sentences in "
        f"{result.get('training_seconds')} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
