"""Small media files made at test time (ffmpeg lavfi sources, Pillow, python-pptx, zipfile) for the media tests.

Nothing here touches Django or a database."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

CHINESE_TITLE = "数字人演示"
CHINESE_BODY = "你好，世界！这是中文幻灯片。"


def need(*tools: str) -> None:
    """Skip the calling test when a Debian tool is not installed."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian packages ffmpeg / libreoffice-impress / poppler-utils)")


def ffmpeg(*args: str | Path) -> None:
    need("ffmpeg")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {' '.join(cmd)}\n{proc.stderr.decode(errors='replace')}")


def encoder_available(name: str) -> bool:
    if shutil.which("ffmpeg") is None:
        return False
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, timeout=30).stdout
    return any(line.split()[1:2] == [name.encode()] for line in out.splitlines() if line.strip())


def make_video(
    path: Path,
    *,
    size: str = "320x240",
    rate: float = 25,
    seconds: float = 2,
    vcodec: list[str] | None = None,
    audio: bool = True,
    fmt: str | None = None,
) -> Path:
    """testsrc (+ a sine tone) encoded with `vcodec` (default H.264 ultrafast) + AAC unless told otherwise."""
    args: list[str | Path] = ["-f", "lavfi", "-i", f"testsrc=s={size}:r={rate}:d={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:d={seconds}"]
    args += vcodec or ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    if fmt:
        args += ["-f", fmt]
    ffmpeg(*args, path)
    return path


def make_wav(path: Path, *, rate: int = 48000, channels: int = 2, seconds: float = 1) -> Path:
    layout = "stereo" if channels == 2 else "mono"
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate={rate}:d={seconds}",
        "-af", f"aformat=channel_layouts={layout}", "-c:a", "pcm_s16le", path,
    )  # fmt: skip
    return path


def make_mp3(path: Path, *, seconds: float = 1) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=550:sample_rate=44100:d={seconds}", "-c:a", "libmp3lame", path)
    return path


def make_image(path: Path, size: tuple[int, int] = (640, 360), fmt: str = "PNG") -> Path:
    image = Image.new("RGB", size, (30, 120, 200))
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 40):
        draw.line((x, size[1] // 4, x, size[1] // 2), fill=(255, 255, 255))
    image.save(path, format=fmt)
    return path


def make_pptx(path: Path, slides: int = 2) -> Path:
    """A presentation with Chinese text on every slide (python-pptx, 16:9)."""
    from pptx import Presentation
    from pptx.util import Emu, Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)  # 16:9, 13.333 x 7.5 in
    for number in range(1, slides + 1):
        slide = prs.slides.add_slide(prs.slide_layouts[6])  # blank
        box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(11), Inches(2.5))
        frame = box.text_frame
        frame.text = f"{CHINESE_TITLE} {number}"
        frame.paragraphs[0].runs[0].font.size = Pt(72)
        para = frame.add_paragraph()
        para.text = CHINESE_BODY
        para.runs[0].font.size = Pt(40)
    prs.save(path)
    return path


def make_pdf(path: Path, pages: int = 3) -> Path:
    images = [Image.new("L", (800, 450), 255) for _ in range(pages)]
    for index, image in enumerate(images):
        ImageDraw.Draw(image).rectangle((100, 200, 100 + 5 * (index % 100 + 1), 250), fill=0)
    images[0].save(path, format="PDF", save_all=True, append_images=images[1:])
    return path


_BOMBS: dict[tuple[int, bool], bytes] = {}


def make_zip_bomb(path: Path, megabytes: int = 200, *, as_pptx: bool = True) -> Path:
    """One entry of `megabytes` MB of zeros, streamed through zipfile: ~200 KB on disk for 200 MB.

    Compressing takes ~1 s, so the bytes are made once per test process and copied afterwards."""
    key = (megabytes, as_pptx)
    if key not in _BOMBS:
        chunk = bytes(1024 * 1024)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            if as_pptx:
                zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
                zf.writestr("ppt/presentation.xml", '<?xml version="1.0"?><presentation/>')
            with zf.open("ppt/media/image1.png" if as_pptx else "zeros.bin", "w") as fh:
                for _ in range(megabytes):
                    fh.write(chunk)
        _BOMBS[key] = buffer.getvalue()
    path.write_bytes(_BOMBS[key])
    return path


def truncate_copy(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def dark_fraction(png: Path, box: tuple[float, float, float, float] = (0, 0, 1, 1), threshold: int = 96) -> float:
    """Share of pixels darker than `threshold` (grey level) inside a box given as fractions of the page."""
    with Image.open(png) as image:
        grey = image.convert("L")
        w, h = grey.size
        region = grey.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
        histogram = region.histogram()
        return sum(histogram[:threshold]) / max(1, region.width * region.height)
