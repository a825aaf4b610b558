"""Errors raised by the media engine. All derive from MediaError; the message is meant for people."""


class MediaError(Exception):
    """A media tool failed or a file could not be processed; the message carries the reason."""


class MediaTimeout(MediaError):
    """A media tool ran past its time limit and was killed."""


class ToolMissing(MediaError):
    """A required external tool (ffmpeg, ffprobe, soffice, pdftoppm, pdfinfo) is not installed."""


class UnsafeArchive(MediaError):
    """A zip container (zip, PPTX, ...) was refused before any tool opened it: bomb, traversal, too many entries."""


class PageLimitExceeded(MediaError):
    """A document has more pages than allowed; found before any page is rendered."""

    def __init__(self, pages: int, limit: int):
        super().__init__(f"the document has {pages} pages; at most {limit} are allowed")
        self.pages = pages
        self.limit = limit
