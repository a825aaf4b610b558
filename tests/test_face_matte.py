"""Mattes (synthesis.face.matte): green-screen detection, the chroma key with spill suppression and the selfie
segmentation matte, checked against the generated astronaut frames whose person mask is known."""

from pathlib import Path

import numpy as np
import pytest

from synthesis.avatar import testmedia
from synthesis.face.matte import Matter, despill, detect_green_screen

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media" / "video"
SIZE = (256, 256)


def _frames(t=0.5):
    green = testmedia.render_frame(0.3, t, SIZE, green_screen=True)
    plain = testmedia.render_frame(0.3, t, SIZE)
    # The person is wherever the green-screen frame is not the screen colour (same geometry in both).
    truth = np.abs(green.astype(int) - np.array(testmedia.CHROMA_GREEN_BGR)).max(axis=2) > 40
    return green, plain, truth


def _iou(alpha, truth):
    person = alpha >= 128
    return (person & truth).sum() / (person | truth).sum()


def test_detect_green_screen():
    green, plain, _ = _frames()
    assert detect_green_screen([green, green]) is True
    assert detect_green_screen([plain]) is False
    assert detect_green_screen([]) is False


def test_chroma_key_alpha_and_despill():
    green, _, truth = _frames()
    with Matter(green_screen=True) as matter:
        alpha = matter.alpha(green)
    assert alpha.dtype == np.uint8 and alpha.shape == green.shape[:2]
    assert alpha[truth].mean() > 240 and alpha[~truth].mean() < 15
    assert _iou(alpha, truth) > 0.95
    soft = ((alpha > 10) & (alpha < 245)).mean()
    assert 0 < soft < 0.05  # a soft edge, not a wide blur

    spill = np.zeros((2, 2, 3), np.uint8)
    spill[0, 0] = (90, 160, 120)  # greenish edge pixel
    spill[0, 1] = (110, 140, 200)  # skin: red above green, untouched
    cleaned = despill(spill, np.full((2, 2), 255, np.uint8))
    assert cleaned[0, 0, 1] == 120 and tuple(cleaned[0, 1]) == (110, 140, 200)
    assert tuple(despill(spill, np.zeros((2, 2), np.uint8))[0, 0]) == (90, 160, 120)


def test_selfie_matte_follows_the_person():
    _, plain, truth = _frames()
    with Matter(green_screen=False) as matter:
        first = matter.alpha(plain)
        second = matter.alpha(plain)  # temporal smoothing keeps a still frame's matte still
    assert first.dtype == np.uint8 and first.shape == plain.shape[:2]
    assert np.percentile(first[truth], 10) > 200
    assert (first[~truth] < 128).mean() > 0.9
    assert _iou(first, truth) > 0.85
    assert np.abs(first.astype(int) - second.astype(int)).mean() < 3


def test_selfie_matte_landscape_full_hd():
    import cv2

    _, plain, _ = _frames()
    frame = cv2.copyMakeBorder(cv2.resize(plain, (1080, 1080)), 0, 0, 420, 420, cv2.BORDER_REPLICATE)
    with Matter(green_screen=False) as matter:
        alpha = matter.alpha(frame)
    assert alpha.shape == (1080, 1920)
    assert alpha[540, 960] > 200 and alpha[20:120, 20:120].mean() < 40


@pytest.mark.skipif(not MEDIA.is_dir(), reason="shared/media/video (real test footage) is not present")
def test_real_presenter_matte():
    from synthesis.face.landmarks import mesh_points, new_face_mesh
    from synthesis.face.video_io import read_frames

    reader = read_frames(MEDIA / "presenter_music_1280x720.mp4", size=(1280, 720))
    frames = [next(reader) for _ in range(3)]
    reader.close()
    assert detect_green_screen(frames) is False
    mesh = new_face_mesh(static=True)
    points, _ = mesh_points(mesh, frames[-1])
    mesh.close()
    with Matter(green_screen=False) as matter:
        for frame in frames:
            alpha = matter.alpha(frame)
    x, y = points[1, :2].astype(int)  # nose tip
    assert alpha[y, x] > 200
    assert (alpha < 128).mean() > 0.3  # a half-body shot: most of a room is background
