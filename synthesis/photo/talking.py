"""Talking photo: a piecewise-affine warp of the face mesh driven by a mouth track.

FaceMesh runs once on the photo. The control points are the mesh (iris excluded) plus a ring of fixed anchors
(the face oval pushed outward and the warp region's border), so hair and background never move. Every motion
(jaw opening at a few levels, mouth width, blink, head yaw and pitch) is precomputed once as an exact backward
map (dest pixel -> photo pixel, piecewise affine over a Delaunay triangulation of the moved points); a frame
only adds the scaled fields inside their own boxes, remaps the face region (float32 maps, reused buffers) and
paints the mouth interior (throat, teeth, tongue, colour-matched to the photo's lips) where the lips part.
A photo whose mouth is open is closed first, so the rest pose is a closed mouth.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from synthesis.face import landmarks as lm

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# Eyelids, outer corner -> inner corner (left eye of the image) / inner -> outer (right eye), upper and lower
# paired, and the skin fold above each upper lid.
UPPER_LIDS = ((246, 161, 160, 159, 158, 157, 173), (398, 384, 385, 386, 387, 388, 466))
LOWER_LIDS = ((7, 163, 144, 145, 153, 154, 155), (382, 381, 380, 374, 373, 390, 249))
LID_FOLDS = ((247, 30, 29, 27, 28, 56, 190), (414, 286, 258, 257, 259, 260, 467))
LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)

MAX_OPEN_IOD = 0.42  # inner-lip gap added at opening 1.0, in inter-ocular distances
OPEN_LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
WIDTH_IOD = 0.07  # mouth-corner shift at width +-1
YAW_REF = math.radians(3.0)  # head_yaw / head_pitch are in degrees; fields are built at 3 degrees
MAP_STRIDE = 2  # backward maps are computed on a 2-pixel grid and upsampled (they are smooth)


# Tooth edges from the midline as seen from the front, in inter-ocular distances (incisors, canine, premolars),
# and each tooth's visible length relative to the central incisor.
UPPER_TEETH = np.array([0.0, 0.13, 0.22, 0.285, 0.335, 0.38, 0.42], np.float32)
UPPER_LEN = np.array([1.0, 0.88, 0.97, 0.8, 0.74, 0.68], np.float32)
LOWER_TEETH = np.array([0.0, 0.085, 0.165, 0.225, 0.275, 0.32], np.float32)
LOWER_LEN = np.array([1.0, 1.0, 0.93, 0.82, 0.76], np.float32)
TEETH_TABLE_STEPS = 4  # tooth profiles are tabulated every 1/4 pixel


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _tint(colour: np.ndarray, lum: float, chroma: float) -> np.ndarray:
    """`colour` (BGR) with its chroma scaled by `chroma` and its mean brought to `lum` (grey stays grey)."""
    c = np.asarray(colour, np.float32)
    g = float(c.mean())
    return ((g + chroma * (c - g)) * (lum / max(g, 1.0))).astype(np.float32)


def _teeth_columns(adx: np.ndarray, bounds: np.ndarray, lengths: np.ndarray, canine: int, iod: float):
    """Per column at `adx` inter-ocular distances from the midline: the tooth's relative length (0 past the
    last tooth), how far its incisal edge is lifted (rounded corners, a pointed canine), how close the column is
    to a separation between teeth (1 on it), and the position across the tooth (-1..1)."""
    n = len(lengths)
    k = np.clip(np.searchsorted(bounds, adx, side="right") - 1, 0, n - 1)
    lo, hi = bounds[k], bounds[k + 1]
    t = np.clip((adx - lo) / (hi - lo), 0, 1)
    c = 2 * t - 1
    length = np.where(adx < bounds[-1], lengths[k], 0).astype(np.float32)
    lift = np.where(k == canine, 0.35 * np.abs(c) ** 1.6, 0.4 * c**8).astype(np.float32)
    width = max(0.6, 0.007 * iod)
    d = np.minimum(adx - lo, hi - adx) * iod
    sep = np.exp(-((d / width) ** 2)).astype(np.float32)
    return length, lift, sep, c.astype(np.float32), k


class _Field:
    """A backward displacement (dx, dy) inside a box (x0, y0, x1, y1) of the warp region."""

    def __init__(self, dx: np.ndarray, dy: np.ndarray, box: tuple[int, int, int, int]):
        self.dx, self.dy, self.box = dx, dy, box

    def add_to(self, mx: np.ndarray, my: np.ndarray, scale: float) -> None:
        x0, y0, x1, y1 = self.box
        if scale == 0 or x1 <= x0:
            return
        mx[y0:y1, x0:x1] += np.float32(scale) * self.dx
        my[y0:y1, x0:x1] += np.float32(scale) * self.dy


def find_face(image: np.ndarray) -> np.ndarray:
    """FaceMesh points (478, 3) of the photo's face; a wide picture is also tried in square crops (the face
    detector looks for faces that fill a good part of the frame). ValueError when there is none."""
    h, w = image.shape[:2]
    side = min(w, h)
    tries = [(0, 0, w, h)]
    if abs(w - h) > 0.1 * side:
        starts = np.linspace(0, max(w, h) - side, 3).astype(int)
        tries += [(s, 0, s + side, h) if w > h else (0, s, w, s + side) for s in (starts[1], starts[0], starts[2])]
    mesh = lm.new_face_mesh(static=True)
    try:
        for x0, y0, x1, y1 in tries:
            points, _ = lm.mesh_points(mesh, np.ascontiguousarray(image[y0:y1, x0:x1]))
            if points is not None:
                return points + np.array([x0, y0, 0], np.float32)
    finally:
        mesh.close()
    raise ValueError("no face found in the photo")


class TalkingPhoto:
    """Frame-level talking photo: `frame(opening, width, blink, head_yaw, head_pitch, breath)` -> BGR frame.

    opening 0..1 (closed..wide), width -1..1 (rounded..spread), blink 0..1 (open..closed), head_yaw and
    head_pitch in degrees (a few), breath -1..1 (shoulders down..up, a few pixels)."""

    def __init__(self, photo_bgr: np.ndarray, points: np.ndarray | None = None):
        import cv2

        self.photo = np.ascontiguousarray(photo_bgr[:, :, :3])
        self.h, self.w = self.photo.shape[:2]
        if points is None:
            points = find_face(self.photo)
        self.points = np.asarray(points, np.float32)
        p = self.points[:468].astype(np.float64)
        self.iod = float(lm.interocular(self.points))
        self._setup_region(p)
        self.rest = self._rest_points(p)
        self._build_fields(p)
        self._colours(cv2)
        self._teeth_tables()
        self._out = self.photo.copy()
        self._mx = np.empty((self.ry1 - self.ry0, self.rx1 - self.rx0), np.float32)
        self._my = np.empty_like(self._mx)

    def clone(self) -> TalkingPhoto:
        """The same talking photo with its own frame buffers, sharing the precomputed motion fields, maps,
        colours and teeth tables (never written after construction): another scene with the same photo starts
        without running FaceMesh and the warp set-up again (~0.6 s at 512 px)."""
        twin = copy.copy(self)
        twin._out = self.photo.copy()
        twin._mx, twin._my = np.empty_like(self._mx), np.empty_like(self._my)
        twin._band_y = np.empty_like(self._band_y)
        return twin

    # --- geometry ------------------------------------------------------------------------------------------

    def _setup_region(self, p: np.ndarray) -> None:
        iod = self.iod
        oval = p[list(FACE_OVAL), :2]
        centre = p[lm.NOSE_TIP, :2]
        rel = oval - centre
        scale = np.where(rel[:, 1:2] > 0, [[1.45, 1.9]], [[1.45, 1.35]])
        ring = centre + rel * scale
        ring[:, 0] = np.clip(ring[:, 0], 0, self.w - 1)
        ring[:, 1] = np.clip(ring[:, 1], 0, self.h - 1)
        margin = 0.15 * iod
        x0, y0 = np.floor(ring.min(0) - margin).astype(int)
        x1, y1 = np.ceil(ring.max(0) + margin).astype(int)
        self.rx0, self.ry0 = max(0, int(x0)), max(0, int(y0))
        self.rx1, self.ry1 = min(self.w, int(x1) + 1), min(self.h, int(y1) + 1)
        border = []
        for t in np.linspace(0, 1, 9):
            xs = self.rx0 + t * (self.rx1 - 1 - self.rx0)
            ys = self.ry0 + t * (self.ry1 - 1 - self.ry0)
            border += [(xs, self.ry0), (xs, self.ry1 - 1), (self.rx0, ys), (self.rx1 - 1, ys)]
        self.anchors = np.concatenate([ring, np.array(border)])
        # the breathing band: from below the face ring to the bottom of the picture
        chin = p[lm.CHIN, 1]
        self.by0 = int(min(self.h - 2, max(0, chin + 0.8 * iod)))
        self.breath_px = max(1.0, 0.004 * self.h)

    def _jaw_weights(self, p: np.ndarray) -> np.ndarray:
        """How far each mesh point follows the lower inner lip when the jaw opens (1 = as far as the lip)."""
        iod = self.iod
        x, y = p[:, 0], p[:, 1]
        corners = p[list(lm.OUTER_MOUTH_CORNERS), :2]
        xc = float(p[[lm.UPPER_INNER_LIP, lm.LOWER_INNER_LIP], 0].mean())
        y_corner = float(corners[:, 1].mean())
        y_lip = float(p[lm.LOWER_INNER_LIP, 1])
        eyes = np.array(lm.eye_centers(self.points))
        y_pivot = float(eyes[:, 1].mean()) + 0.25 * (float(p[lm.CHIN, 1]) - float(eyes[:, 1].mean()))
        jaw_half = 0.5 * abs(float(p[lm.RIGHT_CHEEK, 0] - p[lm.LEFT_CHEEK, 0]))
        below = _smoothstep((y - (y_corner - 0.05 * iod)) / (0.3 * iod))
        side = 1.0 - 0.8 * _smoothstep(np.abs(x - xc) / max(jaw_half, 1.0))
        rot = np.clip((y - y_pivot) / max(y_lip - y_pivot, 1.0), 0.0, 1.2)
        wgt = below * side * rot
        half_mouth = max(0.5 * abs(float(corners[1, 0] - corners[0, 0])), 1.0)
        for idx in (LOWER_INNER, LOWER_OUTER):
            t = np.clip(np.abs(x[list(idx)] - xc) / half_mouth, 0, 1)
            wgt[list(idx)] = 1.0 - 0.65 * t * t
        for idx in (UPPER_INNER, UPPER_OUTER):
            t = np.clip(np.abs(x[list(idx)] - xc) / half_mouth, 0, 1)
            wgt[list(idx)] = -0.12 * (1 - t * t)
        for idx in (*lm.OUTER_MOUTH_CORNERS, *lm.INNER_MOUTH_CORNERS):
            wgt[idx] = 0.3
        return wgt

    def _rest_points(self, p: np.ndarray) -> np.ndarray:
        """The photo's mesh with the mouth closed (lower lip moved up to the upper lip)."""
        q = p[:, :2].copy()
        self.jaw = self._jaw_weights(p)
        gap = float(p[lm.LOWER_INNER_LIP, 1] - p[lm.UPPER_INNER_LIP, 1])
        self.closed_gap = gap
        if gap > 0.02 * self.iod:
            q[:, 1] -= gap * np.clip(self.jaw, 0, None)
            upper = p[list(UPPER_INNER), :2]
            order = np.argsort(upper[:, 0])
            for k, (li, lo) in enumerate(zip(LOWER_INNER, LOWER_OUTER, strict=True)):
                target = np.interp(p[li, 0], upper[order, 0], upper[order, 1]) + (0.0 if k in (0, 10) else 0.4)
                shift = target - q[li, 1]
                q[li, 1] += shift
                if k not in (0, 10):
                    q[lo, 1] += shift
        return q

    def _moved(self, opening: float = 0.0, width: float = 0.0, blink: float = 0.0, yaw: float = 0.0,
               pitch: float = 0.0, p: np.ndarray | None = None) -> np.ndarray:
        """Mesh points (468, 2) of the rest pose moved by the given drivers (yaw/pitch in radians)."""
        p = self._p if p is None else p
        q = self.rest.copy()
        iod = self.iod
        if opening:
            q[:, 1] += opening * MAX_OPEN_IOD * iod * self.jaw
        if width:
            for c in lm.OUTER_MOUTH_CORNERS:
                d2 = np.sum((p[:, :2] - p[c, :2]) ** 2, axis=1)
                g = np.exp(-d2 / (2 * (0.22 * iod) ** 2))
                sign = np.sign(p[c, 0] - p[[lm.UPPER_INNER_LIP], 0])
                q[:, 0] += width * WIDTH_IOD * iod * g * sign
        if blink:
            # the lids meet on one curve (a fifth of the way up from the lower lid), each point at its own x:
            # pairing an upper with a lower point at a different x folds the warp where the lids curve
            eps = max(0.3, 0.006 * iod)
            for ups, lows, folds, corners in zip(UPPER_LIDS, LOWER_LIDS, LID_FOLDS, lm.EYE_CORNERS, strict=True):
                ups, lows, corners = list(ups), list(lows), list(corners)
                curves = []
                for idx in (ups, lows):
                    xy = q[idx + corners]
                    order = np.argsort(xy[:, 0])
                    curves.append((xy[order, 0], xy[order, 1]))
                def meet(x, curves=curves):
                    yu, yl = (np.interp(x, cx, cy) for cx, cy in curves)
                    return yl - 0.2 * (yl - yu)
                du = (meet(q[ups, 0]) - eps - q[ups, 1]) * blink
                q[ups, 1] += du
                q[list(folds), 1] += 0.45 * du
                q[lows, 1] += (meet(q[lows, 0]) + eps - q[lows, 1]) * blink
        if yaw or pitch:
            z = p[:, 2]
            zc = float(np.median(z)) + 0.9 * iod  # rotation centre behind the face
            xc, yc = p[lm.NOSE_BRIDGE, 0], p[lm.NOSE_BRIDGE, 1]
            dz = z - zc
            q[:, 0] += np.sin(yaw) * (-dz) + (np.cos(yaw) - 1) * (p[:, 0] - xc)
            q[:, 1] += np.sin(pitch) * (-dz) + (np.cos(pitch) - 1) * (p[:, 1] - yc)
        return q

    def _lid_lines(self, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dense (closed-eye, photo) point pairs along both lid margins of each eye: with only the mesh's lid
        points, whose upper and lower x differ, the triangulation of the closed eye has triangles that reach
        across the lid line and show pieces of the eye around it."""
        p = self._p
        dest, src = [], []
        for ups, lows, corners in zip(UPPER_LIDS, LOWER_LIDS, lm.EYE_CORNERS, strict=True):
            corners = list(corners)
            xa, xb = sorted(p[corners, 0])
            xs = np.linspace(xa, xb, 18)[1:-1]
            for idx in (list(ups), list(lows)):
                pts = idx + corners
                order = np.argsort(p[pts, 0])
                ys = np.interp(xs, p[pts, 0][order], p[pts, 1][order])
                order = np.argsort(closed[pts, 0])
                yd = np.interp(xs, closed[pts, 0][order], closed[pts, 1][order])
                src.append(np.stack([xs, ys], 1))
                dest.append(np.stack([xs, yd], 1))
        return np.concatenate(dest), np.concatenate(src)

    def _backward(self, dest: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution backward maps (photo coordinates) of the warp region for mesh points src -> dest."""
        import cv2
        from scipy.interpolate import LinearNDInterpolator

        d = np.concatenate([dest, self.anchors])
        s = np.concatenate([src, self.anchors])
        gw = (self.rx1 - self.rx0 + MAP_STRIDE - 1) // MAP_STRIDE + 1
        gh = (self.ry1 - self.ry0 + MAP_STRIDE - 1) // MAP_STRIDE + 1
        gx = self.rx0 + np.arange(gw) * MAP_STRIDE
        gy = self.ry0 + np.arange(gh) * MAP_STRIDE
        xx, yy = np.meshgrid(gx.astype(np.float64), gy.astype(np.float64))
        vals = LinearNDInterpolator(d, s)(xx, yy)
        bad = np.isnan(vals[..., 0])
        vals[bad, 0], vals[bad, 1] = xx[bad], yy[bad]
        size = (gw * MAP_STRIDE, gh * MAP_STRIDE)
        mx = cv2.resize(vals[..., 0].astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        my = cv2.resize(vals[..., 1].astype(np.float32), size, interpolation=cv2.INTER_LINEAR)
        # cv2.resize samples pixel centres: grid node k sits at output pixel k*stride + (stride-1)/2; shift back
        shift = np.float32([[1, 0, (MAP_STRIDE - 1) / 2], [0, 1, (MAP_STRIDE - 1) / 2]])
        ww, hh = self.rx1 - self.rx0, self.ry1 - self.ry0
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP  # out[i] = upsampled[i + (stride - 1) / 2]
        mx = cv2.warpAffine(mx, shift, (ww, hh), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        my = cv2.warpAffine(my, shift, (ww, hh), flags=flags, borderMode=cv2.BORDER_REPLICATE)
        return mx, my

    def _field(self, dest: np.ndarray, scale: float, extra: tuple[np.ndarray, np.ndarray] | None = None) -> _Field:
        src = self._p[:, :2]
        if extra is not None:  # more (dest, photo) point pairs for this motion only
            dest, src = np.concatenate([dest, extra[0]]), np.concatenate([src, extra[1]])
        mx, my = self._backward(dest, src)
        dx, dy = (mx - self.base_x) / scale, (my - self.base_y) / scale
        moving = (np.abs(dx) > 1e-3) | (np.abs(dy) > 1e-3)
        if not moving.any():
            return _Field(dx[:0, :0], dy[:0, :0], (0, 0, 0, 0))
        rows, cols = np.flatnonzero(moving.any(1)), np.flatnonzero(moving.any(0))
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        return _Field(np.ascontiguousarray(dx[y0:y1, x0:x1]), np.ascontiguousarray(dy[y0:y1, x0:x1]),
                      (int(x0), int(y0), int(x1), int(y1)))

    def _build_fields(self, p: np.ndarray) -> None:
        self._p = p
        self.base_x, self.base_y = self._backward(self.rest, p[:, :2])
        rest = self.rest
        self.open_fields = [self._field(self._moved(opening=v), 1.0) for v in OPEN_LEVELS[1:]]
        self.width_field = self._field(self._moved(width=1.0), 1.0)
        closed = self._moved(blink=1.0)
        self.blink_field = self._field(closed, 1.0, self._lid_lines(closed))
        self.yaw_field = self._field(self._moved(yaw=YAW_REF), 1.0)
        self.pitch_field = self._field(self._moved(pitch=YAW_REF), 1.0)
        # vertex motions for the mouth-interior polygon (linear in each driver, opening per level)
        self.open_verts = [self._moved(opening=v) - rest for v in OPEN_LEVELS[1:]]
        self.width_verts = self._moved(width=1.0) - rest
        self.yaw_verts = self._moved(yaw=YAW_REF) - rest
        self.pitch_verts = self._moved(pitch=YAW_REF) - rest
        h = self.h - self.by0
        ramp = _smoothstep((np.arange(h, dtype=np.float32) - 0.0) / max(1.0, 0.5 * h))
        self.band_x = np.tile(np.arange(self.w, dtype=np.float32), (h, 1))
        self.band_y0 = np.repeat(np.arange(h, dtype=np.float32)[:, None], self.w, axis=1)
        self.band_ramp = np.repeat(ramp[:, None], self.w, axis=1).astype(np.float32)
        self._band_y = np.empty_like(self.band_y0)

    def _colours(self, cv2) -> None:
        """Colours of the mouth interior taken from the photo itself: the lips' median colour (throat, tongue,
        inner lip), the eye whites (the teeth's white balance and brightness, under the same light), how
        colourful the skin is (a greyscale photo gives a grey mouth) and the photo's grain."""
        p = self.points
        photo = self.photo
        mask = np.zeros((self.h, self.w), np.uint8)
        cv2.fillPoly(mask, [np.round(p[list(lm.LIPS_OUTER), :2]).astype(np.int32)], 255)
        cv2.fillPoly(mask, [np.round(p[list(lm.LIPS_INNER), :2]).astype(np.int32)], 0)
        lips = photo[mask > 0]
        self.lip_bgr = (np.median(lips, axis=0) if len(lips) else np.array([90, 90, 160])).astype(np.float32)
        face = np.zeros_like(mask)
        cv2.fillPoly(face, [np.round(p[list(FACE_OVAL), :2]).astype(np.int32)], 255)
        gray_img = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
        inside = face > 0
        gray = gray_img[inside]
        self.face_light = float(np.percentile(gray, 70)) if len(gray) else 160.0
        skin = np.median(photo[inside], axis=0).astype(np.float32) if len(gray) else np.full(3, 128, np.float32)
        # 0 for a greyscale photo, 1 for ordinary colour skin
        colourful = float(np.clip(np.abs(skin - skin.mean()).max() / max(skin.mean(), 1.0) / 0.2, 0, 1))
        # eye whites: the brighter half of each eye outside the iris
        eyes = np.zeros_like(mask)
        for ups, lows in zip(UPPER_LIDS, LOWER_LIDS, strict=True):
            cv2.fillPoly(eyes, [np.round(p[list(ups) + list(lows[::-1]), :2]).astype(np.int32)], 255)
        if len(p) >= 478:
            for c in (468, 473):
                r = float(np.linalg.norm(p[c + 1, :2] - p[c, :2]))
                cv2.circle(eyes, (int(round(p[c, 0])), int(round(p[c, 1]))), int(round(1.15 * r)) + 1, 0, -1)
        white = photo[eyes > 0].astype(np.float32)
        neutral = np.full(3, skin.mean(), np.float32)
        if len(white) >= 8:
            luma = white.mean(1)
            white = white[luma >= np.percentile(luma, 60)]
            sclera = np.median(white, axis=0)
            # eye whites are pinkish in colour photos: keep their white balance, not their tint
            ratio = sclera / max(float(sclera.mean()), 1.0)
            ratio = 1 + np.clip(ratio - 1, -0.08, 0.08) * 0.5
            sclera_l = float(sclera.mean())
        else:
            ratio, sclera_l = neutral / max(float(neutral.mean()), 1.0), self.face_light
        ivory = 1 + colourful * (np.array([0.95, 1.0, 1.04], np.float32) - 1)  # BGR, a little warm
        ratio = ratio * ivory
        ratio /= ratio.mean()
        teeth_l = float(np.clip(max(sclera_l * 1.15, 1.12 * self.face_light), 80, 235))
        self.c_teeth = (ratio * teeth_l).astype(np.float32)
        self.c_teeth_edge = _tint(self.c_teeth, 0.72 * teeth_l, 0.6)  # translucent, greyer incisal edge
        lip = self.lip_bgr
        lip_l = float(np.clip(lip.mean(), 60, 200))
        self.c_throat = _tint(lip, 0.26 * lip_l, 1.35)
        self.c_mucosa = _tint(lip, 0.72 * lip_l, 1.2)
        self.c_tongue = _tint(lip, 1.02 * lip_l, 1.1)
        self.c_shine = np.full(3, min(255.0, 1.15 * teeth_l), np.float32)
        # grain: the photo's own high-frequency noise, as a fixed luminance texture
        hp = gray_img.astype(np.float32) - cv2.GaussianBlur(gray_img, (0, 0), 1.0).astype(np.float32)
        noise = np.abs(hp[inside]) if len(gray) else np.zeros(1, np.float32)
        self.grain = float(np.clip(0.8 * 1.4826 * np.median(noise), 0.3, 4.0))
        tex = np.random.default_rng(7).standard_normal((128, 128)).astype(np.float32)
        tex = cv2.GaussianBlur(tex, (0, 0), 0.5)
        self._grain_tex = tex / max(float(tex.std()), 1e-6)

    # --- rendering -----------------------------------------------------------------------------------------

    def _open_blend(self, opening: float) -> list[tuple[int, float]]:
        v = float(np.clip(opening, 0.0, 1.0))
        if v <= 0:
            return []
        k = min(int(v / 0.25), 3)
        lo, hi = OPEN_LEVELS[k], OPEN_LEVELS[k + 1]
        t = (v - lo) / (hi - lo)
        out = [(k, t)]
        if k > 0:
            out.append((k - 1, 1 - t))
        return out

    def frame(self, opening: float = 0.0, width: float = 0.0, blink: float = 0.0, head_yaw: float = 0.0,
              head_pitch: float = 0.0, breath: float = 0.0, *, copy: bool = True) -> np.ndarray:
        import cv2

        mx, my = self._mx, self._my
        out = self._out
        # the breathing band is resampled from the photo every frame (not from the last frame's band, which
        # would blur and drift the body frame after frame); the face region below is drawn over it next
        out[self.by0:] = self.photo[self.by0:]
        np.copyto(mx, self.base_x)
        np.copyto(my, self.base_y)
        blend = self._open_blend(opening)
        for k, t in blend:
            self.open_fields[k].add_to(mx, my, t)
        self.width_field.add_to(mx, my, float(np.clip(width, -1, 1)))
        self.blink_field.add_to(mx, my, float(np.clip(blink, 0, 1)))
        sy, sp = math.radians(head_yaw) / YAW_REF, math.radians(head_pitch) / YAW_REF
        self.yaw_field.add_to(mx, my, sy)
        self.pitch_field.add_to(mx, my, sp)
        out[self.ry0:self.ry1, self.rx0:self.rx1] = cv2.remap(self.photo, mx, my, cv2.INTER_LINEAR,
                                                              borderMode=cv2.BORDER_REPLICATE)
        if opening > 0.01:
            verts = self.rest.copy()
            for k, t in blend:
                verts += t * self.open_verts[k]
            verts += float(np.clip(width, -1, 1)) * self.width_verts + sy * self.yaw_verts + sp * self.pitch_verts
            self._paint_mouth(out, verts, float(np.clip(opening, 0, 1)))
        if breath:
            h = self.h - self.by0
            np.multiply(self.band_ramp, np.float32(breath * self.breath_px), out=self._band_y)
            self._band_y += self.band_y0
            band = out[self.by0:]
            out[self.by0:] = cv2.remap(np.ascontiguousarray(band), self.band_x, self._band_y, cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REPLICATE)
            del h
        return out.copy() if copy else out

    def _teeth_tables(self) -> None:
        """Per-column tooth profiles against the signed distance from the midline, sampled every 1/4 pixel (a
        frame only looks them up): the upper and lower incisal lines (in units of the visible incisor length;
        0 past the last tooth), whether a tooth is there, and each tooth's shading (rounded across, darker
        further back, darker at the separations, a little uneven)."""
        iod = self.iod
        n0 = int(np.ceil(0.5 * iod * TEETH_TABLE_STEPS))
        dx = (np.arange(-n0, n0 + 1) / TEETH_TABLE_STEPS / iod).astype(np.float32)
        adx = np.abs(dx)
        side = np.sign(dx)
        tables = []
        for bounds, lengths, curve, lift_k, shade0 in ((UPPER_TEETH, UPPER_LEN, 0.22, 0.45, 1.0),
                                                      (LOWER_TEETH, LOWER_LEN, 0.3, 0.5, 0.75)):
            length, lift, sep, c, k = _teeth_columns(adx, bounds, lengths, 2, iod)
            edge = length - curve * (adx / bounds[-1]) ** 2 - lift_k * lift
            there = (length > 0).astype(np.float32)
            uneven = 1 + 0.035 * np.sin(2.3 * k + 1.7 * side)
            shade = (shade0 - 0.16 * shade0 * c * c) * uneven \
                * (1 - 0.5 * _smoothstep((adx - 0.06) / (bounds[-1] - 0.06)))
            tables.append(np.stack([edge, there, shade, sep]).astype(np.float32))
        self._teeth_upper, self._teeth_lower = tables
        self._teeth_n0 = n0

    def _paint_mouth(self, out: np.ndarray, verts: np.ndarray, opening: float) -> None:
        """Fill the parted inner lips with a synthesized interior, feathered into the lips: a dark throat with
        a soft radial falloff, the tongue (with a wet highlight) at larger openings, the upper teeth under the
        upper lip (separate teeth, rounded edges, translucent tips), the lower teeth at wide openings, the inner
        lower lip, soft shadows under the upper lip and in the corners, and the photo's grain. Sizes follow the
        inter-ocular distance; colours come from the photo (`_colours`). The layers are 2-D weights composited
        front to back and turned into colour by one small matrix product."""
        import cv2

        f32 = np.float32
        iod = self.iod
        upper, lower = verts[list(UPPER_INNER)], verts[list(LOWER_INNER)]
        poly = np.concatenate([upper, lower[::-1][1:-1]])
        pad = int(0.1 * iod) + 3
        x0 = max(0, int(np.floor(poly[:, 0].min())) - pad)
        x1 = min(self.w, int(np.ceil(poly[:, 0].max())) + pad)
        y0 = max(0, int(np.floor(poly[:, 1].min())) - pad)
        y1 = min(self.h, int(np.ceil(poly[:, 1].max())) + pad)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        bw, bh = x1 - x0, y1 - y0
        ss = 4
        mask = np.zeros((bh, bw), np.uint8)
        cv2.fillPoly(mask, [np.round((poly - (x0, y0)) * (1 << ss)).astype(np.int32)], 255, cv2.LINE_AA, ss)
        sigma = max(0.6, 0.012 * iod)
        alpha = cv2.GaussianBlur(mask, (0, 0), sigma).astype(np.float32) * f32(1 / 255)
        k = 2 * int(2.5 * sigma + 0.012 * iod) + 1
        rim = cv2.blur(mask, (k, k)).astype(np.float32) * f32(1 / 255)
        # per-column lip curves and positions (1-D)
        xs = np.arange(x0, x1, dtype=np.float32)
        ou, ol = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
        yu = np.interp(xs, upper[ou, 0], upper[ou, 1]).astype(np.float32)
        yl = np.interp(xs, lower[ol, 0], lower[ol, 1]).astype(np.float32)
        xt = float(upper[5, 0])  # the midline (upper lip centre): the teeth are centred on it
        yu_c = float(np.interp(xt, upper[ou, 0], upper[ou, 1]))
        yl_c = float(np.interp(xt, lower[ol, 0], lower[ol, 1]))
        gap_c = max(yl_c - yu_c, 1.0)
        xm = 0.5 * (upper[0, 0] + upper[-1, 0])
        half = max(1.0, 0.5 * abs(upper[-1, 0] - upper[0, 0]))
        sx = np.clip(np.abs(xs - xm) / half, 0, 1)
        dxi = (xs - xt) / f32(iod)  # from the midline, in inter-ocular distances
        adx = np.abs(dxi)
        n0 = self._teeth_n0
        ti = np.clip(np.round((xs - xt) * TEETH_TABLE_STEPS).astype(np.intp) + n0, 0, 2 * n0)
        yy = np.arange(y0, y1, dtype=np.float32)[:, None]
        below = yy - yu[None, :]  # px under the upper lip
        soft = f32(1 / max(0.7, 0.008 * iod))  # anti-aliased edges of the synthesized shapes
        layers = []  # (weight, colour), front to back
        cover = None  # what is still visible behind the layers so far

        def add(a, intensity, colours):
            nonlocal cover
            w = a if cover is None else a * cover
            for inten, colour in zip(intensity, colours, strict=True):
                layers.append((w * inten, colour))
            cover = (1 - a) if cover is None else cover * (1 - a)

        # upper teeth: hang from under the upper lip, the incisal line curving up towards the corners
        vis_u = float(_smoothstep((opening - 0.05) / 0.15))
        if vis_u > 0:
            lu = iod * min(0.115, 0.025 + 0.6 * gap_c / iod)
            edge_c, there, shade, sep = self._teeth_upper[:, ti]
            edge = (yu_c + lu * edge_c)[None, :]
            ua = np.clip((edge - yy) * soft + 0.5, 0, 1) * (vis_u * there)[None, :]
            v = np.clip(below / np.maximum(edge - yu[None, :], 1.0), 0, 1)  # 0 under the lip, 1 at the tip
            lum = shade[None, :] * (1 - sep[None, :] * (0.12 + 0.5 * v * v))
            tip = _smoothstep((v - 0.62) * f32(1 / 0.38)) * f32(0.7)
            add(ua, (lum * (1 - tip), lum * tip), (self.c_teeth, self.c_teeth_edge))
        # the inner lower lip: a moist band just inside the lower lip
        m = f32(0.6) * np.exp(-np.maximum(yl[None, :] - yy, 0) * f32(1 / (0.012 * iod + 0.5)))
        add(m, (1,), (self.c_mucosa,))
        # lower teeth: at wide openings, just above the lower lip, in the shadow of the upper jaw
        vis_l = float(_smoothstep((opening - 0.4) / 0.45))
        if vis_l > 0:
            ll = vis_l * 0.075 * iod
            edge_c, there, shade, sep = self._teeth_lower[:, ti]
            edge = (yl_c - ll * edge_c)[None, :]
            la = np.clip((yy - edge) * soft + 0.5, 0, 1) * there[None, :]
            add(la, (shade * (1 - 0.25 * sep),), (self.c_teeth,))
        # tongue: a low dome behind the lower teeth, brighter in front, with a soft wet highlight
        vis_t = float(_smoothstep((opening - 0.25) / 0.45))
        if vis_t > 0:
            tv = vis_t * 0.5 * gap_c
            dome = np.sqrt(np.clip(1 - (adx / 0.34) ** 2, 0, 1))
            yt = (0.65 * yl_c + 0.35 * yl - tv * dome)[None, :]  # convex, flatter than the lower lip
            depth = yy - yt
            ta = _smoothstep(depth * f32(1 / (0.22 * tv + 1.0))) * (dome > 0)[None, :]
            across = (1 - 0.5 * (adx / 0.34) ** 2) * (1 - 0.08 * np.exp(-(dxi / 0.03) ** 2))  # midline groove
            lit = (f32(0.6) + f32(0.4) * _smoothstep(depth * f32(1 / (0.8 * tv + 1.0)))) * across[None, :]
            hl = f32(0.3 * vis_t) * np.exp(-((depth - f32(0.32 * tv)) * f32(1 / (0.14 * tv + 1.0))) ** 2
                                             - (dxi / 0.1)[None, :] ** 2)
            add(ta, (lit, hl), (self.c_tongue, self.c_shine))
        # throat: dark, darkest in the middle of the opening, lighter towards the lips
        rx, ry = 0.85 * half, 0.55 * gap_c + 1.0
        r2 = ((xs - xt) * f32(1 / rx))[None, :] ** 2 + ((yy - f32(yu_c + 0.55 * gap_c)) * f32(1 / ry)) ** 2
        throat = f32(0.3) + f32(0.7) * _smoothstep(np.sqrt(r2))
        layers.append((throat * cover, self.c_throat))
        # the photo's grain (fixed to the picture), stronger on the brighter layers
        tex = self._grain_tex
        gy = np.arange(y0, y1) % tex.shape[0]
        gx = np.arange(x0, x1) % tex.shape[1]
        bright = layers[0][0] + f32(0.3) if vis_u > 0 else f32(0.3)
        layers.append((tex[gy[:, None], gx[None, :]] * bright * f32(self.grain), np.ones(3, np.float32)))
        weights = np.empty((bh, bw, len(layers)), np.float32)
        for i, (w, _) in enumerate(layers):
            weights[..., i] = w
        colours = np.array([c for _, c in layers], np.float32)
        # soft shadows under the overhanging upper lip and deep in the corners, and the feathered edge
        shadow = (1 - 0.42 * np.exp(-np.maximum(below, 0) * f32(1 / (0.028 * iod + 0.5)))) \
            * (1 - 0.6 * _smoothstep((sx - 0.45) / 0.55))[None, :]
        shadow *= alpha
        col = (weights.reshape(-1, len(layers)) @ colours).reshape(bh, bw, 3)
        col *= shadow[..., None]
        keep = (1 - alpha) * (1 - 0.3 * np.clip(rim - alpha, 0, 1))  # the lips darken where they turn inward
        col += out[y0:y1, x0:x1] * keep[..., None]
        np.clip(col, 0, 255, out=col)
        out[y0:y1, x0:x1] = col


# --- mouth track --------------------------------------------------------------------------------------------

# viseme -> (opening 0..1, width -1..1) for a photo (no person model)
_PHOTO_VISEMES = {
    "closed": (0.0, 0.05), "labiodental": (0.15, 0.1), "rounded": (0.45, -0.8), "spread": (0.42, 0.6),
    "open": (0.95, 0.1), "mid": (0.68, 0.0), "consonant": (0.3, 0.1), "rest": (0.0, 0.0),
}


def photo_mouth_track(pcm_float16k: np.ndarray, fps: float, phonemes: list | None = None, *,
                      align: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(opening 0..1, width -1..1) per video frame for 16 kHz float speech: timed phonemes (TTS timings, or
    ASR-aligned ones for uploaded audio when `align`) through viseme targets, shaped by the loudness envelope;
    the loudness envelope alone when no phonemes can be had."""
    from scipy.ndimage import gaussian_filter1d

    from synthesis.avatar.lipsync import _VISEME_NAMES, _frame_loudness, n_frames, viseme_features

    pcm = np.asarray(pcm_float16k, np.float32).reshape(-1)
    n = n_frames(len(pcm) / 16000.0, fps)
    if n == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    db = _frame_loudness(pcm, n, fps)
    top = float(np.percentile(db, 95))
    loud = np.clip((db - max(top - 30.0, -60.0)) / 24.0, 0, 1)
    loud = gaussian_filter1d(loud, max(0.5, 0.03 * fps), mode="nearest")
    if phonemes is None and align:
        try:
            from synthesis.avatar.phonetic import align as _align

            phonemes = _align(pcm) or None
        except Exception:  # no ASR available: loudness only
            phonemes = None
    if phonemes:
        cover = viseme_features(phonemes, n, fps)
        targets = np.array([_PHOTO_VISEMES[name] for name in _VISEME_NAMES], np.float64)
        shape = cover @ targets
        opening = shape[:, 0] * (0.7 + 0.3 * loud)
        width = shape[:, 1]
    else:
        opening = 0.85 * loud**1.3
        width = np.zeros(n)
    return np.clip(opening, 0, 1).astype(np.float32), np.clip(width, -1, 1).astype(np.float32)


def motion_tracks(n: int, fps: float, opening: np.ndarray | None = None, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Blinks (every 2.5-5 s, ~0.2 s), slow head yaw/pitch (a couple of degrees, livelier while speaking) and
    breathing for `n` frames."""
    from scipy.ndimage import uniform_filter1d

    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    blink = np.zeros(n, np.float32)
    at = rng.uniform(0.8, 2.0)
    dur = 0.22
    while at < t[-1] if n else False:
        ph = (t - at) / dur
        inside = (ph >= 0) & (ph <= 1)
        blink[inside] = np.maximum(blink[inside], np.sin(np.pi * ph[inside]) ** 0.7)
        at += rng.uniform(2.5, 5.0)
    # a one-second moving average that keeps the track's length (np.convolve "same" would return the longer input)
    speak = np.zeros(n) if opening is None else uniform_filter1d(np.asarray(opening, np.float64), int(fps),
                                                                  mode="constant")
    def wave(amps, freqs):
        phases = rng.uniform(0, 2 * np.pi, len(freqs))
        return sum(a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(amps, freqs, phases, strict=True))
    yaw = wave((1.2, 0.6, 0.3), (0.11, 0.23, 0.41)) * (0.7 + 0.8 * speak)
    pitch = wave((0.7, 0.4, 0.25), (0.09, 0.31, 0.53)) * (0.7 + 0.8 * speak) + 0.6 * speak
    breath = np.sin(2 * np.pi * 0.25 * t + rng.uniform(0, 2 * np.pi))
    return {"blink": blink, "yaw": yaw.astype(np.float32), "pitch": pitch.astype(np.float32),
            "breath": breath.astype(np.float32)}


# --- whole clips --------------------------------------------------------------------------------------------

_ASPECTS = {"9:16": 9 / 16, "16:9": 16 / 9}


def crop_box(size: tuple[int, int], points: np.ndarray, aspect: float) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 of the largest `aspect` (w/h) crop of a (w, h) picture with the face centred and the eyes
    about a third from the top (moved as little as needed to stay inside the picture)."""
    w, h = size
    cw, ch = (w, w / aspect) if w / h < aspect else (h * aspect, h)
    cw, ch = int(min(w, cw)), int(min(h, ch))
    eyes = np.array(lm.eye_centers(points)).mean(0)
    cx = float(points[:, 0].mean())
    x0 = int(round(np.clip(cx - cw / 2, 0, w - cw)))
    y0 = int(round(np.clip(eyes[1] - ch / 3, 0, h - ch)))
    return x0, y0, x0 + cw, y0 + ch


def prepare_photo(photo_bgr: np.ndarray, *, aspect: str | None = None, max_side: int = 1080) -> np.ndarray:
    """The photo cropped to `aspect` ("9:16", "16:9" or None) around the face and scaled down so its longest
    side is at most `max_side` (sides even)."""
    import cv2

    img = photo_bgr
    if aspect is not None:
        if aspect not in _ASPECTS:
            raise ValueError(f"aspect must be one of {sorted(_ASPECTS)} or None")
        points = find_face(img)
        x0, y0, x1, y1 = crop_box((img.shape[1], img.shape[0]), points, _ASPECTS[aspect])
        img = img[y0:y1, x0:x1]
    h, w = img.shape[:2]
    s = min(1.0, max_side / max(w, h))
    nw, nh = max(2, int(w * s) // 2 * 2), max(2, int(h * s) // 2 * 2)
    if (nw, nh) != (w, h):
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    return np.ascontiguousarray(img)


def render_talking_photo(
    photo_path: os.PathLike | str,
    out_mp4: os.PathLike | str,
    *,
    text: str | None = None,
    voice_id: str | None = None,
    audio_path: os.PathLike | str | None = None,
    fps: int = 25,
    aspect: str | None = None,
    max_side: int = 1080,
    progress: Callable[[int, str], None] | None = None,
    phonemes: list | None = None,
    seed: int = 0,
) -> Path:
    """An MP4 of the photo speaking `text` (with `voice_id`) or the speech in `audio_path`, with its audio."""
    import cv2

    from synthesis.avatar.render import speech_for_clip
    from synthesis.face.video_io import VideoWriter

    photo = cv2.imread(os.fspath(photo_path), cv2.IMREAD_COLOR)
    if photo is None:
        raise ValueError("the photo could not be read")
    img = prepare_photo(photo, aspect=aspect, max_side=max_side)
    talker = TalkingPhoto(img)
    out = Path(out_mp4)
    with tempfile.TemporaryDirectory(prefix="talking-photo-") as tmp:
        pcm, wav, tts_phonemes = speech_for_clip(Path(tmp), text=text, voice_id=voice_id, audio_path=audio_path)
        opening, width = photo_mouth_track(pcm, fps, phonemes or tts_phonemes)
        n = len(opening)
        motion = motion_tracks(n, fps, opening, seed=seed)
        # superfast: the x264 preset that keeps a 1080p talking photo above 2x real time on 2 cores
        with VideoWriter(out, size=(img.shape[1], img.shape[0]), fps=fps, audio=wav, preset="superfast") as writer:
            for i in range(n):
                writer.write(talker.frame(float(opening[i]), float(width[i]), float(motion["blink"][i]),
                                          float(motion["yaw"][i]), float(motion["pitch"][i]),
                                          float(motion["breath"][i]), copy=False))
                if progress and i % 25 == 0:
                    progress(min(99, int(100 * (i + 1) / n)), "rendering")
    if progress:
        progress(100, "done")
    return out
