"""Video production engine: a timeline of scenes (backgrounds, layers, speech, music, subtitles) composed frame
by frame and encoded in one streaming ffmpeg run (see `timeline` and `compositor`)."""
