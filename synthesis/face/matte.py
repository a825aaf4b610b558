"""Mattes: which pixels are the person (alpha 255) and which the background (0).

Green screen: a chroma key on the frame's CbCr distance to the screen colour (learnt from the frame's border),
soft between two thresholds, with green spill suppressed by `despill`. Otherwise: mediapipe's selfie
segmentation (bundled model) run on a small copy of the frame, refined at a quarter of the frame size with a
guided filter that snaps the edge to the picture's own edges, smoothed a little over time, and scaled up."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A pixel is "screen green" in OpenCV HSV (hue 0-180) inside these bounds.
GREEN_HUE = (35, 90)
GREEN_MIN_SAT = 70
GREEN_MIN_VAL = 50
# Share of the border pixels that must be screen green for a frame to count as shot on a green screen.
GREEN_BORDER_SHARE = 0.6
BORDER = 0.06  # width of the border strips, as a share of the frame size

# Chroma key: CbCr distance to the key colour below KEY_NEAR is background, above KEY_FAR is the person.
KEY_NEAR = 22.0
KEY_FAR = 48.0
KEY_MAX_SIDE = 960  # the key is computed at most at this size, then scaled up

SEGMENT_WIDTH = 256  # selfie segmentation input width
REFINE_MAX_SIDE = 480  # the guided filter runs at this size
TEMPORAL = 0.35  # weight of the previous frame's matte


def _border_pixels(frame: np.ndarray) -> np.ndarray:
    """Top, left and right strips (the bottom is usually the person's body)."""
    h, w = frame.shape[:2]
    bw, bh = max(2, int(w * BORDER)), max(2, int(h * BORDER))
    return np.concatenate([frame[:bh].reshape(-1, 3), frame[:, :bw].reshape(-1, 3), frame[:, -bw:].reshape(-1, 3)])


def _green_share(pixels_bgr: np.ndarray) -> float:
    import cv2

    hsv = cv2.cvtColor(pixels_bgr.reshape(-1, 1, 3), cv2.COLOR_BGR2HSV).reshape(-1, 3)
    green = (
        (hsv[:, 0] >= GREEN_HUE[0]) & (hsv[:, 0] <= GREEN_HUE[1])
        & (hsv[:, 1] >= GREEN_MIN_SAT) & (hsv[:, 2] >= GREEN_MIN_VAL)
    )  # fmt: skip
    return float(green.mean()) if len(green) else 0.0


def green_share(frame_bgr: np.ndarray) -> float:
    """Share of a frame's border pixels (top, left, right) that are chroma-key green."""
    return _green_share(_border_pixels(frame_bgr))


def detect_green_screen(frames: Sequence[np.ndarray]) -> bool:
    """Whether the video was shot on a green screen: most border pixels green in most frames."""
    shares = [green_share(f) for f in frames if f is not None and f.size]
    return bool(shares) and float(np.median(shares)) >= GREEN_BORDER_SHARE


def key_color(frame_bgr: np.ndarray) -> np.ndarray:
    """(Cr, Cb) of the screen: the median of the green border pixels (a standard chroma green if none)."""
    import cv2

    pixels = _border_pixels(frame_bgr)
    hsv = cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_BGR2HSV).reshape(-1, 3)
    green = (hsv[:, 0] >= GREEN_HUE[0]) & (hsv[:, 0] <= GREEN_HUE[1]) & (hsv[:, 1] >= GREEN_MIN_SAT)
    chosen = pixels[green] if green.sum() >= 16 else np.array([[64, 177, 0]], np.uint8)
    ycc = cv2.cvtColor(chosen.reshape(-1, 1, 3), cv2.COLOR_BGR2YCrCb).reshape(-1, 3)
    return np.median(ycc[:, 1:], axis=0).astype(np.float32)


def chroma_alpha(frame_bgr: np.ndarray, key: np.ndarray) -> np.ndarray:
    """uint8 alpha from the CbCr distance to the key colour, soft between KEY_NEAR and KEY_FAR."""
    import cv2

    ycc = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2YCrCb)
    cr = ycc[..., 1].astype(np.float32) - key[0]
    cb = ycc[..., 2].astype(np.float32) - key[1]
    dist = cv2.magnitude(cr, cb)
    alpha = (dist - KEY_NEAR) * (255.0 / (KEY_FAR - KEY_NEAR))
    return np.clip(alpha, 0, 255).astype(np.uint8)


def despill(frame_bgr: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """Remove green spill: green is limited to the larger of red and blue (skin and hair have red > green, so
    they keep their colour). With `alpha`, only the person's pixels (alpha > 0) are changed."""
    b, g, r = frame_bgr[..., 0], frame_bgr[..., 1], frame_bgr[..., 2]
    limited = np.minimum(g, np.maximum(r, b))
    out = frame_bgr.copy()
    if alpha is None:
        out[..., 1] = limited
    else:
        out[..., 1] = np.where(alpha > 0, limited, g)
    return out


class Matter:
    """Per-frame mattes of one video (frames in order): `alpha(frame)` -> uint8 (H, W), person = 255."""

    def __init__(self, green_screen: bool):
        self.green_screen = bool(green_screen)
        self._key: np.ndarray | None = None
        self._segmenter = None
        self._previous: np.ndarray | None = None

    def __enter__(self) -> Matter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def close(self) -> None:
        if self._segmenter is not None:
            self._segmenter.close()
            self._segmenter = None
        self._previous = None

    def alpha(self, frame_bgr: np.ndarray) -> np.ndarray:
        return self._chroma(frame_bgr) if self.green_screen else self._segment(frame_bgr)

    # --- green screen ---

    def _chroma(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        if self._key is None:
            self._key = key_color(frame)
        h, w = frame.shape[:2]
        if max(h, w) <= KEY_MAX_SIDE:
            alpha = chroma_alpha(frame, self._key)
            return cv2.GaussianBlur(alpha, (3, 3), 0)
        k = KEY_MAX_SIDE / max(h, w)
        small = cv2.resize(frame, (max(2, round(w * k)), max(2, round(h * k))), interpolation=cv2.INTER_AREA)
        alpha = cv2.GaussianBlur(chroma_alpha(small, self._key), (3, 3), 0)
        return cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)

    # --- selfie segmentation ---

    def _segment(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        h, w = frame.shape[:2]
        if self._segmenter is None:
            import mediapipe as mp

            landscape = w > h * 1.2
            self._segmenter = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1 if landscape else 0)
        k = min(1.0, REFINE_MAX_SIDE / max(h, w))
        rw, rh = max(2, round(w * k)), max(2, round(h * k))
        reduced = cv2.resize(frame, (rw, rh), interpolation=cv2.INTER_AREA) if k < 1 else frame
        seg_w = SEGMENT_WIDTH
        seg_h = max(2, round(h * seg_w / w))
        small = cv2.resize(reduced, (seg_w, seg_h), interpolation=cv2.INTER_AREA)
        mask = self._segmenter.process(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)).segmentation_mask
        coarse = cv2.resize(np.asarray(mask, np.float32), (rw, rh), interpolation=cv2.INTER_LINEAR)
        guide = cv2.cvtColor(reduced, cv2.COLOR_BGR2GRAY)  # a grey guide: 7x faster than colour, edges as good
        radius = max(2, round(max(rw, rh) / 80))
        refined = cv2.ximgproc.guidedFilter(guide, coarse, radius, 1e-3)
        # Sharpen the soft probability into a matte with a narrow transition, then smooth over time.
        # (the guided filter gives NaN on a perfectly flat guide, e.g. a black frame: treat it as background)
        refined = np.clip(np.nan_to_num((refined - 0.5) * 3.0 + 0.5, nan=0.0), 0.0, 1.0)
        if self._previous is not None and self._previous.shape == refined.shape:
            refined = (1 - TEMPORAL) * refined + TEMPORAL * self._previous
        self._previous = refined
        alpha = (refined * 255.0 + 0.5).astype(np.uint8)
        if (rw, rh) != (w, h):
            alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        return alpha


__all__ = ["Matter", "chroma_alpha", "despill", "detect_green_screen", "green_share", "key_color"]
