"""The Django-free media engine (speech, face, avatar, photo, compose, stream). Filled by later issues."""
