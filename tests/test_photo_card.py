"""The digital-human business card (synthesis.photo.card) on the public-domain astronaut photo of scikit-image:
the still card has the name, the logo where the layout puts it and a QR code that decodes back; the two
templates differ; Chinese text is set in a CJK font and long lines wrap or shrink to fit; bad inputs are
ValueErrors; the card video has the clip (test pattern) in its window, the card around it, H.264 + AAC and the
clip's length."""

import subprocess

import numpy as np
import pytest
from PIL import Image

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image (a dev dependency) gives the test photo")
cv2 = pytest.importorskip("cv2")

from synthesis.media import _tools  # noqa: E402
from synthesis.media.probe import probe  # noqa: E402
from synthesis.photo import card  # noqa: E402

try:
    card.font_source("regular")
except card.CardFontMissing as exc:  # `make test` installs fonts-noto-cjk
    pytest.skip(str(exc), allow_module_level=True)

QR_TEXT = "https://example.com/card/zhang-wei?lang=zh"
FULL = card.CardText(
    name="张伟 Zhang Wei", title="首席技术官 · Chief Technology Officer", company="华夏数字人科技有限公司",
    mobile_phone="+86 138 0013 8000", phone="010-6255 8888", mail="zhang.wei@huaxia-digital.com.cn",
    address="北京市海淀区中关村大街1号 海龙大厦18层1808室", intro="让每一位员工都拥有自己的数字人。",
    others=("专注数字人与AIGC内容生产", "Digital humans for every business"),
)  # fmt: skip
LOGO_RGB = (220, 30, 40)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("card")
    photo = d / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))
    logo = d / "logo.png"
    Image.new("RGB", (300, 100), LOGO_RGB).save(logo)  # 3:1, a colour the card does not use
    return {"dir": d, "photo": photo, "logo": logo}


@pytest.fixture(scope="module")
def classic(files):
    out = card.render_card_image(FULL, files["photo"], files["dir"] / "classic.png", logo_path=files["logo"],
                                 qr_text=QR_TEXT)
    return np.asarray(Image.open(out).convert("RGB"))


@pytest.fixture(scope="module")
def dark(files):
    out = card.render_card_image(FULL, files["photo"], files["dir"] / "dark.png", template="dark", qr_text=QR_TEXT)
    return np.asarray(Image.open(out).convert("RGB"))


def _region(img, box, margin=0):
    x, y, w, h = box
    return img[max(0, y - margin):y + h + margin, max(0, x - margin):x + w + margin]


def _near(region, rgb, tol=40):
    return np.abs(region.astype(int) - np.array(rgb)).max(axis=2) <= tol


def _decode_qr(img, box, margin=40):
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.cvtColor(_region(img, box, margin), cv2.COLOR_RGB2BGR))
    return text


def test_layouts_are_inside_the_card_with_an_even_video_box():
    assert card.CARD_SIZE == (1080, 1920) and card.DEFAULT_TEMPLATE == "classic"
    assert {"classic", "dark"} <= set(card.TEMPLATES)
    for tid in card.TEMPLATES:
        for size in (card.CARD_SIZE, (1920, 1080), (720, 1280)):
            lay = card.card_layout(tid, size)
            w, h = size
            assert lay.size == size
            x, y, vw, vh = lay.video_box
            assert all(v % 2 == 0 for v in lay.video_box)
            assert 0 <= x and 0 <= y and x + vw <= w and y + vh <= h and vw * vh > 0.2 * w * h
            assert card.video_box_aspect(tid, size) == pytest.approx(vw / vh)
            for box in (lay.logo_box, lay.info_box, lay.name_box, lay.qr_box, lay.footer_box):
                bx, by, bw, bh = box
                assert bw > 0 and bh > 0 and bx >= 0 and by >= 0 and bx + bw <= w and by + bh <= h, (tid, size, box)
            assert lay.qr_box[2] == lay.qr_box[3]


def test_classic_card_has_name_logo_and_qr(classic):
    lay = card.card_layout("classic")
    tpl = card.TEMPLATES["classic"]
    assert classic.shape == (1920, 1080, 3)
    # the name is drawn in its colour in the name box (a white panel otherwise)
    assert _near(_region(classic, lay.name_box), tpl.name_color).sum() > 2000
    # the logo: top-left of its box, aspect kept (3:1), and nowhere else outside the photo
    red = _near(classic, LOGO_RGB, 25)
    ys, xs = np.nonzero(red[: lay.video_box[1]])
    lx, ly, lw, lh = lay.logo_box
    assert xs.min() == pytest.approx(lx, abs=2) and ys.min() == pytest.approx(ly, abs=2)
    assert xs.max() < lx + lw and ys.max() < ly + lh
    assert (xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1) == pytest.approx(3.0, rel=0.05)
    vx, vy, vw, vh = lay.video_box
    red[vy:vy + vh, vx:vx + vw] = False
    assert red.sum() == len(xs)
    # the QR code decodes back to the text
    assert _decode_qr(classic, lay.qr_box) == QR_TEXT
    # the photo fills the video window (not the card's background)
    window = _region(classic, (vx + vw // 4, vy + vh // 4, vw // 2, vh // 2))
    assert window.std() > 30


def test_dark_template_differs_and_its_qr_reads(classic, dark):
    lay = card.card_layout("dark")
    assert dark.shape == classic.shape
    assert np.abs(dark.astype(int) - classic.astype(int)).mean() > 40
    fx, fy, fw, fh = lay.footer_box
    assert dark[fy:fy + fh, fx:fx + fw].mean() < 60  # dark background
    assert classic[fy:fy + fh, fx:fx + fw].mean() > 200  # light background
    assert _near(_region(dark, lay.name_box), card.TEMPLATES["dark"].name_color, 30).sum() > 2000
    assert _decode_qr(dark, lay.qr_box) == QR_TEXT


def test_qr_from_a_given_image_and_a_minimal_card(files):
    import segno

    qr_png = files["dir"] / "qr.png"
    segno.make("WIFI:T:WPA;S:demo;P:secret;;", error="h").save(str(qr_png), scale=6, border=2)
    out = card.render_card_image(card.CardText(name="Alice"), files["photo"], files["dir"] / "mini.png",
                                 qr_image_path=qr_png)
    img = np.asarray(Image.open(out).convert("RGB"))
    lay = card.card_layout()
    # a short text block is centred in the panel, the QR code moves with it (still inside the info box)
    assert _decode_qr(img, lay.info_box, 0) == "WIFI:T:WPA;S:demo;P:secret;;"


def test_chinese_text_uses_a_cjk_font(files):
    for bold in (False, True):
        font = card.card_font(40, bold)
        x0, y0, x1, y1 = font.getbbox("名")
        assert x1 - x0 > 20 and y1 - y0 > 20
        assert card._cjk_capable(font)
    text = card.CardText(name="欧阳娜娜", title="高级产品经理")
    out = card.render_card_image(text, files["photo"], files["dir"] / "zh.png", template="dark")
    img = np.asarray(Image.open(out).convert("RGB"))
    lay = card.card_layout("dark")
    assert _near(_region(img, lay.name_box), (255, 255, 255), 30).sum() > 1500  # white name over the dark fade


def test_long_lines_wrap_by_character_and_shrink_to_fit():
    font = card.card_font(32)
    zh = "北京市海淀区中关村大街一号海龙大厦十八层一八零八室，数字人名片演示地址，很长很长的一行文字。"
    lines = card.wrap_text(zh, font, 300)
    assert len(lines) > 3 and "".join(lines) == zh
    assert all(font.getlength(line) <= 300 + font.size for line in lines)  # closing punctuation may hang
    assert not any(line[0] in "，。" for line in lines)
    en = "Digital humans for every business and every language"
    lines = card.wrap_text(en, font, 260)
    assert " ".join(lines) == en  # words are kept whole
    assert all(font.getlength(line) <= 260 for line in lines)
    # a long name shrinks to stay on one line; at the smallest size it is cut with an ellipsis
    name_font, name_lines = card.fit_text("Maximilian Alexander von Habsburg-Lothringen", 500, 80, bold=True,
                                          min_size=40)
    assert len(name_lines) == 1 and name_font.size < 80 and name_font.getlength(name_lines[0]) <= 500
    cut_font, cut_lines = card.fit_text("Maximilian Alexander von Habsburg-Lothringen", 700, 80, bold=True)
    assert cut_lines == ["Maximilian Alexander von…"] and cut_font.size == 48  # the space survives the cut
    tiny_font, tiny_lines = card.fit_text(zh * 3, 300, 32, max_lines=2, min_size=24)
    assert len(tiny_lines) == 2 and tiny_lines[-1].endswith("…") and tiny_font.size == 24


def test_photo_crop_is_head_and_shoulders(files):
    from synthesis.photo.talking import find_face

    photo = cv2.imread(str(files["photo"]))
    for aspect in (card.video_box_aspect("classic"), card.video_box_aspect("dark"), 9 / 16):
        crop = card.card_photo_crop(photo, aspect)
        h, w = crop.shape[:2]
        assert w / h == pytest.approx(aspect, abs=0.01)
        assert h < photo.shape[0]  # tighter than the whole picture
    points = find_face(crop)
    face_w = np.ptp(points[:, 0])
    assert 0.25 * w < face_w < 0.75 * w
    assert 0.25 * w < points[:, 0].mean() < 0.75 * w


@pytest.mark.parametrize("kwargs, message", [
    ({"template": "neon"}, "unknown card template"),
    ({"text": card.CardText(name="  ")}, "needs a name"),
    ({"text": card.CardText(name="A", others=("1", "2", "3", "4"))}, "at most 3"),
    ({"logo_path": "notes"}, "logo"),
    ({"qr_image_path": "notes"}, "QR code"),
    ({"qr_text": "  "}, "qr_text"),
    ({"qr_text": "数字人" * 400}, "too long"),
    ({"photo_path": "notes"}, "photo"),
    ({"photo_path": "missing.png"}, "photo"),
    ({"size": (1081, 1920)}, "size"),
])  # fmt: skip
def test_bad_inputs_are_value_errors(files, kwargs, message):
    (files["dir"] / "notes").write_text("not an image")
    for key in ("logo_path", "qr_image_path", "photo_path"):
        if key in kwargs:
            kwargs[key] = files["dir"] / kwargs[key]
    args = {"text": FULL, "photo_path": files["photo"], "out_path": files["dir"] / "bad.png", **kwargs}
    with pytest.raises(ValueError, match=message):
        card.render_card_image(args.pop("text"), args.pop("photo_path"), args.pop("out_path"), **args)
    assert not (files["dir"] / "bad.png").exists()


# --- the video ----------------------------------------------------------------------------------------------

needs_ffmpeg = pytest.mark.skipif(not _tools.tool_available("ffmpeg"), reason="ffmpeg is not installed")


def _talking_clip(path, *, audio=True, seconds=2):
    args = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=320x400:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=24000:duration={seconds}", "-c:a", "aac"]
    subprocess.run([*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=60)
    return path


def _frame_at(path, seconds):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(seconds), "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True, timeout=60)
    return np.frombuffer(raw.stdout, np.uint8).reshape(1920, 1080, 3)


@needs_ffmpeg
def test_card_video_puts_the_clip_in_the_window(files):
    clip = _talking_clip(files["dir"] / "talk.mp4")
    out = files["dir"] / "card.mp4"
    seen = []
    card.render_card_video(FULL, clip, out, logo_path=files["logo"], qr_text=QR_TEXT,
                           progress=lambda pct, msg: seen.append(pct))
    info = probe(out)
    assert (info.width, info.height) == card.CARD_SIZE
    assert info.video_codec == "h264" and info.pix_fmt == "yuv420p"
    assert info.has_audio and info.audio_codec == "aac"
    assert info.duration_s == pytest.approx(2.0, abs=0.15)
    assert seen[-1] == 100 and seen == sorted(seen)
    frame = _frame_at(out, 1.0)
    lay = card.card_layout()
    vx, vy, vw, vh = lay.video_box
    # the test pattern's saturated bars fill the window ...
    inner = np.ascontiguousarray(frame[vy + 40:vy + vh - 40, vx + 40:vx + vw - 40])
    sat = cv2.cvtColor(inner, cv2.COLOR_RGB2HSV)[..., 1]
    assert (sat > 150).mean() > 0.3
    # ... and outside it the frame is the card (same pixels as the still background, up to the encoding)
    background = files["dir"] / "bg.png"
    card.render_card_background(FULL, background, logo_path=files["logo"], qr_text=QR_TEXT)
    bg = np.asarray(Image.open(background).convert("RGBA"))
    opaque = bg[..., 3] == 255
    assert opaque[vy + vh // 2, vx + vw // 2] == 0 and opaque.mean() > 0.5
    diff = np.abs(frame.astype(int) - bg[..., :3].astype(int)).max(axis=2)
    assert np.median(diff[opaque]) <= 3 and (diff[opaque] > 40).mean() < 0.01
    assert _decode_qr(frame, lay.qr_box) == QR_TEXT


@needs_ffmpeg
def test_card_video_keeps_a_silent_clip_silent_and_rejects_bad_input(files):
    clip = _talking_clip(files["dir"] / "silent.mp4", audio=False, seconds=1)
    out = card.render_card_video(card.CardText(name="Alice"), clip, files["dir"] / "silent_card.mp4",
                                 template="dark")
    info = probe(out)
    assert (info.width, info.height) == card.CARD_SIZE and not info.has_audio
    assert info.duration_s == pytest.approx(1.0, abs=0.15)
    with pytest.raises(ValueError, match="talking video"):
        card.render_card_video(FULL, files["dir"] / "missing.mp4", files["dir"] / "x.mp4")
    (files["dir"] / "notes.mp4").write_text("not a video")
    with pytest.raises(ValueError, match="talking video"):
        card.render_card_video(FULL, files["dir"] / "notes.mp4", files["dir"] / "x.mp4")
    with pytest.raises(ValueError, match="unknown card template"):
        card.render_card_video(FULL, clip, files["dir"] / "x.mp4", template="neon")
    assert not (files["dir"] / "x.mp4").exists()
