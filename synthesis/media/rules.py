"""Media limits per asset type (SPEC.md section 2) applied to a probed file, and safe file names.

`check(asset_type, filename, info)` returns a list of Violation(code, message, field); an empty list means
the file is accepted. Codes are stable strings ("MEDIA.VIDEO_CODEC", ...) for the API layer to map onto its
own error codes; messages are written for the person who uploaded the file."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from .probe import EXECUTABLES, MediaInfo

# --- limits (SPEC.md section 2) --------------------------------------------------------------------------
MAX_LONG_SIDE = 1920  # "<= 1080p": the long side <= 1920 and the short side <= 1080, either orientation
MAX_SHORT_SIDE = 1080
MAX_VIDEO_FPS = 30
FPS_TOLERANCE = 0.01  # 30000/1001 and rounding noise pass; 30.5 does not
MAX_VIDEO_DURATION_S = 30 * 60
MAX_PPT_PAGES = 100
# "total < 1 GB / 500 MB" applied per file (strictly less than).
MAX_VIDEO_BYTES = 1024**3
MAX_AUDIO_BYTES = 500 * 1024**2
MAX_IMAGE_BYTES = 500 * 1024**2
MAX_FILENAME_BYTES = 255

VIDEO_EXTENSIONS = ("mp4", "m4v", "mkv", "mov", "flv", "3gp", "wmv", "avi", "webm")
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg")
AUDIO_EXTENSIONS = ("mp3", "m4a", "wav")
PPT_EXTENSIONS = ("ppt", "pptx", "pdf")
VIDEO_CODECS = ("h264", "hevc", "av1", "vp8", "vp9")
WEBM_ONLY_CODECS = ("vp8", "vp9")  # VP8/VP9 only in WEBM
WEBM_CODECS = ("vp8", "vp9")  # and WEBM takes nothing else: no AV1, no H.264/H.265

_ISO = frozenset({"mp4", "m4v", "mov", "3gp", "m4a"})  # ISO base media family: brands vary by tool
_MKV = frozenset({"matroska", "webm"})
# Declared extension -> detected containers that honour it.
EXTENSION_CONTAINERS: dict[str, frozenset[str]] = {
    "mp4": _ISO, "m4v": _ISO, "mov": _ISO, "3gp": _ISO, "m4a": _ISO,
    "mkv": _MKV, "webm": _MKV,
    "flv": frozenset({"flv"}), "wmv": frozenset({"wmv"}), "avi": frozenset({"avi"}),
    "mp3": frozenset({"mp3"}), "wav": frozenset({"wav"}),
    "png": frozenset({"png"}), "jpg": frozenset({"jpeg"}), "jpeg": frozenset({"jpeg"}),
    "pdf": frozenset({"pdf"}), "pptx": frozenset({"pptx"}), "ppt": frozenset({"ppt"}),
}  # fmt: skip
# Which rule profile each asset type uses; MATERIAL is an image or a video, chosen by its extension.
TYPE_PROFILES: dict[str, tuple[str, ...]] = {
    "VIDEO": ("video",),
    "IMAGE": ("image",),
    "MUSIC": ("audio",),
    "PPT": ("document",),
    "MATERIAL": ("image", "video"),
}
PROFILE_EXTENSIONS = {
    "video": VIDEO_EXTENSIONS,
    "image": IMAGE_EXTENSIONS,
    "audio": AUDIO_EXTENSIONS,
    "document": PPT_EXTENSIONS,
}
PROFILE_MAX_BYTES = {"video": MAX_VIDEO_BYTES, "image": MAX_IMAGE_BYTES, "audio": MAX_AUDIO_BYTES}

CODEC_NAMES = {"h264": "H.264", "hevc": "H.265", "av1": "AV1", "vp8": "VP8", "vp9": "VP9", "mpeg4": "MPEG-4 Part 2"}
_KIND_NOUN = {"video": "a video", "image": "an image", "audio": "an audio file", "document": "a presentation"}


class Violation(NamedTuple):
    code: str
    message: str
    field: str


def extension(filename: str) -> str:
    """Lower-case extension of the file name's last component, without the dot ('' if none)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return ext.lower() if dot and stem.strip(".") else ""


def size_limit(asset_type: str, filename: str) -> int | None:
    """Largest file size in bytes (exclusive) accepted for this asset type and name, or None when unlimited
    here; lets an upload be refused from its declared size before any byte is sent."""
    profile = _profile(asset_type.upper(), extension(filename))
    return PROFILE_MAX_BYTES.get(profile) if profile else None


def check(asset_type: str, filename: str, info: MediaInfo) -> list[Violation]:
    """Violations of the media rules for a file uploaded as `asset_type` under `filename`; [] when accepted."""
    asset_type = asset_type.upper()
    ext = extension(filename)
    try:
        safe_filename(filename)
    except ValueError as exc:
        return [Violation("MEDIA.FILENAME", str(exc), "filename")]
    profiles = TYPE_PROFILES.get(asset_type)
    if profiles is None:
        return _check_generic(ext, info)
    profile = _profile(asset_type, ext)
    if profile is None:
        allowed = ", ".join(e.upper() for p in profiles for e in PROFILE_EXTENSIONS[p])
        got = f"'.{ext}'" if ext else "a name without extension"
        return [Violation("MEDIA.FORMAT", f"{asset_type} files must be {allowed}; got {got}", "filename")]

    noun = _KIND_NOUN[profile]
    if info.unsafe and info.container in EXECUTABLES:
        return [Violation("MEDIA.CONTENT_MISMATCH", f"content is not {noun}: it is {info.unsafe}", "file")]
    if info.unsafe:
        return [_unsafe(info)]
    if info.kind != profile:
        if info.kind == "unknown":
            reason = info.error or "unrecognised data"
            return [Violation("MEDIA.UNREADABLE", f"the file cannot be read as {noun}: {reason}", "file")]
        return [Violation("MEDIA.CONTENT_MISMATCH", f"content is not {noun}: it is {describe(info)}", "file")]
    if info.error:
        return [Violation("MEDIA.UNREADABLE", f"the {noun.split(' ', 1)[1]} cannot be read: {info.error}", "file")]
    accepted = EXTENSION_CONTAINERS.get(ext, frozenset())
    if info.container not in accepted:
        message = f"the file is named '.{ext}' but its content is {describe(info)}"
        return [Violation("MEDIA.CONTENT_MISMATCH", message, "filename")]

    violations: list[Violation] = []
    if profile == "video":
        violations += _check_video(ext, info)
    elif profile == "image":
        violations += _check_resolution(info, "image")
    elif profile == "document":
        if info.pages is not None and info.pages > MAX_PPT_PAGES:
            message = f"the presentation has {info.pages} pages; at most {MAX_PPT_PAGES} are allowed"
            violations.append(Violation("MEDIA.PAGES", message, "pages"))
    max_bytes = PROFILE_MAX_BYTES.get(profile)
    if max_bytes is not None and info.size_bytes >= max_bytes:
        message = f"the file is {_size(info.size_bytes)}; {noun[2:].lstrip()} files must be under {_size(max_bytes)}"
        violations.append(Violation("MEDIA.FILE_TOO_LARGE", message, "size"))
    return violations


def _profile(asset_type: str, ext: str) -> str | None:
    profiles = TYPE_PROFILES.get(asset_type, ())
    for profile in profiles:
        if ext in PROFILE_EXTENSIONS[profile]:
            return profile
    return None


def _check_generic(ext: str, info: MediaInfo) -> list[Violation]:
    """Types without media rules (COMMON_FILE, models, ...): no executables or bombs, and a media extension
    must not lie about the content."""
    if info.unsafe:
        return [_unsafe(info)]
    accepted = EXTENSION_CONTAINERS.get(ext)
    if accepted is not None and (info.container not in accepted or info.error):
        detail = f" ({info.error})" if info.error else ""
        message = f"the file is named '.{ext}' but its content is {describe(info)}{detail}"
        return [Violation("MEDIA.CONTENT_MISMATCH", message, "filename")]
    return []


def _unsafe(info: MediaInfo) -> Violation:
    if info.container in EXECUTABLES:
        return Violation("MEDIA.UNSAFE_CONTENT", f"content refused: it is {info.unsafe}", "file")
    if info.kind == "archive":
        return Violation("MEDIA.UNSAFE_ARCHIVE", f"archive refused: {info.unsafe}", "file")
    return Violation("MEDIA.UNSAFE_CONTENT", f"content refused: {info.unsafe}", "file")


def _check_video(ext: str, info: MediaInfo) -> list[Violation]:
    violations: list[Violation] = []
    codec = info.video_codec or "unknown"
    name = CODEC_NAMES.get(codec, codec.upper())
    in_webm = info.container == "webm" or ext == "webm"
    if codec not in VIDEO_CODECS:
        message = f"video codec {name} is not supported; use H.264, H.265, AV1, VP8 or VP9"
        violations.append(Violation("MEDIA.VIDEO_CODEC", message, "video_codec"))
    elif in_webm and codec not in WEBM_CODECS:
        message = f"{name} is not allowed in WEBM (WEBM takes VP8 or VP9 only; use MP4 or MKV for {name})"
        violations.append(Violation("MEDIA.VIDEO_CODEC", message, "video_codec"))
    elif not in_webm and codec in WEBM_ONLY_CODECS:
        message = f"{name} video is only allowed in WEBM files, not in {(info.container or ext).upper()}"
        violations.append(Violation("MEDIA.VIDEO_CODEC", message, "video_codec"))
    violations += _check_resolution(info, "video")
    if info.fps is not None and info.fps > MAX_VIDEO_FPS + FPS_TOLERANCE:
        message = f"frame rate {info.fps:g} fps is above the limit of {MAX_VIDEO_FPS} fps"
        violations.append(Violation("MEDIA.FPS", message, "fps"))
    if info.duration_s is not None and info.duration_s > MAX_VIDEO_DURATION_S:
        message = f"the video lasts {_duration(info.duration_s)}; at most {_duration(MAX_VIDEO_DURATION_S)} is allowed"
        violations.append(Violation("MEDIA.DURATION", message, "duration_s"))
    return violations


def _check_resolution(info: MediaInfo, noun: str) -> list[Violation]:
    if not info.width or not info.height:
        return [Violation("MEDIA.RESOLUTION", f"the {noun} resolution cannot be determined", "resolution")]
    long_side, short_side = max(info.width, info.height), min(info.width, info.height)
    if long_side > MAX_LONG_SIDE or short_side > MAX_SHORT_SIDE:
        message = (
            f"{noun} resolution {info.width}x{info.height} is above 1080p "
            f"(at most {MAX_LONG_SIDE}x{MAX_SHORT_SIDE}, landscape or portrait)"
        )
        return [Violation("MEDIA.RESOLUTION", message, "resolution")]
    return []


def describe(info: MediaInfo) -> str:
    """Short human description of what a file really is: 'an ELF executable', 'a WEBM video (H.265)', ..."""
    if info.container in EXECUTABLES:
        return EXECUTABLES[info.container]
    container = (info.container or "").upper()
    if info.kind == "video":
        codec = CODEC_NAMES.get(info.video_codec or "", (info.video_codec or "unknown codec").upper())
        return f"{_article(container)} {container} video ({codec})"
    if info.kind == "audio":
        return f"{(info.audio_codec or 'unknown').upper()} audio in {container or 'an unknown container'}"
    if info.kind == "image":
        return f"{_article(container)} {container} image"
    if info.kind == "document":
        return "plain text" if info.container == "text" else f"{_article(container)} {container} document"
    if info.kind == "archive":
        return f"{_article(container)} {container} archive"
    return "unrecognised data"


def _article(word: str) -> str:
    return "an" if word[:1] in ("A", "E", "F", "H", "I", "L", "M", "N", "O", "R", "S", "X") else "a"


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


# --- file names ------------------------------------------------------------------------------------------

_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')
_DRIVE = re.compile(r"^[A-Za-z]:")
_SPACES = re.compile(r"\s+")
MAX_EXTENSION_CHARS = 16


def safe_filename(name: str) -> str:
    """A display/download name safe to store and serve: only the last path component (no directories,
    '..', absolute paths or backslashes), no NUL/control/bidi-override characters, Windows-reserved
    characters replaced by '_', no leading dots, at most 255 UTF-8 bytes (the extension is kept).
    Unicode letters (Chinese names, ...) are kept. Raises ValueError if nothing usable remains."""
    if not isinstance(name, str):
        raise ValueError("the file name must be text")
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _DRIVE.sub("", name)
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" " if char.isspace() else "")
        elif category in ("Cf", "Cs"):
            continue  # format characters (bidi overrides, zero-width) and lone surrogates
        else:
            kept.append(char)
    name = _WINDOWS_RESERVED.sub("_", "".join(kept))
    name = _SPACES.sub(" ", name).strip().lstrip(".").rstrip(". ").strip()
    if not name or not name.strip("._ "):
        raise ValueError("the file name is empty once directories and special characters are removed")
    return _truncate_name(name, MAX_FILENAME_BYTES)


def _truncate_name(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > MAX_EXTENSION_CHARS:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = limit - len(suffix.encode("utf-8"))
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(". ")
    if not stem:
        raise ValueError("the file name is unusable")
    return stem + suffix
