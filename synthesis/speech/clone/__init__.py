"""Voice cloning: learn a mapping from a preset base TTS voice to a speaker's prompted recordings.

    voice = train(recordings, base_tts=..., language="en")   # recordings: [(path or (pcm, rate), text), ...]
    voice.save("voice.npz")
    converter = load("voice.npz")                            # converter.convert(pcm, rate) -> (pcm, rate)
"""

from .model import METHODS, TrainedVoice, VoiceConverter, load, load_trained
from .train import DEFAULT_METHOD, default_base_voice, synth_base_tts, train

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "TrainedVoice",
    "VoiceConverter",
    "default_base_voice",
    "load",
    "load_trained",
    "synth_base_tts",
    "train",
]
