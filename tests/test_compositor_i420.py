"""The compositor's own RGB -> 4:2:0 conversion for H.264 (synthesis.compose.compositor._I420): the BT.709 and
BT.601 video-range formulas rounded to nearest, chroma averaged over 2x2 blocks, and converting only the
boxes drawn over a scene's background gives the same bytes as converting the whole frame."""

import numpy as np
import pytest

from synthesis.compose.compositor import _I420, _Changes

W, H = 64, 48


def _planes(out: np.ndarray):
    flat = out.reshape(-1)
    q = (W // 2) * (H // 2)
    return out[:H], flat[W * H:W * H + q].reshape(H // 2, W // 2), flat[W * H + q:].reshape(H // 2, W // 2)


@pytest.mark.parametrize("matrix, kr, kb", [("bt709", 0.2126, 0.0722), ("bt601", 0.299, 0.114)])
def test_a_flat_colour_gets_the_video_range_values_of_its_matrix(matrix, kr, kb):
    r, g, b = 200, 40, 90
    frame = np.empty((H, W, 3), np.uint8)
    frame[:] = (b, g, r)
    y, u, v = _planes(_I420((W, H), matrix)(frame, np.empty((H * 3 // 2, W), np.uint8)))
    luma = kr * r + (1 - kr - kb) * g + kb * b
    assert np.all(y == round(16 + 219 * luma / 255))
    assert np.all(u == round(128 + 224 * (b - luma) / (2 * (1 - kb)) / 255))
    assert np.all(v == round(128 + 224 * (r - luma) / (2 * (1 - kr)) / 255))


def test_chroma_is_the_average_of_each_2x2_block():
    frame = np.zeros((H, W, 3), np.uint8)
    frame[:, 1::2] = (255, 255, 255)  # alternate black and white columns: every block is half grey
    _, u, v = _planes(_I420((W, H), "bt709")(frame, np.empty((H * 3 // 2, W), np.uint8)))
    assert np.all(u == 128) and np.all(v == 128)


def test_converting_only_the_drawn_boxes_gives_the_same_bytes():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (H, W, 3), np.uint8)
    partial, whole = _I420((W, H), "bt709"), _I420((W, H), "bt709")
    for boxes in ([], [(3, 5, 20, 17)], [(0, 0, 64, 1), (63, 47, 64, 48)], [(10, 10, 40, 30), (30, 20, 61, 47)]):
        frame = base.copy()
        for x0, y0, x1, y1 in boxes:
            frame[y0:y1, x0:x1] = rng.integers(0, 256, (y1 - y0, x1 - x0, 3), np.uint8)
        got = partial(frame, np.empty((H * 3 // 2, W), np.uint8), _Changes(base, boxes))
        assert np.array_equal(got, whole(frame, np.empty((H * 3 // 2, W), np.uint8))), boxes
