"""The TTS text front end: normalization, SSML, readings, segmentation and source offsets (pure, no database)."""

import random

import pytest

from synthesis.speech.frontend import detect_language, prepare, split_sentences
from synthesis.speech.types import MAX_TEXT_CHARS, Prosody, SpeechError


def spoken(text: str, **options) -> str:
    """Everything the engines will read, sentences joined by " | "."""
    return " | ".join(sentence.text for sentence in prepare(text, **options))


def segments(text: str, **options):
    return [segment for sentence in prepare(text, **options) for segment in sentence.segments]


def word_sources(text: str, **options) -> list[tuple[str, str]]:
    """(spoken word, the source text it was read from) for every word."""
    pairs = []
    for segment in segments(text, **options):
        for start, end, source_start, source_end in segment.word_spans:
            pairs.append((segment.text[start:end], text[source_start:source_end]))
    return pairs


def ssml_error(text: str) -> SpeechError:
    with pytest.raises(SpeechError) as caught:
        prepare(text, ssml=True)
    return caught.value


# --- Chinese normalization ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("共123个", "共一百二十三个"),
    ("有10人", "有十人"),
    ("有12人", "有十二人"),
    ("有2000人", "有两千人"),
    ("有10050人", "有一万零五十人"),
    ("有100000人", "有十万人"),
    ("有1,234,567人", "有一百二十三万四千五百六十七人"),
    ("圆周率3.14", "圆周率三点一四"),
    ("温度-5度", "温度负五度"),
    ("我有2个苹果", "我有两个苹果"),
    ("第1名", "第一名"),
    ("增长12%", "增长百分之十二"),
    ("增长12.5%", "增长百分之十二点五"),
    ("2026年11月27日", "二〇二六年十一月二十七日"),
    ("今天2026-11-27", "今天二〇二六年十一月二十七日"),
    ("截至2026-11", "截至二〇二六年十一月"),
    ("日期11/27/2026", "日期二〇二六年十一月二十七日"),
    ("会议10:30开始", "会议十点三十分开始"),
    ("会议10:05开始", "会议十点零五分开始"),
    ("价格¥12.50", "价格十二元五角"),
    ("价格¥12.05", "价格十二元零五分"),
    ("价格$3.99", "价格三点九九美元"),
    ("价格€5", "价格五欧元"),
    ("价格12.5元", "价格十二点五元"),
    ("价格USD 100", "价格一百美元"),
    ("跑了5km", "跑了五公里"),
    ("重60kg", "重六十公斤"),
    ("时速20km/h", "时速二十公里每小时"),
    ("气温25℃", "气温二十五摄氏度"),
    ("气温-5°C", "气温零下五摄氏度"),
    ("高180cm", "高一百八十厘米"),
    ("喝了500ml", "喝了五百毫升"),
    ("请拨打13800138000", "请拨打幺三八零零幺三八零零零"),
    ("请拨打010-12345678", "请拨打零幺零，幺二三四五六七八"),
    ("3~5天", "三到五天"),
    ("增长10%-20%", "增长百分之十到百分之二十"),
    ("手机138 0013 8000", "手机幺三八，零零幺三，八零零零"),
    ("共1.5亿元", "共一点五亿元"),
    ("1/2的人", "二分之一的人"),
])
def test_chinese_normalization(text, expected):
    assert spoken(text) == expected


# --- English normalization ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("I have 123 apples", "I have one hundred twenty-three apples"),
    ("It is 3.14 wide", "It is three point one four wide"),
    ("It fell to -5 today", "It fell to minus five today"),
    ("About 1,234,567 people", "About one million two hundred thirty-four thousand five hundred sixty-seven people"),
    ("It grew 12% today", "It grew twelve percent today"),
    ("She came 1st and he came 22nd", "She came first and he came twenty-second"),
    ("Born on 2026-11-27 here", "Born on November twenty-seventh, twenty twenty-six here"),
    ("Born on 11/27/2026 here", "Born on November twenty-seventh, twenty twenty-six here"),
    ("Born on 27/11/2026 here", "Born on November twenty-seventh, twenty twenty-six here"),
    ("Born on Nov 27, 2026 here", "Born on November twenty-seventh, twenty twenty-six here"),
    ("It was in 1999 and in 2005", "It was in nineteen ninety-nine and in two thousand five"),
    ("Music of the 1980s", "Music of the nineteen eighties"),
    ("Meet at 10:30 today", "Meet at ten thirty today"),
    ("Meet at 10:05 today", "Meet at ten oh five today"),
    ("Meet at 9:00 pm today", "Meet at nine p m today"),
    ("It costs $3.99 now", "It costs three dollars and ninety-nine cents now"),
    ("It costs $1 now", "It costs one dollar now"),
    ("It costs $0.50 now", "It costs fifty cents now"),
    ("See No. 5 here", "See number five here"),
    ("It costs ¥12.50 now", "It costs twelve yuan and fifty fen now"),
    ("It costs €5 now", "It costs five euros now"),
    ("It costs USD 100 now", "It costs one hundred dollars now"),
    ("It costs $5 million now", "It costs five million dollars now"),
    ("I ran 5 km today", "I ran five kilometers today"),
    ("I ran 1 km today", "I ran one kilometer today"),
    ("It weighs 2.5kg now", "It weighs two point five kilograms now"),
    ("Drive at 60 km/h now", "Drive at sixty kilometers per hour now"),
    ("It is 25°C now", "It is twenty-five degrees Celsius now"),
    ("Buy 16GB and 512 MB", "Buy sixteen gigabytes and five hundred twelve megabytes"),
    ("Add 3 L of water", "Add three liters of water"),
    ("Call 555-1234 now", "Call five five five, one two three four now"),
    ("Call +1 (555) 123-4567 now", "Call plus one, five five five, one two three, four five six seven now"),
    ("Dr. Smith met Mr. Jones", "Doctor Smith met Mister Jones"),
    ("Mrs. Lee lives on Main St. today", "Missus Lee lives on Main Street today"),
    ("Apples vs. pears, e.g. fruit, i.e. food", "Apples versus pears, for example fruit, that is food"),
    ("We use AI and an API on the CPU", "We use A I and an A P I on the C P U"),
    ("Use a 5G phone", "Use a five G phone"),
    ("Rock & roll", "Rock and roll"),
    ("Pages 10-20 now", "Pages ten to twenty now"),
    ("Version 1.2.3 is out", "Version one point two point three is out"),
])
def test_english_normalization(text, expected):
    assert spoken(text, default_lang="en") == expected


def test_etc_keeps_the_sentence_end_only_before_a_new_sentence():
    assert spoken("Apples, pears, etc. Then more.") == "Apples, pears, et cetera. | Then more."
    assert spoken("Apples, pears, etc. are fruit.") == "Apples, pears, et cetera are fruit."


def test_digits_are_read_in_the_language_around_them():
    assert spoken("我有3个苹果") == "我有三个苹果"
    assert spoken("I have 3 apples") == "I have three apples"
    assert spoken("2026年") == "二〇二六年"
    assert spoken("123", default_lang="zh") == "一百二十三"
    assert spoken("123", default_lang="en") == "one hundred twenty-three"


def test_other_languages_keep_their_digits_for_the_engine():
    assert spoken("Ich habe 3 Äpfel", default_lang="de") == "Ich habe 3 Äpfel"
    assert spoken("Ich habe ABC", default_lang="de") == "Ich habe A B C"


# --- segmentation and languages ----------------------------------------------------------------------


def test_mixed_chinese_english_alternates_segments_in_one_sentence():
    sentences = prepare("我们用 Python 写了 API 服务")
    assert len(sentences) == 1
    langs = [(segment.lang, segment.text.strip()) for segment in sentences[0].segments]
    assert langs == [("zh", "我们用"), ("en", "Python"), ("zh", "写了"), ("en", "A P I"), ("zh", "服务")]


@pytest.mark.parametrize(("text", "lang"), [
    ("こんにちは", "ja"), ("안녕하세요", "ko"), ("Привет", "ru"), ("مرحبا", "ar"), ("Hello", "en"), ("你好", "zh"),
    ("Γειά σου", "el"),
])
def test_runs_get_the_language_of_their_script(text, lang):
    assert [segment.lang for segment in segments(text)] == [lang]


def test_latin_runs_take_a_latin_default_language():
    assert [segment.lang for segment in segments("Bonjour 你好", default_lang="fr")] == ["fr", "zh"]
    assert [segment.lang for segment in segments("Bonjour 你好", default_lang="zh")] == ["en", "zh"]


def test_han_next_to_kana_is_japanese():
    assert {segment.lang for segment in segments("東京へ行きます")} == {"ja"}


def test_punctuation_and_digits_attach_to_the_run_around_them():
    parts = [(segment.lang, segment.text) for segment in segments("Hello, 世界！")]
    assert parts == [("en", "Hello, "), ("zh", "世界！")]


def test_sentences_split_at_terminators_and_newlines():
    expected = "你好。 | 你好吗？ | 很好！ | 好； | Yes. | No? | Ok! | 再见"
    assert spoken("你好。你好吗？很好！好；Yes. No? Ok!\n再见") == expected


def test_periods_inside_numbers_and_abbreviations_do_not_split():
    assert len(prepare("Dr. Smith paid 3.5 dollars. Then left.", default_lang="en")) == 2


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello world. How are you? Fine!", ["Hello world.", "How are you?", "Fine!"]),
    ("Dr. Smith paid 3.5 dollars. J. K. Rowling wrote it.", ["Dr. Smith paid 3.5 dollars.", "J. K. Rowling wrote it."]),
    ("e.g. this vs. that. Next", ["e.g. this vs. that.", "Next"]),
    ("Room No. 5 is here. I said no. Fine", ["Room No. 5 is here.", "I said no.", "Fine"]),
    ("你好。今天天气很好！我们走吧？", ["你好。", "今天天气很好！", "我们走吧？"]),
    ("第一段\n\n第二段", ["第一段", "第二段"]),
    ("他说：“好。”然后走了。", ["他说：“好。”", "然后走了。"]),
    ("   ", []),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_long_sentences_split_at_commas():
    clause = "这是一个比较长的分句用来测试切分"
    text = "，".join([clause] * 30) + "。"
    sentences = prepare(text)
    assert len(sentences) > 1
    assert all(len(sentence.text) <= 200 for sentence in sentences)
    assert all(sentence.text.endswith(("，", "。")) for sentence in sentences)
    assert "".join(sentence.text for sentence in sentences) == text


def test_long_sentences_without_commas_still_split():
    text = "字" * 1000
    sentences = prepare(text)
    assert all(len(sentence.text) <= 200 for sentence in sentences)
    assert "".join(sentence.text for sentence in sentences) == text


def test_whitespace_collapses_inside_a_sentence():
    assert spoken("Hello    big\t world", default_lang="en") == "Hello big world"


def test_sentences_without_speakable_text_are_dropped():
    assert spoken("你好。。。\n---\n再见") == "你好。。。 | 再见"


@pytest.mark.parametrize("text", ["。。。", "---", "<speak> <s> </s> </speak>"])
def test_text_with_nothing_to_read_is_refused(text):
    with pytest.raises(SpeechError) as caught:
        prepare(text)
    assert "nothing to read" in caught.value.message and caught.value.field == "text"


@pytest.mark.parametrize(("text", "lang"), [
    ("今天天气很好 today", "zh"), ("This is English 你好", "en"), ("これは日本語です", "ja"), ("한국어", "ko"),
    ("Русский", "ru"), ("12345", "zh"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


# --- offsets -----------------------------------------------------------------------------------------


def test_expanded_words_map_to_the_original_token():
    text = "Dr. Smith paid $3.99 in 2026 for AI."
    pairs = word_sources(text, default_lang="en")
    assert ("Doctor", "Dr.") in pairs
    assert [source for word, source in pairs if source == "$3.99"] == ["$3.99"] * 5
    assert ("twenty", "2026") in pairs and ("twenty-six", "2026") in pairs
    assert ("A", "AI") in pairs and ("I", "AI") in pairs


def test_chinese_words_are_characters_mapped_to_their_source():
    text = "今天2026年"
    pairs = word_sources(text)
    assert pairs == [("今", "今"), ("天", "天"), ("二", "2026"), ("〇", "2026"), ("二", "2026"), ("六", "2026"),
                     ("年", "年")]


def test_date_parts_map_to_their_own_numbers_when_read_in_written_order():
    pairs = word_sources("On Nov 27, 2026 ok", default_lang="en")
    assert ("November", "Nov") in pairs and ("twenty-seventh", "27") in pairs and ("twenty-six", "2026") in pairs
    assert ("〇", "2026") in word_sources("日期2026-11-27") and ("七", "27") in word_sources("日期2026-11-27")


def test_dates_read_in_another_order_map_to_the_whole_date():
    pairs = word_sources("On 2026-11-27 ok", default_lang="en")
    assert ("November", "2026-11-27") in pairs and ("twenty-six", "2026-11-27") in pairs


def test_segment_and_sentence_spans_cover_the_source():
    text = "第一句。 Second sentence here."
    sentences = prepare(text)
    assert [text[s.source_start:s.source_end] for s in sentences] == ["第一句。", "Second sentence here."]
    for sentence in sentences:
        for segment in sentence.segments:
            assert sentence.source_start <= segment.source_start <= segment.source_end <= sentence.source_end


_RANDOM_PARTS = [
    "你好", "世界", "我们", "Python", "API", "Hello", "world", " ", " ", "，", "。", ". ", "!", "\n", "2026", "3.14",
    "-5", "12%", "¥12.50", "$3.99", "5km", "10:30", "2026-11-27", "11/27/2026", "Nov 27, 2026", "第1", "1st", "Dr.",
    "e.g.", "555-1234", "13800138000", "年", "月", "日", "℃", "&", "こんにちは", "안녕", "Привет", "CPU", "etc.",
]


def _check_invariants(text: str, sentences) -> None:
    previous_sentence_start = 0
    for sentence in sentences:
        assert 0 <= sentence.source_start <= sentence.source_end <= len(text)
        assert sentence.source_start >= previous_sentence_start
        previous_sentence_start = sentence.source_start
        previous_word_start = sentence.source_start
        for segment in sentence.segments:
            assert sentence.source_start <= segment.source_start <= segment.source_end <= sentence.source_end
            for start, end, source_start, source_end in segment.word_spans:
                assert 0 <= start < end <= len(segment.text)
                assert segment.source_start <= source_start < source_end <= segment.source_end
                assert source_start >= previous_word_start
                previous_word_start = source_start
                assert text[source_start:source_end].strip()


@pytest.mark.parametrize("seed", range(40))
def test_offsets_invariants_over_random_text(seed):
    generator = random.Random(seed)
    text = "".join(generator.choice(_RANDOM_PARTS) for _ in range(generator.randint(1, 40)))
    if not text.strip():
        text = "你好"
    _check_invariants(text, prepare(text, default_lang=generator.choice(["zh", "en"])))


@pytest.mark.parametrize("seed", range(20))
def test_offsets_invariants_over_random_ssml(seed):
    generator = random.Random(1000 + seed)
    wrappers = [
        ("<s>", "</s>"), ("<p>", "</p>"), ('<prosody rate="slow">', "</prosody>"), ("<emphasis>", "</emphasis>"),
        ('<lang xml:lang="en-US">', "</lang>"), ("", ""), ("", '<break time="200ms"/>'),
    ]
    body = []
    for _ in range(generator.randint(1, 12)):
        opening, closing = generator.choice(wrappers)
        words = "".join(generator.choice(_RANDOM_PARTS) for _ in range(generator.randint(1, 5)))
        words = words.replace("&", "&amp;")
        body.append(f"{opening}{words}{closing}")
    text = "<speak>" + "".join(body) + '<say-as interpret-as="digits">42</say-as><sub alias="W3C">WWW</sub></speak>'
    _check_invariants(text, prepare(text))


# --- custom readings ---------------------------------------------------------------------------------


def test_readings_replace_words_longest_first_and_map_to_the_word():
    text = "Microsoft 和 Microsoft Azure 都在重庆"
    readings = {"Microsoft": "微软", "microsoft azure": "微软云", "重庆": "崇庆"}
    assert spoken(text, readings=readings) == "微软 和 微软云 都在崇庆"
    pairs = word_sources(text, readings=readings)
    assert ("微", "Microsoft") in pairs and ("云", "Microsoft Azure") in pairs and ("崇", "重庆") in pairs


def test_latin_readings_are_case_insensitive_whole_words():
    readings = {"SQL": "sequel"}
    assert spoken("I like sql and SQL, not sqlite", readings=readings) == "I like sequel and sequel, not sqlite"


def test_many_readings_still_pick_the_longest_word():
    readings = {f"词{index}": f"读{index}" for index in range(2000)}
    readings |= {"word": "term", "wordy": "verbose", "C++": "C plus plus"}
    assert spoken("词12 词1999 wordy word words C++", readings=readings, default_lang="en") == (
        "读十二 读一千九百九十九 verbose term words C plus plus")


def test_readings_are_normalized_afterwards():
    assert spoken("发布会", readings={"发布会": "发布会3场"}) == "发布会三场"


# --- SSML --------------------------------------------------------------------------------------------


def test_ssml_is_detected_and_offsets_point_into_the_source():
    text = '<speak>你好<break time="500ms"/>世界</speak>'
    first, second = segments(text)
    assert (first.text, second.text) == ("你好", "世界")
    assert text[first.source_start:first.source_end] == "你好"
    assert text[second.source_start:second.source_end] == "世界"
    assert second.pause_before == 0.5


def test_ssml_flag_overrides_detection():
    assert spoken("<speak>hi</speak>", ssml=False, default_lang="en").startswith("<speak>")
    assert spoken("  <speak>hi</speak>", default_lang="en") == "hi"
    assert spoken('<?xml version="1.0"?><speak>hi</speak>', default_lang="en") == "hi"
    assert spoken("<p>hi</p>", default_lang="en") == "<p>hi</p>"


def test_speak_and_lang_set_the_language():
    parts = segments('<speak xml:lang="fr-FR">Bonjour <lang xml:lang="de">Guten Tag</lang> 123</speak>')
    assert [(segment.lang, segment.text.strip()) for segment in parts] == [("fr", "Bonjour"), ("de", "Guten Tag"),
                                                                          ("fr", "123")]


def test_p_and_s_are_sentence_boundaries():
    text = "<speak><p><s>第一句</s><s>第二句</s></p><p>第三句</p></speak>"
    assert [sentence.text for sentence in prepare(text)] == ["第一句", "第二句", "第三句"]


def test_newlines_inside_ssml_are_just_spaces():
    assert spoken("<speak>Hello\n   world</speak>") == "Hello world"


@pytest.mark.parametrize(("attributes", "pause"), [
    ('time="500ms"', 0.5), ('time="1.5s"', 1.5), ('time="10s"', 10.0), ('strength="weak"', 0.2),
    ('strength="strong"', 0.7), ('strength="x-strong"', 1.0), ("", 0.4),
])
def test_break(attributes, pause):
    parts = segments(f"<speak>一<break {attributes}/>二</speak>")
    assert parts[-1].text == "二" and parts[-1].pause_before == pytest.approx(pause)


def test_break_of_no_strength_adds_nothing():
    (segment,) = segments('<speak>一<break strength="none"/>二</speak>')
    assert (segment.text, segment.pause_before) == ("一二", 0.0)


def test_break_at_the_end_is_a_silent_segment_and_breaks_add_up():
    sentences = prepare('<speak>Hi<break time="1s"/><break time="500ms"/></speak>')
    silent = sentences[-1].segments[-1]
    assert silent.text == "" and silent.pause_before == pytest.approx(1.5) and silent.word_spans == []


@pytest.mark.parametrize(("attributes", "expected"), [
    ('rate="x-slow"', Prosody(rate=0.5)), ('rate="fast"', Prosody(rate=1.25)), ('rate="80%"', Prosody(rate=0.8)),
    ('rate="+20%"', Prosody(rate=1.2)), ('rate="-10%"', Prosody(rate=0.9)), ('pitch="x-high"', Prosody(pitch=1.25)),
    ('pitch="+10%"', Prosody(pitch=1.1)), ('volume="loud"', Prosody(volume=1.25)),
    ('volume="silent"', Prosody(volume=0.0)), ('volume="+6dB"', Prosody(volume=10 ** (6 / 20))),
    ('rate="slow" pitch="low" volume="soft"', Prosody(0.75, 0.88, 0.75)),
])
def test_prosody(attributes, expected):
    (segment,) = segments(f"<speak><prosody {attributes}>你好</prosody></speak>")
    assert segment.prosody.rate == pytest.approx(expected.rate)
    assert segment.prosody.pitch == pytest.approx(expected.pitch)
    assert segment.prosody.volume == pytest.approx(expected.volume)


def test_nested_prosody_multiplies():
    text = '<speak><prosody rate="50%"><prosody rate="+20%" volume="loud">快</prosody>慢</prosody>常</speak>'
    rates = [(segment.text, segment.prosody.rate, segment.prosody.volume) for segment in segments(text)]
    assert rates == [("快", pytest.approx(0.6), 1.25), ("慢", 0.5, 1.0), ("常", 1.0, 1.0)]


@pytest.mark.parametrize(("level", "rate", "volume"), [
    ("strong", 0.9, 1.25), ("moderate", 0.95, 1.12), ("reduced", 1.05, 0.85), ("none", 1.0, 1.0),
])
def test_emphasis(level, rate, volume):
    (segment,) = segments(f'<speak><emphasis level="{level}">重要</emphasis></speak>')
    assert (segment.prosody.rate, segment.prosody.volume) == (rate, volume)


@pytest.mark.parametrize(("lang", "interpret_as", "content", "expected"), [
    ("en", "cardinal", "1234", "one thousand two hundred thirty-four"),
    ("zh", "number", "1234", "一千二百三十四"),
    ("en", "ordinal", "3", "third"),
    ("zh", "ordinal", "3", "第三"),
    ("en", "digits", "2026", "two zero two six"),
    ("zh", "digits", "2026", "二零二六"),
    ("en", "characters", "abc", "A B C"),
    ("en", "spell-out", "NASA", "N A S A"),
    ("en", "date", "2026-11-27", "November twenty-seventh, twenty twenty-six"),
    ("zh", "date", "2026-11-27", "二〇二六年十一月二十七日"),
    ("en", "time", "10:30", "ten thirty"),
    ("zh", "time", "10:30", "十点三十分"),
    ("en", "telephone", "555-1234", "five five five, one two three four"),
    ("zh", "telephone", "138 0013 8000", "幺三八，零零幺三，八零零零"),
    ("en", "currency", "$3.99", "three dollars and ninety-nine cents"),
    ("zh", "currency", "12.50", "十二元五角"),
])
def test_say_as(lang, interpret_as, content, expected):
    text = f'<speak xml:lang="{lang}"><say-as interpret-as="{interpret_as}">{content}</say-as></speak>'
    (segment,) = segments(text)
    assert segment.text == expected
    assert {text[s:e] for _, _, s, e in segment.word_spans} == {content}


@pytest.mark.parametrize(("date_format", "content", "expected"), [
    ("mdy", "11/27/2026", "November twenty-seventh, twenty twenty-six"),
    ("dmy", "27.11.2026", "November twenty-seventh, twenty twenty-six"),
    ("ymd", "2026/11/27", "November twenty-seventh, twenty twenty-six"),
    ("md", "11-27", "November twenty-seventh"),
])
def test_say_as_date_formats(date_format, content, expected):
    text = f'<speak xml:lang="en"><say-as interpret-as="date" format="{date_format}">{content}</say-as></speak>'
    assert spoken(text) == expected


def test_say_as_takes_the_language_of_the_text_around_it():
    assert spoken('<speak>编号<say-as interpret-as="digits">123</say-as>号</speak>') == "编号一二三号"
    assert spoken('<speak>Number <say-as interpret-as="digits">123</say-as> here</speak>') == (
        "Number one two three here")


def test_phoneme_sets_phonemes_and_alphabet():
    parts = segments('<speak>银行<phoneme alphabet="x-pinyin" ph="hang2">行</phoneme>'
                     '<phoneme alphabet="ipa" ph="təˈmeɪtoʊ">tomato</phoneme></speak>')
    assert [(p.text, p.lang, p.phonemes, p.alphabet) for p in parts] == [
        ("银行", "zh", None, None), ("行", "zh", "hang2", "pinyin"), ("tomato", "en", "təˈmeɪtoʊ", "ipa")]


def test_sub_reads_the_alias_mapped_to_the_content():
    text = '<speak>Visit the <sub alias="World Wide Web Consortium">W3C</sub> site</speak>'
    assert spoken(text) == "Visit the World Wide Web Consortium site"
    assert ("Consortium", "W3C") in word_sources(text)


def test_entities_map_to_their_source():
    text = "<speak>Tom &amp; Jerry &#x4e2d;</speak>"
    pairs = word_sources(text)
    assert ("and", "&amp;") in pairs and ("中", "&#x4e2d;") in pairs


def test_readings_apply_inside_ssml():
    text = "<speak><prosody rate='slow'>重庆</prosody></speak>"
    assert spoken(text, readings={"重庆": "崇庆"}) == "崇庆"


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_refused(text):
    with pytest.raises(SpeechError) as caught:
        prepare(text)
    assert caught.value.message == "text is empty"
    assert (caught.value.field, caught.value.position) == ("text", 0)


def test_length_limit():
    with pytest.raises(SpeechError) as caught:
        prepare("字" * (MAX_TEXT_CHARS + 1))
    assert "100,000" in caught.value.message and "100,001" in caught.value.message
    assert caught.value.field == "text"
    sentences = prepare("字" * MAX_TEXT_CHARS)
    assert sum(len(sentence.text) for sentence in sentences) == MAX_TEXT_CHARS


def test_a_full_size_mixed_text_is_accepted():
    sample = "我们在2026年11月27日用 Python 写了 API 服务，花了¥12.50。Dr. Smith paid $3.99 at 10:30.\n"
    text = (sample * (MAX_TEXT_CHARS // len(sample) + 1))[:MAX_TEXT_CHARS]
    assert len(prepare(text)) > 1000


@pytest.mark.parametrize(("text", "fragment", "line", "column"), [
    ("<speak>\n  <p>你好\n</speak>", "mismatched end tag </speak>", 3, 1),
    ("<speak>\n  <prosody rate='slow'>你好", "unclosed tag <prosody>", 2, 3),
    ("<speak>你好<voice name='x'>hi</voice></speak>", "unknown tag <voice>", 1, 10),
    ("<speak>\n你好<prosody speed='1'>x</prosody></speak>", "unknown attribute 'speed' on <prosody>", 2, 12),
    ("<speak>你好<break time='11s'/></speak>", "bad value '11s' for attribute 'time' on <break>", 1, 17),
    ("<speak><break time='fast'/></speak>", "attribute 'time' on <break>", 1, 15),
    ("<speak><break strength='huge'/></speak>", "attribute 'strength' on <break>", 1, 15),
    ("<speak><prosody rate='zoom'>x</prosody></speak>", "attribute 'rate' on <prosody>", 1, 17),
    ("<speak><prosody pitch='-200%'>x</prosody></speak>", "attribute 'pitch' on <prosody>", 1, 17),
    ("<speak><say-as interpret-as='poem'>x</say-as></speak>", "attribute 'interpret-as' on <say-as>", 1, 16),
    ("<speak><say-as interpret-as='date' format='yy'>1</say-as></speak>", "attribute 'format' on <say-as>", 1, 36),
    ("<speak><phoneme alphabet='klingon' ph='x'>x</phoneme></speak>", "'alphabet' on <phoneme>", 1, 17),
    ("<speak><phoneme>x</phoneme></speak>", "<phoneme> needs a non-empty 'ph'", 1, 8),
    ("<speak><sub>x</sub></speak>", "<sub> needs a non-empty 'alias'", 1, 8),
    ("<speak><emphasis level='loud'>x</emphasis></speak>", "attribute 'level' on <emphasis>", 1, 18),
    ("<speak><lang xml:lang='!!'>x</lang></speak>", "attribute 'xml:lang' on <lang>", 1, 14),
    ("<p>你好</p>", "missing <speak> root", 1, 1),
    ("<speak><speak>x</speak></speak>", "<speak> may only be the root", 1, 8),
    ("<speak><say-as interpret-as='digits'><s>1</s></say-as></speak>", "<s> is not allowed inside <say-as>", 1, 38),
    ("<speak>你好</speak>再见", "text outside <speak>", 1, 18),
    ("<speak>a < b</speak>", "malformed SSML", 1, 11),
    ("<speak><break time=500ms/></speak>", "malformed SSML in tag <break>", 1, 20),
    ("<speak>&nbsp;</speak>", "undefined entity &nbsp;", 1, 8),
    ('<!DOCTYPE speak [<!ENTITY x "y">]><speak>&x;</speak>', "DOCTYPE", 1, 1),
])
def test_ssml_errors_name_the_tag_and_position(text, fragment, line, column):
    error = ssml_error(text)
    assert fragment in error.message
    assert f"line {line}, column {column}" in error.message
    assert error.field == "text"
    lines = text.split("\n")
    assert error.position == sum(len(previous) + 1 for previous in lines[:line - 1]) + column - 1


def test_text_before_speak_is_refused_when_ssml_is_forced():
    with pytest.raises(SpeechError) as caught:
        prepare("hello <speak>x</speak>", ssml=True)
    assert "text outside <speak>" in caught.value.message and caught.value.position == 0


def test_external_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    text = f'<!DOCTYPE speak [<!ENTITY x SYSTEM "file://{secret}">]><speak>&x;</speak>'
    error = ssml_error(text)
    assert "DOCTYPE" in error.message and "SECRET" not in error.message


def test_unknown_default_language_is_refused():
    with pytest.raises(SpeechError) as caught:
        prepare("hi", default_lang="??")
    assert caught.value.field == "default_lang"
