"""Subtitles engine: SPEC section 2 punctuation, words from TTS/ASR timings, line breaking, SRT/VTT, overlays."""

import numpy as np
import pytest

from synthesis.compose import subtitles as sub
from synthesis.compose.subtitles import (
    Cue,
    SubtitleStyle,
    SubtitleTrack,
    Word,
    break_lines,
    clean_subtitle_text,
    parse_srt,
    render_cue,
    to_srt,
    to_vtt,
    words_from_asr,
    words_from_tts,
)
from synthesis.photo import card
from synthesis.speech.types import AudioChunk, WordTiming


def clean(text: str, end: bool = True) -> str:
    return clean_subtitle_text(text, end_of_paragraph=end)


@pytest.fixture(scope="module")
def font():
    try:
        return card.card_font(40)
    except card.CardFontMissing as exc:  # `make test` installs fonts-noto-cjk
        pytest.skip(str(exc))


def timed(tokens, step=0.2, start=0.0, gap_after=()):
    """Words back to back, `step` seconds each; an extra 0.5 s silence after the indices in `gap_after`."""
    out, t = [], start
    for i, text in enumerate(tokens):
        out.append(Word(text, t, t + step))
        t += step + (0.5 if i in gap_after else 0.0)
    return out


# --- punctuation (SPEC section 2) ---------------------------------------------------------------------------


@pytest.mark.parametrize("mark", list("、，。：；！？…"))
def test_chinese_marks_inside_a_line_become_one_space(mark):
    assert clean(f"大家好{mark}我是小明") == "大家好 我是小明"


@pytest.mark.parametrize("mark", list("、，。：；！？…"))
def test_chinese_marks_at_the_end_of_a_paragraph_are_dropped(mark):
    assert clean(f"我是小明{mark}", end=True) == "我是小明"
    assert clean(f"我是小明{mark}", end=False) == "我是小明"  # a line never ends with a space


@pytest.mark.parametrize("mark", [",", ".", ":", ";", "!", "?", "..."])
def test_english_marks_inside_a_line_become_one_space(mark):
    assert clean(f"Hello{mark} world") == "Hello world"
    if mark != ".":  # "Hello.world" is one token (see the number/abbreviation tests)
        assert clean(f"Hello{mark}world") == "Hello world"


@pytest.mark.parametrize("mark", [",", ".", ":", ";", "!", "?", "..."])
def test_english_marks_at_the_end_of_a_paragraph_are_dropped(mark):
    assert clean(f"See you soon{mark}") == "See you soon"


def test_runs_of_marks_and_spaces_collapse_to_one_space():
    assert clean("等一下……好吗？！") == "等一下 好吗"
    assert clean("Wait... what?! Really?!") == "Wait what Really"
    assert clean("Wait…what") == "Wait what"
    assert clean("a ,  b ;; c") == "a b c"
    assert clean("  ，你好。  ") == "你好"


def test_kept_marks_are_kept():
    kept = "“引号”‘单’《三体》〈篇〉(括号)（全角）【方】「角」·~～—–-"
    assert clean(kept) == kept
    assert clean("刘慈欣·《三体》——好书~") == "刘慈欣·《三体》——好书~"
    assert clean('He said "hi" (twice) - well ~ok') == 'He said "hi" (twice) - well ~ok'


def test_a_closing_quote_after_a_mark_takes_its_place():
    assert clean("他说：“你好。”然后走了！") == "他说 “你好” 然后走了"
    assert clean('He said "hi." Then left.') == 'He said "hi" Then left'
    assert clean("（真的吗？）好的。") == "（真的吗） 好的"


def test_numbers_and_tokens_keep_their_dots_commas_and_colons():
    assert clean("π is 3.14, roughly.") == "π is 3.14 roughly"
    assert clean("1,000 people at 10:30; fine") == "1,000 people at 10:30 fine"
    assert clean("Built with Node.js and Vue.js.") == "Built with Node.js and Vue.js"
    assert clean("Mail me at a.b@example.com, thanks") == "Mail me at a.b@example.com thanks"
    assert clean("Costs .5 dollars.") == "Costs .5 dollars"
    assert clean("价格是3.5元，对吗？") == "价格是3.5元 对吗"


def test_abbreviations_keep_their_dot():
    assert clean("Fruit, e.g. apples, i.e. food.") == "Fruit e.g. apples i.e. food"
    assert clean("He lives in the U.S.") == "He lives in the U.S."
    assert clean("Mr. Smith, Dr. Who, apples etc.") == "Mr. Smith Dr. Who apples etc."
    assert clean("No. I won't.") == "No I won't"  # "No." is not treated as an abbreviation


def test_urls_keep_their_characters_but_not_the_marks_that_end_them():
    assert clean("Visit https://x.com/a?b=1&c=2, now!") == "Visit https://x.com/a?b=1&c=2 now"
    assert clean("see www.example.com.") == "see www.example.com"


def test_ascii_marks_between_chinese_characters_are_sentence_marks():
    assert clean("你好,世界.再见!") == "你好 世界 再见"


def test_newlines_separate_paragraphs():
    assert clean("第一段。\n\n第二段，继续。\n") == "第一段\n第二段 继续"


# --- words from timings -------------------------------------------------------------------------------------


def _timing(source: str, word: str, start: float, end: float, nth: int = 0) -> WordTiming:
    at = -1
    for _ in range(nth + 1):
        at = source.index(word, at + 1)
    return WordTiming(word, start, end, at, at + len(word))


def test_words_from_tts_brings_back_punctuation_and_merges_spans():
    source = "Pi is 3.14, see “Node.js”!\n大家好，我是小明。"
    timings = [
        _timing(source, "Pi", 0.0, 0.2), _timing(source, "is", 0.2, 0.4),
        *[_timing(source, "3.14", 0.4 + 0.2 * i, 0.6 + 0.2 * i) for i in range(4)],  # three point one four
        _timing(source, "see", 1.3, 1.5), _timing(source, "Node.js", 1.5, 2.0),
        *[_timing(source, ch, 2.5 + 0.2 * i, 2.7 + 0.2 * i) for i, ch in enumerate("大家好我是小明")],
    ]  # fmt: skip
    chunks = [AudioChunk(np.zeros(10, np.int16), 16000, 0.0, timings[:8]),
              AudioChunk(np.zeros(10, np.int16), 16000, 2.5, timings[8:])]
    words = words_from_tts(chunks, source)
    assert [w.text for w in words] == ["Pi ", "is ", "3.14, ", "see ", "“Node.js”! ", "大", "家", "好，", "我", "是",
                                       "小", "明。"]  # fmt: skip
    three = words[2]
    assert (three.start, three.end) == pytest.approx((0.4, 1.2))
    assert [w.paragraph_end for w in words] == [False] * 4 + [True] + [False] * 6 + [True]
    assert [w.text for w in words_from_tts(timings)][:3] == ["Pi", "is", "3.14"]  # no source: no punctuation


def test_words_from_asr_splits_chinese_and_glues_punctuation():
    words = words_from_asr([(0.0, 0.6, "大家好"), (0.6, 0.7, "，"), (0.8, 1.2, " Hello,"), (1.2, 1.6, " AI技术。")])
    assert [w.text for w in words] == ["大", "家", "好，", "Hello,", "AI", "技", "术。"]
    assert words[0].start == 0.0 and words[2].end == pytest.approx(0.7)
    assert all(a.end <= b.start + 1e-9 for a, b in zip(words, words[1:], strict=False))
    assert words[-1].paragraph_end


def test_spacing_between_words(font):
    asr = words_from_asr([(0, 1, " Hello"), (1, 1.2, " &"), (1.2, 2, " bye"), (2, 2.1, "."), (2.2, 2.5, " “Quote"),
                          (2.5, 3, "”!"), (3, 3.2, "AI技术"), (3.2, 4, "3.14元")])
    assert [c.lines for c in break_lines(asr, max_width_px=2000, font=font)] == [
        ["Hello & bye “Quote” AI技术3.14元"]]
    exact = [Word("A/", 0, 0.5, space_before=False), Word("B", 0.5, 1, space_before=False)]
    assert break_lines(exact, max_width_px=2000, font=font)[0].lines == ["A/B"]


# --- line breaking ------------------------------------------------------------------------------------------


ZH = "人工智能正在改变我们的生活，它可以帮助医生诊断疾病、帮助老师批改作业，还能陪老人聊天。你觉得呢？"
EN = ("Artificial intelligence is changing the way we live, work and learn; it helps doctors, teachers and "
      "engineers every single day. What do you think?")


def _check_cues(cues, font, max_w, max_lines=2):
    assert cues
    for cue in cues:
        assert 1 <= len(cue.lines) <= max_lines
        for line in cue.lines:
            assert line == line.strip() and line
            assert font.getlength(line) <= max_w
            assert line[0] not in "，。、；：！？）》”,.;:!?)"
    for a, b in zip(cues, cues[1:], strict=False):
        assert a.end <= b.start
        assert a.start < a.end


@pytest.mark.parametrize("max_w", [260, 420, 700])
def test_chinese_lines_fit_the_width(font, max_w):
    cues = break_lines(timed(list(ZH)), max_width_px=max_w, font=font)
    _check_cues(cues, font, max_w)
    shown = "".join(line for cue in cues for line in cue.lines).replace(" ", "")
    assert shown == "".join(ch for ch in ZH if ch not in "，、。？")


@pytest.mark.parametrize("max_w", [300, 520])
def test_english_breaks_at_spaces_only(font, max_w):
    words = timed(EN.split(" "))
    cues = break_lines(words, max_width_px=max_w, font=font)
    _check_cues(cues, font, max_w)
    shown = [tok for cue in cues for line in cue.lines for tok in line.split(" ")]
    assert shown == clean(EN).split(" ")  # every word whole, in order


def test_a_word_wider_than_the_line_is_cut(font):
    cues = break_lines(timed(["Supercalifragilisticexpialidocious", "indeed"]), max_width_px=150, font=font,
                       max_lines=2)
    _check_cues(cues, font, 150)
    assert "".join(line for cue in cues for line in cue.lines) == "Supercalifragilisticexpialidociousindeed"


def test_mixed_chinese_and_english(font):
    text = "我用Python和Node.js写代码，效率很高。Then we ship it!"
    words = words_from_asr([(0.0, 6.0, text)])
    cues = break_lines(words, max_width_px=300, font=font)
    _check_cues(cues, font, 300)
    lines = [line for cue in cues for line in cue.lines]
    assert any("Python" in line for line in lines) and any("Node.js" in line for line in lines)
    assert "".join(lines).replace(" ", "") == "我用Python和Node.js写代码效率很高Thenweshipit"


def test_a_pause_starts_a_new_cue(font):
    words = timed(["Hello", "there", "my", "friend"], gap_after={1})
    cues = break_lines(words, max_width_px=1000, font=font)
    assert [cue.lines for cue in cues] == [["Hello there"], ["my friend"]]
    assert cues[0].end <= cues[1].start


def test_short_gaps_do_not_split_and_paragraphs_do(font):  # 0.25 s silence: same cue
    words = [Word("one", 0.0, 0.2), Word("two", 0.45, 0.6, paragraph_end=True), Word("three", 0.6, 0.8)]
    cues = break_lines(words, max_width_px=1000, font=font)
    assert [cue.lines for cue in cues] == [["one two"], ["three"]]


def test_min_duration_and_no_overlap(font):
    words = [Word("快", 0.0, 0.1), Word("走", 1.0, 1.1), Word("了", 1.5, 1.6)]
    cues = break_lines(words, max_width_px=500, font=font)
    assert [c.lines for c in cues] == [["快"], ["走"], ["了"]]
    assert cues[0].end == pytest.approx(0.8)  # stretched to the minimum
    assert cues[1].end == pytest.approx(1.5)  # the next cue comes first: no overlap
    assert cues[2].end == pytest.approx(2.3)


def test_punctuation_in_cues_follows_the_rules(font):
    source = "大家好，我是小明。"
    timings = [_timing(source, ch, 0.2 * i, 0.2 * i + 0.2) for i, ch in enumerate("大家好我是小明")]
    cues = break_lines(words_from_tts(timings, source), max_width_px=1000, font=font)
    assert [c.lines for c in cues] == [["大家好 我是小明"]]


def test_lines_prefer_to_end_at_a_sentence_mark(font):
    text = "今天天气很好，我们一起去公园散步吧"
    words = timed(list(text))
    width = font.getlength("今天天气很好我们")  # the line fills past the comma
    cues = break_lines(words, max_width_px=width, font=font)
    assert cues[0].lines[0] == "今天天气很好"


# --- SRT / VTT ----------------------------------------------------------------------------------------------


CUES = [Cue(0.0, 1.5, ["大家好 我是小明"]), Cue(1.5, 3723.0456, ["Hello world", "<b>&</b>"])]


def test_srt_golden():
    assert to_srt(CUES) == (
        "1\n00:00:00,000 --> 00:00:01,500\n大家好 我是小明\n\n"
        "2\n00:00:01,500 --> 01:02:03,046\nHello world\n<b>&</b>\n"
    )


def test_vtt_golden():
    assert to_vtt(CUES) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n大家好 我是小明\n\n"
        "00:00:01.500 --> 01:02:03.046\nHello world\n&lt;b&gt;&amp;&lt;/b&gt;\n"
    )
    assert to_vtt([]) == "WEBVTT\n"
    assert to_srt([]) == ""


def test_srt_round_trip_and_empty_cues_skipped():
    cues = [Cue(0.0, 1.0, ["  "]), *CUES]
    text = to_srt(cues)
    assert text.startswith("1\n00:00:00,000 --> 00:00:01,500")
    back = parse_srt("\ufeff" + text.replace("\n", "\r\n"))
    assert [(c.start, c.lines) for c in back] == [(0.0, CUES[0].lines), (1.5, CUES[1].lines)]
    assert back[1].end == pytest.approx(3723.046)


# --- overlays -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cjk_available(font):
    return True


def test_render_cue_bottom(cjk_available):
    style = SubtitleStyle(font_size=40, color=(255, 0, 0), stroke_width=2, stroke_color=(0, 0, 255))
    arr = render_cue(Cue(0, 1, ["大家好 Hello", "第二行"]), (640, 360), style)
    assert arr.shape == (360, 640, 4) and arr.dtype == np.uint8
    alpha = arr[..., 3]
    rows = np.nonzero(alpha.max(axis=1))[0]
    assert rows.min() > 360 // 2 and rows.max() < 360 - round(0.08 * 360) + 2  # bottom block above the margin
    cols = np.nonzero(alpha.max(axis=0))[0]
    assert abs((cols.min() + cols.max()) / 2 - 320) < 12  # centred
    solid = arr[alpha == 255]
    assert ((solid[:, 0] == 255) & (solid[:, 1] == 0) & (solid[:, 2] == 0)).any()  # text colour
    assert ((solid[:, 2] == 255) & (solid[:, 0] == 0)).any()  # outline colour
    assert 0 < ((alpha > 0) & (alpha < 255)).sum()  # anti-aliased edges
    assert not alpha[: 360 // 2].any()


def test_caption_opacity_scales_its_alpha(cjk_available):
    cue = Cue(0, 1, ["大家好 Hello"])
    solid = render_cue(cue, (640, 360), SubtitleStyle(font_size=40))
    faint = render_cue(cue, (640, 360), SubtitleStyle(font_size=40, opacity=0.4))
    assert solid[..., 3].max() == 255 and faint[..., 3].max() == 102
    assert np.array_equal(faint[..., :3], solid[..., :3])


def test_render_cue_top_with_background(cjk_available):
    style = SubtitleStyle(font_size=32, position="top", background=True, background_opacity=0.5)
    arr = render_cue(Cue(0, 1, ["Hi"]), (400, 300), style)
    alpha = arr[..., 3]
    rows = np.nonzero(alpha.max(axis=1))[0]
    assert rows.min() == round(0.08 * 300) and rows.max() < 150
    assert (alpha == 128).sum() > 100  # the translucent box
    assert render_cue(Cue(0, 1, []), (400, 300), style).max() == 0


def test_track_caches_overlays(cjk_available):
    cues = [Cue(0.0, 1.0, ["一"]), Cue(1.0, 2.0, ["二"]), Cue(3.0, 4.0, ["三"])]
    track = SubtitleTrack(cues, (320, 180), SubtitleStyle(font_size=24))
    first = track.overlay_at(0.1)
    assert first is track.overlay_at(0.9)
    assert not first.flags.writeable
    second = track.overlay_at(1.0)
    assert second is not first and second is track.overlay_at(1.5)
    assert track.overlay_at(2.5) is None and track.overlay_at(-1) is None and track.overlay_at(4.0) is None
    assert track.overlay_at(0.5) is first


def test_cues_for_style_fit_the_drawn_frame(cjk_available):
    style = SubtitleStyle(font_size=36, stroke_width=3)
    cues = sub.cues_for_style(timed(list(ZH)), (480, 270), style)
    room = style.max_text_width(480)
    for cue in cues:
        arr = render_cue(cue, (480, 270), style)
        cols = np.nonzero(arr[..., 3].max(axis=0))[0]
        assert cols.min() > 0 and cols.max() < 479
        assert all(style.font().getlength(line) <= room for line in cue.lines)
