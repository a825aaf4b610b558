"""Digital-human business card (数字人名片): a portrait card with the person's talking photo in a video window,
their name, title, company and contact lines (with drawn icons), an optional logo and QR code and a footer.

`render_card_image` draws the still card (the photo, cropped around the face, sits in the video window);
`render_card_video` puts a talking-photo clip into the same card with ONE ffmpeg run: the clip is scaled into
the video box and padded to the card size, and the card, drawn once as an RGBA picture whose video window is
transparent (anti-aliased rounded corners, or a soft fade for the full-bleed layout), is overlaid on it.

Text is set in Noto Sans CJK (Debian package fonts-noto-cjk), so Chinese and Latin mix freely; long lines wrap
by character width (CJK has no spaces; Latin words are kept whole where they fit) and shrink to fit their box.
Geometry is fixed per template and card size (`card_layout`), so the caller knows the video box before any
text is set; the text block shrinks as a whole when there is more text than room.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, UnidentifiedImageError

from synthesis.media import _tools
from synthesis.media.errors import MediaError

CARD_SIZE = (1080, 1920)
DEFAULT_TEMPLATE = "classic"
MIN_SIDE = 360
HEAD_SHOULDERS = 3.0  # crop height in FaceMesh face heights (hairline to chin): head and shoulders
SS = 4  # supersampling of drawn shapes (Pillow draws them without anti-aliasing)
FFMPEG_TIMEOUT_S = 600
VIDEO_PRESET = "veryfast"  # x264: a 10 s 1080x1920 card encodes in about 5 s on 2 cores
VIDEO_CRF = 21
MAX_QR_TEXT = 1200
MAX_QR_VERSION = 20  # 97 modules: 2 pixels a module in the 1080-wide card's QR box

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # x, y, w, h


class CardFontMissing(RuntimeError):
    """No font with Chinese glyphs is installed."""


# --- data ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardText:
    name: str
    title: str = ""
    company: str = ""
    mobile_phone: str = ""
    phone: str = ""
    mail: str = ""
    address: str = ""
    intro: str = ""  # optional short line(s) under the contact block (e.g. a slogan)
    others: tuple[str, ...] = ()  # up to 3 extra lines (slogans), shown in the footer


@dataclass(frozen=True)
class CardTemplate:
    id: str
    label: str
    style: str  # "window": rounded video window + white info panel; "fullbleed": edge-to-edge video that fades out
    bg_top: RGB
    bg_bottom: RGB
    accent: RGB
    name_color: RGB
    title_color: RGB
    text_color: RGB
    muted_color: RGB
    panel: RGB | None  # info panel colour (None: text sits on the background)
    icon_bg: RGB
    icon_fg: RGB
    glow: RGB  # colour of the soft decorative circles
    glow_alpha: float


TEMPLATES: dict[str, CardTemplate] = {
    "classic": CardTemplate(
        id="classic", label="Classic (light)", style="window",
        bg_top=(232, 238, 247), bg_bottom=(246, 248, 251), accent=(36, 87, 214),
        name_color=(17, 24, 39), title_color=(36, 87, 214), text_color=(55, 65, 81), muted_color=(107, 114, 128),
        panel=(255, 255, 255), icon_bg=(36, 87, 214), icon_fg=(255, 255, 255), glow=(36, 87, 214), glow_alpha=0.07,
    ),
    "dark": CardTemplate(
        id="dark", label="Dark (gold)", style="fullbleed",
        bg_top=(16, 20, 31), bg_bottom=(10, 12, 20), accent=(212, 175, 106),
        name_color=(255, 255, 255), title_color=(212, 175, 106), text_color=(226, 230, 238),
        muted_color=(148, 156, 173), panel=None, icon_bg=(212, 175, 106), icon_fg=(16, 20, 31),
        glow=(212, 175, 106), glow_alpha=0.06,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class CardLayout:
    """Card geometry; boxes are (x, y, w, h) in card pixels."""

    size: tuple[int, int]
    template: str
    scale: float  # font and spacing scale against the 1080-wide portrait card
    video_box: Box  # where the talking video goes (even numbers)
    video_radius: int  # corner radius of the video window (0: square)
    fade: int  # length of the fade from video to background ("fullbleed"), 0 for none
    fade_side: str  # "bottom" or "right": the video side that fades into the card
    logo_box: Box  # the logo is fitted into this box, aspect kept, aligned to its top-left corner
    panel_box: Box | None  # the info panel (drawn for templates with a panel colour)
    info_box: Box  # name, title, company, contacts and intro are set inside this box
    # The name's line and the QR code when the text fills info_box; a short text in a panel is centred
    # vertically, which moves both down by the same amount (they stay inside info_box).
    name_box: Box  # the name's line (top of info_box, left of the QR code)
    qr_box: Box  # the QR code (square), top right of info_box
    footer_box: Box  # the `others` lines


def _even(v: float) -> int:
    return int(round(v / 2.0)) * 2


def _check_size(size) -> tuple[int, int]:
    try:
        w, h = int(size[0]), int(size[1])
    except (TypeError, ValueError, IndexError):
        raise ValueError("size must be (width, height)")
    if w < MIN_SIDE or h < MIN_SIDE or w % 2 or h % 2:
        raise ValueError(f"the card size must be even numbers of at least {MIN_SIDE} pixels, not {w}x{h}")
    return w, h


def _template(template: str) -> CardTemplate:
    if template not in TEMPLATES:
        raise ValueError(f"unknown card template {template!r}; choose one of {sorted(TEMPLATES)}")
    return TEMPLATES[template]


def card_layout(template: str = DEFAULT_TEMPLATE, size=CARD_SIZE) -> CardLayout:
    """The geometry of `template` at `size`: portrait cards stack video over text, landscape ones put the video
    on the left."""
    tpl = _template(template)
    w, h = _check_size(size)
    if h >= w:
        return _portrait_layout(tpl, w, h)
    return _landscape_layout(tpl, w, h)


def _portrait_layout(tpl: CardTemplate, w: int, h: int) -> CardLayout:
    s = min(w / 1080, h / 1920)
    m = _even(60 * s)
    pad = round(48 * s)
    qr = round(216 * s)
    footer_h = round(116 * s)
    footer = (m, h - m - footer_h + round(24 * s), w - 2 * m, footer_h)
    if tpl.style == "window":
        logo = (m + round(8 * s), round(44 * s), round(380 * s), round(92 * s))
        top = _even(logo[1] + logo[3] + 30 * s)
        vw = w - 2 * m
        vh = _even(min(vw * 1.0, h * 0.485))
        video = (m, top, vw, vh)
        panel_y = top + vh + round(28 * s)
        panel = (m, panel_y, vw, footer[1] - round(16 * s) - panel_y)
        info = (panel[0] + pad, panel[1] + pad, panel[2] - 2 * pad, panel[3] - 2 * pad)
        radius, fade = round(44 * s), 0
    else:
        logo = (m, round(52 * s), round(380 * s), round(92 * s))
        vh = _even(h * 0.63)
        video = (0, 0, w, vh)
        panel = None
        info_y = vh - round(210 * s)
        info = (m, info_y, w - 2 * m, footer[1] - round(20 * s) - info_y)
        radius, fade = 0, round(480 * s)
    name_h = round(104 * s)
    qr_box = (info[0] + info[2] - qr, info[1] + (0 if panel else round(230 * s)), qr, qr)
    name_w = info[2] - (qr + round(28 * s) if panel else 0)
    return CardLayout(size=(w, h), template=tpl.id, scale=s, video_box=video, video_radius=radius, fade=fade,
                      fade_side="bottom", logo_box=logo, panel_box=panel, info_box=info,
                      name_box=(info[0], info[1], name_w, name_h), qr_box=qr_box, footer_box=footer)


def _landscape_layout(tpl: CardTemplate, w: int, h: int) -> CardLayout:
    s = min(w / 1920, h / 1080)
    m = _even(48 * s)
    pad = round(44 * s)
    qr = round(200 * s)
    if tpl.style == "window":
        vh = h - 2 * m
        video = (m, m, _even(min(vh * 0.82, w * 0.42)), vh)
        x0 = video[0] + video[2] + round(32 * s)
        logo = (x0 + pad, m + round(4 * s), round(360 * s), round(84 * s))
        footer_h = round(100 * s)
        footer = (x0, h - m - footer_h, w - m - x0, footer_h)
        panel_y = logo[1] + logo[3] + round(24 * s)
        panel = (x0, panel_y, w - m - x0, footer[1] - round(12 * s) - panel_y)
        info = (panel[0] + pad, panel[1] + pad, panel[2] - 2 * pad, panel[3] - 2 * pad)
        radius, fade = round(40 * s), 0
    else:
        video = (0, 0, _even(w * 0.5), h)
        x0 = video[2] - round(150 * s)
        logo = (w - m - round(360 * s), m, round(360 * s), round(84 * s))
        footer_h = round(100 * s)
        footer = (x0, h - m - footer_h, w - m - x0, footer_h)
        panel = None
        info_y = logo[1] + logo[3] + round(40 * s)
        info = (x0, info_y, w - m - x0, footer[1] - round(12 * s) - info_y)
        radius, fade = 0, round(420 * s)
    name_h = round(104 * s)
    qr_box = (info[0] + info[2] - qr, info[1], qr, qr)
    name_w = info[2] - qr - round(28 * s)
    return CardLayout(size=(w, h), template=tpl.id, scale=s, video_box=video, video_radius=radius, fade=fade,
                      fade_side="right", logo_box=logo, panel_box=panel, info_box=info,
                      name_box=(info[0], info[1], name_w, name_h), qr_box=qr_box, footer_box=footer)


def video_box_aspect(template: str = DEFAULT_TEMPLATE, size=CARD_SIZE) -> float:
    """Width / height of the video box: crop the photo to this before rendering the talking clip."""
    _, _, w, h = card_layout(template, size).video_box
    return w / h


# --- photo --------------------------------------------------------------------------------------------------


def card_photo_crop(photo_bgr: np.ndarray, aspect: float) -> np.ndarray:
    """The photo cropped to `aspect` (w/h) around the face with head-and-shoulders framing (eyes about a third
    from the top; a photo that is already tighter is only cut to the aspect). A photo in which no face is found
    gets a centred crop a little above the middle (render_talking_photo rejects it later anyway)."""
    from synthesis.photo.talking import crop_box, find_face

    if photo_bgr is None or photo_bgr.ndim != 3 or photo_bgr.shape[0] < 2 or photo_bgr.shape[1] < 2:
        raise ValueError("the photo is not a colour picture")
    if not aspect or aspect <= 0 or not math.isfinite(aspect):
        raise ValueError("aspect must be a positive number")
    h, w = photo_bgr.shape[:2]
    try:
        points = find_face(photo_bgr)
    except ValueError:
        points = None
    if points is None:
        cw, ch = (w, w / aspect) if w / h < aspect else (h * aspect, h)
        cw, ch = int(min(w, cw)), int(min(h, ch))
        x0, y0 = (w - cw) // 2, int((h - ch) * 0.35)
        return np.ascontiguousarray(photo_bgr[y0:y0 + ch, x0:x0 + cw])
    # A window of the wanted framing around the face, kept inside the picture; crop_box then takes the largest
    # aspect crop inside it with the face centred and the eyes a third from the top.
    face_h = float(np.ptp(points[:, 1]))
    th = min(float(h), HEAD_SHOULDERS * face_h)
    tw = th * aspect
    if tw > w:
        tw, th = float(w), w / aspect
    cx = float(points[:, 0].mean())
    eyes_y = float(points[:, 1].min() + 0.35 * face_h)
    rx0 = int(round(np.clip(cx - tw / 2, 0, w - tw)))
    ry0 = int(round(np.clip(eyes_y - th / 3, 0, h - th)))
    rw, rh = int(min(w - rx0, math.ceil(tw))), int(min(h - ry0, math.ceil(th)))
    local = points - np.array([rx0, ry0, 0], np.float32)
    x0, y0, x1, y1 = crop_box((rw, rh), local, aspect)
    return np.ascontiguousarray(photo_bgr[ry0 + y0:ry0 + y1, rx0 + x0:rx0 + x1])


def _read_photo(photo_path) -> np.ndarray:
    import cv2

    path = os.fspath(photo_path)
    img = cv2.imread(path, cv2.IMREAD_COLOR) if os.path.isfile(path) else None
    if img is None:
        raise ValueError("the photo could not be read (not an image file)")
    return img


def _read_image(path, what: str) -> Image.Image:
    try:
        with Image.open(os.fspath(path)) as im:
            im.load()
            return im.convert("RGBA")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"the {what} image could not be read ({type(exc).__name__})") from None


# --- fonts and text -----------------------------------------------------------------------------------------

_FONT_FILES = {
    "regular": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
                "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    "bold": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
             "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
             "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc"),
}  # fmt: skip
_FC_PATTERNS = {
    "regular": ("Noto Sans CJK SC:style=Regular", ":lang=zh-cn:style=Regular", ":lang=zh-cn"),
    "bold": ("Noto Sans CJK SC:style=Bold", ":lang=zh-cn:style=Bold", ":lang=zh-cn"),
}
CJK_PROBE = "名片"


def _cjk_capable(font: ImageFont.FreeTypeFont) -> bool:
    """Whether the font draws real CJK glyphs (not the .notdef box it draws for every missing character)."""
    try:
        bbox = font.getbbox(CJK_PROBE)
        if bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
            return False
        a, b, missing = (bytes(font.getmask(c)) for c in (CJK_PROBE[0], CJK_PROBE[1], "\U000f0000"))
        return a != b and a != missing
    except OSError:
        return False


def _fc_match(pattern: str) -> tuple[str, int] | None:
    fc = shutil.which("fc-match")
    if not fc:
        return None
    try:
        out = subprocess.run([fc, "-f", "%{file}\n%{index}", pattern], capture_output=True, timeout=10,
                             stdin=subprocess.DEVNULL, text=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.splitlines()
    if not lines or not lines[0]:
        return None
    index = int(lines[1]) if len(lines) > 1 and lines[1].strip().isdigit() else 0
    return lines[0], index


@functools.lru_cache(maxsize=4)
def font_source(weight: str) -> tuple[str, int]:
    """(path, face index) of the CJK sans font for "regular" or "bold": Noto Sans CJK (Simplified Chinese face
    of the collection) where fonts-noto-cjk installed it, else what fontconfig offers for Chinese."""
    for path in _FONT_FILES[weight]:
        if os.path.isfile(path):
            index = _collection_index(path, "SC")
            if _cjk_capable(ImageFont.truetype(path, 24, index=index)):
                return path, index
    for pattern in _FC_PATTERNS[weight]:
        found = _fc_match(pattern)
        if found:
            path, index = found
            try:
                if _cjk_capable(ImageFont.truetype(path, 24, index=index)):
                    return path, index
            except OSError:
                continue
    if weight == "bold":
        return font_source("regular")
    raise CardFontMissing("no font with Chinese characters is installed: install the Debian package fonts-noto-cjk")


def _collection_index(path: str, tag: str) -> int:
    for index in range(12):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(f" {tag}"):
            return index
    return 0


@functools.lru_cache(maxsize=256)
def card_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The card's font at `size` pixels (CJK-capable; CardFontMissing when none is installed)."""
    path, index = font_source("bold" if bold else "regular")
    return ImageFont.truetype(path, max(6, int(size)), index=index)


_TOKENS = re.compile(r"[A-Za-z0-9\u00C0-\u024F\u0370-\u04FF@._%+\-/:#&'’()]+|\s+|.", re.S)
_NO_LINE_START = set("，。、；：！？）》」』】〕…,.;:!?)%」")


def _width(font: ImageFont.FreeTypeFont, text: str) -> float:
    return font.getlength(text)


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_w: float) -> list[str]:
    """Lines of `text` no wider than `max_w`: Latin words stay whole when they fit, CJK breaks between any two
    characters, closing punctuation never starts a line, and a word longer than a line is cut."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        cur = ""
        for tok in _TOKENS.findall(para):
            if _width(font, cur + tok) <= max_w or (tok in _NO_LINE_START and cur):
                cur += tok
                continue
            if tok.isspace():
                lines.append(cur.rstrip())
                cur = ""
                continue
            if cur.strip():
                lines.append(cur.rstrip())
            cur = ""
            if _width(font, tok) <= max_w:
                cur = tok
                continue
            for ch in tok:
                if cur and _width(font, cur + ch) > max_w:
                    lines.append(cur)
                    cur = ""
                cur += ch
        lines.append(cur.rstrip())
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def _ellipsize(line: str, font: ImageFont.FreeTypeFont, max_w: float) -> str:
    if _width(font, line) <= max_w:
        return line
    while line and _width(font, line + "…") > max_w:
        line = line[:-1]
    return line.rstrip() + "…"


def _join_lines(a: str, b: str) -> str:
    """Undo a wrap: a space goes back between two Latin words (wrapping dropped it), none between CJK."""
    latin = a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum()
    return f"{a} {b}" if latin else a + b


def fit_text(text: str, max_w: float, size: int, *, bold: bool = False, max_lines: int = 1,
             min_size: int | None = None) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font from `size` down to `min_size` at which `text` wraps into `max_lines` lines of `max_w`;
    at the smallest size the last line is cut with an ellipsis."""
    min_size = min_size or max(10, int(size * 0.6))
    if max_lines > 1:  # a line a little smaller reads better than a wrapped one
        sz = size
        while sz >= max(min_size, size * 0.86):
            font = card_font(sz, bold)
            lines = wrap_text(text, font, max_w)
            if len(lines) == 1:
                return font, lines
            sz -= max(1, round(sz * 0.04))
    sz = size
    while True:
        font = card_font(sz, bold)
        lines = wrap_text(text, font, max_w)
        if len(lines) <= max_lines:
            return font, lines
        if sz <= min_size:
            kept = lines[:max_lines]
            rest = functools.reduce(_join_lines, lines[max_lines - 1:])
            kept[-1] = _ellipsize(rest, font, max_w)
            return font, kept
        sz = max(min_size, sz - max(1, round(sz * 0.06)))


# --- drawing helpers ----------------------------------------------------------------------------------------


def _rr_mask(w: int, h: int, r: int) -> Image.Image:
    """Anti-aliased rounded-rectangle mask of size (w, h)."""
    if r <= 0:
        return Image.new("L", (w, h), 255)
    big = Image.new("L", (w * SS, h * SS), 0)
    ImageDraw.Draw(big).rounded_rectangle((0, 0, w * SS - 1, h * SS - 1), r * SS, fill=255)
    return big.reduce(SS)


def _fill(canvas: Image.Image, mask: Image.Image, color: RGB, xy: tuple[int, int], opacity: float = 1.0) -> None:
    """Composite `color` through the L `mask` at `xy` onto the RGBA canvas (correct over transparent areas)."""
    if opacity < 1.0:
        mask = mask.point(lambda v: int(v * opacity))
    patch = Image.new("RGBA", mask.size, (*color, 255))
    patch.putalpha(mask)
    x, y = xy
    # alpha_composite needs the patch inside the canvas: crop what sticks out
    cw, ch = canvas.size
    left, top = max(0, -x), max(0, -y)
    right, bottom = min(mask.size[0], cw - x), min(mask.size[1], ch - y)
    if right <= left or bottom <= top:
        return
    canvas.alpha_composite(patch.crop((left, top, right, bottom)), dest=(x + left, y + top))


def _shadow(canvas: Image.Image, box: Box, radius: int, blur: float, offset: int, opacity: float) -> None:
    x, y, w, h = box
    spread = int(blur * 3)
    mask = Image.new("L", (w + 2 * spread, h + 2 * spread), 0)
    mask.paste(_rr_mask(w, h, radius), (spread, spread))
    mask = mask.filter(ImageFilter.GaussianBlur(blur))
    _fill(canvas, mask, (15, 23, 42), (x - spread, y - spread + offset), opacity)


def _text(canvas: Image.Image, xy: tuple[float, float], line: str, font: ImageFont.FreeTypeFont, color: RGB,
          anchor: str = "la") -> None:
    """Draw one line with Pillow's anchor convention (default: left / ascender at xy)."""
    if not line:
        return
    x0, y0, x1, y1 = font.getbbox(line, anchor=anchor)
    x, y = int(round(xy[0])), int(round(xy[1]))
    mask = Image.new("L", (x1 - x0 + 2, y1 - y0 + 2), 0)
    ImageDraw.Draw(mask).text((-x0 + 1, -y0 + 1), line, font=font, fill=255, anchor=anchor)
    _fill(canvas, mask, color, (x + x0 - 1, y + y0 - 1))


def _line_height(font: ImageFont.FreeTypeFont, factor: float = 1.0) -> int:
    return int(round(font.size * 1.36 * factor))


def _icon(kind: str, d: int, bg: RGB, fg: RGB) -> Image.Image:
    """A round contact icon (RGBA, d x d): a filled disk with a drawn phone, handset, envelope or map pin."""
    n = d * SS
    disk = Image.new("L", (n, n), 0)
    ImageDraw.Draw(disk).ellipse((0, 0, n - 1, n - 1), fill=255)
    glyph = Image.new("L", (n, n), 0)
    g = ImageDraw.Draw(glyph)

    def p(v: float) -> float:
        return v * n

    if kind == "mobile":
        g.rounded_rectangle((p(0.35), p(0.22), p(0.65), p(0.78)), radius=p(0.07), outline=255, width=int(p(0.055)))
        g.ellipse((p(0.46), p(0.63), p(0.54), p(0.71)), fill=255)
    elif kind == "phone":
        r = p(0.22)
        c = p(0.5)
        g.arc((c - r, c - r, c + r, c + r), start=45, end=225, fill=255, width=int(p(0.12)))
        for ang in (45, 225):
            ex, ey = c + r * math.cos(math.radians(ang)), c + r * math.sin(math.radians(ang))
            g.ellipse((ex - p(0.1), ey - p(0.1), ex + p(0.1), ey + p(0.1)), fill=255)
    elif kind == "mail":
        box = (p(0.25), p(0.32), p(0.75), p(0.68))
        g.rounded_rectangle(box, radius=p(0.04), outline=255, width=int(p(0.05)))
        g.line([(p(0.27), p(0.35)), (p(0.5), p(0.53)), (p(0.73), p(0.35))], fill=255, width=int(p(0.05)),
               joint="curve")
    elif kind == "address":
        cx, cy, r = p(0.5), p(0.42), p(0.17)
        g.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        g.polygon([(cx - r * 0.92, cy + r * 0.4), (cx + r * 0.92, cy + r * 0.4), (cx, p(0.79))], fill=255)
        h = p(0.065)
        g.ellipse((cx - h, cy - h, cx + h, cy + h), fill=0)
    icon = Image.new("RGBA", (d, d), (0, 0, 0, 0))
    _fill(icon, disk.reduce(SS), bg, (0, 0))
    _fill(icon, glyph.reduce(SS), fg, (0, 0))
    return icon


def _gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    w, h = size
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    col = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    arr = np.broadcast_to(col, (h, w, 3)).astype(np.uint8)
    img = Image.fromarray(np.ascontiguousarray(arr)).convert("RGBA")
    return img


def _glow(canvas: Image.Image, center: tuple[float, float], r: float, color: RGB, opacity: float) -> None:
    w, h = canvas.size
    cx, cy = center
    small = Image.new("L", (max(1, w // 8), max(1, h // 8)), 0)
    ImageDraw.Draw(small).ellipse(((cx - r) / 8, (cy - r) / 8, (cx + r) / 8, (cy + r) / 8), fill=255)
    mask = small.filter(ImageFilter.GaussianBlur(max(1.0, r / 40))).resize((w, h), Image.BILINEAR)
    _fill(canvas, mask, color, (0, 0), opacity)


def _qr_image(qr_text: str, side: int, dark: RGB) -> Image.Image:
    import segno

    if not qr_text or not qr_text.strip():
        raise ValueError("qr_text is empty")
    too_long = "qr_text is too long for the card's QR code (a link or a few hundred characters fit)"
    if len(qr_text) > MAX_QR_TEXT:
        raise ValueError(too_long)
    try:
        qr = segno.make(qr_text, error="m", micro=False)
    except segno.DataOverflowError:
        raise ValueError(too_long) from None
    if qr.version > MAX_QR_VERSION:  # modules would be too small to scan at the card's QR size
        raise ValueError(too_long)
    border = 2
    modules = np.array([list(row) for row in qr.matrix], dtype=bool)
    n = modules.shape[0] + 2 * border
    scale = max(1, side // n)
    arr = np.full((n, n, 3), 255, np.uint8)
    arr[border:-border, border:-border][modules] = dark
    arr = np.repeat(np.repeat(arr, scale, axis=0), scale, axis=1)  # crisp integer-scaled modules
    tile = Image.new("RGB", (side, side), (255, 255, 255))
    off = (side - arr.shape[0]) // 2
    tile.paste(Image.fromarray(arr), (off, off))
    return tile


def _fit_image(img: Image.Image, max_w: int, max_h: int) -> Image.Image:
    k = min(max_w / img.width, max_h / img.height)
    size = (max(1, round(img.width * k)), max(1, round(img.height * k)))
    return img.resize(size, Image.LANCZOS)


# --- the card -----------------------------------------------------------------------------------------------


def _window_mask(layout: CardLayout) -> Image.Image:
    """L mask over the whole card: 255 where the video shows (the window, with its rounded corners or fade)."""
    w, h = layout.size
    x, y, vw, vh = layout.video_box
    mask = Image.new("L", (w, h), 0)
    if layout.fade:
        if layout.fade_side == "bottom":
            ramp = np.ones(vh, np.float32)
            f = min(layout.fade, vh)
            t = np.linspace(0.0, 1.0, f, dtype=np.float32)
            ramp[vh - f:] = 1.0 - t * t * (3 - 2 * t)
            arr = np.broadcast_to((ramp * 255).astype(np.uint8)[:, None], (vh, vw))
        else:
            ramp = np.ones(vw, np.float32)
            f = min(layout.fade, vw)
            t = np.linspace(0.0, 1.0, f, dtype=np.float32)
            ramp[vw - f:] = 1.0 - t * t * (3 - 2 * t)
            arr = np.broadcast_to((ramp * 255).astype(np.uint8)[None, :], (vh, vw))
        mask.paste(Image.fromarray(np.ascontiguousarray(arr)), (x, y))
    else:
        mask.paste(_rr_mask(vw, vh, layout.video_radius), (x, y))
    return mask


def _contacts(text: CardText) -> list[tuple[str, str]]:
    rows = [("mobile", text.mobile_phone), ("phone", text.phone), ("mail", text.mail), ("address", text.address)]
    return [(kind, value.strip()) for kind, value in rows if value and value.strip()]


def _check_text(text: CardText) -> None:
    if not isinstance(text, CardText):
        raise ValueError("text must be a CardText")
    if not text.name or not text.name.strip():
        raise ValueError("the card needs a name")
    if len(text.others) > 3:
        raise ValueError("at most 3 extra lines (others) fit on the card")


def _info_ops(text: CardText, tpl: CardTemplate, layout: CardLayout, k: float, has_qr: bool):
    """The info block at font scale k: a list of (kind, ...) drawing steps and its height."""
    s = layout.scale * k
    ix, iy, iw, _ = layout.info_box
    qx, qy, qs, _ = layout.qr_box
    gap = round(28 * layout.scale)

    def width_at(y0: float, y1: float) -> float:
        # lines beside the QR code leave room for it
        if has_qr and y0 < qy + qs + gap / 2 and y1 > qy - gap / 2:
            return qx - gap - ix
        return iw

    ops = []
    y = float(iy)
    name_font, name_lines = fit_text(text.name.strip(), width_at(y, y + 110 * s), round(80 * s), bold=True,
                                     max_lines=1, min_size=round(44 * s))
    ops.append(("text", ix, y, name_lines[0], name_font, tpl.name_color))
    y += _line_height(name_font, 0.98)
    if text.title.strip():
        font, lines = fit_text(text.title.strip(), width_at(y, y + 100 * s), round(38 * s), max_lines=2,
                               min_size=round(28 * s))
        for line in lines:
            ops.append(("text", ix, y, line, font, tpl.title_color))
            y += _line_height(font, 0.95)
    if text.company.strip():
        y += 4 * s
        font, lines = fit_text(text.company.strip(), width_at(y, y + 100 * s), round(36 * s), bold=True,
                               max_lines=2, min_size=round(26 * s))
        for line in lines:
            ops.append(("text", ix, y, line, font, tpl.text_color))
            y += _line_height(font, 0.95)
    y += 18 * s
    ops.append(("bar", ix, y, round(72 * s), max(3, round(7 * s)), tpl.accent))
    y += max(3, round(7 * s)) + 30 * s
    icon_d = round(50 * s)
    text_x = ix + icon_d + round(22 * s)
    for kind, value in _contacts(text):
        avail = width_at(y, y + 100 * s) - (text_x - ix)
        font, lines = fit_text(value, avail, round(33 * s), max_lines=2 if kind == "address" else 1,
                               min_size=round(24 * s))
        lh = _line_height(font, 0.92)
        row_h = max(icon_d, lh * len(lines))
        ops.append(("icon", ix, round(y + (min(row_h, max(icon_d, lh)) - icon_d) / 2), kind, icon_d))
        ty = y + (max(icon_d, lh) - lh) / 2 + (lh - font.size * 1.2) / 2
        for line in lines:
            ops.append(("text", text_x, ty, line, font, tpl.text_color))
            ty += lh
        y += row_h + round(20 * s)
    if text.intro.strip():
        y += 6 * s
        font, lines = fit_text(" ".join(text.intro.split()), width_at(y, y + 100 * s), round(30 * s), max_lines=3,
                               min_size=round(24 * s))
        for line in lines:
            ops.append(("text", ix, y, line, font, tpl.muted_color))
            y += _line_height(font, 0.92)
    bottom = y
    if has_qr:
        bottom = max(bottom, qy + qs)
    return ops, bottom - iy


def _draw_info(canvas: Image.Image, text: CardText, tpl: CardTemplate, layout: CardLayout,
               qr: Image.Image | None) -> None:
    """The name, title, company, contacts and intro (and the QR code beside them), shrunk to fit info_box; in a
    panel, a short block grows a little and is centred vertically (name and QR code move down together)."""
    has_qr = qr is not None
    ih = layout.info_box[3]
    k = 1.0
    while True:
        ops, height = _info_ops(text, tpl, layout, k, has_qr)
        if height <= ih or k <= 0.6:
            break
        k = max(0.6, k * 0.95)
    if layout.panel_box is not None and k == 1.0 and height < 0.7 * ih:
        # a short text grows a little to fill the panel, as long as no line wraps because of it
        lines = sum(op[0] == "text" for op in ops)
        for big in (1.2, 1.1):
            big_ops, big_height = _info_ops(text, tpl, layout, big, has_qr)
            if big_height <= ih and sum(op[0] == "text" for op in big_ops) == lines:
                ops, height = big_ops, big_height
                break
    if layout.panel_box is not None and height < ih:
        # little text: centre the block in the panel
        dy = (ih - height) / 2
        ops = [(op[0], op[1], op[2] + dy, *op[3:]) for op in ops]
    else:
        dy = 0.0
    if qr is not None:
        qx, qy, qs, _ = layout.qr_box
        qy = int(round(qy + dy))
        pad = round(12 * layout.scale)
        if tpl.panel is None:  # white rounded tile so the code reads on a dark card
            _fill(canvas, _rr_mask(qs, qs, round(18 * layout.scale)), (255, 255, 255), (qx, qy))
        inner = _fit_image(qr.convert("RGBA"), qs - 2 * pad, qs - 2 * pad)
        canvas.alpha_composite(inner, dest=(qx + (qs - inner.width) // 2, qy + (qs - inner.height) // 2))
    icons: dict[tuple[str, int], Image.Image] = {}
    for op in ops:
        if op[0] == "text":
            _, x, y, line, font, color = op
            _text(canvas, (x, y), line, font, color)
        elif op[0] == "bar":
            _, x, y, bw, bh, color = op
            _fill(canvas, _rr_mask(bw, bh, bh // 2), color, (int(x), int(round(y))))
        elif op[0] == "icon":
            _, x, y, kind, d = op
            key = (kind, d)
            if key not in icons:
                icons[key] = _icon(kind, d, tpl.icon_bg, tpl.icon_fg)
            canvas.alpha_composite(icons[key], dest=(int(x), int(y)))


def _draw_footer(canvas: Image.Image, text: CardText, tpl: CardTemplate, layout: CardLayout) -> None:
    lines = [" ".join(o.split()) for o in text.others if o and o.strip()][:3]
    if not lines:
        return
    fx, fy, fw, fh = layout.footer_box
    s = layout.scale
    size = round(28 * s) if len(lines) < 3 else round(25 * s)
    fonts = [fit_text(line, fw, size, max_lines=1, min_size=round(18 * s)) for line in lines]
    heights = [_line_height(f, 0.95) for f, _ in fonts]
    total = sum(heights)
    rule_w = round(120 * s)
    y = fy + max(0, (fh - total) / 2) + round(6 * s)
    _fill(canvas, _rr_mask(rule_w, max(2, round(3 * s)), 1), tpl.accent, (fx + (fw - rule_w) // 2, int(fy)), 0.8)
    for (font, wrapped), lh in zip(fonts, heights, strict=True):
        _text(canvas, (fx + fw / 2, y), wrapped[0], font, tpl.muted_color, anchor="ma")
        y += lh


def _draw_logo_or_brand(canvas: Image.Image, text: CardText, tpl: CardTemplate, layout: CardLayout,
                        logo: Image.Image | None) -> None:
    lx, ly, lw, lh = layout.logo_box
    if logo is not None:
        fitted = _fit_image(logo, lw, lh)
        canvas.alpha_composite(fitted, dest=(lx, ly))
        return
    if text.company.strip():
        # no logo: the company name as a small brand mark, with an accent dot
        s = layout.scale
        d = round(18 * s)
        font, lines = fit_text(text.company.strip(), lw - d - round(14 * s), round(32 * s), bold=True, max_lines=1,
                               min_size=round(22 * s))
        color = tpl.name_color if tpl.style == "fullbleed" else tpl.accent
        cy = ly + lh / 2
        dot = Image.new("L", (d * SS, d * SS), 0)
        ImageDraw.Draw(dot).ellipse((0, 0, d * SS - 1, d * SS - 1), fill=255)
        _fill(canvas, dot.reduce(SS), tpl.accent, (lx, int(cy - d / 2)))
        _text(canvas, (lx + d + round(14 * s), cy), lines[0], font, color, anchor="lm")


def _card_layer(text: CardText, tpl: CardTemplate, layout: CardLayout, logo: Image.Image | None,
                qr: Image.Image | None) -> Image.Image:
    """The card as RGBA with the video window transparent (its RGB there is the background colour)."""
    w, h = layout.size
    s = layout.scale
    card = _gradient((w, h), tpl.bg_top, tpl.bg_bottom)
    if tpl.style == "window":
        _glow(card, (w * 0.92, h * 0.05), w * 0.42, tpl.glow, tpl.glow_alpha)
        _glow(card, (w * 0.02, h * 0.97), w * 0.36, tpl.glow, tpl.glow_alpha)
    else:
        _glow(card, (w * 0.88, h * 0.78), w * 0.45, tpl.glow, tpl.glow_alpha)
    vx, vy, vw, vh = layout.video_box
    if layout.video_radius:
        _shadow(card, layout.video_box, layout.video_radius, 22 * s, round(14 * s), 0.22)
    if layout.panel_box is not None and tpl.panel is not None:
        r = round(36 * s)
        _shadow(card, layout.panel_box, r, 20 * s, round(10 * s), 0.12)
        px, py, pw, ph = layout.panel_box
        _fill(card, _rr_mask(pw, ph, r), tpl.panel, (px, py))
        # accent strip along the panel's left edge
        strip = Image.new("L", (pw, ph), 0)
        ImageDraw.Draw(strip).rectangle((0, 0, max(4, round(8 * s)) - 1, ph), fill=255)
        strip = Image.fromarray(np.minimum(np.asarray(strip), np.asarray(_rr_mask(pw, ph, r))))
        _fill(card, strip, tpl.accent, (px, py))
    # cut the video window
    alpha = np.asarray(card.getchannel("A"), np.float32)
    window = np.asarray(_window_mask(layout), np.float32)
    card.putalpha(Image.fromarray((alpha * (1 - window / 255)).astype(np.uint8)))
    if tpl.style == "fullbleed":
        # a soft shade under the logo so it reads over the video
        shade_h = round(230 * s)
        ramp = (np.linspace(0.55, 0.0, shade_h, dtype=np.float32) ** 1.5 * 255).astype(np.uint8)
        if layout.fade_side == "bottom":
            shade = Image.fromarray(np.ascontiguousarray(np.broadcast_to(ramp[:, None], (shade_h, vw))))
            _fill(card, shade, (0, 0, 0), (vx, vy))
    _draw_logo_or_brand(card, text, tpl, layout, logo)
    _draw_info(card, text, tpl, layout, qr)
    _draw_footer(card, text, tpl, layout)
    return card


def _prepare(text: CardText, template: str, size, logo_path, qr_text, qr_image_path):
    _check_text(text)
    tpl = _template(template)
    layout = card_layout(template, size)
    logo = _read_image(logo_path, "logo") if logo_path is not None else None
    qr = None
    if qr_image_path is not None:
        qr = _read_image(qr_image_path, "QR code")
    elif qr_text is not None:
        side = layout.qr_box[2] - 2 * round(12 * layout.scale)
        qr = _qr_image(qr_text, side, (17, 24, 39)).convert("RGBA")
    return tpl, layout, _card_layer(text, tpl, layout, logo, qr)


def _save_png(img: Image.Image, out_path) -> Path:
    out = Path(out_path)
    with _tools.atomic_output(out) as tmp:
        img.save(tmp, format="PNG", optimize=False, compress_level=6)
    return out


def render_card_image(text: CardText, photo_path, out_path, *, template: str = DEFAULT_TEMPLATE, logo_path=None,
                      qr_text: str | None = None, qr_image_path=None, size=CARD_SIZE) -> Path:
    """A PNG of the whole card: the photo (cropped around the face) in the video window, name, title, company,
    contact lines with icons, optional logo (top corner, aspect kept), optional QR code (made from `qr_text`, or
    the picture in `qr_image_path`, which wins when both are given) and the `others` lines in the footer.
    ValueError for an unreadable photo, logo or QR picture, an unknown template, an empty name, more than 3
    `others` lines, a `qr_text` too long to scan at the card's size or a bad `size`."""
    import cv2

    _check_text(text)
    _template(template)
    photo = _read_photo(photo_path)
    tpl, layout, card = _prepare(text, template, size, logo_path, qr_text, qr_image_path)
    vx, vy, vw, vh = layout.video_box
    crop = card_photo_crop(photo, vw / vh)
    interp = cv2.INTER_AREA if crop.shape[1] > vw else cv2.INTER_CUBIC
    fitted = cv2.cvtColor(cv2.resize(crop, (vw, vh), interpolation=interp), cv2.COLOR_BGR2RGB)
    base = Image.new("RGBA", layout.size, (*tpl.bg_bottom, 255))
    base.paste(Image.fromarray(fitted), (vx, vy))
    base.alpha_composite(card)
    return _save_png(base.convert("RGB"), out_path)


def render_card_background(text: CardText, out_path, *, template: str = DEFAULT_TEMPLATE, logo_path=None,
                           qr_text: str | None = None, qr_image_path=None, size=CARD_SIZE) -> Path:
    """The card as an RGBA PNG whose video window is transparent (what render_card_video lays over the clip)."""
    _, _, card = _prepare(text, template, size, logo_path, qr_text, qr_image_path)
    return _save_png(card, out_path)


# --- the video ----------------------------------------------------------------------------------------------


def _probe_clip(path: Path) -> tuple[float, str | None]:
    from synthesis.media.probe import probe

    info = probe(path, decode_check=False)
    if info.error or not info.width or not info.height:
        raise ValueError(f"the talking video could not be read: {info.error or 'it holds no video stream'}")
    return float(info.duration_s or 0.0), (info.audio_codec if info.has_audio else None)


def render_card_video(text: CardText, talking_mp4, out_mp4, *, template: str = DEFAULT_TEMPLATE, logo_path=None,
                      qr_text: str | None = None, qr_image_path=None, size=CARD_SIZE,
                      progress: Callable[[int, str], None] | None = None) -> Path:
    """The card with `talking_mp4` (scaled and centre-cropped to fill the video box) playing in its window:
    H.264 (yuv420p) + AAC MP4 with +faststart, the clip's frame rate, duration and audio (copied when it is
    AAC already). One ffmpeg run; the card is drawn once."""
    _check_text(text)
    _template(template)
    clip = Path(talking_mp4)
    if not clip.is_file():
        raise ValueError("the talking video does not exist")
    duration, audio_codec = _probe_clip(clip)
    out = Path(out_mp4)
    if progress:
        progress(1, "drawing the card")
    with tempfile.TemporaryDirectory(prefix="card-video-") as tmp:
        _, layout, card = _prepare(text, template, size, logo_path, qr_text, qr_image_path)
        bg = Path(tmp) / "card.png"
        card.save(bg, format="PNG", compress_level=1)
        w, h = layout.size
        vx, vy, vw, vh = layout.video_box
        graph = (
            f"[0:v]scale={vw}:{vh}:force_original_aspect_ratio=increase:flags=bicubic,crop={vw}:{vh},setsar=1,"
            f"format=yuv420p,pad={w}:{h}:{vx}:{vy}:black[v];"
            f"[v][1:v]overlay=0:0:format=yuv420:eof_action=repeat,format=yuv420p[out]"
        )
        if audio_codec is None:
            audio = ["-an"]
        elif audio_codec == "aac":
            audio = ["-map", "0:a:0", "-c:a", "copy"]
        else:
            audio = ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k"]
        with _tools.atomic_output(out) as part:
            argv = [
                _tools.tool_path("ffmpeg"), "-nostdin", "-v", "error", "-y", "-progress", "pipe:1", "-nostats",
                *_tools.INPUT_GUARD, "-i", _tools.abspath(clip), "-i", os.fspath(bg),
                "-filter_complex", graph, "-map", "[out]", *audio,
                "-c:v", "libx264", "-preset", VIDEO_PRESET, "-crf", str(VIDEO_CRF), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", "-shortest", os.fspath(part),
            ]  # fmt: skip
            _run_ffmpeg(argv, duration, progress)
    if progress:
        progress(100, "done")
    return out


def _run_ffmpeg(argv: list[str], duration: float, progress: Callable[[int, str], None] | None) -> None:
    timeout = max(FFMPEG_TIMEOUT_S, duration * 20)
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf,
                                start_new_session=True, text=True)
        timer = _Deadline(proc, timeout)
        try:
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if progress and key == "out_time_us" and duration > 0 and value.isdigit():
                    progress(max(2, min(99, int(100 * int(value) / 1e6 / duration))), "composing")
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                _tools._kill_group(proc)
                proc.wait()
        errf.seek(0)
        err = errf.read()
    if timer.fired:
        raise MediaError(f"composing the card video took longer than {timeout:g} s and was stopped")
    if code != 0:
        raise MediaError(f"the card video could not be encoded: {_tools.tail(err) or 'ffmpeg failed'}")


class _Deadline:
    """Kills a process group when a time limit passes (the progress loop blocks on the pipe)."""

    def __init__(self, proc: subprocess.Popen, seconds: float):
        import threading

        self.fired = False
        self._proc = proc
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        _tools._kill_group(self._proc)

    def cancel(self) -> None:
        self._timer.cancel()


__all__ = [
    "CARD_SIZE", "DEFAULT_TEMPLATE", "TEMPLATES", "CardFontMissing", "CardLayout", "CardTemplate", "CardText",
    "card_font", "card_layout", "card_photo_crop", "fit_text", "render_card_background", "render_card_image",
    "render_card_video", "video_box_aspect", "wrap_text",
]  # fmt: skip
