"""A timeline rendered to a video file in one streaming pass.

The sound track is mixed first (small, see `audio`). Then a producer thread composes frame after frame into a
small ring of canvas buffers: the scene's background (a flat colour or a picture, decoded and scaled once per
scene; a video, decoded and scaled by its own ffmpeg reader process), the layers in z-order, the subtitles
last. The main thread writes each finished frame into ONE ffmpeg encoder through a pipe (rawvideo in, the
mixed WAV as the second input, muxed in the same run), so composing, decoding and encoding overlap on the
cores and at most a handful of frames exist at any time. Frame sources (the avatar renderer, a talking photo)
run in the producer thread: on 2 cores the producer and the encoder already keep both cores ~93 % busy, and a
thread per source started a scene ahead gained nothing (benchmarks/video_render.py).

Alpha: every picture layer is "straight" (unpremultiplied) BGRA; it is blended only inside its box (trimmed
to its visible pixels) with `dst = src * a + dst * (1 - a)` by OpenCV (float weights, rounded). A transparent
canvas is kept premultiplied (the same formula, with the source's alpha channel set to 255, gives the
premultiplied "over" for colour and alpha) and converted back to straight alpha for the encoder only where
some background is not opaque.

Colour: frames are sRGB/BT.709; for H.264 the compositor converts them with the BT.709 matrix (video range,
rounded to nearest) to 4:2:0 and the stream is tagged BT.709, so players show the colours that were composed;
the alpha codecs have ffmpeg convert (to 4:2:0 or 4:4:4 with alpha)."""

from __future__ import annotations

import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from synthesis.media import _tools
from synthesis.media.errors import MediaError

from . import audio as mixaudio
from .timeline import (
    Colour,
    FramesLayer,
    ImageBackground,
    ImageLayer,
    Layer,
    TextLayer,
    Timeline,
    VideoBackground,
    VideoLayer,
)

CODECS = ("h264", "vp9-alpha", "prores-alpha")
H264_PRESET = "superfast"  # see benchmarks/compose_render.py: veryfast cannot reach RTF 0.5 at 1080p on 2 cores
H264_CRF = 21
QUEUE_FRAMES = 3
PREFETCH_FRAMES = 3
ENCODE_TIMEOUT_S = 600
Progress = Callable[[int, str], None]


@dataclass
class RenderResult:
    path: Path
    duration_s: float
    frames: int
    seconds_by_stage: dict[str, float] = field(default_factory=dict)


# --- sprites: a picture at a place on the canvas, ready to blend ----------------------------------------------


class Sprite:
    """Pixels (canvas channel layout) and blend weights for a region [y0:y1, x0:x1] of the canvas; `w` is None
    for a fully opaque region (a plain copy)."""

    __slots__ = ("x0", "y0", "x1", "y1", "pix", "w", "wi")

    def __init__(self, x0, y0, pix, w):
        import cv2

        self.x0, self.y0 = x0, y0
        self.y1, self.x1 = y0 + pix.shape[0], x0 + pix.shape[1]
        self.pix, self.w = pix, w
        self.wi = None if w is None else cv2.subtract(1.0, w)

    def draw(self, canvas: np.ndarray) -> None:
        import cv2

        roi = canvas[self.y0:self.y1, self.x0:self.x1]
        if self.w is None:
            roi[...] = self.pix
        else:
            roi[...] = cv2.blendLinear(self.pix, roi, self.w, self.wi)


def make_sprite(image: np.ndarray, x: int, y: int, canvas_size: tuple[int, int], channels: int, *,
                opacity: float = 1.0, trim: bool = True) -> Sprite | None:
    """`image` (BGR or straight BGRA, uint8) with its top-left at canvas (x, y), clipped to the canvas and
    (with `trim`) to its visible pixels; None when nothing of it shows."""
    import cv2

    cw, ch = canvas_size
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(cw, x + w), min(ch, y + h)
    if x1 <= x0 or y1 <= y0 or opacity <= 0:
        return None
    image = image[y0 - y:y1 - y, x0 - x:x1 - x]
    alpha = image[:, :, 3] if image.shape[2] == 4 else None
    if alpha is not None and trim:
        bx, by, bw, bh = cv2.boundingRect(alpha)
        if bw == 0 or bh == 0:
            return None
        image, alpha = image[by:by + bh, bx:bx + bw], alpha[by:by + bh, bx:bx + bw]
        x0, y0 = x0 + bx, y0 + by
    opaque = opacity >= 1.0 and (alpha is None or cv2.countNonZero(cv2.compare(alpha, 255, cv2.CMP_NE)) == 0)
    weights = None
    if not opaque:
        a = alpha if alpha is not None else np.full(image.shape[:2], 255, np.uint8)
        weights = cv2.multiply(a, opacity / 255.0, dtype=cv2.CV_32F)
    return Sprite(x0, y0, _to_canvas_pixels(image, channels), weights)


def _to_canvas_pixels(image: np.ndarray, channels: int) -> np.ndarray:
    """BGR for an opaque canvas; BGR + 255 for a premultiplied transparent one (see the module docstring)."""
    import cv2

    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR) if image.shape[2] == 4 else image
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    out = image.copy()
    out[:, :, 3] = 255
    return out


# --- picture helpers -------------------------------------------------------------------------------------


def read_image(path: os.PathLike | str) -> np.ndarray:
    """A picture file as straight BGRA uint8 (EXIF orientation applied)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            rgba = np.asarray(img.convert("RGBA"))
    except (OSError, UnidentifiedImageError) as exc:
        raise MediaError(f"{Path(path).name} is not a readable picture: {exc}") from exc
    import cv2

    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)


def fitted_size(src: tuple[int, int], box: tuple[int, int], fit: str = "contain") -> tuple[int, int]:
    sw, sh = src
    bw, bh = box
    if fit == "stretch":
        return bw, bh
    k = min(bw / sw, bh / sh) if fit == "contain" else max(bw / sw, bh / sh)
    return max(1, int(round(sw * k))), max(1, int(round(sh * k)))


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    shrink = size[0] < image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def fit_into(image: np.ndarray, box: tuple[int, int, int, int], fit: str = "contain") -> tuple[np.ndarray, int, int]:
    """(picture scaled for the box, its canvas x, y): centred in the box; "cover" is cropped to the box."""
    bx, by, bw, bh = box
    w, h = fitted_size((image.shape[1], image.shape[0]), (bw, bh), fit)
    out = _resize(image, (w, h))
    if fit == "cover":
        cx, cy = (w - bw) // 2, (h - bh) // 2
        return out[cy:cy + bh, cx:cx + bw], bx, by
    return out, bx + (bw - w) // 2, by + (bh - h) // 2


def text_picture(layer: TextLayer) -> np.ndarray:
    """The text layer drawn as a straight BGRA picture of the layer's box."""
    from PIL import Image, ImageDraw

    from synthesis.photo.card import card_font, fit_text

    w, h = int(layer.width), int(layer.height)
    pad = max(0, int(layer.stroke_width)) + (int(layer.font_size * 0.25) if layer.box_colour else 0)
    max_w = max(8, w - 2 * pad)
    size = int(layer.font_size)
    while True:
        lines_cap = max(1, int((h - 2 * pad) // max(1.0, size * layer.line_spacing)))
        font, lines = fit_text(layer.text, max_w, size, bold=layer.bold, max_lines=lines_cap,
                               min_size=max(8, size // 2))
        step = int(round(font.size * layer.line_spacing))
        if len(lines) * step <= h - 2 * pad or font.size <= 8:
            break
        size = max(8, int(size * 0.9))
        if size == 8:
            font, lines = card_font(8, layer.bold), lines
            break
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    step = int(round(font.size * layer.line_spacing))
    block_h = step * (len(lines) - 1) + font.size
    top = {"top": pad, "bottom": h - pad - block_h}.get(layer.valign, (h - block_h) // 2)
    fill = tuple(layer.colour[:3]) + (255,)
    for i, line in enumerate(lines):
        lw = draw.textlength(line, font=font)
        left = {"left": pad, "right": w - pad - lw}.get(layer.align, (w - lw) / 2)
        y = top + i * step
        if layer.box_colour:
            bc = tuple(layer.box_colour)
            bc = bc + (255,) if len(bc) == 3 else bc
            m = int(font.size * 0.25)
            draw.rounded_rectangle([left - m, y - m // 2, left + lw + m, y + font.size + m], radius=m, fill=bc)
        draw.text((left, y), line, font=font, fill=fill, stroke_width=int(layer.stroke_width),
                  stroke_fill=tuple(layer.stroke_colour[:3]) + (255,))
    import cv2

    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGBA2BGRA)


# --- video readers -------------------------------------------------------------------------------------------


class VideoReader:
    """Frames of a video at the canvas rate, scaled by ffmpeg, read ahead in a thread (the decoder process
    works while the compositor composes). `box` mode "cover" fills (w, h) exactly; "contain" fits the video
    into (w, h) and pads it with transparent pixels (BGRA out). When the video ends the last frame is held
    (or it loops, with `loop`)."""

    def __init__(self, path: os.PathLike | str, size: tuple[int, int], fps: float, *, fit: str, loop: bool,
                 alpha: bool = False):
        w, h = size
        self.size = size
        self.channels = 4 if fit == "contain" else 3
        if fit == "cover":
            vf = f"fps={_rate(fps)},scale={w}:{h}:force_original_aspect_ratio=increase:flags=bicubic,crop={w}:{h}"
        else:
            vf = (f"fps={_rate(fps)},scale={w}:{h}:force_original_aspect_ratio=decrease:flags=bicubic,"
                  f"format=bgra,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black@0")
        decoder = _alpha_decoder(path) if alpha else []
        looping = ["-stream_loop", "-1"] if loop else []
        argv = [_tools.tool_path("ffmpeg"), "-nostdin", "-v", "error", *looping, *_tools.INPUT_GUARD, *decoder,
                "-i", _tools.abspath(path), "-an", "-sn", "-vf", vf, "-f", "rawvideo",
                "-pix_fmt", "bgra" if self.channels == 4 else "bgr24", "-"]
        self._bytes = w * h * self.channels
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._err,
                                     start_new_session=True, bufsize=0)
        _widen_pipe(self.proc.stdout)
        self.name = Path(path).name
        self._queue: queue.Queue = queue.Queue(maxsize=PREFETCH_FRAMES)
        self._stop = threading.Event()
        self._last: np.ndarray | None = None
        self._done = False
        self._thread = threading.Thread(target=self._run, name="compose-video-reader", daemon=True)
        self._thread.start()

    def _read_one(self) -> np.ndarray | None:
        buf = bytearray(self._bytes)
        view = memoryview(buf)
        got = 0
        while got < self._bytes:
            n = self.proc.stdout.readinto(view[got:])
            if not n:
                return None
            got += n
        w, h = self.size
        return np.frombuffer(buf, np.uint8).reshape(h, w, self.channels)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self._read_one()
                self._put(frame)
                if frame is None:
                    return
        except Exception as exc:  # noqa: BLE001 - handed to the compositor thread
            self._put(exc)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self) -> np.ndarray:
        if not self._done:
            item = self._queue.get()
            if isinstance(item, Exception):
                raise item
            if item is None:
                self._done = True
            else:
                self._last = item
        if self._last is None:
            self.proc.wait(timeout=30)
            self._err.seek(0)
            raise MediaError(f"the video {self.name} could not be decoded: "
                             f"{_tools.tail(self._err.read()) or 'no frames'}")
        return self._last

    def close(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._thread.join(timeout=5)
        self.proc.stdout.close()
        self._err.close()


def _alpha_decoder(path) -> list[str]:
    """libvpx is the decoder that reads VP8/VP9 alpha (ffmpeg's native one drops it)."""
    from synthesis.media.probe import probe

    codec = (probe(path, decode_check=False).video_codec or "").lower()
    return {"vp9": ["-c:v", "libvpx-vp9"], "vp8": ["-c:v", "libvpx"]}.get(codec, [])


def _widen_pipe(stream) -> None:
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
    except (ImportError, OSError):
        pass


def _rate(fps: float) -> str:
    f = Fraction(fps).limit_denominator(1001)
    return f"{f.numerator}/{f.denominator}"


# --- per-scene preparation ------------------------------------------------------------------------------------


class _Drawable:
    """One layer during its scene: draw(canvas, frame index within the scene)."""

    def __init__(self, layer: Layer, first: int, last: int):
        self.layer, self.first, self.last = layer, first, last

    def active(self, i: int) -> bool:
        return self.first <= i < self.last

    def draw(self, canvas: np.ndarray, i: int) -> Sprite | None:
        """Draw frame `i` of the scene; returns the sprite drawn (its box is what changed), or None."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Still(_Drawable):
    def __init__(self, layer, first, last, sprite: Sprite | None):
        super().__init__(layer, first, last)
        self.sprite = sprite

    def draw(self, canvas, i):
        if self.sprite is not None:
            self.sprite.draw(canvas)
        return self.sprite


class _Video(_Drawable):
    def __init__(self, layer: VideoLayer, first, last, canvas_size, channels, fps):
        super().__init__(layer, first, last)
        self.canvas_size, self.channels = canvas_size, channels
        self.reader = VideoReader(layer.path, (layer.width, layer.height), fps, fit="contain", loop=layer.loop,
                                  alpha=layer.alpha)
        self._region: tuple[int, int, int, int] | None = None

    def draw(self, canvas, i):
        import cv2

        frame = self.reader.read()
        layer = self.layer
        if not layer.alpha:
            # An opaque video: its picture is the non-padded part of the box, found once, then copied.
            if self._region is None:
                self._region = cv2.boundingRect(frame[:, :, 3])
            bx, by, bw, bh = self._region
            frame = frame[by:by + bh, bx:bx + bw, :3]
            sprite = make_sprite(frame, layer.x + bx, layer.y + by, self.canvas_size, self.channels,
                                 opacity=layer.opacity, trim=False)
        else:
            sprite = make_sprite(frame, layer.x, layer.y, self.canvas_size, self.channels, opacity=layer.opacity,
                                 trim=False)
        if sprite is not None:
            sprite.draw(canvas)
        return sprite

    def close(self):
        self.reader.close()


class _Frames(_Drawable):
    def __init__(self, layer: FramesLayer, first, last, canvas_size, channels, fps, clock: list[float] | None = None):
        super().__init__(layer, first, last)
        self.clock = clock if clock is not None else [0.0, 0.0]  # [1]: seconds spent in the frame source
        self.canvas_size, self.channels = canvas_size, channels
        source = layer.source
        self.frames: Iterator[np.ndarray] = iter(source(fps, last - first) if callable(source) else source)
        self._ended = False
        self._sprite: Sprite | None = None

    def draw(self, canvas, i):
        if not self._ended:
            t0 = time.perf_counter()
            try:
                frame = next(self.frames)
            except StopIteration:
                self._ended = True
            else:
                layer = self.layer
                image, x, y = fit_into(np.asarray(frame, np.uint8),
                                       (layer.x, layer.y, layer.width, layer.height))
                self._sprite = make_sprite(image, x, y, self.canvas_size, self.channels, opacity=layer.opacity,
                                           trim=False)
            self.clock[1] += time.perf_counter() - t0
        if self._sprite is not None:
            self._sprite.draw(canvas)
        return self._sprite

    def close(self):
        close = getattr(self.frames, "close", None)
        if close is not None:
            close()


def _background_frame(bg, size: tuple[int, int], channels: int) -> tuple[np.ndarray | None, bool]:
    """(the prepared background in canvas layout, whether it is opaque); None for a video background."""
    import cv2

    w, h = size
    if bg is None:
        return np.zeros((h, w, channels), np.uint8), channels == 3
    if isinstance(bg, Colour):
        rgb = tuple(int(v) for v in bg.rgb)
        a = rgb[3] if len(rgb) > 3 else 255
        if channels == 3:
            return np.full((h, w, 3), (rgb[2], rgb[1], rgb[0]), np.uint8), True
        k = a / 255.0  # premultiplied
        px = (round(rgb[2] * k), round(rgb[1] * k), round(rgb[0] * k), a)
        return np.full((h, w, 4), px, np.uint8), a == 255
    if isinstance(bg, ImageBackground):
        image, _, _ = fit_into(read_image(bg.path), (0, 0, w, h), "cover")
        alpha = image[:, :, 3]
        opaque = cv2.countNonZero(cv2.compare(alpha, 255, cv2.CMP_NE)) == 0
        if channels == 3:
            if opaque:
                return np.ascontiguousarray(image[:, :, :3]), True
            base = np.zeros((h, w, 3), np.uint8)
            sprite = make_sprite(image, 0, 0, size, 3, trim=False)
            if sprite is not None:
                sprite.draw(base)
            return base, True
        base = np.zeros((h, w, 4), np.uint8)
        sprite = make_sprite(image, 0, 0, size, 4, trim=False)
        if sprite is not None:
            sprite.draw(base)
        return base, opaque
    if isinstance(bg, VideoBackground):
        return None, True
    raise ValueError(f"unknown background {type(bg).__name__}")


class _SubtitleCache:
    """The subtitle overlay of each frame as a sprite; rebuilt only when the overlay object changes."""

    def __init__(self, source, size: tuple[int, int], channels: int):
        self.source, self.size, self.channels = source, size, channels
        self.bgra = getattr(source, "channel_order", "RGBA").upper() == "BGRA"
        self._key = None
        self._keep = None
        self._sprite: Sprite | None = None

    def draw(self, canvas: np.ndarray, t: float) -> Sprite | None:
        got = self.source.overlay_at(t)
        if got is None:
            return None
        image, (x, y) = got if isinstance(got, tuple) else (got, (0, 0))
        if image is not self._key:
            self._key, self._keep = image, got
            self._sprite = self._prepare(np.asarray(image, np.uint8), int(x), int(y))
        if self._sprite is not None:
            self._sprite.draw(canvas)
        return self._sprite

    def _prepare(self, image: np.ndarray, x: int, y: int) -> Sprite | None:
        import cv2

        if image.ndim != 3 or image.shape[2] != 4:
            raise ValueError("a subtitle overlay must be an (h, w, 4) RGBA picture")
        bx, by, bw, bh = cv2.boundingRect(np.ascontiguousarray(image[:, :, 3]))
        if bw == 0 or bh == 0:
            return None
        crop = image[by:by + bh, bx:bx + bw]
        if not self.bgra:
            crop = cv2.cvtColor(crop, cv2.COLOR_RGBA2BGRA)
        return make_sprite(crop, x + bx, y + by, self.size, self.channels, trim=False)


# --- the render --------------------------------------------------------------------------------------------


def _rate_control(codec: str, crf: int | None, bitrate_kbps: int | None) -> list[str]:
    """Constant quality (CRF) by default; an average bitrate when one is asked for (capped at 1.5x, so that
    streaming players can rely on it)."""
    if bitrate_kbps:
        cap = ["-maxrate", f"{bitrate_kbps * 3 // 2}k", "-bufsize", f"{bitrate_kbps * 2}k"]
        return ["-b:v", f"{bitrate_kbps}k", *cap]
    if codec == "h264":
        return ["-crf", str(crf if crf is not None else H264_CRF)]
    return ["-b:v", "0", "-crf", str(crf if crf is not None else 32)]


def _encoder_argv(codec: str, size, fps: float, wav: Path, out: Path, *, preset: str, crf: int | None,
                  matrix: str, bitrate_kbps: int | None = None) -> list[str]:
    w, h = size
    alpha = codec != "h264"
    pix_fmt = "bgra" if alpha else "yuv420p"  # H.264: I420 converted by the compositor (`_I420`)
    video_in = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{w}x{h}", "-r", _rate(fps), "-i", "-"]
    tags = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]
    if codec == "h264":
        if matrix == "bt601":
            tags = ["-colorspace", "smpte170m", *tags[2:]]
        vcodec = ["-c:v", "libx264", "-preset", preset, *_rate_control(codec, crf, bitrate_kbps), *tags,
                  "-c:a", "aac", "-b:a", "160k", "-movflags", "+faststart"]
    elif codec == "vp9-alpha":
        vcodec = ["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuva420p", "-c:v", "libvpx-vp9",
                  *_rate_control(codec, crf, bitrate_kbps), "-deadline", "realtime",
                  "-cpu-used", "8", "-row-mt", "1", "-auto-alt-ref", "0", *tags, "-c:a", "libopus", "-b:a", "128k"]
    else:
        vcodec = ["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuva444p10le", "-c:v", "prores_ks",
                  "-profile:v", "4444", "-vendor", "apl0", *tags, "-c:a", "pcm_s16le"]
    return [_tools.tool_path("ffmpeg"), "-nostdin", "-v", "error", "-y", *video_in, "-i", os.fspath(wav),
            "-map", "0:v:0", "-map", "1:a:0", *vcodec, os.fspath(out)]


# BGR -> video-range Y'CbCr (rows Y, Cb, Cr; columns B, G, R; last column the offset), ITU-R BT.709 and BT.601
_YCC = {
    "bt709": np.array([[0.0722 * 219 / 255, 0.7152 * 219 / 255, 0.2126 * 219 / 255, 16.0],
                       [0.5 * 224 / 255, -0.385428 * 224 / 255, -0.114572 * 224 / 255, 128.0],
                       [-0.045847 * 224 / 255, -0.454153 * 224 / 255, 0.5 * 224 / 255, 128.0]], np.float32),
    "bt601": np.array([[0.114 * 219 / 255, 0.587 * 219 / 255, 0.299 * 219 / 255, 16.0],
                       [0.5 * 224 / 255, -0.331264 * 224 / 255, -0.168736 * 224 / 255, 128.0],
                       [-0.081312 * 224 / 255, -0.418688 * 224 / 255, 0.5 * 224 / 255, 128.0]], np.float32),
}


@dataclass
class _Changes:
    """Where a composed frame may differ from its scene's background picture `base`: the boxes (x0, y0, x1, y1)
    of the sprites drawn on it (layers and subtitles)."""

    base: np.ndarray
    boxes: list[tuple[int, int, int, int]]


class _I420:
    """BGR frames -> planar 4:2:0 Y'CbCr (I420, video range) for the H.264 encoder, in the compositor's thread:
    one matrix transform (OpenCV, all cores, about 1.5 ms for a whole 1080p frame), chroma averaged over each
    2x2 block (centred chroma). ffmpeg's own RGB -> YUV conversion runs single-threaded in its main loop,
    before x264, and needs twice the pipe bytes; this keeps the encoder process on encoding alone.

    With `_Changes` only the drawn boxes (widened to even edges) are converted, over the scene's background
    converted once: the same bytes as converting the whole frame (the 2x2 chroma blocks never straddle an
    even edge), for the share of the picture that layers and subtitles cover."""

    def __init__(self, size: tuple[int, int], matrix: str):
        w, h = size
        self.w, self.h = w, h
        self.m = _YCC[matrix]
        self.ycc = np.empty((h, w, 3), np.uint8)
        self.half = np.empty((h // 2, w // 2, 3), np.uint8)
        self._base: np.ndarray | None = None
        self._base_i420 = np.empty((h * 3 // 2, w), np.uint8)

    def __call__(self, bgr: np.ndarray, out: np.ndarray, changes: _Changes | None = None) -> np.ndarray:
        """`bgr` (h, w, 3) into `out` (h * 3 // 2, w), which is returned."""
        w, h = self.w, self.h
        if changes is None:
            self._region(bgr, out, 0, 0, w, h)
            return out
        if changes.base is not self._base:
            self._region(changes.base, self._base_i420, 0, 0, w, h)
            self._base = changes.base
        np.copyto(out, self._base_i420)
        for x0, y0, x1, y1 in changes.boxes:
            x0, y0 = max(0, x0) & ~1, max(0, y0) & ~1
            x1, y1 = min(w, x1 + (x1 & 1)), min(h, y1 + (y1 & 1))
            if x1 > x0 and y1 > y0:
                self._region(bgr, out, x0, y0, x1, y1)
        return out

    def _region(self, bgr: np.ndarray, out: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
        """Convert bgr[y0:y1, x0:x1] (even edges) into the three planes of `out`."""
        import cv2

        w, h = self.w, self.h
        ycc = self.ycc[y0:y1, x0:x1]
        half = self.half[y0 // 2:y1 // 2, x0 // 2:x1 // 2]
        cv2.transform(bgr[y0:y1, x0:x1], self.m, dst=ycc)
        cv2.resize(ycc, ((x1 - x0) // 2, (y1 - y0) // 2), dst=half, interpolation=cv2.INTER_AREA)
        q = (w // 2) * (h // 2)
        flat = out.reshape(-1)
        u = flat[w * h: w * h + q].reshape(h // 2, w // 2)
        v = flat[w * h + q: w * h + 2 * q].reshape(h // 2, w // 2)
        cv2.extractChannel(ycc, 0, dst=out[y0:y1, x0:x1])
        cv2.extractChannel(half, 1, dst=u[y0 // 2:y1 // 2, x0 // 2:x1 // 2])
        cv2.extractChannel(half, 2, dst=v[y0 // 2:y1 // 2, x0 // 2:x1 // 2])


def _unpremultiply(frame: np.ndarray) -> np.ndarray:
    import cv2

    b, g, r, a = cv2.split(frame)
    return cv2.merge([cv2.divide(b, a, scale=255), cv2.divide(g, a, scale=255), cv2.divide(r, a, scale=255), a])


def render(
    timeline: Timeline,
    out_path: os.PathLike | str,
    *,
    progress: Progress | None = None,
    codec: str = "h264",
    preset: str = H264_PRESET,
    crf: int | None = None,
    matrix: str = "bt709",
    bitrate_kbps: int | None = None,
) -> RenderResult:
    """Render `timeline` into `out_path` (MP4 for "h264"; WEBM for "vp9-alpha"; MOV for "prores-alpha"; the
    last two keep the canvas's transparency). `progress(percent, stage)`, stage "compose" while frames are
    made (and encoded alongside), then "encode" while the encoder finishes.

    `matrix` (H.264 only): "bt709" (default; the HD standard, right in every player) or "bt601" (tagged so:
    right in players that read the tag: browsers, ffmpeg, QuickTime). Either way the compositor converts the
    frames to 4:2:0 (`_I420`), so the encoder process only encodes.

    `bitrate_kbps`: an average video bitrate for H.264 and VP9 instead of their constant quality (ProRes has
    none)."""
    if codec not in CODECS:
        raise ValueError(f"codec must be one of {', '.join(CODECS)}")
    if matrix not in ("bt709", "bt601"):
        raise ValueError("matrix must be bt709 or bt601")
    timeline.validate()
    canvas = timeline.canvas
    fps = float(canvas.fps)
    rate = mixaudio.SAMPLE_RATE
    stages: dict[str, float] = {}
    started = time.perf_counter()
    out = Path(out_path)
    with tempfile.TemporaryDirectory(prefix="compose-") as tmp:
        # 1. the sound track (and the exact frame count of every scene)
        speech, counts = _speech_and_counts(timeline, rate)
        starts = np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist()
        total_frames = starts[-1]
        total_samples = mixaudio.frame_sample(total_frames, fps, rate)
        clips, limits = [], []
        for k, (scene, pcm) in enumerate(zip(timeline.scenes, speech, strict=True)):
            if pcm is not None:
                s0 = mixaudio.frame_sample(starts[k], fps, rate)
                clips.append(mixaudio.SpeechClip(s0, pcm, scene.audio_gain))
                limits.append(mixaudio.frame_sample(starts[k + 1], fps, rate) - s0)
        track = mixaudio.speech_track(clips, total_samples, limits)
        del speech, clips
        wav = mixaudio.write_mix(Path(tmp) / "mix.wav", track, timeline.music, rate,
                                 sounds=mixaudio.scene_sounds(timeline, counts, rate))
        del track
        stages["audio"] = time.perf_counter() - started

        # 2. pictures, composed in a thread, encoded by one ffmpeg process
        with _tools.atomic_output(out) as part:
            _encode(timeline, counts, part, wav, codec=codec, preset=preset, crf=crf, matrix=matrix,
                    bitrate_kbps=bitrate_kbps, progress=progress, stages=stages, tmp=Path(tmp))
    stages["total"] = time.perf_counter() - started
    if progress:
        progress(100, "encode")
    return RenderResult(out, total_frames / fps, total_frames, stages)


def _speech_and_counts(timeline: Timeline, rate: int) -> tuple[list[np.ndarray | None], list[int]]:
    """Each scene's decoded speech and its length in frames (from the decoded sample count, not a header)."""
    fps = float(timeline.canvas.fps)
    speech = [mixaudio.decode_mono(scene.audio, rate) if scene.audio is not None else None
              for scene in timeline.scenes]
    counts = [scene.frame_count(fps, audio_seconds=lambda _p, pcm=pcm: len(pcm) / rate)
              for scene, pcm in zip(timeline.scenes, speech, strict=True)]
    return speech, counts


def compose_frames(timeline: Timeline, *, alpha: bool = False) -> Iterator[np.ndarray]:
    """The composed frames without encoding (previews, tests): BGR uint8, or straight BGRA with `alpha`;
    each one a copy the caller may keep."""
    timeline.validate()
    _, counts = _speech_and_counts(timeline, mixaudio.SAMPLE_RATE)
    size = (timeline.canvas.width, timeline.canvas.height)
    frames = _frames(timeline, counts, size, 4 if alpha else 3, threading.Event(), [0.0, 0.0])
    try:
        for frame, _ in frames:
            yield frame.copy()
    finally:
        frames.close()


def _encode(timeline: Timeline, counts: list[int], part: Path, wav: Path, *, codec, preset, crf, matrix,
            bitrate_kbps, progress, stages, tmp: Path) -> None:
    canvas = timeline.canvas
    size = (canvas.width, canvas.height)
    channels = 3 if codec == "h264" else 4
    total = sum(counts)
    err_path = tmp / "encoder.log"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(_encoder_argv(codec, size, canvas.fps, wav, part, preset=preset, crf=crf,
                                              matrix=matrix, bitrate_kbps=bitrate_kbps),
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True, bufsize=0)
    frames_q: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
    stop = threading.Event()
    compose_s = [0.0, 0.0]  # composing (frame sources included); in frame sources (avatar, talking photo)

    i420 = _I420(size, matrix) if codec == "h264" else None

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                frames_q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        ring = [np.empty((size[1] * 3 // 2, size[0]), np.uint8) for _ in range(QUEUE_FRAMES + 3)] if i420 else []
        frames = _frames(timeline, counts, size, channels, stop, compose_s)
        try:
            for n, (frame, changes) in enumerate(frames):
                if i420 is not None:
                    t0 = time.perf_counter()
                    frame = i420(frame, ring[n % len(ring)], changes)
                    compose_s[0] += time.perf_counter() - t0
                if not hand_over(frame):
                    return
            hand_over(None)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            hand_over(exc)
        finally:
            frames.close()  # stops the scene's decoders and frame sources

    producer = threading.Thread(target=produce, name="compose-producer", daemon=True)
    t0 = time.perf_counter()
    producer.start()
    written = 0
    write_s = 0.0
    last_pct = -1
    failed: BaseException | None = None
    try:
        while True:
            item = frames_q.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            w0 = time.perf_counter()
            try:
                proc.stdin.write(memoryview(item).cast("B"))
            except BrokenPipeError:
                raise MediaError(f"the video encoder stopped: {_tools.tail(err_path.read_bytes())}") from None
            write_s += time.perf_counter() - w0
            written += 1
            pct = int(95 * written / max(1, total))
            if progress and pct != last_pct:
                last_pct = pct
                progress(pct, "compose")
    except BaseException as exc:
        failed = exc
        raise
    finally:
        stop.set()
        try:  # unblock a producer waiting on a full queue
            while True:
                frames_q.get_nowait()
        except queue.Empty:
            pass
        producer.join(timeout=30)
        if failed is not None and proc.poll() is None:
            proc.kill()
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
    compose_done = time.perf_counter()
    if progress:
        progress(96, "encode")
    try:
        code = proc.wait(timeout=ENCODE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise MediaError("the video encoder did not finish in time") from None
    if code != 0:
        raise MediaError(f"the video could not be encoded: {_tools.tail(err_path.read_bytes())}")
    if written != total:
        raise MediaError(f"only {written} of {total} frames were made")
    stages["compose"] = compose_s[0]
    stages["frame_sources"] = compose_s[1]
    stages["encode_wait"] = write_s + (time.perf_counter() - compose_done)
    stages["pictures"] = time.perf_counter() - t0


def _frames(timeline: Timeline, counts: list[int], size, channels: int, stop: threading.Event,
            compose_s: list[float]) -> Iterator[np.ndarray]:
    """Every output frame in order, with where it differs from its scene's background picture (`_Changes`;
    None for a video background or an alpha canvas); frames come from a ring of buffers (a buffer is reused
    only after the frames queued behind it have been written)."""
    fps = float(timeline.canvas.fps)
    w, h = size
    ring = [np.empty((h, w, channels), np.uint8) for _ in range(QUEUE_FRAMES + 3)]
    subtitles = _SubtitleCache(timeline.subtitles, size, channels) if timeline.subtitles is not None else None
    alpha_out = channels == 4
    n = 0
    scene_start = 0
    for scene, count in zip(timeline.scenes, counts, strict=True):
        t0 = time.perf_counter()
        base, opaque = _background_frame(scene.background, size, channels)
        bg_video = None
        drawables: list[_Drawable] = []
        try:
            if isinstance(scene.background, VideoBackground):
                bg_video = VideoReader(scene.background.path, size, fps, fit="cover", loop=scene.background.loop)
            for layer in scene.layers:
                first, last = layer.frame_range(count, fps)
                if last <= first:
                    continue
                drawables.append(_drawable(layer, first, last, size, channels, fps, compose_s))
            compose_s[0] += time.perf_counter() - t0
            for i in range(count):
                if stop.is_set():
                    return
                buf = ring[n % len(ring)]
                if bg_video is not None:
                    frame = bg_video.read()
                    t0 = time.perf_counter()
                    if channels == 3:
                        np.copyto(buf, frame)
                    else:
                        import cv2

                        cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA, dst=buf)
                else:
                    t0 = time.perf_counter()
                    np.copyto(buf, base)
                drawn = [d.draw(buf, i) for d in drawables if d.active(i)]
                if subtitles is not None:
                    drawn.append(subtitles.draw(buf, (scene_start + i) / fps))
                out = buf
                if alpha_out and not opaque:
                    out = _unpremultiply(buf)
                compose_s[0] += time.perf_counter() - t0
                n += 1
                yield out, (None if bg_video is not None or alpha_out else
                            _Changes(base, [(sp.x0, sp.y0, sp.x1, sp.y1) for sp in drawn if sp is not None]))
        finally:
            for d in drawables:
                d.close()
            if bg_video is not None:
                bg_video.close()
        scene_start += count


def _drawable(layer: Layer, first: int, last: int, size, channels: int, fps: float,
              clock: list[float] | None = None) -> _Drawable:
    box = (int(layer.x), int(layer.y), int(layer.width), int(layer.height))
    if isinstance(layer, ImageLayer):
        image, x, y = fit_into(read_image(layer.path), box, layer.fit)
        return _Still(layer, first, last, make_sprite(image, x, y, size, channels, opacity=layer.opacity))
    if isinstance(layer, TextLayer):
        return _Still(layer, first, last, make_sprite(text_picture(layer), box[0], box[1], size, channels,
                                                      opacity=layer.opacity))
    if isinstance(layer, VideoLayer):
        return _Video(layer, first, last, size, channels, fps)
    if isinstance(layer, FramesLayer):
        return _Frames(layer, first, last, size, channels, fps, clock)
    raise ValueError(f"unknown layer {type(layer).__name__}")


# --- the avatar as a layer -------------------------------------------------------------------------------------


def avatar_layer(model_path: os.PathLike | str, audio_path: os.PathLike | str, phonemes: list | None,
                 box: tuple[int, int, int, int], *, start: float | None = None,
                 end: float | None = None, actions: Sequence = ()) -> FramesLayer:
    """A FramesLayer of the avatar model speaking `audio_path` (its timed `phonemes` when known, e.g. from
    the TTS), fitted into `box` = (x, y, width, height), transparent around the person (the model's matte).
    The model is opened and the mouth track predicted when the scene starts; past the end of the speech the
    avatar idles with its mouth at rest. `actions`: the model's actions (synthesis.avatar.render.ActionCue,
    seconds from the layer's start) played at their times."""
    from synthesis.avatar.render import Renderer, speech_for_clip

    def source(fps: float, frames: int) -> Iterator[np.ndarray]:
        with tempfile.TemporaryDirectory(prefix="avatar-layer-") as tmp, Renderer(model_path) as renderer:
            pcm, _wav, _ = speech_for_clip(Path(tmp), audio_path=audio_path)
            mouth = renderer.mouth_model()
            track = mouth.predict(pcm, 16000, fps, phonemes=phonemes or None)[:frames]
            if len(track) < frames:
                rest = np.tile(mouth.rest_shape(), (frames - len(track), 1))
                track = np.concatenate([track, rest]) if len(track) else rest
            model = renderer.model
            size = fitted_size((model.width, model.height), (box[2], box[3]))
            yield from renderer.render(track, fps=fps, rgba=True, size=size, actions=actions)

    return FramesLayer(x=box[0], y=box[1], width=box[2], height=box[3], start=start, end=end, source=source)
