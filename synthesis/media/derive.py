"""Derived files: thumbnails, short previews, waveforms, mono WAV, document page images.

Every function writes its output atomically (a temporary name next to the destination, renamed on success),
runs each external tool with a timeout in its own process group, and raises MediaError (MediaTimeout,
ToolMissing, UnsafeArchive) with the tool's stderr tail on failure. Inputs are opened with the demuxer
whitelist of `_tools.INPUT_GUARD`, so a playlist or concat file cannot make ffmpeg read other files."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from . import _tools
from .errors import MediaError, PageLimitExceeded, UnsafeArchive
from .probe import MAX_IMAGE_PIXELS, pdf_page_count, probe
from .rules import MAX_PPT_PAGES

THUMBNAIL_TIMEOUT_S = 60
PREVIEW_TIMEOUT_S = 300
AUDIO_TIMEOUT_S = 300
SOFFICE_TIMEOUT_S = 180
PDFTOPPM_TIMEOUT_S = 300
PAGE_WIDTH = 1920
CONVERTIBLE_DOCUMENTS = ("pptx", "ppt", "odp")
WAVEFORM_COLOR = "#3b82f6"

_FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"]


def _ffmpeg_input(src: os.PathLike | str, *, seek: float | None = None) -> list[str]:
    args = [*_tools.INPUT_GUARD]
    if seek:
        args += ["-ss", f"{seek:.3f}"]
    return [*args, "-i", _tools.abspath(src)]


def _even_width(width: int) -> str:
    return f"scale='trunc(min({int(width)},iw)/2)*2':-2"


# --- images ----------------------------------------------------------------------------------------------


def image_thumbnail(src: os.PathLike | str, dst_png: os.PathLike | str, width: int = 320) -> Path:
    """PNG thumbnail `width` pixels wide (never upscaled), EXIF orientation applied, alpha kept."""
    dst = Path(dst_png)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                if im.width * im.height > MAX_IMAGE_PIXELS:
                    raise MediaError(f"image has {im.width}x{im.height} pixels, too many to make a thumbnail")
                im.draft("RGB", (width, width))  # JPEG: decode at a reduced scale, >= width either way round
                im = ImageOps.exif_transpose(im)
                has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
                im = im.convert("RGBA" if has_alpha else "RGB")
                if im.width > width:
                    height = max(1, round(im.height * width / im.width))
                    im = im.resize((width, height), Image.Resampling.LANCZOS)
                with _tools.atomic_output(dst) as tmp:
                    im.save(tmp, format="PNG")
    except Image.DecompressionBombError as exc:
        raise MediaError(f"image is far too large: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"image cannot be decoded: {exc}") from exc
    return dst


# --- video -----------------------------------------------------------------------------------------------


def video_thumbnail(src: os.PathLike | str, dst_png: os.PathLike | str, width: int = 320, at: float = 1.0) -> Path:
    """PNG of the frame at `at` seconds (the first frame if the video is shorter), `width` wide at most."""
    dst = Path(dst_png)
    for seek in (at, 0.0) if at > 0 else (0.0,):
        try:
            with _tools.atomic_output(dst) as tmp:
                _tools.run(
                    [
                        *_FFMPEG, *_ffmpeg_input(src, seek=seek), "-map", "0:v:0", "-frames:v", "1",
                        "-vf", f"scale='min({int(width)},iw)':-2,setsar=1", "-f", "image2", "-c:v", "png", tmp,
                    ],
                    timeout=THUMBNAIL_TIMEOUT_S, what="ffmpeg video thumbnail",
                )  # fmt: skip
            return dst
        except MediaError as exc:
            if seek == 0.0 or "no output was produced" not in str(exc):
                raise
    raise MediaError("no video frame could be extracted")  # pragma: no cover - loop always returns or raises


def video_preview(src: os.PathLike | str, dst_mp4: os.PathLike | str, seconds: float = 5, width: int = 480) -> Path:
    """The first `seconds` of a video as a small web-playable MP4: H.264 (yuv420p) + AAC stereo, faststart."""
    dst = Path(dst_mp4)
    with _tools.atomic_output(dst) as tmp:
        _tools.run(
            [
                *_FFMPEG, *_ffmpeg_input(src), "-t", f"{seconds:.3f}", "-map", "0:v:0", "-map", "0:a:0?",
                "-vf", f"{_even_width(width)},setsar=1,format=yuv420p",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-g", "50",
                "-c:a", "aac", "-b:a", "96k", "-ac", "2",
                "-sn", "-dn", "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", tmp,
            ],
            timeout=PREVIEW_TIMEOUT_S, what="ffmpeg video preview",
        )  # fmt: skip
    return dst


# --- audio -----------------------------------------------------------------------------------------------


def audio_waveform(
    src: os.PathLike | str,
    dst_png: os.PathLike | str,
    width: int = 800,
    height: int = 120,
    color: str = WAVEFORM_COLOR,
) -> Path:
    """Waveform picture (PNG, transparent background) of the first audio stream, downmixed to mono."""
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}|[a-z]+", color):
        raise ValueError(f"bad colour {color!r}")
    dst = Path(dst_png)
    with _tools.atomic_output(dst) as tmp:
        _tools.run(
            [
                *_FFMPEG, *_ffmpeg_input(src),
                "-filter_complex",
                f"[0:a:0]aformat=channel_layouts=mono,showwavespic=s={int(width)}x{int(height)}:colors={color}[w]",
                "-map", "[w]", "-frames:v", "1", "-f", "image2", "-c:v", "png", tmp,
            ],
            timeout=AUDIO_TIMEOUT_S, what="ffmpeg waveform",
        )  # fmt: skip
    return dst


def extract_mono_wav(src: os.PathLike | str, dst_wav: os.PathLike | str, sample_rate: int | None = None) -> Path:
    """The first audio stream (of an audio or video file) as mono 16-bit PCM WAV, resampled if asked."""
    dst = Path(dst_wav)
    rate = ["-ar", str(int(sample_rate))] if sample_rate else []
    with _tools.atomic_output(dst) as tmp:
        _tools.run(
            [
                *_FFMPEG, *_ffmpeg_input(src), "-map", "0:a:0", "-vn", "-ac", "1", *rate,
                "-c:a", "pcm_s16le", "-rf64", "auto", "-map_metadata", "-1", "-f", "wav", tmp,
            ],
            timeout=AUDIO_TIMEOUT_S, what="ffmpeg mono extraction",
        )  # fmt: skip
    return dst


# --- documents -------------------------------------------------------------------------------------------


def document_pdf(src: os.PathLike | str, dst_pdf: os.PathLike | str, timeout: float = SOFFICE_TIMEOUT_S) -> Path:
    """Convert a PPTX/PPT/ODP to PDF with LibreOffice headless (a PDF is copied as is).

    The content is probed first (zip safety, external links refused). Each call uses its own throw-away
    LibreOffice profile (-env:UserInstallation) and HOME, so parallel conversions never collide."""
    return document_convert(src, dst_pdf, "pdf", timeout=timeout)


def document_convert(src: os.PathLike | str, dst: os.PathLike | str, to: str = "pdf", *,
                     timeout: float = SOFFICE_TIMEOUT_S) -> Path:
    """Convert a PPTX/PPT/ODP to `to` ("pdf", "pptx") with LibreOffice headless, as document_pdf does; a file
    already in that format is copied as is."""
    dst = Path(dst)
    info = probe(src, decode_check=False)
    if info.unsafe:
        raise UnsafeArchive(f"document refused: {info.unsafe}")
    if info.container == to:
        with _tools.atomic_output(dst) as tmp:
            shutil.copyfile(src, tmp)
        return dst
    if info.container not in CONVERTIBLE_DOCUMENTS:
        raise MediaError(f"not a presentation LibreOffice can convert (content: {info.container or 'unknown'})")
    if info.error:
        raise MediaError(f"document cannot be read: {info.error}")
    with tempfile.TemporaryDirectory(prefix="media-soffice-") as work:
        work_dir = Path(work)
        (work_dir / "in").mkdir()
        (work_dir / "out").mkdir()
        source = work_dir / "in" / f"document.{info.container}"  # LibreOffice picks its filter by the name
        os.symlink(_tools.abspath(src), source)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work,
            "TMPDIR": work,
            "LANG": "C.UTF-8",
            "SAL_USE_VCLPLUGIN": "svp",
        }
        proc = _tools.run(
            [
                "soffice", f"-env:UserInstallation={(work_dir / 'profile').as_uri()}",
                "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nofirststartwizard",
                "--nolockcheck", "--nologo", "--norestore",
                "--convert-to", to, "--outdir", str(work_dir / "out"), str(source),
            ],
            timeout=timeout, what=f"LibreOffice conversion to {to.upper()}", cwd=work_dir, env=env,
        )  # fmt: skip
        produced = sorted((work_dir / "out").glob(f"*.{to}"))
        if not produced or produced[0].stat().st_size == 0:
            output = _tools.tail(proc.stdout + b"\n" + proc.stderr) or "no output"
            raise MediaError(f"LibreOffice could not convert the document: {output}")
        with _tools.atomic_output(dst) as tmp:
            shutil.move(produced[0], tmp)
    return dst


def document_pages(
    src: os.PathLike | str,
    out_dir: os.PathLike | str,
    width: int = PAGE_WIDTH,
    *,
    max_pages: int | None = MAX_PPT_PAGES,
    pdf_out: os.PathLike | str | None = None,
    timeout: float = SOFFICE_TIMEOUT_S,
) -> list[Path]:
    """Render every page of a PDF/PPTX/PPT/ODP to `out_dir/page-001.png`, ... `width` pixels wide.

    PPT/PPTX/ODP go through LibreOffice to PDF first (kept at `pdf_out` if given), then poppler's pdftoppm.
    A document longer than `max_pages` (default 100, the PPT limit; None for no limit) raises
    PageLimitExceeded before any page is rendered: a legacy .ppt is only counted here, after conversion. Pages appear in
    `out_dir` only once all were rendered. Returns the page paths in order."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pages-", dir=out) as work:
        work_dir = Path(work)
        info = probe(src, decode_check=False)
        if info.container == "pdf":
            if info.error:
                raise MediaError(info.error)
            pdf = Path(src)
            if pdf_out is not None:
                document_pdf(src, pdf_out, timeout=timeout)
        else:
            pdf = document_pdf(src, pdf_out if pdf_out is not None else work_dir / "document.pdf", timeout=timeout)
        pages = pdf_page_count(pdf)
        if pages < 1:
            raise MediaError("the document has no pages")
        if max_pages is not None and pages > max_pages:
            raise PageLimitExceeded(pages, max_pages)
        _tools.run(
            [
                "pdftoppm", "-png", "-scale-to-x", str(int(width)), "-scale-to-y", "-1",
                "-f", "1", "-l", str(pages), _tools.abspath(pdf), str(work_dir / "page"),
            ],
            timeout=PDFTOPPM_TIMEOUT_S, what="pdftoppm",
        )  # fmt: skip
        rendered = {}
        for path in work_dir.glob("page-*.png"):
            match = re.fullmatch(r"page-(\d+)\.png", path.name)
            if match:
                rendered[int(match.group(1))] = path
        if sorted(rendered) != list(range(1, pages + 1)):
            raise MediaError(f"pdftoppm rendered {len(rendered)} of {pages} pages")
        result = []
        for number in range(1, pages + 1):
            target = out / f"page-{number:03d}.png"
            os.replace(rendered[number], target)
            result.append(target)
    return result
