"""FaceMesh landmarks (478 points, mediapipe 0.10.21, bundled model), head pose and the mouth and eye measures
built on them. All measures are normalised by the inter-ocular distance so they do not depend on face size."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .video_io import read_frames, scaled_size, video_format

# FaceMesh indices.
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
INNER_MOUTH_CORNERS = (78, 308)
OUTER_MOUTH_CORNERS = (61, 291)
UPPER_OUTER_LIP, LOWER_OUTER_LIP = 0, 17
EYE_CORNERS = ((33, 133), (362, 263))
EYE_LIDS = ((159, 145), (386, 374))
NOSE_TIP, NOSE_BRIDGE, CHIN, FOREHEAD = 1, 168, 152, 10
LEFT_CHEEK, RIGHT_CHEEK = 234, 454
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
# The lower face the renderer replaces: cheeks beside the mouth, the chin and the jaw below it.
LOWER_FACE = (
    205, 425, 164, 167, 393, 207, 427, 192, 416, 58, 288, 172, 397, 136, 365, 150, 379, 149, 378, 176, 400,
    148, 377, 152,
)
# Points that do not move when the person speaks: eye corners, nose bridge and tip, temples.
STABLE = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 98, 327, 234, 454, 127, 356)

# Mouth-shape vector layout (every entry divided by the inter-ocular distance).
SHAPE_NAMES = ("opening", "width", "outer_opening", "jaw")


@dataclass
class FaceTrack:
    """Per-frame landmarks of the (single) tracked face. Lost frames hold NaN."""

    points: np.ndarray  # (N, 478, 3) float32: x, y in pixels of the analysed frame size; z in pixels too
    faces: np.ndarray  # (N,) int: how many faces the mesh saw
    fps: float
    size: tuple[int, int]  # (width, height) the points refer to

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.points[:, 0, 0])

    def __len__(self) -> int:
        return len(self.points)


def new_face_mesh(*, max_faces: int = 1, static: bool = False):
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=static, max_num_faces=max_faces, refine_landmarks=True,
        min_detection_confidence=0.5, min_tracking_confidence=0.5,
    )  # fmt: skip


def mesh_points(mesh, frame_bgr: np.ndarray) -> tuple[np.ndarray | None, int]:
    """Landmarks of the largest face in a BGR frame (pixels) and how many faces the mesh found."""
    import cv2

    result = mesh.process(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
    faces = result.multi_face_landmarks or []
    if not faces:
        return None, 0
    h, w = frame_bgr.shape[:2]
    arrays = [np.array([(p.x * w, p.y * h, p.z * w) for p in face.landmark], np.float32) for face in faces]
    biggest = max(arrays, key=lambda a: np.ptp(a[:, 0]) * np.ptp(a[:, 1]))
    return biggest, len(arrays)


def track_frames(
    frames: Iterable[np.ndarray],
    *,
    total: int | None = None,
    progress: Callable[[float], None] | None = None,
    max_faces: int = 1,
    on_frame: Callable[[int, np.ndarray, np.ndarray | None], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks for every frame (NaN where the face was lost), face counts; `on_frame` sees each frame."""
    mesh = new_face_mesh(max_faces=max_faces)
    points: list[np.ndarray] = []
    faces: list[int] = []
    lost = np.full((478, 3), np.nan, np.float32)
    try:
        for i, frame in enumerate(frames):
            pts, count = mesh_points(mesh, frame)
            points.append(lost if pts is None else pts)
            faces.append(count)
            if on_frame:
                on_frame(i, frame, pts)
            if progress and total and i % 10 == 0:
                progress(min(1.0, (i + 1) / total))
    finally:
        mesh.close()
    if not points:
        return np.zeros((0, 478, 3), np.float32), np.zeros(0, int)
    return np.stack(points), np.array(faces)


def track_video(
    path: os.PathLike | str,
    *,
    max_side: int = 640,
    fps: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> FaceTrack:
    """Track the face through a video decoded at `max_side` (and `fps` when given)."""
    fmt = video_format(path)
    size = scaled_size(fmt.width, fmt.height, max_side)
    rate = fps or fmt.fps
    total = int(fmt.duration_s * rate) + 1
    points, faces = track_frames(read_frames(path, size=size, fps=fps), total=total, progress=progress)
    return FaceTrack(points, faces, float(rate), size)


# --- measures -----------------------------------------------------------------------------------------------


def _dist(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(points[..., a, :2] - points[..., b, :2], axis=-1)


def eye_centers(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    (a1, a2), (b1, b2) = EYE_CORNERS
    left = (points[..., a1, :2] + points[..., a2, :2]) / 2
    right = (points[..., b1, :2] + points[..., b2, :2]) / 2
    return left, right


def interocular(points: np.ndarray) -> np.ndarray:
    left, right = eye_centers(points)
    return np.linalg.norm(left - right, axis=-1)


def mouth_opening(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap / inter-ocular distance (the benchmark's mouth-opening measure)."""
    return _dist(points, UPPER_INNER_LIP, LOWER_INNER_LIP) / interocular(points)


def mouth_shape(points: np.ndarray) -> np.ndarray:
    """(..., 4) mouth-shape vectors: inner opening, mouth width, outer lip opening, nose-to-chin (jaw)."""
    iod = interocular(points)
    return np.stack(
        [
            _dist(points, UPPER_INNER_LIP, LOWER_INNER_LIP) / iod,
            _dist(points, *OUTER_MOUTH_CORNERS) / iod,
            _dist(points, UPPER_OUTER_LIP, LOWER_OUTER_LIP) / iod,
            _dist(points, NOSE_TIP, CHIN) / iod,
        ],
        axis=-1,
    )


def eye_openness(points: np.ndarray) -> np.ndarray:
    """Mean eyelid gap / eye width over both eyes (drops sharply in a blink)."""
    pairs = zip(EYE_LIDS, EYE_CORNERS, strict=True)
    values = [_dist(points, up, down) / _dist(points, a, b) for (up, down), (a, b) in pairs]
    return (values[0] + values[1]) / 2


def head_pose(points: np.ndarray) -> np.ndarray:
    """(..., 3) yaw, pitch, roll in degrees from the 3D mesh (0, 0, 0 = looking straight at the camera)."""
    left, right = points[..., LEFT_CHEEK, :], points[..., RIGHT_CHEEK, :]
    across = right - left
    yaw = np.degrees(np.arctan2(across[..., 2], across[..., 0]))
    roll = np.degrees(np.arctan2(across[..., 1], across[..., 0]))
    down = points[..., CHIN, :] - points[..., FOREHEAD, :]
    pitch = np.degrees(np.arctan2(-down[..., 2], down[..., 1]))
    return np.stack([yaw, pitch, roll], axis=-1)


def face_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of one frame's landmarks."""
    return (float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()),
            float(points[:, 1].max()))


def interpolate_lost(values: np.ndarray) -> np.ndarray:
    """Fill NaN rows (lost frames) by linear interpolation along time; edges take the nearest value."""
    values = np.array(values, dtype=np.float64, copy=True)
    flat = values.reshape(len(values), -1)
    ok = ~np.isnan(flat[:, 0])
    if ok.all() or not ok.any():
        return values
    idx = np.arange(len(flat))
    for col in range(flat.shape[1]):
        flat[:, col] = np.interp(idx, idx[ok], flat[ok, col])
    return values
