"""The talking-photo engine (synthesis.photo.talking) on the public-domain astronaut photo that ships with
scikit-image: hair and background stay put, the mouth opens with the driver as FaceMesh reads it back, blinks
close the eyes, a clip from text has its audio and length, and the 9:16 crop keeps the face inside."""

import functools

import numpy as np
import pytest

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image (a dev dependency) gives the test photo")
cv2 = pytest.importorskip("cv2")

from synthesis.face import landmarks as lm  # noqa: E402
from synthesis.photo import talking  # noqa: E402


@functools.lru_cache(maxsize=1)
def _photo() -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR))


@functools.lru_cache(maxsize=1)
def _talker() -> talking.TalkingPhoto:
    return talking.TalkingPhoto(_photo())


def _measure(frame):
    mesh = lm.new_face_mesh(static=True)
    try:
        points, _ = lm.mesh_points(mesh, frame)
    finally:
        mesh.close()
    assert points is not None
    return points


def _psnr(a, b) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_rest_frame_keeps_hair_and_background():
    tp = _talker()
    photo = _photo()
    outside = np.ones(photo.shape[:2], bool)
    outside[tp.ry0:tp.ry1, tp.rx0:tp.rx1] = False
    for frame in (tp.frame(), tp.frame(0.8, 0.3, 1.0, 2.0, -1.5)):
        assert _psnr(frame[outside], photo[outside]) > 30
    # at rest the face region itself differs from the photo only around the (closed) mouth
    rest = tp.frame()
    mouth = np.zeros(photo.shape[:2], bool)
    x0, y0, x1, y1 = lm.face_box(tp.points[list(lm.LIPS_OUTER)])
    pad = int(0.5 * tp.iod)
    mouth[int(y0) - pad:int(y1) + 2 * pad, int(x0) - pad:int(x1) + pad] = True
    assert _psnr(rest[~mouth], photo[~mouth]) > 30


def test_opening_follows_the_driver_and_blink_closes_the_eyes():
    tp = _talker()
    levels = (0.0, 0.3, 0.6, 0.9)
    openings = [float(lm.mouth_opening(_measure(tp.frame(v)))) for v in levels]
    assert all(b > a + 0.02 for a, b in zip(openings, openings[1:], strict=False)), openings
    assert openings[0] < 0.12  # the photo's smile (0.16) is closed at rest
    open_eyes = float(lm.eye_openness(_measure(tp.frame())))
    closed = float(lm.eye_openness(_measure(tp.frame(blink=1.0))))
    assert closed < 0.85 * open_eyes, (open_eyes, closed)


def test_mouth_track_from_phonemes():
    from synthesis.speech.types import PhonemeTiming

    phonemes = [PhonemeTiming("m", 0.2, 0.3), PhonemeTiming("a", 0.3, 0.6), PhonemeTiming("p", 0.6, 0.7),
                PhonemeTiming("u", 0.7, 0.9)]
    t = np.arange(16000) / 16000.0
    pcm = (0.3 * np.sin(2 * np.pi * 150 * t) * ((t > 0.2) & (t < 0.9))).astype(np.float32)
    opening, width = talking.photo_mouth_track(pcm, 25, phonemes)
    assert opening.shape == width.shape == (25,)
    assert opening[:3].max() < 0.05 and opening[10:14].max() > 0.6  # rest, then the open "a"
    assert width[19:22].min() < -0.3  # rounded "u"
    loud_only, _ = talking.photo_mouth_track(pcm, 25, align=False)
    assert loud_only[:4].max() < 0.05 and loud_only[8:20].mean() > 0.3


def test_clip_from_text_has_audio_and_length(tmp_path):
    from synthesis.media.probe import probe

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), _photo())
    out = talking.render_talking_photo(photo, tmp_path / "talk.mp4", text="Hello there, I am a photo.",
                                       voice_id="espeak-en-us-f")
    info = probe(out)
    assert info.error is None and info.has_audio
    assert (info.width, info.height) == (512, 512) and info.fps == 25
    from synthesis.speech.synth import synthesize

    speech = synthesize("Hello there, I am a photo.", voice_id="espeak-en-us-f")
    assert abs(info.duration_s - speech.duration) < 0.15


def test_aspect_crop_places_the_face():
    img = talking.prepare_photo(_photo(), aspect="9:16", max_side=1080)
    h, w = img.shape[:2]
    assert abs(w / h - 9 / 16) < 0.01
    points = _measure(img)
    x0, y0, x1, y1 = lm.face_box(points)
    assert 0 <= x0 and x1 <= w and 0 <= y0 and y1 <= h
    eyes_y = float(np.mean([c[1] for c in lm.eye_centers(points)]))
    assert abs((x0 + x1) / 2 - w / 2) < 0.1 * w
    assert eyes_y < 0.5 * h
    wide = talking.prepare_photo(_photo(), aspect="16:9")
    assert abs(wide.shape[1] / wide.shape[0] - 16 / 9) < 0.01
    with pytest.raises(ValueError):
        talking.prepare_photo(_photo(), aspect="4:3")


def _mouth_gap(tp, frame, opening):
    """The frame's upper-gap band (just under the upper lip), its middle band and the inner-lip polygon mask
    at `opening`, around the midline."""
    verts = tp._moved(opening=opening)
    yu, yl = float(verts[lm.UPPER_INNER_LIP, 1]), float(verts[lm.LOWER_INNER_LIP, 1])
    xc = int(round(verts[lm.UPPER_INNER_LIP, 0]))
    half = int(0.28 * tp.iod)
    teeth = frame[int(yu + 0.2 * (yl - yu)):int(yu + 0.3 * (yl - yu)) + 1, xc - half:xc + half + 1]
    middle = frame[int(yu + 0.5 * (yl - yu)):int(yu + 0.6 * (yl - yu)) + 1, xc - half // 2:xc + half // 2 + 1]
    mask = np.zeros(frame.shape[:2], np.uint8)
    poly = np.concatenate([verts[list(talking.UPPER_INNER)], verts[list(talking.LOWER_INNER)][::-1][1:-1]])
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 255)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    return teeth, middle, mask > 0


def test_open_mouth_shows_separate_teeth_over_a_dark_throat():
    tp = _talker()
    frame = tp.frame(0.8)
    teeth, middle, _ = _mouth_gap(tp, frame, 0.8)
    hsv_t = cv2.cvtColor(np.ascontiguousarray(teeth), cv2.COLOR_BGR2HSV)
    throat_v = float(np.median(cv2.cvtColor(np.ascontiguousarray(middle), cv2.COLOR_BGR2HSV)[..., 2]))
    bright = (hsv_t[..., 2] > throat_v + 80) & (hsv_t[..., 1] < 90)
    assert bright.mean() > 0.4, (bright.mean(), throat_v)
    # the teeth are separate: across the row of teeth the brightness dips between them
    profile = teeth.astype(np.float32).mean(axis=(0, 2))
    dips = [i for i in range(1, len(profile) - 1) if profile[i] < profile[i - 1] and profile[i] <= profile[i + 1]
            and profile[i] < 0.85 * min(profile[max(0, i - 3):i].max(), profile[i + 1:i + 4].max())]
    assert len(dips) >= 3, profile.round()


def test_greyscale_photo_gets_a_grey_mouth():
    tp = _talker()
    grey = cv2.cvtColor(cv2.cvtColor(_photo(), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    frame = talking.TalkingPhoto(grey, tp.points).frame(0.9)
    _, _, inside = _mouth_gap(tp, frame, 0.9)
    px = frame[inside].astype(np.int32)
    assert len(px) > 200
    chroma = px.max(axis=1) - px.min(axis=1)
    assert chroma.max() <= 3, np.percentile(chroma, [50, 99, 100])


def test_motion_tracks_of_a_clip_shorter_than_a_second_keep_its_length():
    from synthesis.photo.talking import motion_tracks

    tracks = motion_tracks(7, 25, np.linspace(0, 1, 7, dtype=np.float32))
    assert {len(track) for track in tracks.values()} == {7}


def test_a_frame_depends_only_on_its_drivers_and_clones_share_nothing_they_write():
    """The breathing band is resampled from the photo every frame: after seconds of breathing a frame equals the
    same frame from a fresh clone (resampling the last frame's band blurred and drifted the body frame after
    frame), and drawing with one clone leaves another's frames unchanged."""
    first, second = _talker().clone(), _talker().clone()
    drivers = (0.6, 0.3, 0.0, 1.5, -1.0, 0.8)
    expected = second.frame(*drivers)
    for i in range(100):
        first.frame(0.4 * (i % 3), 0.0, 0.0, 1.0, 0.5, float(np.sin(i / 5)), copy=False)
    assert np.array_equal(first.frame(*drivers), expected)
    assert np.array_equal(second.frame(*drivers), expected)
