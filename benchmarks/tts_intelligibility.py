"""TTS intelligibility: WER/CER of the bundled Whisper base model on TTS output vs on real speech.

The TTS voices read the Whisper transcripts of the real clips, so both sides use the same text; the real
clips' error rate (against that transcript, re-decoded with greedy search) is the reference point.

    .venv/bin/python benchmarks/tts_intelligibility.py

Prints one JSON line and one human line; skips when ../shared/media is absent.
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.voice_clone import read_with  # noqa: E402
from synthesis.speech import asr  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media" / "audio"
CLIPS = {"en": ["en_speech_60s_16k.wav", "en_radio_8s.wav"], "zh": ["zh_news_8s.wav", "zh_poem_5s.wav"]}
VOICES = {"en": ["espeak-en-us-m", "espeak-en-us-f", "piper-en-us-joe"], "zh": ["espeak-cmn-f", "espeak-cmn-m"]}


def pooled_rate(read, language: str, count: int = 12) -> float:
    from synthesis.speech.prompts import prompts

    edits = words = 0
    for text in prompts(language, 100)[:count]:
        reference = asr.tokens(text, language)
        edits += asr.edit_distance(reference, asr.tokens(asr.transcribe(read(text), language).text, language))
        words += len(reference)
    return round(edits / words, 3)


def main() -> int:
    if not MEDIA.exists():
        print(json.dumps({"benchmark": "tts_intelligibility", "skipped": f"{MEDIA} not found"}))
        print("tts_intelligibility: skipped (no shared media)")
        return 0
    started = time.monotonic()
    result: dict = {"benchmark": "tts_intelligibility"}
    for language, clips in CLIPS.items():
        sentences, real_errors = [], []
        for clip in clips:
            reference = asr.transcribe(str(MEDIA / clip), language, beam_size=5)
            for _start, _end, text in reference.segments:
                if text.strip():
                    sentences.append(text.strip())
            real_errors.append(asr.error_rate(reference.text, asr.transcribe(str(MEDIA / clip), language).text,
                                              language))
        metric = "cer" if language == "zh" else "wer"
        result[f"{language}_real_{metric}"] = round(sum(real_errors) / len(real_errors), 3)
        for voice_id in VOICES[language]:
            read = read_with(voice_id)
            errors = [asr.error_rate(text, asr.transcribe(read(text), language).text, language) for text in sentences]
            result[f"{language}_{voice_id}_{metric}"] = round(sum(errors) / len(errors), 3)
        result[f"{language}_sentences"] = len(sentences)
        # The real clips give few sentences (2 in Mandarin): also 12 short prompts, pooled over all their words.
        for voice_id in VOICES[language]:
            result[f"{language}_{voice_id}_prompts_{metric}"] = pooled_rate(read_with(voice_id), language)
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result))
    print("tts_intelligibility: " + ", ".join(f"{key} {value}" for key, value in result.items() if key.endswith("er")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
