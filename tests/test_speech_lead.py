"""synthesis.speech.lead: the first sentence is cut at its first clause pause so the first chunk comes sooner."""

from synthesis.speech import frontend, synth
from synthesis.speech.lead import split_lead


def test_first_sentence_is_cut_after_its_first_comma_with_offsets_kept():
    text = "Good morning everyone, welcome to the digital content studio. Today we show the engine."
    sentences = split_lead(frontend.prepare(text, default_lang="en"))
    assert [s.text.strip() for s in sentences] == [
        "Good morning everyone,", "welcome to the digital content studio.", "Today we show the engine."]
    for sentence in sentences:
        for segment in sentence.segments:
            for start, end, source_start, source_end in segment.word_spans:
                assert segment.text[start:end] == text[source_start:source_end]


def test_no_cut_without_a_comma_or_with_a_short_lead_or_rest():
    for text in ("One sentence without any pause at all. Another one.", "Yes, I will come tomorrow morning.",
                 "短句，很短。", "First three words, ok."):
        sentences = frontend.prepare(text, default_lang="en" if text[0].isascii() else "zh")
        assert split_lead(sentences) == sentences, text


def test_chinese_lead_and_streamed_timings_follow_on():
    text = "今天天气很好，我们一起去公园散散步吧。明天见。"
    chunks = list(synth.stream(text, voice_id="espeak-cmn-f"))
    assert [chunk.text for chunk in chunks] == ["今天天气很好，", "我们一起去公园散散步吧。", "明天见。"]
    assert abs(chunks[1].start - (chunks[0].start + chunks[0].duration)) < 0.01
    words = [word for chunk in chunks for word in chunk.words]
    assert "".join(word.word for word in words) == "今天天气很好我们一起去公园散散步吧明天见"
    assert all(text[w.source_start:w.source_end] == w.word for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
