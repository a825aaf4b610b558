"""Speech synthesis speed: real-time factor (RTF) and time to the first streamed chunk, per engine.

RTF = synthesis wall time / duration of the audio produced (below 1 = faster than real time).
Texts: ~500 Chinese characters (eSpeak Mandarin) and ~100 English words (eSpeak and Piper neural).

Baseline, measured in the same run on the same audio: encoding the produced samples as a 16-bit WAV
file (`audio.encode(..., "wav")`), expressed the same way (seconds per second of audio). Every request
pays at least that cost to hand the audio out, so `rtf / baseline_rtf` says how many times more expensive
synthesis is than merely delivering the bytes, a ratio that stays meaningful across machines, unlike
raw seconds.

Output: one JSON line, then one human-readable line. Runtime is bounded (well under a minute).
"""

import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synthesis.speech import audio, synth  # noqa: E402
from synthesis.speech.types import Segment, Sentence, SynthesisOptions  # noqa: E402

ZH_TEXT = (
    "数字人技术正在改变内容生产的方式。通过语音合成，我们可以把任何一段文字变成自然流畅的声音，"
    "再配合口型驱动和表情动画，让虚拟主播在直播间里和观众实时互动。今天的天气很好，我们一起去公园散步吧。"
    "在企业培训、新闻播报、电商带货和在线教育等场景中，数字人可以全天候工作，大幅降低人力成本。"
    "为了让声音更加真实，系统需要对文本进行规范化处理，例如把数字、日期和单位读成正确的汉字，"
    "还要根据标点符号插入合适的停顿。对于多音字，系统会结合上下文选择正确的读音。"
    "合成的音频会按句子分段流式返回，这样第一句话几乎可以立即开始播放，用户不需要等待整段文本全部合成完毕。"
    "与此同时，每个词语的开始和结束时间也会被记录下来，方便前端界面在播放时高亮显示正在朗读的文字。"
    "如果用户上传了自己的声音样本，系统还可以在基础音色上叠加声音克隆，让数字人用用户自己的声音说话。"
    "我们希望这个平台既能私有化部署，又能保持良好的性能和稳定性，满足各类客户的需求。"
    "在未来，我们还会支持更多的语言和方言，包括粤语、日语和韩语，并且不断改进合成声音的自然度和表现力，"
    "让每一位用户都能找到适合自己的声音。"
    "最后，感谢大家的耐心聆听，祝大家工作顺利，生活愉快，身体健康，万事如意。"
)
EN_TEXT = (
    "Digital humans are changing the way content is produced. With speech synthesis, any piece of text "
    "becomes a natural voice, and with lip sync and facial animation a virtual presenter can talk with an "
    "audience in real time. The audio is streamed sentence by sentence, so playback starts almost at once, "
    "and every word carries its start and end time, which lets the console highlight the word being read. "
    "Operators can deploy the whole platform on their own servers, add new voices from a folder, and layer "
    "a cloned voice on top of a base voice. Thank you for listening, and have a wonderful day."
)
CASES = [("espeak", "zh", "espeak-cmn-f", ZH_TEXT), ("espeak", "en", "espeak-en-us-f", EN_TEXT),
         ("piper", "en", "piper-en-us-joe", EN_TEXT)]
OPTIONS = SynthesisOptions(sample_rate=16000)


def split_sentences(text: str, lang: str) -> list[Sentence]:
    """A plain splitter (the benchmark measures the engines, not the text front end)."""
    pattern = r"[^。！？]+[。！？]?" if lang == "zh" else r"[^.!?]+[.!?]?\s*"
    sentences = []
    for match in re.finditer(pattern, text):
        if match.group().strip():
            segment = Segment(match.group(), lang, match.start(), match.end())
            sentences.append(Sentence([segment], match.start(), match.end()))
    return sentences


def measure(voice_id: str, text: str, lang: str) -> dict:
    sentences = split_sentences(text, lang)
    synth.synthesize(sentences[:1], voice_id=voice_id, options=OPTIONS)  # warm up: load models, dictionaries
    began = time.perf_counter()
    first = next(iter(synth.stream(sentences, voice_id=voice_id, options=OPTIONS)))
    first_chunk_s = time.perf_counter() - began
    began = time.perf_counter()
    result = synth.synthesize(sentences, voice_id=voice_id, options=OPTIONS)
    synth_s = time.perf_counter() - began
    began = time.perf_counter()
    for _ in range(5):
        audio.encode(result.pcm, result.sample_rate, "wav")
    baseline_s = (time.perf_counter() - began) / 5
    return {
        "voice": voice_id,
        "chars": len(text),
        "words": len(text.split()) if lang == "en" else None,
        "sentences": len(sentences),
        "audio_s": round(result.duration, 2),
        "rtf": round(synth_s / result.duration, 4),
        "first_chunk_ms": round(first_chunk_s * 1000, 1),
        "first_chunk_audio_s": round(first.duration, 2),
        "baseline_wav_rtf": round(baseline_s / result.duration, 6),
        "rtf_over_baseline": round(synth_s / max(baseline_s, 1e-9), 1),
    }


def main() -> None:
    results = {}
    for engine, lang, voice_id, text in CASES:
        results[f"{engine}_{lang}"] = measure(voice_id, text, lang)
    print(json.dumps({"benchmark": "tts_speed", "sample_rate": OPTIONS.sample_rate, "results": results}))
    print("; ".join(
        f"{name}: RTF {r['rtf']:.3f} ({r['audio_s']}s audio), first chunk {r['first_chunk_ms']:.0f} ms, "
        f"{r['rtf_over_baseline']:.0f}x the WAV-encode baseline"
        for name, r in results.items()
    ))


if __name__ == "__main__":
    main()
