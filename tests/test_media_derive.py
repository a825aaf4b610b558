"""synthesis.media.derive: thumbnails, previews, waveforms, mono WAV, document pages (LibreOffice + poppler).

No database. LibreOffice runs a few times per module (module-scoped fixtures), ~2-3 s each."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import threading
from pathlib import Path

import pytest
from PIL import Image

from synthesis.media import (
    MediaError,
    MediaTimeout,
    PageLimitExceeded,
    ToolMissing,
    UnsafeArchive,
    _tools,
    audio_waveform,
    document_pages,
    document_pdf,
    extract_mono_wav,
    image_thumbnail,
    probe,
    video_preview,
    video_thumbnail,
)
from tests import media_samples as ms


@pytest.fixture(scope="module")
def av(tmp_path_factory) -> dict[str, Path]:
    ms.need("ffmpeg", "ffprobe")
    d = tmp_path_factory.mktemp("av")
    return {
        "mp4": ms.make_video(d / "clip.mp4"),  # 2 s 320x240 25 fps H.264 + AAC
        "long": ms.make_video(d / "long.mp4", size="640x360", rate=10, seconds=7),
        "silent": ms.make_video(d / "silent.mp4", size="640x360", rate=10, seconds=1, audio=False),
        "portrait": ms.make_video(d / "portrait.mp4", size="360x640", rate=10, seconds=1, audio=False),
        "wav": ms.make_wav(d / "stereo.wav", rate=48000, channels=2, seconds=2),
        "mp3": ms.make_mp3(d / "tone.mp3", seconds=2),
    }


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> dict:
    """A 2-slide Chinese PPTX converted once: page PNGs and the intermediate PDF."""
    ms.need("soffice", "pdftoppm", "pdfinfo")
    d = tmp_path_factory.mktemp("deck")
    pptx = ms.make_pptx(d / "演示.pptx", slides=2)
    pages = document_pages(pptx, d / "pages", pdf_out=d / "deck.pdf")
    return {"pptx": pptx, "pages": pages, "pdf": d / "deck.pdf", "dir": d}


# --- images ----------------------------------------------------------------------------------------------


def test_image_thumbnail(tmp_path):
    src = ms.make_image(tmp_path / "wide.jpg", (640, 360), fmt="JPEG")
    out = image_thumbnail(src, tmp_path / "thumbs" / "wide.png")
    with Image.open(out) as im:
        assert (im.format, im.size, im.mode) == ("PNG", (320, 180), "RGB")
    small = ms.make_image(tmp_path / "small.png", (100, 50))
    with Image.open(image_thumbnail(small, tmp_path / "small-thumb.png")) as im:
        assert im.size == (100, 50)  # never upscaled


def test_image_thumbnail_keeps_alpha_and_applies_exif_rotation(tmp_path):
    rgba = tmp_path / "logo.png"
    Image.new("RGBA", (800, 400), (255, 0, 0, 0)).save(rgba)
    with Image.open(image_thumbnail(rgba, tmp_path / "logo-thumb.png", width=200)) as im:
        assert im.mode == "RGBA" and im.size == (200, 100) and im.getpixel((5, 5))[3] == 0
    rotated = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (800, 400), (0, 128, 0)).save(rotated, exif=exif.tobytes())
    with Image.open(image_thumbnail(rotated, tmp_path / "phone-thumb.png", width=200)) as im:
        assert im.size == (200, 400)


def test_image_thumbnail_of_garbage(tmp_path):
    garbage = tmp_path / "x.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    with pytest.raises(MediaError, match="cannot be decoded"):
        image_thumbnail(garbage, tmp_path / "t.png")
    assert not (tmp_path / "t.png").exists()


# --- video -----------------------------------------------------------------------------------------------


def test_video_thumbnail(av, tmp_path):
    out = video_thumbnail(av["mp4"], tmp_path / "thumb.png")
    with Image.open(out) as im:
        assert (im.format, im.size) == ("PNG", (320, 240))
        assert len(set(im.convert("RGB").getdata())) > 10  # a real testsrc frame, not a blank
    with Image.open(video_thumbnail(av["long"], tmp_path / "long.png", width=160, at=3.0)) as im:
        assert im.size == (160, 90)
    with Image.open(video_thumbnail(av["portrait"], tmp_path / "portrait.png")) as im:
        assert im.size == (320, 568)


def test_video_thumbnail_past_the_end_falls_back_to_the_first_frame(av, tmp_path):
    out = video_thumbnail(av["mp4"], tmp_path / "late.png", at=30.0)
    assert out.stat().st_size > 0


def test_video_preview(av, tmp_path):
    out = video_preview(av["long"], tmp_path / "preview.mp4")
    info = probe(out)
    assert (info.container, info.video_codec, info.audio_codec, info.pix_fmt) == ("mp4", "h264", "aac", "yuv420p")
    assert (info.width, info.height) == (480, 270)
    assert info.duration_s == pytest.approx(5.0, abs=0.2)
    assert info.channels == 2
    assert _top_level_boxes(out).index(b"moov") < _top_level_boxes(out).index(b"mdat")  # faststart


def test_video_preview_short_silent_and_small(av, tmp_path):
    out = video_preview(av["silent"], tmp_path / "silent.mp4", seconds=5, width=480)
    info = probe(out)
    assert not info.has_audio and info.duration_s == pytest.approx(1.0, abs=0.2)
    small = probe(video_preview(av["mp4"], tmp_path / "small.mp4"))
    assert (small.width, small.height) == (320, 240)  # never upscaled


def _top_level_boxes(path: Path) -> list[bytes]:
    data = path.read_bytes()
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        boxes.append(kind)
        pos += size if size >= 8 else len(data)
    return boxes


def test_ffmpeg_failures_are_media_errors_and_leave_nothing(av, tmp_path):
    exe = tmp_path / "holiday.mp4"
    shutil.copy("/bin/true", exe)
    with pytest.raises(MediaError, match="ffmpeg video thumbnail failed"):
        video_thumbnail(exe, tmp_path / "out" / "thumb.png")
    assert list((tmp_path / "out").iterdir()) == []  # no half-written file, no temporary left
    with pytest.raises(MediaError):
        video_preview(av["wav"], tmp_path / "out" / "preview.mp4")  # no video stream
    assert list((tmp_path / "out").iterdir()) == []


def test_lists_and_playlists_cannot_make_ffmpeg_read_other_files(av, tmp_path):
    """An uploaded concat list or HLS playlist naming a neighbouring stored file must not be followed."""
    shutil.copy(av["mp4"], tmp_path / "other-tenant.mp4")
    listing = tmp_path / "upload-1234"  # storage keys carry no extension
    listing.write_text("ffconcat version 1.0\nfile 'other-tenant.mp4'\n")
    plain = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(listing), "-frames:v", "1", str(tmp_path / "leak.png")],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert plain.returncode == 0  # plain ffmpeg follows the list: the hole the demuxer whitelist closes
    with pytest.raises(MediaError, match="whitelist"):
        video_thumbnail(listing, tmp_path / "out" / "thumb.png")
    with pytest.raises(MediaError, match="whitelist"):
        video_preview(listing, tmp_path / "out" / "preview.mp4")
    with pytest.raises(MediaError, match="whitelist"):
        extract_mono_wav(listing, tmp_path / "out" / "mono.wav")
    playlist = tmp_path / "upload-5678"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nother-tenant.mp4\n#EXT-X-ENDLIST\n")
    with pytest.raises(MediaError):
        video_thumbnail(playlist, tmp_path / "out" / "thumb.png")
    assert list((tmp_path / "out").iterdir()) == []
    assert probe(listing).kind == "document"  # probe sees text, never hands it to ffprobe


# --- audio -----------------------------------------------------------------------------------------------


def test_audio_waveform(av, tmp_path):
    out = audio_waveform(av["mp3"], tmp_path / "wave.png")
    with Image.open(out) as im:
        assert (im.format, im.size) == ("PNG", (800, 120))
        alpha = im.convert("RGBA").getchannel("A")
        assert alpha.getextrema()[1] > 0  # something is drawn
    with Image.open(audio_waveform(av["wav"], tmp_path / "small.png", width=200, height=40)) as im:
        assert im.size == (200, 40)
    with pytest.raises(ValueError):
        audio_waveform(av["wav"], tmp_path / "x.png", color="red:evil=1")


def test_extract_mono_wav(av, tmp_path):
    mono = probe(extract_mono_wav(av["wav"], tmp_path / "mono.wav"))
    assert (mono.container, mono.audio_codec, mono.channels, mono.sample_rate) == ("wav", "pcm_s16le", 1, 48000)
    resampled = probe(extract_mono_wav(av["mp3"], tmp_path / "16k.wav", sample_rate=16000))
    assert (resampled.channels, resampled.sample_rate) == (1, 16000)
    assert resampled.duration_s == pytest.approx(2.0, abs=0.1)
    from_video = probe(extract_mono_wav(av["mp4"], tmp_path / "from-video.wav"))
    assert (from_video.kind, from_video.channels) == ("audio", 1)
    with pytest.raises(MediaError):
        extract_mono_wav(av["silent"], tmp_path / "none.wav")  # no audio stream
    assert not (tmp_path / "none.wav").exists()


# --- documents -------------------------------------------------------------------------------------------


def test_pptx_pages_render_chinese_at_1920(deck):
    pages = deck["pages"]
    assert [p.name for p in pages] == ["page-001.png", "page-002.png"]
    for page in pages:
        with Image.open(page) as im:
            assert im.size == (1920, 1080)
        # The text box sits in the upper part of the slide; its glyphs are dark strokes on white ...
        assert ms.dark_fraction(page, (0.05, 0.1, 0.9, 0.45)) > 0.02
        # ... and the lower part of the slide is blank.
        assert ms.dark_fraction(page, (0.0, 0.6, 1.0, 1.0)) < 0.001
    assert not list(deck["dir"].joinpath("pages").glob(".pages-*"))  # the work folder is gone


def test_pptx_pdf_embeds_a_cjk_font(deck):
    """Boxes (tofu) would also be dark pixels: check the glyphs came from a real CJK font."""
    assert probe(deck["pdf"]).pages == 2
    if shutil.which("pdffonts") is None:
        pytest.skip("needs pdffonts (poppler-utils)")
    fonts = subprocess.run(["pdffonts", str(deck["pdf"])], capture_output=True, text=True, timeout=30).stdout
    assert re.search(r"CJK|WenQuanYi|Source ?Han|Droid ?Sans ?Fallback|AR ?PL", fonts), fonts
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(deck["pdf"]), "-"], capture_output=True, text=True, timeout=30).stdout
        assert ms.CHINESE_TITLE in text and "这是中文幻灯片" in text


def test_pdf_pages_and_page_limit(tmp_path):
    ms.need("pdftoppm", "pdfinfo")
    pdf = ms.make_pdf(tmp_path / "three.pdf", pages=3)
    pages = document_pages(pdf, tmp_path / "pages", width=960)
    assert [p.name for p in pages] == ["page-001.png", "page-002.png", "page-003.png"]
    with Image.open(pages[2]) as im:
        assert im.size == (960, 540)
    with pytest.raises(PageLimitExceeded, match="3 pages; at most 2") as caught:
        document_pages(pdf, tmp_path / "limited", max_pages=2)
    assert (caught.value.pages, caught.value.limit) == (3, 2)
    assert list((tmp_path / "limited").iterdir()) == []


def test_default_page_limit_is_the_ppt_limit(tmp_path):
    ms.need("pdftoppm", "pdfinfo")
    pdf = ms.make_pdf(tmp_path / "long.pdf", pages=101)
    with pytest.raises(PageLimitExceeded, match="101 pages; at most 100"):
        document_pages(pdf, tmp_path / "pages")
    assert list((tmp_path / "pages").iterdir()) == []


def test_legacy_ppt_is_detected_and_rendered(deck, tmp_path):
    """A .ppt (OLE2) made by LibreOffice from the PPTX: probe names it, pages render."""
    subprocess.run(
        [
            "soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--norestore",
            "--convert-to", "ppt", "--outdir", str(tmp_path), str(deck["pptx"]),
        ],
        capture_output=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=True,
    )  # fmt: skip
    ppt = tmp_path / "演示.ppt"
    stored = tmp_path / "blob-without-extension"  # storage keys carry no extension
    shutil.copy(ppt, stored)
    info = probe(stored)
    assert (info.kind, info.container, info.mime) == ("document", "ppt", "application/vnd.ms-powerpoint")
    pages = document_pages(stored, tmp_path / "pages")
    assert len(pages) == 2
    assert ms.dark_fraction(pages[0], (0.05, 0.1, 0.9, 0.45)) > 0.02


def test_parallel_conversions_do_not_collide(deck, tmp_path):
    results: dict[int, Path | Exception] = {}

    def convert(index: int) -> None:
        try:
            results[index] = document_pdf(deck["pptx"], tmp_path / f"copy-{index}.pdf")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=convert, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert all(isinstance(r, Path) for r in results.values()) and len(results) == 2, results
    assert all(probe(r).pages == 2 for r in results.values())


def test_zip_bomb_never_reaches_libreoffice(tmp_path):
    bomb = ms.make_zip_bomb(tmp_path / "bomb.pptx")
    with pytest.raises(UnsafeArchive, match="zip bomb"):
        document_pages(bomb, tmp_path / "pages")
    with pytest.raises(UnsafeArchive):
        document_pdf(bomb, tmp_path / "bomb.pdf")
    assert not (tmp_path / "bomb.pdf").exists()


def test_non_documents_are_refused(av, tmp_path):
    with pytest.raises(MediaError, match="not a presentation"):
        document_pdf(av["mp4"], tmp_path / "x.pdf")


# --- subprocess plumbing ---------------------------------------------------------------------------------


def test_timeouts_kill_the_tool(tmp_path):
    with pytest.raises(MediaTimeout, match="took longer than 0.3 s"):
        _tools.run(["sleep", "30"], timeout=0.3, what="sleep")


def test_missing_tool_is_named():
    with pytest.raises(ToolMissing, match="no-such-media-tool"):
        _tools.run(["no-such-media-tool"], timeout=5, what="nothing")


def test_failure_message_carries_stderr_tail_without_storage_paths(tmp_path):
    ms.need("ffprobe")
    secret = tmp_path / "storage" / "tenant-42"
    secret.mkdir(parents=True)
    missing = secret / "nothing-here.mp4"
    with pytest.raises(MediaError) as caught:
        _tools.run(["ffprobe", "-v", "error", "-i", str(missing)], timeout=30, what="ffprobe")
    message = str(caught.value)
    assert "ffprobe failed (exit code 1)" in message and "No such file or directory" in message
    assert "nothing-here.mp4" in message and str(secret) not in message
