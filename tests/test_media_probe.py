"""synthesis.media.probe and archive: what a file really is, from its content; zip-bomb safety. No database."""

from __future__ import annotations

import dataclasses
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from synthesis.media import MediaInfo, UnsafeArchive, check_zip_safe, probe
from tests import media_samples as ms


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    """Small media made once for the module (ffmpeg lavfi, Pillow, python-pptx)."""
    ms.need("ffmpeg", "ffprobe")
    d = tmp_path_factory.mktemp("probe")
    small = {"size": "64x64", "rate": 10, "seconds": 1}
    files = {
        "mp4": ms.make_video(d / "clip.mp4"),
        "mov": ms.make_video(d / "clip.mov", **small),
        "mkv": ms.make_video(d / "clip.mkv", **small),
        "m4v": ms.make_video(d / "clip.m4v", **small),
        "3gp": ms.make_video(d / "clip.3gp", size="176x144", rate=10, seconds=1, audio=False),
        "flv": ms.make_video(d / "clip.flv", **small),
        "avi": ms.make_video(d / "clip.avi", **small),
        "wmv": ms.make_video(d / "clip.wmv", **small, audio=False, vcodec=["-c:v", "wmv2"]),
        "webm": ms.make_video(
            d / "clip.webm", **small, audio=False,
            vcodec=["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"],
        ),
        "wav": ms.make_wav(d / "stereo.wav", rate=48000, channels=2),
        "mp3": ms.make_mp3(d / "tone.mp3"),
        "png": ms.make_image(d / "picture.png", (640, 360)),
        "jpg": ms.make_image(d / "picture.jpg", (640, 360), fmt="JPEG"),
        "pptx": ms.make_pptx(d / "slides.pptx", slides=2),
        "bomb": ms.make_zip_bomb(d / "bomb.pptx"),
    }  # fmt: skip
    ms.ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", d / "tone.m4a")
    files["m4a"] = d / "tone.m4a"
    ms.ffmpeg("-i", files["mp4"], "-c", "copy", "-movflags", "+faststart", d / "faststart.mp4")
    files["faststart"] = d / "faststart.mp4"
    return files


def test_mp4_h264_aac_facts(media):
    info = probe(media["mp4"])
    assert info.kind == "video"
    assert info.container == "mp4" and info.mime == "video/mp4"
    assert (info.width, info.height) == (320, 240) and info.resolution == "320x240"
    assert info.fps == 25.0
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.video_codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.audio_codec == "aac" and info.has_audio
    assert info.sample_rate == 48000 and info.channels == 1
    assert info.size_bytes == media["mp4"].stat().st_size
    assert info.error is None and info.unsafe is None and info.ok


def test_media_info_is_frozen_and_serialisable(media):
    info = probe(media["mp4"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.kind = "audio"  # type: ignore[misc]
    data = info.as_dict()
    assert data["container"] == "mp4" and data["width"] == 320
    assert set(data) >= {
        "kind", "container", "duration_s", "width", "height", "fps", "video_codec", "audio_codec", "pix_fmt",
        "sample_rate", "channels", "has_audio", "pages", "size_bytes", "error", "unsafe",
    }  # fmt: skip
    assert MediaInfo(**data) == info


@pytest.mark.parametrize(
    ("key", "container", "codec"),
    [
        ("mov", "mov", "h264"),
        ("mkv", "matroska", "h264"),
        ("m4v", "m4v", "h264"),
        ("3gp", "3gp", "h264"),
        ("flv", "flv", "h264"),
        ("avi", "avi", "h264"),
        ("wmv", "wmv", "wmv2"),
        ("webm", "webm", "vp9"),
    ],
)
def test_video_containers_are_named_from_content(media, key, container, codec):
    info = probe(media[key])
    assert (info.kind, info.container, info.video_codec) == ("video", container, codec)
    assert info.fps == 10.0 and info.duration_s == pytest.approx(1.0, abs=0.15)


def test_content_wins_over_extension(media, tmp_path):
    renamed = tmp_path / "really-webm.mp4"
    shutil.copy(media["webm"], renamed)
    assert probe(renamed).container == "webm"
    png_named_jpg = tmp_path / "really-png.jpg"
    shutil.copy(media["png"], png_named_jpg)
    assert probe(png_named_jpg).container == "png"
    no_name = tmp_path / "upload-without-extension"
    shutil.copy(media["mp3"], no_name)
    assert probe(no_name).container == "mp3"


def test_audio_files(media):
    wav = probe(media["wav"])
    assert (wav.kind, wav.container, wav.audio_codec) == ("audio", "wav", "pcm_s16le")
    assert (wav.sample_rate, wav.channels, wav.has_audio) == (48000, 2, True)
    assert wav.width is None and wav.video_codec is None
    mp3 = probe(media["mp3"])
    assert (mp3.kind, mp3.container, mp3.audio_codec) == ("audio", "mp3", "mp3")
    m4a = probe(media["m4a"])
    assert (m4a.kind, m4a.container, m4a.audio_codec) == ("audio", "m4a", "aac")


def test_images(media, tmp_path):
    png = probe(media["png"])
    assert (png.kind, png.container, png.width, png.height, png.mime) == ("image", "png", 640, 360, "image/png")
    jpg = probe(media["jpg"])
    assert (jpg.kind, jpg.container, jpg.width, jpg.height) == ("image", "jpeg", 640, 360)
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    Image.new("RGB", (400, 200)).save(rotated, exif=exif.tobytes())
    assert (probe(rotated).width, probe(rotated).height) == (200, 400)


def _png_header(path: Path, width: int, height: int) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def test_image_pixel_bombs_are_described_not_decoded(tmp_path):
    huge = probe(_png_header(tmp_path / "huge.png", 8000, 8000))
    assert huge.kind == "image" and (huge.width, huge.height) == (8000, 8000)
    assert "pixel limit" in huge.error
    absurd = probe(_png_header(tmp_path / "absurd.png", 100_000, 100_000))
    assert absurd.kind == "image" and "too large" in absurd.error


def test_corrupt_image(media, tmp_path):
    broken = ms.truncate_copy(media["png"], tmp_path / "broken.png", 0.3)
    info = probe(broken)
    assert info.kind == "image" and "cannot be decoded" in info.error


@pytest.mark.parametrize(
    ("content", "container"),
    [
        (None, "elf"),  # /bin/true
        (b"MZ\x90\x00" + b"\x00" * 200, "pe"),
        (b"#!/bin/sh\nrm -rf /\n", "script"),
    ],
)
def test_executables_are_unsafe_whatever_their_name(tmp_path, content, container):
    path = tmp_path / "holiday.mp4"
    if content is None:
        shutil.copy("/bin/true", path)
    else:
        path.write_bytes(content)
    info = probe(path)
    assert (info.kind, info.container) == ("unknown", container)
    assert "executable" in info.unsafe or "script" in info.unsafe
    assert not info.ok


def test_truncated_mp4_moov_at_end(media, tmp_path):
    info = probe(ms.truncate_copy(media["mp4"], tmp_path / "cut.mp4"))
    assert info.kind == "unknown"
    assert "moov atom not found" in info.error
    assert str(tmp_path) not in info.error  # storage paths are not leaked into messages


def test_truncated_mp4_faststart_is_caught_by_box_walk(media, tmp_path):
    info = probe(ms.truncate_copy(media["faststart"], tmp_path / "cut.mp4"))
    assert info.kind == "video"  # headers are intact ...
    assert "truncated" in info.error  # ... but the media data is missing


def test_undecodable_video_data(media, tmp_path):
    """Headers intact, every byte of the media data zeroed: the first-frame decode check reports it."""
    data = bytearray(media["faststart"].read_bytes())
    mdat = data.find(b"mdat")
    size = struct.unpack(">I", data[mdat - 4 : mdat])[0]
    data[mdat + 4 : mdat - 4 + size] = bytes(size - 8)
    broken = tmp_path / "zeroed.mp4"
    broken.write_bytes(bytes(data))
    info = probe(broken)
    assert info.kind == "video" and info.error and "decode" in info.error
    assert probe(broken, decode_check=False).error is None


def test_documents(media, tmp_path):
    pptx = probe(media["pptx"])
    assert (pptx.kind, pptx.container, pptx.pages) == ("document", "pptx", 2)
    assert pptx.unsafe is None
    ms.need("pdfinfo")
    pdf = probe(ms.make_pdf(tmp_path / "three.pdf", pages=3))
    assert (pdf.kind, pdf.container, pdf.pages, pdf.mime) == ("document", "pdf", 3, "application/pdf")
    bad_pdf = tmp_path / "bad.pdf"
    bad_pdf.write_bytes(b"%PDF-1.4\n garbage that is no PDF at all\n")
    assert probe(bad_pdf).error


def test_zip_bomb_pptx_is_refused_from_the_directory(media):
    info = probe(media["bomb"])
    assert media["bomb"].stat().st_size < 1024 * 1024  # 200 MB of zeros in ~200 KB
    assert (info.kind, info.container) == ("archive", "zip")
    assert "zip bomb" in info.unsafe
    assert info.pages is None


def test_pptx_linking_a_local_file_is_unsafe(media, tmp_path):
    linked = tmp_path / "linked.pptx"
    rel = (
        '<Relationship Id="rId99" TargetMode="External" Target="file:///etc/passwd" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"/>'
    )
    with zipfile.ZipFile(media["pptx"]) as src, zipfile.ZipFile(linked, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "ppt/slides/_rels/slide1.xml.rels":
                data = data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
            dst.writestr(item, data)
    info = probe(linked)
    assert info.container == "pptx" and "external image" in info.unsafe


def test_text_empty_and_garbage(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("你好 hello\n" * 20, encoding="utf-8")
    assert (probe(text).kind, probe(text).container) == ("document", "text")
    utf16 = tmp_path / "notes-utf16.txt"
    utf16.write_bytes("你好 hello\n".encode("utf-16") * 5)
    assert probe(utf16).container == "text"
    mz_text = tmp_path / "mz.txt"
    mz_text.write_text("MZ Holdings annual report\n" * 10)
    assert (probe(mz_text).container, probe(mz_text).unsafe) == ("text", None)
    gbk = tmp_path / "notes-gbk.txt"
    gbk.write_bytes("你好，世界\n".encode("gb18030") * 20)
    assert probe(gbk).container == "text"
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert probe(empty).error == "the file is empty"
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 8 + b"\x00\x01" * 500)
    info = probe(noise)
    assert info.kind == "unknown" and info.error
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "missing.mp4")


# --- zip safety ------------------------------------------------------------------------------------------


def test_check_zip_safe_passes_a_real_pptx(media):
    stats = check_zip_safe(media["pptx"])
    assert stats.entries > 5 and "ppt/presentation.xml" in stats.names
    assert stats.total_uncompressed > stats.total_compressed > 0


def test_check_zip_safe_limits(tmp_path, media):
    with pytest.raises(UnsafeArchive, match="expands"):
        check_zip_safe(media["bomb"])
    with pytest.raises(UnsafeArchive, match="uncompressed content"):
        check_zip_safe(media["bomb"], max_ratio=10_000, max_total=100 * 1024 * 1024)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(6):
            zf.writestr(f"f{i}.txt", "x")
    with pytest.raises(UnsafeArchive, match="6 entries"):
        check_zip_safe(many, max_entries=5)
    assert check_zip_safe(many).entries == 6


@pytest.mark.parametrize("name", ["../evil.sh", "ppt/../../evil", "/etc/cron.d/x", "C:/Windows/x", "a\\..\\b"])
def test_check_zip_safe_refuses_traversal_names(tmp_path, name):
    path = tmp_path / "trav.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(UnsafeArchive):
        check_zip_safe(path)
    assert probe(path).unsafe


def test_check_zip_safe_catches_understated_sizes(tmp_path):
    """The central directory claims 10 bytes for an entry of 100 KB: verification reads it and fails."""
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.bin", b"a" * 100_000)
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 10)
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive, match="cannot be read"):
        check_zip_safe(path)
    check_zip_safe(path, verify=False)  # the declared sizes alone look harmless


def test_check_zip_safe_on_non_zip(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UnsafeArchive, match="not a readable zip"):
        check_zip_safe(path)
