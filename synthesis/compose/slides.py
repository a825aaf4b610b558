"""PPT import for video production: a PPTX/PPT/ODP/PDF becomes one scene per page, with the page as the
background and the slide's speaker notes as the scene's text.

Pages are rendered by synthesis.media.derive.document_pages (LibreOffice -> PDF -> pdftoppm, at most 100 pages).
Notes are read with python-pptx from a PPTX; a legacy PPT or an ODP is converted to PPTX by LibreOffice first. A
PDF has no notes, so its scenes start without text (the page's own text is offered as `page_text`, read with
pdftotext, for the user to copy)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from synthesis.media import _tools
from synthesis.media.derive import PAGE_WIDTH, document_convert, document_pages
from synthesis.media.errors import MediaError
from synthesis.media.probe import probe

PDFTOTEXT_TIMEOUT_S = 60


@dataclass(frozen=True)
class Slide:
    number: int  # 1-based
    image: Path  # the page as PNG, `width` pixels wide
    notes: str  # the speaker notes ("" when there are none)
    title: str  # the slide's title placeholder, if any
    page_text: str  # the text on the page (PDF pages; slide text for presentations)


def import_slides(src: os.PathLike | str, out_dir: os.PathLike | str, *, width: int = PAGE_WIDTH) -> list[Slide]:
    """Every page of the document as a Slide, in order. Raises MediaError (PageLimitExceeded beyond 100 pages)."""
    src, out = Path(src), Path(out_dir)
    info = probe(src, decode_check=False)
    if info.error:
        raise MediaError(info.error)
    pages = document_pages(src, out, width=width)
    if info.container == "pdf":
        texts = _pdf_texts(src, len(pages))
        return [Slide(number, page, "", "", texts[number - 1]) for number, page in enumerate(pages, 1)]
    with tempfile.TemporaryDirectory(prefix="slides-") as work:
        pptx = src if info.container == "pptx" else document_convert(src, Path(work) / "slides.pptx", "pptx")
        notes = _notes(pptx)
    if len(notes) != len(pages):  # hidden slides are not rendered: keep the notes of the shown ones in order
        notes = [item for item in notes if not item["hidden"]]
    if len(notes) != len(pages):
        raise MediaError(f"the presentation has {len(notes)} slides but {len(pages)} pages were rendered")
    return [Slide(number, page, item["notes"], item["title"], item["text"])
            for number, (page, item) in enumerate(zip(pages, notes, strict=True), 1)]


def _notes(pptx: Path) -> list[dict]:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        presentation = Presentation(str(pptx))
    except (PackageNotFoundError, KeyError, ValueError) as error:
        raise MediaError(f"the presentation cannot be read: {error}") from None
    slides = []
    for slide in presentation.slides:
        notes = ""
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
        title = slide.shapes.title.text_frame.text.strip() if slide.shapes.title is not None else ""
        text = "\n".join(shape.text_frame.text.strip() for shape in slide.shapes
                         if shape.has_text_frame and shape.text_frame.text.strip())
        slides.append({"notes": notes, "title": title, "text": text,
                       "hidden": slide._element.get("show") == "0"})
    return slides


def _pdf_texts(pdf: Path, pages: int) -> list[str]:
    """The text of each page (pdftotext separates pages by form feeds)."""
    if shutil.which("pdftotext") is None:
        return [""] * pages
    result = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", _tools.abspath(pdf), "-"],
                            capture_output=True, timeout=PDFTOTEXT_TIMEOUT_S, check=False)
    texts = [" ".join(page.split()) for page in result.stdout.decode("utf-8", "replace").split("\f")]
    return (texts + [""] * pages)[:pages]
