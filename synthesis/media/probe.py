"""What is really inside a file: kind, container and stream facts, from the content (magic bytes, ffprobe,
Pillow, pdfinfo, the zip directory), never from the file name."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import struct
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from . import _tools
from .archive import check_zip_safe
from .errors import MediaError, ToolMissing, UnsafeArchive

KINDS = ("video", "audio", "image", "document", "archive", "unknown")

PROBE_TIMEOUT_S = 30
DECODE_TIMEOUT_S = 30
PDFINFO_TIMEOUT_S = 30
HEAD_BYTES = 8192
# Images with more pixels than this are described (size from the header) but never decoded.
MAX_IMAGE_PIXELS = 50_000_000
# Images up to this many pixels are fully decoded during probe, so a truncated or corrupt one is caught.
DECODE_CHECK_MAX_PIXELS = 4 * 1920 * 1080
MAX_RELS_BYTES = 1024 * 1024

MIME = {
    "mp4": "video/mp4",
    "m4v": "video/x-m4v",
    "mov": "video/quicktime",
    "3gp": "video/3gpp",
    "m4a": "audio/mp4",
    "webm": "video/webm",
    "matroska": "video/x-matroska",
    "flv": "video/x-flv",
    "wmv": "video/x-ms-wmv",
    "wma": "audio/x-ms-wma",
    "avi": "video/x-msvideo",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "mpegts": "video/mp2t",
    "mpeg": "video/mpeg",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "avif": "image/avif",
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "ppt": "application/vnd.ms-powerpoint",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "zip": "application/zip",
    "text": "text/plain",
}

EXECUTABLES = {
    "elf": "an ELF executable",
    "pe": "a Windows (PE) executable",
    "macho": "a Mach-O executable",
    "script": "a script (#! interpreter line)",
}


@dataclass(frozen=True)
class MediaInfo:
    """Facts about a file's real content. `container` is the detected format name (mp4, mov, webm, matroska,
    png, jpeg, pdf, pptx, ppt, zip, elf, ...). `error` says why the content could not be read or decoded;
    `unsafe` says why it must not be opened or served (executable, zip bomb, external links)."""

    kind: str = "unknown"
    container: str | None = None
    mime: str | None = None
    size_bytes: int = 0
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    pix_fmt: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    has_audio: bool = False
    pages: int | None = None
    error: str | None = None
    unsafe: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.unsafe is None and self.kind != "unknown"

    @property
    def resolution(self) -> str | None:
        return f"{self.width}x{self.height}" if self.width and self.height else None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def probe(path: os.PathLike | str, *, decode_check: bool = True) -> MediaInfo:
    """Describe a file from its content. Never raises for bad content (that is reported in `error` /
    `unsafe`); raises FileNotFoundError for a missing file and ToolMissing when ffprobe is needed but absent.

    With `decode_check`, the first video frame (or audio frame) is decoded too, so a file whose headers are
    fine but whose data is missing or corrupt gets an `error`."""
    path = Path(path)
    size = path.stat().st_size
    if not path.is_file():
        raise MediaError(f"{path.name} is not a regular file")
    base: dict[str, Any] = {"size_bytes": size}
    if size == 0:
        return MediaInfo(**base, error="the file is empty")
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)

    executable = _sniff_executable(head)
    if executable:
        return _info(base, kind="unknown", container=executable, unsafe=EXECUTABLES[executable])
    image_format = _sniff_image(head)
    if image_format:
        return _probe_image(path, base, image_format)
    if b"%PDF-" in head[:1024]:
        return _probe_pdf(path, base)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _probe_zip(path, base)
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _probe_ole(path, base)
    if _is_utf16_text(head) or _is_utf8_text(head):
        return _info(base, kind="document", container="text")
    info = _probe_av(path, base, head, decode_check=decode_check)
    if info.kind == "unknown" and info.container is None and b"\x00" not in head and _mostly_printable(head):
        return _info(base, kind="document", container="text")  # text in a legacy encoding (GB18030, ...)
    return info


def _info(base: dict[str, Any], **fields: Any) -> MediaInfo:
    container = fields.get("container")
    fields.setdefault("mime", MIME.get(container) if container else None)
    return MediaInfo(**base, **fields)


# --- magic bytes -----------------------------------------------------------------------------------------


def _sniff_executable(head: bytes) -> str | None:
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head.startswith(b"MZ") and len(head) >= 64:
        pe_offset = struct.unpack_from("<I", head, 0x3C)[0]
        if head[pe_offset : pe_offset + 4] == b"PE\x00\x00" or b"\x00" in head[:64]:  # not text starting "MZ"
            return "pe"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe"):
        return "macho"
    if head[:4] == b"\xca\xfe\xba\xbe":  # Mach-O universal binary (or a Java class file)
        return "macho"
    if head.startswith(b"#!"):
        return "script"
    return None


def _sniff_image(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 26 and struct.unpack("<I", head[14:18])[0] in (12, 40, 52, 56, 64, 108, 124):
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "heic"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "avif"
    return None


def _is_utf16_text(head: bytes) -> bool:
    if not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    sample = head[2 : 2 + (len(head) - 2) // 2 * 2]
    try:
        text = sample.decode("utf-16-le" if head[0] == 0xFF else "utf-16-be")
    except UnicodeDecodeError:
        return False
    return _mostly_printable(text.encode("utf-8"))


def _is_utf8_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # only a character cut at the end of the sample is forgiven
            return False
        text = head[: exc.start].decode("utf-8")
    return _mostly_printable(text.encode("utf-8"))


def _mostly_printable(head: bytes) -> bool:
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return bool(head) and controls <= len(head) // 100


# --- images ----------------------------------------------------------------------------------------------


def _probe_image(path: Path, base: dict[str, Any], sniffed: str) -> MediaInfo:
    if sniffed in ("heic", "avif"):
        return _info(base, kind="image", container=sniffed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt = (im.format or sniffed).lower()
                width, height = im.size
                mode = im.mode
                if width * height > MAX_IMAGE_PIXELS:
                    return _info(
                        base,
                        kind="image",
                        container=fmt,
                        width=width,
                        height=height,
                        pix_fmt=mode,
                        error=f"image has {width}x{height} pixels, more than the {MAX_IMAGE_PIXELS:,} pixel limit",
                    )
                # EXIF orientation from JPEG headers only: for PNG, Pillow would decode the image to find it.
                orientation = im.getexif().get(0x0112) if fmt in ("jpeg", "mpo") else None
                if width * height <= DECODE_CHECK_MAX_PIXELS:
                    im.load()
    except Image.DecompressionBombError as exc:
        return _info(base, kind="image", container=sniffed, error=f"image is far too large: {exc}")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        return _info(base, kind="image", container=sniffed, error=f"image cannot be decoded: {exc}")
    if orientation in (5, 6, 7, 8):  # EXIF rotated by 90 degrees: report the displayed size
        width, height = height, width
    fmt = "jpeg" if fmt == "mpo" else fmt
    return _info(base, kind="image", container=fmt, width=width, height=height, pix_fmt=mode)


# --- documents -------------------------------------------------------------------------------------------


def _probe_pdf(path: Path, base: dict[str, Any]) -> MediaInfo:
    try:
        pages = pdf_page_count(path)
    except ToolMissing:
        return _info(base, kind="document", container="pdf")  # page count unknown without poppler-utils
    except MediaError as exc:
        return _info(base, kind="document", container="pdf", error=f"PDF cannot be read: {exc}")
    return _info(base, kind="document", container="pdf", pages=pages)


def pdf_page_count(path: os.PathLike | str, timeout: float = PDFINFO_TIMEOUT_S) -> int:
    """Number of pages of a PDF (poppler's pdfinfo). Raises MediaError if it cannot be read."""
    proc = _tools.run(["pdfinfo", _tools.abspath(path)], timeout=timeout, what="pdfinfo")
    match = re.search(rb"^Pages:\s+(\d+)\s*$", proc.stdout, re.M)
    if not match:
        raise MediaError("pdfinfo reported no page count")
    return int(match.group(1))


_SLIDE = re.compile(r"^ppt/slides/slide\d+\.xml$")
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_EXTERNAL_MEDIA_TYPES = ("image", "oleObject", "video", "audio", "media", "package", "frame", "attachedTemplate")


def _probe_zip(path: Path, base: dict[str, Any]) -> MediaInfo:
    try:
        stats = check_zip_safe(path)
    except UnsafeArchive as exc:
        return _info(base, kind="archive", container="zip", unsafe=str(exc))
    names = set(stats.names)
    if "ppt/presentation.xml" in names:
        container = "pptx"
    elif "word/document.xml" in names:
        container = "docx"
    elif "xl/workbook.xml" in names:
        container = "xlsx"
    elif "mimetype" in names:
        container = _odf_type(path) or "zip"
    else:
        container = "zip"
    if container == "zip":
        return _info(base, kind="archive", container="zip")
    fields: dict[str, Any] = {"kind": "document", "container": container}
    if container == "pptx":
        fields["pages"] = sum(1 for n in stats.names if _SLIDE.match(n))
    try:
        link = _external_link(path, stats.names)
    except (ET.ParseError, zipfile.BadZipFile, OSError) as exc:
        return _info(base, **fields, error=f"document package cannot be read: {exc}")
    if link:
        fields["unsafe"] = link
    return _info(base, **fields)


def _odf_type(path: Path) -> str | None:
    with zipfile.ZipFile(path) as zf:
        mimetype = zf.read("mimetype")[:100]
    return {
        b"application/vnd.oasis.opendocument.presentation": "odp",
        b"application/vnd.oasis.opendocument.text": "odt",
        b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    }.get(mimetype.strip())


def _external_link(path: Path, names: tuple[str, ...]) -> str | None:
    """An OOXML package whose relationships point outside it (a linked picture or object, or any local file)
    would make a converter read local files or fetch URLs: describe the first such link, or None."""
    with zipfile.ZipFile(path) as zf:
        for name in names:
            if not name.endswith(".rels"):
                continue
            info = zf.getinfo(name)
            if info.file_size > MAX_RELS_BYTES:
                return f"relationship part {name!r} is unreasonably large"
            root = ET.fromstring(zf.read(info))
            for rel in root.iter(f"{_REL_NS}Relationship"):
                if rel.get("TargetMode") != "External":
                    continue
                target = (rel.get("Target") or "").strip()
                rel_type = (rel.get("Type") or "").rsplit("/", 1)[-1]
                scheme = target.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target) else ""
                if rel_type in _EXTERNAL_MEDIA_TYPES:
                    return f"document links an external {rel_type} ({target[:80]!r}); embed it instead"
                if scheme not in ("http", "https", "mailto"):
                    return f"document links a local or unsupported target ({target[:80]!r})"
    return None


def _probe_ole(path: Path, base: dict[str, Any]) -> MediaInfo:
    try:
        streams = _ole_stream_names(path)
    except (OSError, ValueError, struct.error) as exc:
        return _info(base, kind="unknown", container="ole", error=f"compound document cannot be read: {exc}")
    if "PowerPoint Document" in streams:
        return _info(base, kind="document", container="ppt")  # slide count: convert (derive.document_pdf)
    if "WordDocument" in streams:
        return _info(base, kind="document", container="doc")
    if "Workbook" in streams or "Book" in streams:
        return _info(base, kind="document", container="xls")
    return _info(base, kind="unknown", container="ole", error="unrecognised compound (OLE) document")


def _ole_stream_names(path: Path, max_sectors: int = 4096) -> set[str]:
    """Names in the directory of an OLE2 compound file (enough to tell PPT from DOC/XLS/MSI)."""
    with open(path, "rb") as fh:
        header = fh.read(512)
        if len(header) < 512:
            raise ValueError("truncated header")
        shift = struct.unpack_from("<H", header, 0x1E)[0]
        if shift not in (9, 12):
            raise ValueError(f"bad sector size 2^{shift}")
        ssz = 1 << shift
        dir_start = struct.unpack_from("<I", header, 0x30)[0]
        difat_start, difat_count = struct.unpack_from("<II", header, 0x44)
        difat = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < 0xFFFFFFFA]
        per = ssz // 4
        sector = difat_start
        for _ in range(min(difat_count, max_sectors)):
            if sector >= 0xFFFFFFFA:
                break
            fh.seek((sector + 1) * ssz)
            values = struct.unpack(f"<{per}I", _read_exact(fh, ssz))
            difat.extend(v for v in values[:-1] if v < 0xFFFFFFFA)
            sector = values[-1]

        def next_sector(s: int) -> int:
            index, offset = divmod(s, per)
            if index >= len(difat):
                raise ValueError("sector outside the allocation table")
            fh.seek((difat[index] + 1) * ssz + offset * 4)
            return struct.unpack("<I", _read_exact(fh, 4))[0]

        names: set[str] = set()
        sector = dir_start
        for _ in range(max_sectors):
            if sector >= 0xFFFFFFFA:
                break
            fh.seek((sector + 1) * ssz)
            block = _read_exact(fh, ssz)
            for off in range(0, ssz, 128):
                name_len = struct.unpack_from("<H", block, off + 64)[0]
                if 2 <= name_len <= 64 and block[off + 66] in (1, 2, 5):
                    names.add(block[off : off + name_len - 2].decode("utf-16-le", "replace"))
            sector = next_sector(sector)
        return names


def _read_exact(fh, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise ValueError("file is truncated")
    return data


# --- audio / video (ffprobe) -----------------------------------------------------------------------------

_MOV_BRANDS = {"qt": "mov", "m4v": "m4v", "m4vh": "m4v", "m4vp": "m4v", "m4a": "m4a", "m4b": "m4a", "m4p": "m4a"}
_SIMPLE_CONTAINERS = {
    "flv": "flv", "avi": "avi", "mp3": "mp3", "wav": "wav", "aac": "aac", "ogg": "ogg", "flac": "flac",
    "mpegts": "mpegts", "mpeg": "mpeg",
}  # fmt: skip


def _probe_av(path: Path, base: dict[str, Any], head: bytes, *, decode_check: bool) -> MediaInfo:
    proc = _tools.run(
        [
            "ffprobe", "-hide_banner", "-v", "error", *_tools.INPUT_GUARD,
            "-print_format", "json", "-show_format", "-show_streams", "-show_error",
            "-i", _tools.abspath(path),
        ],
        timeout=PROBE_TIMEOUT_S, what="ffprobe", check=False,
    )  # fmt: skip
    try:
        data = json.loads(proc.stdout or b"{}")
    except ValueError:
        data = {}
    if proc.returncode != 0 or "error" in data or "format" not in data:
        reason = "; ".join(_tools.redact(_tools.tail(proc.stderr, 400), [_tools.abspath(path)]).splitlines()[-2:])
        reason = reason or (data.get("error") or {}).get("string") or "unrecognised content"
        return _info(base, kind="unknown", error=f"not a recognised audio or video file ({reason})")

    fmt = data["format"]
    streams = data.get("streams") or []
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    container = _container_name(fmt, head, has_video=video is not None)
    fields: dict[str, Any] = {
        "container": container,
        "duration_s": _float(fmt.get("duration")) or _float((video or audio or {}).get("duration")),
        "has_audio": audio is not None,
    }
    if audio is not None:
        fields.update(
            audio_codec=audio.get("codec_name"),
            sample_rate=_int(audio.get("sample_rate")),
            channels=_int(audio.get("channels")),
        )
    if video is not None:
        width, height = _int(video.get("width")), _int(video.get("height"))
        if width and height and _rotation(video) % 180 == 90:
            width, height = height, width
        fields.update(
            kind="video",
            video_codec=video.get("codec_name"),
            width=width,
            height=height,
            pix_fmt=video.get("pix_fmt"),
            fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")),
        )
    elif audio is not None:
        fields["kind"] = "audio"
    else:
        return _info(base, kind="unknown", container=container, error="the file has no audio or video stream")
    if fields["duration_s"] is not None:
        fields["duration_s"] = round(fields["duration_s"], 3)
    if fields.get("fps") is not None:
        fields["fps"] = round(fields["fps"], 3)

    problem = _isobmff_truncation(path) if fmt.get("format_name", "").startswith("mov,") else None
    if problem is None and decode_check:
        problem = _decode_first_frame(path, "v:0" if video is not None else "a:0")
    if problem:
        fields["error"] = problem
    return _info(base, **fields)


def _container_name(fmt: dict[str, Any], head: bytes, *, has_video: bool) -> str:
    name = fmt.get("format_name") or ""
    first = name.split(",")[0]
    if first == "mov":
        brand = ((fmt.get("tags") or {}).get("major_brand") or "").strip().lower()
        if brand.startswith("3g"):
            return "3gp"
        return _MOV_BRANDS.get(brand, "mp4")
    if first == "matroska":
        return _ebml_doctype(head) or "matroska"
    if first == "asf":
        return "wmv" if has_video else "wma"
    return _SIMPLE_CONTAINERS.get(first, first or "unknown")


def _ebml_doctype(head: bytes) -> str | None:
    """'webm' or 'matroska' from the EBML header's DocType element (ffprobe names both 'matroska,webm')."""
    pos = head.find(b"\x42\x82", 4, 64)
    if pos < 0 or pos + 3 > len(head):
        return None
    size_byte = head[pos + 2]
    if not size_byte & 0x80:
        return None
    size = size_byte & 0x7F
    doctype = head[pos + 3 : pos + 3 + size].rstrip(b"\x00").decode("ascii", "replace").lower()
    return doctype if doctype in ("webm", "matroska") else None


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return int(abs(_float(side["rotation"]) or 0))
    return int(abs(_float((stream.get("tags") or {}).get("rotate")) or 0))


def _isobmff_truncation(path: Path, max_boxes: int = 100_000) -> str | None:
    """Walk the top-level boxes of an MP4/MOV: a box that claims more bytes than the file holds means the
    upload was cut short (ffprobe alone accepts a faststart file whose media data is missing)."""
    size = path.stat().st_size
    pos = 0
    with open(path, "rb") as fh:
        for _ in range(max_boxes):
            if pos + 8 > size:
                return None
            fh.seek(pos)
            box_size, box_type = struct.unpack(">I4s", fh.read(8))
            header = 8
            if box_size == 1:
                box_size = struct.unpack(">Q", fh.read(8))[0]
                header = 16
            elif box_size == 0:  # the last box runs to the end of the file
                return None
            if box_size < header:
                return f"the file is corrupt: box {box_type!r} has an invalid size"
            if pos + box_size > size:
                kind = box_type.decode("latin-1")
                return f"the file is truncated: {kind!r} needs {pos + box_size} bytes, the file has {size}"
            pos += box_size
    return None


def _decode_first_frame(path: Path, stream: str) -> str | None:
    frames = "-frames:v" if stream.startswith("v") else "-frames:a"
    try:
        proc = _tools.run(
            [
                "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", *_tools.INPUT_GUARD,
                "-i", _tools.abspath(path), "-map", f"0:{stream}", frames, "1", "-f", "framemd5", "-",
            ],
            timeout=DECODE_TIMEOUT_S, what="ffmpeg decode check",
        )  # fmt: skip
    except ToolMissing:
        return None
    except MediaError as exc:
        return f"the {'video' if stream.startswith('v') else 'audio'} cannot be decoded: {exc}"
    decoded = [line for line in proc.stdout.splitlines() if line and not line.startswith(b"#")]
    if not decoded:
        what = "video frame" if stream.startswith("v") else "audio frame"
        return f"no {what} could be decoded ({_tools.tail(proc.stderr) or 'no data'})"
    return None


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and result not in (float("inf"), float("-inf")) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rate(value: Any) -> float | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return float(rate) if rate > 0 else None


__all__ = ["KINDS", "MAX_IMAGE_PIXELS", "MediaInfo", "pdf_page_count", "probe"]
