"""The data the speech engine passes around. Django-free; numpy arrays for audio.

Times are seconds from the start of the whole utterance; character offsets index the caller's original
input string (for SSML, the offsets point into the SSML source, at the spoken text), so a console can
highlight the word being spoken.
"""

from dataclasses import dataclass, field

import numpy as np

# API ranges (MetaStudio): speed 50-200 (100 = normal), pitch 50-200 (100 = normal), volume 90-240 (140 = normal).
SPEED_RANGE = (50, 200)
PITCH_RANGE = (50, 200)
VOLUME_RANGE = (90, 240)
DEFAULT_SPEED, DEFAULT_PITCH, DEFAULT_VOLUME = 100, 100, 140
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
MAX_TEXT_CHARS = 100_000


@dataclass(frozen=True)
class Prosody:
    """Multipliers relative to the voice's normal delivery (1.0 = unchanged)."""

    rate: float = 1.0
    pitch: float = 1.0
    volume: float = 1.0

    def combine(self, other: "Prosody") -> "Prosody":
        return Prosody(self.rate * other.rate, self.pitch * other.pitch, self.volume * other.volume)


@dataclass
class Segment:
    """A run of text in one language with one prosody, ready for an engine.

    `text` is what the engine reads (already normalized: digits, dates, units spelled out).
    `source_start`/`source_end` locate the run in the caller's original input.
    `word_spans` maps each spoken word of `text` back to the original input: a list of
    (start in text, end in text, source_start, source_end).
    `phonemes`, when set, is an explicit pronunciation (SSML <phoneme>): IPA or pinyin as `alphabet` says.
    `pause_before` is silence (seconds) inserted before the run (SSML <break>, sentence gaps).
    """

    text: str
    lang: str  # "zh", "en", "ja", ... (ISO 639-1; "yue" for Cantonese)
    source_start: int
    source_end: int
    prosody: Prosody = field(default_factory=Prosody)
    word_spans: list[tuple[int, int, int, int]] = field(default_factory=list)
    phonemes: str | None = None
    alphabet: str | None = None
    pause_before: float = 0.0


@dataclass
class Sentence:
    """One sentence: the unit of streaming. Its segments are read in order."""

    segments: list[Segment]
    source_start: int
    source_end: int

    @property
    def text(self) -> str:
        return "".join(segment.text for segment in self.segments)


@dataclass(frozen=True)
class WordTiming:
    word: str  # as written in the original input
    start: float
    end: float
    source_start: int
    source_end: int


@dataclass(frozen=True)
class PhonemeTiming:
    phoneme: str
    start: float
    end: float


@dataclass
class AudioChunk:
    """Synthesized audio of one sentence: 16-bit mono PCM and its timings (already offset to the utterance)."""

    pcm: np.ndarray  # int16, mono
    sample_rate: int
    start: float  # seconds from the utterance start
    words: list[WordTiming] = field(default_factory=list)
    phonemes: list[PhonemeTiming] = field(default_factory=list)
    text: str = ""

    @property
    def duration(self) -> float:
        return len(self.pcm) / float(self.sample_rate)


@dataclass(frozen=True)
class SynthesisOptions:
    speed: int = DEFAULT_SPEED
    pitch: int = DEFAULT_PITCH
    volume: int = DEFAULT_VOLUME
    sample_rate: int = 16000

    def prosody(self) -> Prosody:
        return Prosody(self.speed / 100.0, self.pitch / 100.0, self.volume / DEFAULT_VOLUME)


@dataclass(frozen=True)
class VoiceInfo:
    """A voice an engine offers. `voice_id` is stable and used in the API (e.g. "espeak-cmn", "piper-en-us-joe")."""

    voice_id: str
    engine: str
    name: str
    language: str  # primary language (ISO 639-1)
    languages: tuple[str, ...]
    gender: str  # "male" | "female"
    engine_voice: str  # the engine's own voice name/path
    description: str = ""


class SpeechError(Exception):
    """Bad input for the speech engine. `field` names the input; `position` is a character offset when known."""

    def __init__(self, message: str, *, field: str = "text", position: int | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.position = position
        self.code = code
