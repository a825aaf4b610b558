"""The preview clip shown on a model's page: the avatar speaking a standard sentence in two languages."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .render import render_clip

PREVIEW_SENTENCES = (
    ("zh", "大家好，我是您的数字人助手，很高兴为您服务。"),
    ("en", "Hello, I am your digital human. Nice to meet you."),
)
PAUSE_S = 0.5


def preview_speech(wav_path: Path) -> Path:
    """The standard sentences read by the default voice of each language, with a pause between them."""
    from synthesis.speech.audio import encode, resample, silence
    from synthesis.speech.catalog import default_voice
    from synthesis.speech.synth import synthesize

    rate = 16000
    parts = []
    for lang, text in PREVIEW_SENTENCES:
        result = synthesize(text, voice_id=default_voice(lang).voice_id)
        parts += [resample(result.pcm, result.sample_rate, rate), silence(PAUSE_S, rate)]
    wav_path.write_bytes(encode(np.concatenate(parts), rate, "wav"))
    return wav_path


def render_preview(
    model_path: os.PathLike | str, out_path: os.PathLike | str, *, progress: Callable[[int, str], None] | None = None
) -> Path:
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        wav = preview_speech(Path(tmp) / "preview.wav")
        return render_clip(model_path, out_path, audio_path=wav, progress=progress)
