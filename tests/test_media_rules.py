"""synthesis.media.rules: SPEC.md section 2 media limits per asset type, and safe file names. No database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synthesis.media import MediaInfo, check, probe, rules, safe_filename, size_limit
from tests import media_samples as ms


def video(**fields) -> MediaInfo:
    base = dict(
        kind="video", container="mp4", size_bytes=1_000_000, duration_s=10.0, width=1920, height=1080, fps=25.0,
        video_codec="h264", audio_codec="aac", pix_fmt="yuv420p", sample_rate=48000, channels=2, has_audio=True,
    )  # fmt: skip
    return MediaInfo(**{**base, **fields})


def image(**fields) -> MediaInfo:
    base = dict(kind="image", container="png", size_bytes=50_000, width=640, height=360)
    return MediaInfo(**{**base, **fields})


def audio(**fields) -> MediaInfo:
    base = dict(kind="audio", container="mp3", size_bytes=100_000, duration_s=3.0, audio_codec="mp3", has_audio=True)
    return MediaInfo(**{**base, **fields})


def document(**fields) -> MediaInfo:
    return MediaInfo(**{"kind": "document", "container": "pptx", "size_bytes": 30_000, "pages": 2, **fields})


def codes(violations) -> list[str]:
    return [v.code for v in violations]


# --- video -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "container", "codec"),
    [
        ("a.mp4", "mp4", "h264"),
        ("a.mp4", "mp4", "hevc"),
        ("a.mp4", "mp4", "av1"),
        ("a.m4v", "m4v", "h264"),
        ("a.mov", "mov", "hevc"),
        ("a.mkv", "matroska", "hevc"),
        ("a.mkv", "matroska", "av1"),
        ("a.3gp", "3gp", "h264"),
        ("a.flv", "flv", "h264"),
        ("a.avi", "avi", "h264"),
        ("a.wmv", "wmv", "h264"),
        ("a.webm", "webm", "vp9"),
        ("a.webm", "webm", "vp8"),
        ("a.MP4", "mov", "h264"),  # ISO family: the brand may say QuickTime for an .mp4
    ],
)
def test_video_accepted(name, container, codec):
    assert check("VIDEO", name, video(container=container, video_codec=codec)) == []
    assert check("MATERIAL", name, video(container=container, video_codec=codec)) == []


@pytest.mark.parametrize(
    ("name", "container", "codec", "needle"),
    [
        ("a.webm", "matroska", "hevc", "H.265 is not allowed in WEBM"),  # HEVC muxed as Matroska, named .webm
        ("a.webm", "webm", "av1", "AV1 is not allowed in WEBM"),
        ("a.webm", "webm", "h264", "H.264 is not allowed in WEBM"),
        ("a.mp4", "mp4", "vp9", "VP9 video is only allowed in WEBM"),
        ("a.mkv", "matroska", "vp8", "VP8 video is only allowed in WEBM"),
        ("a.avi", "avi", "mpeg4", "MPEG-4 Part 2 is not supported"),
        ("a.wmv", "wmv", "wmv2", "WMV2 is not supported"),
    ],
)
def test_video_codec_rules(name, container, codec, needle):
    violations = check("VIDEO", name, video(container=container, video_codec=codec))
    assert codes(violations) == ["MEDIA.VIDEO_CODEC"]
    assert needle in violations[0].message and violations[0].field == "video_codec"


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [
        (1920, 1080, True),
        (1080, 1920, True),  # portrait 1080p
        (1280, 720, True),
        (3840, 2160, False),
        (2560, 1440, False),
        (1920, 1200, False),  # short side above 1080
        (1200, 1920, False),
        (2048, 1000, False),  # long side above 1920
    ],
)
def test_video_resolution(width, height, ok):
    violations = check("VIDEO", "a.mp4", video(width=width, height=height))
    assert codes(violations) == ([] if ok else ["MEDIA.RESOLUTION"])
    if not ok:
        assert f"{width}x{height}" in violations[0].message and "1080p" in violations[0].message


@pytest.mark.parametrize(
    ("fps", "ok"), [(25, True), (30, True), (29.97, True), (30.005, True), (30.5, False), (60, False)]
)
def test_video_fps(fps, ok):
    violations = check("VIDEO", "a.mp4", video(fps=fps))
    assert codes(violations) == ([] if ok else ["MEDIA.FPS"])


def test_video_duration_and_size():
    assert check("VIDEO", "a.mp4", video(duration_s=1800.0)) == []
    violations = check("VIDEO", "a.mp4", video(duration_s=1800.6))
    assert codes(violations) == ["MEDIA.DURATION"] and "30 min" in violations[0].message
    assert codes(check("VIDEO", "a.mp4", video(size_bytes=rules.MAX_VIDEO_BYTES - 1))) == []
    too_big = check("VIDEO", "a.mp4", video(size_bytes=rules.MAX_VIDEO_BYTES))
    assert codes(too_big) == ["MEDIA.FILE_TOO_LARGE"] and "1 GB" in too_big[0].message


def test_several_video_violations_are_all_reported():
    violations = check("VIDEO", "a.mp4", video(width=3840, height=2160, fps=60, duration_s=4000))
    assert codes(violations) == ["MEDIA.RESOLUTION", "MEDIA.FPS", "MEDIA.DURATION"]


def test_video_extension_and_content_must_agree():
    assert codes(check("VIDEO", "a.mpg", video())) == ["MEDIA.FORMAT"]
    assert "MP4, M4V, MKV, MOV, FLV, 3GP, WMV, AVI, WEBM" in check("VIDEO", "a.mpg", video())[0].message
    assert codes(check("VIDEO", "noextension", video())) == ["MEDIA.FORMAT"]
    mismatch = check("VIDEO", "a.mp4", video(container="webm", video_codec="vp9"))
    assert codes(mismatch) == ["MEDIA.CONTENT_MISMATCH"] and "named '.mp4'" in mismatch[0].message
    assert codes(check("VIDEO", "a.avi", video(container="mpegts"))) == ["MEDIA.CONTENT_MISMATCH"]


def test_video_declared_but_content_is_something_else():
    exe = MediaInfo(kind="unknown", container="elf", size_bytes=30_000, unsafe="an ELF executable")
    violations = check("VIDEO", "holiday.mp4", exe)
    assert codes(violations) == ["MEDIA.CONTENT_MISMATCH"]
    assert violations[0].message == "content is not a video: it is an ELF executable"
    sound = audio(container="m4a", audio_codec="aac")
    only_audio = check("VIDEO", "a.mp4", sound)
    assert codes(only_audio) == ["MEDIA.CONTENT_MISMATCH"] and "AAC audio" in only_audio[0].message
    unreadable = MediaInfo(kind="unknown", size_bytes=10, error="not a recognised audio or video file (moov atom)")
    violations = check("VIDEO", "a.mp4", unreadable)
    assert codes(violations) == ["MEDIA.UNREADABLE"] and "moov atom" in violations[0].message
    truncated = video(error="the file is truncated: 'mdat' needs 100 bytes, the file has 50")
    assert codes(check("VIDEO", "a.mp4", truncated)) == ["MEDIA.UNREADABLE"]


# --- image, audio, PPT, material, other types ------------------------------------------------------------


def test_images():
    assert check("IMAGE", "a.png", image()) == []
    assert check("IMAGE", "a.jpg", image(container="jpeg")) == []
    assert check("IMAGE", "a.JPEG", image(container="jpeg")) == []
    assert check("IMAGE", "portrait.png", image(width=1080, height=1920)) == []
    big = check("IMAGE", "a.png", image(width=2000, height=1000))
    assert codes(big) == ["MEDIA.RESOLUTION"] and "2000x1000" in big[0].message
    assert codes(check("IMAGE", "a.gif", image(container="gif"))) == ["MEDIA.FORMAT"]
    assert codes(check("IMAGE", "a.bmp", image(container="bmp"))) == ["MEDIA.FORMAT"]
    assert codes(check("IMAGE", "a.png", image(container="jpeg"))) == ["MEDIA.CONTENT_MISMATCH"]
    assert codes(check("IMAGE", "a.png", image(container="gif"))) == ["MEDIA.CONTENT_MISMATCH"]
    assert codes(check("IMAGE", "a.png", image(size_bytes=rules.MAX_IMAGE_BYTES))) == ["MEDIA.FILE_TOO_LARGE"]
    assert codes(check("IMAGE", "a.png", image(error="image cannot be decoded"))) == ["MEDIA.UNREADABLE"]
    assert codes(check("IMAGE", "a.png", video())) == ["MEDIA.CONTENT_MISMATCH"]


def test_music():
    assert check("MUSIC", "a.mp3", audio()) == []
    assert check("MUSIC", "a.m4a", audio(container="m4a", audio_codec="aac")) == []
    assert check("MUSIC", "a.m4a", audio(container="mp4", audio_codec="aac")) == []
    assert check("MUSIC", "a.wav", audio(container="wav", audio_codec="pcm_s16le", channels=2)) == []
    assert codes(check("MUSIC", "a.flac", audio(container="flac"))) == ["MEDIA.FORMAT"]
    assert codes(check("MUSIC", "a.mp3", audio(container="wav"))) == ["MEDIA.CONTENT_MISMATCH"]
    assert codes(check("MUSIC", "a.m4a", video(container="mp4"))) == ["MEDIA.CONTENT_MISMATCH"]
    too_big = check("MUSIC", "a.mp3", audio(size_bytes=rules.MAX_AUDIO_BYTES))
    assert codes(too_big) == ["MEDIA.FILE_TOO_LARGE"] and "500 MB" in too_big[0].message


def test_ppt():
    assert check("PPT", "deck.pptx", document()) == []
    assert check("PPT", "deck.pptx", document(pages=100)) == []
    assert check("PPT", "deck.pdf", document(container="pdf", pages=12)) == []
    assert check("PPT", "deck.ppt", document(container="ppt", pages=None)) == []  # counted after conversion
    long = check("PPT", "deck.pptx", document(pages=101))
    assert codes(long) == ["MEDIA.PAGES"] and "101 pages" in long[0].message and "100" in long[0].message
    assert codes(check("PPT", "deck.key", document())) == ["MEDIA.FORMAT"]
    assert codes(check("PPT", "deck.pptx", document(container="docx"))) == ["MEDIA.CONTENT_MISMATCH"]
    assert codes(check("PPT", "deck.pdf", document(container="pptx"))) == ["MEDIA.CONTENT_MISMATCH"]
    bomb = MediaInfo(kind="archive", container="zip", size_bytes=200_000, unsafe="entry expands 1029x (zip bomb?)")
    violations = check("PPT", "deck.pptx", bomb)
    assert codes(violations) == ["MEDIA.UNSAFE_ARCHIVE"] and "zip bomb" in violations[0].message
    linked = document(unsafe="document links an external image ('file:///etc/passwd')")
    assert codes(check("PPT", "deck.pptx", linked)) == ["MEDIA.UNSAFE_CONTENT"]


def test_material_is_an_image_or_a_video():
    assert check("MATERIAL", "bg.png", image()) == []
    assert check("MATERIAL", "clip.mp4", video()) == []
    assert codes(check("MATERIAL", "song.mp3", audio())) == ["MEDIA.FORMAT"]
    assert codes(check("MATERIAL", "clip.mp4", video(fps=60))) == ["MEDIA.FPS"]
    assert codes(check("MATERIAL", "bg.png", image(width=4000, height=3000))) == ["MEDIA.RESOLUTION"]


def test_types_without_media_rules():
    text = MediaInfo(kind="document", container="text", size_bytes=10)
    assert check("COMMON_FILE", "notes.txt", text) == []
    assert check("COMMON_FILE", "archive.zip", MediaInfo(kind="archive", container="zip", size_bytes=9)) == []
    assert check("common_file", "big.mp4", video(width=3840, height=2160, fps=60)) == []  # no video limits here
    exe = MediaInfo(kind="unknown", container="pe", size_bytes=10, unsafe="a Windows (PE) executable")
    assert codes(check("COMMON_FILE", "setup.exe", exe)) == ["MEDIA.UNSAFE_CONTENT"]
    broken = MediaInfo(kind="unknown", size_bytes=10, error="not a recognised audio or video file")
    assert codes(check("COMMON_FILE", "clip.mp4", broken)) == ["MEDIA.CONTENT_MISMATCH"]


def test_lower_case_asset_type_and_bad_names():
    assert check("video", "a.mp4", video()) == []
    assert codes(check("VIDEO", "../..", video())) == ["MEDIA.FILENAME"]


def test_size_limit():
    assert size_limit("VIDEO", "a.mp4") == rules.MAX_VIDEO_BYTES == 1024**3
    assert size_limit("MATERIAL", "a.png") == rules.MAX_IMAGE_BYTES
    assert size_limit("MUSIC", "a.wav") == rules.MAX_AUDIO_BYTES
    assert size_limit("PPT", "a.pptx") is None
    assert size_limit("COMMON_FILE", "a.bin") is None


def test_limits_are_module_constants():
    assert (rules.MAX_LONG_SIDE, rules.MAX_SHORT_SIDE, rules.MAX_VIDEO_FPS) == (1920, 1080, 30)
    assert rules.MAX_VIDEO_DURATION_S == 1800 and rules.MAX_PPT_PAGES == 100
    assert set(rules.VIDEO_EXTENSIONS) == {"mp4", "m4v", "mkv", "mov", "flv", "3gp", "wmv", "avi", "webm"}


# --- real files through probe + check (the bad inputs) --------------------------------------------


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    ms.need("ffmpeg", "ffprobe")
    d = tmp_path_factory.mktemp("rules")
    tiny = {"size": "64x64", "rate": 10, "seconds": 1, "audio": False}
    files = {
        "good.mp4": ms.make_video(d / "good.mp4"),
        "4k.mp4": ms.make_video(d / "4k.mp4", size="3840x2160", rate=1, seconds=1, audio=False),
        "60fps.mp4": ms.make_video(d / "60fps.mp4", size="160x120", rate=60, seconds=1, audio=False),
        "vp9.mp4": ms.make_video(
            d / "vp9.mp4", **tiny, vcodec=["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]
        ),
        "song.mp3": ms.make_mp3(d / "song.mp3"),
        "deck.pptx": ms.make_pptx(d / "deck.pptx"),
        "bomb.pptx": ms.make_zip_bomb(d / "bomb.pptx"),
        "picture.png": ms.make_image(d / "picture.png"),
    }
    if ms.encoder_available("libx265"):
        files["hevc.webm"] = ms.make_video(
            d / "hevc.webm", **tiny, vcodec=["-c:v", "libx265", "-x265-params", "log-level=error"], fmt="matroska"
        )
    if ms.encoder_available("libaom-av1"):
        files["av1.webm"] = ms.make_video(d / "av1.webm", **tiny, vcodec=["-c:v", "libaom-av1", "-cpu-used", "8"])
    shutil.copy("/bin/true", d / "true.mp4")
    files["true.mp4"] = d / "true.mp4"
    files["cut.mp4"] = ms.truncate_copy(files["good.mp4"], d / "cut.mp4")
    return files


@pytest.mark.parametrize(
    ("asset_type", "name", "expected", "needle"),
    [
        ("VIDEO", "good.mp4", [], ""),
        ("MUSIC", "song.mp3", [], ""),
        ("PPT", "deck.pptx", [], ""),
        ("IMAGE", "picture.png", [], ""),
        ("VIDEO", "4k.mp4", ["MEDIA.RESOLUTION"], "3840x2160"),
        ("VIDEO", "60fps.mp4", ["MEDIA.FPS"], "60 fps"),
        ("VIDEO", "vp9.mp4", ["MEDIA.VIDEO_CODEC"], "only allowed in WEBM"),
        ("VIDEO", "hevc.webm", ["MEDIA.VIDEO_CODEC"], "H.265 is not allowed in WEBM"),
        ("VIDEO", "av1.webm", ["MEDIA.VIDEO_CODEC"], "AV1 is not allowed in WEBM"),
        ("VIDEO", "true.mp4", ["MEDIA.CONTENT_MISMATCH"], "content is not a video"),
        ("VIDEO", "cut.mp4", ["MEDIA.UNREADABLE"], "cannot be read"),
        ("PPT", "bomb.pptx", ["MEDIA.UNSAFE_ARCHIVE"], "zip bomb"),
        ("IMAGE", "song.mp3", ["MEDIA.FORMAT"], "IMAGE files must be PNG, JPG, JPEG"),
    ],
)
def test_real_files(bad_inputs, asset_type, name, expected, needle):
    if name not in bad_inputs:
        pytest.skip(f"this ffmpeg build cannot encode the codec for {name}")
    violations = check(asset_type, name, probe(bad_inputs[name]))
    assert codes(violations) == expected, violations
    assert all(needle in v.message for v in violations)


def test_renamed_png_as_jpg_is_a_mismatch(bad_inputs, tmp_path):
    renamed = tmp_path / "photo.jpg"
    shutil.copy(bad_inputs["picture.png"], renamed)
    violations = check("IMAGE", renamed.name, probe(renamed))
    assert codes(violations) == ["MEDIA.CONTENT_MISMATCH"]
    assert violations[0].message == "the file is named '.jpg' but its content is a PNG image"


# --- safe_filename ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("clip.mp4", "clip.mp4"),
        ("../../etc/passwd", "passwd"),
        ("/var/lib/x/clip.mp4", "clip.mp4"),
        ("C:\\Users\\me\\视频\\演示.mp4", "演示.mp4"),
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("C:clip.mp4", "clip.mp4"),
        ("a\x00b.mp4", "ab.mp4"),
        ("tab\tand\nnewline.mp4", "tab and newline.mp4"),
        ("evil\u202egpj.exe", "evilgpj.exe"),  # right-to-left override removed
        (".hidden.png", "hidden.png"),
        ("  spaced   name  .png ", "spaced name .png"),
        ('what?<is>:this*|".png', "what__is__this___.png"),
        ("数字人 演示文稿（最终版）.pptx", "数字人 演示文稿（最终版）.pptx"),
        ("e\u0301te\u0301.png", "été.png"),  # NFC
        ("trailing.dots...", "trailing.dots"),
    ],
)
def test_safe_filename(raw, expected):
    assert safe_filename(raw) == expected


@pytest.mark.parametrize("raw", ["", " ", ".", "..", "...", "../", "/", "a/b/", "\x00\x01", "\u202e", "._ "])
def test_safe_filename_refuses_empty(raw):
    with pytest.raises(ValueError):
        safe_filename(raw)


def test_safe_filename_limits_bytes_and_keeps_extension():
    name = "数" * 200 + ".mp4"  # 604 bytes in UTF-8
    safe = safe_filename(name)
    assert len(safe.encode("utf-8")) <= 255 and safe.endswith(".mp4")
    assert safe == "数" * 83 + ".mp4"  # 83 * 3 + 4 = 253 bytes: no character cut in half
    long_ext = "a" * 300 + "." + "b" * 40
    assert len(safe_filename(long_ext).encode()) == 255
