"""PPT import (synthesis.compose.slides): one scene per page with the page image and the slide notes; PDF pages
with their text; hidden slides skipped; bad documents refused. Real LibreOffice and poppler."""

from pathlib import Path

import pytest
from PIL import Image

from synthesis.compose.slides import import_slides
from synthesis.media.errors import MediaError
from tests import media_samples as ms

pytestmark = pytest.mark.timeout(240)


def deck(path: Path, slides: list[tuple[str, str]], *, hidden: int | None = None) -> Path:
    """A 16:9 PPTX whose slides have a title and speaker notes."""
    from pptx import Presentation
    from pptx.util import Emu

    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)
    for index, (title, notes) in enumerate(slides):
        slide = prs.slides.add_slide(prs.slide_layouts[5])  # title only
        slide.shapes.title.text = title
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
        if index == hidden:
            slide._element.set("show", "0")
    prs.save(path)
    return path


def test_a_pptx_becomes_pages_with_their_notes(tmp_path):
    source = deck(tmp_path / "deck.pptx", [("欢迎", "大家好，欢迎收看。"), ("Agenda", "Today we cover three points."),
                                            ("Thanks", "")])
    slides = import_slides(source, tmp_path / "pages", width=960)
    assert [s.number for s in slides] == [1, 2, 3]
    assert [s.notes for s in slides] == ["大家好，欢迎收看。", "Today we cover three points.", ""]
    assert [s.title for s in slides] == ["欢迎", "Agenda", "Thanks"]
    for slide in slides:
        with Image.open(slide.image) as page:
            assert page.size[0] == 960 and page.size[1] == pytest.approx(540, abs=2)


def test_hidden_slides_are_left_out(tmp_path):
    source = deck(tmp_path / "deck.pptx", [("One", "first"), ("Two", "hidden notes"), ("Three", "third")], hidden=1)
    slides = import_slides(source, tmp_path / "pages", width=640)
    assert [s.notes for s in slides] == ["first", "third"]


def test_a_pdf_has_pages_and_their_text_but_no_notes(tmp_path):
    slides = import_slides(ms.make_pdf(tmp_path / "doc.pdf", pages=2), tmp_path / "pages", width=640)
    assert len(slides) == 2 and all(s.notes == "" for s in slides)
    assert all(s.image.is_file() for s in slides)


def test_a_broken_document_is_refused(tmp_path):
    broken = tmp_path / "broken.pptx"
    broken.write_bytes(b"PK\x03\x04 this is not a presentation")
    with pytest.raises(MediaError):
        import_slides(broken, tmp_path / "pages")


def test_a_legacy_ppt_is_converted_and_keeps_its_notes(tmp_path):
    from synthesis.media.derive import document_convert

    source = deck(tmp_path / "deck.pptx", [("Hello", "Notes of slide one."), ("World", "第二页的备注。")])
    legacy = document_convert(source, tmp_path / "deck.ppt", "ppt")
    slides = import_slides(legacy, tmp_path / "pages", width=640)
    assert [s.notes for s in slides] == ["Notes of slide one.", "第二页的备注。"]
