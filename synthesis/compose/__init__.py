"""Video production engine: a timeline of scenes (backgrounds, layers, speech, music, subtitles) composed frame
by frame and encoded in one streaming ffmpeg run (see `timeline` and `compositor`); `subtitles` makes cues
from TTS or ASR word timings (SPEC punctuation rules, line breaking, SRT/VTT, burned-in overlays); `slides`
imports a PPT/PDF as one scene per page with its speaker notes."""
