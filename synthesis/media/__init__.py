"""Django-free media engine: what a file really is (probe), whether it meets the media limits of its asset
type (rules), zip-bomb safety (archive), and derived files (derive).

External tools (Debian packages): ffmpeg + ffprobe (`ffmpeg`), soffice (`libreoffice-impress`), pdfinfo +
pdftoppm (`poppler-utils`); a CJK font (`fonts-noto-cjk`) so Chinese slides render."""

from . import _tools
from .archive import ZipStats, check_zip_safe
from .derive import (
    audio_waveform,
    document_pages,
    document_pdf,
    extract_mono_wav,
    image_thumbnail,
    video_preview,
    video_thumbnail,
)
from .errors import MediaError, MediaTimeout, PageLimitExceeded, ToolMissing, UnsafeArchive
from .probe import KINDS, MediaInfo, pdf_page_count, probe
from .rules import Violation, check, describe, extension, safe_filename, size_limit

REQUIRED_TOOLS = ("ffmpeg", "ffprobe", "soffice", "pdfinfo", "pdftoppm")


def missing_tools() -> list[str]:
    """External tools that are not installed (for a health check); [] when all are there."""
    return [tool for tool in REQUIRED_TOOLS if not _tools.tool_available(tool)]


__all__ = [
    "KINDS",
    "REQUIRED_TOOLS",
    "MediaError",
    "MediaInfo",
    "MediaTimeout",
    "PageLimitExceeded",
    "ToolMissing",
    "UnsafeArchive",
    "Violation",
    "ZipStats",
    "audio_waveform",
    "check",
    "check_zip_safe",
    "describe",
    "document_pages",
    "document_pdf",
    "extension",
    "extract_mono_wav",
    "image_thumbnail",
    "missing_tools",
    "pdf_page_count",
    "probe",
    "safe_filename",
    "size_limit",
    "video_preview",
    "video_thumbnail",
]
