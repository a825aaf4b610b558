"""The avatar model file: one zip that holds everything the renderer needs.

    manifest.json    sizes, fps, crop geometry, actions, the model card
    arrays.npz       per base/action frame: stable landmarks -> canonical transforms, mouth landmarks, pose;
                     per atlas entry: mouth shape, pose, canonical lower-face landmarks, colour
    base.mp4         the idle loop (a calm segment forward then backward, so it loops without a jump)
    base_alpha.mp4   its matte (grey)
    action_<n>.mp4   insertable actions (and action_<n>_alpha.mp4)
    atlas/<i>.jpg    aligned lower-face crops in the canonical frame (4:4:4 JPEG)
    atlas/<i>.png    their mattes
    mouth.npz        the audio -> mouth-shape model (lipsync.MouthModel)

Media inside the zip are stored uncompressed (they are compressed already); the renderer extracts the
videos to a temporary folder once per load."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "metastudio-avatar-2d"
VERSION = 1


@dataclass
class Segment:
    """A run of frames stored as one video in the model (the idle loop or an action)."""

    name: str
    video: str
    alpha: str
    frames: int
    to_canonical: np.ndarray  # (F, 2, 3) similarity transforms: frame pixels -> canonical crop pixels
    lower_face: np.ndarray  # (F, P, 2) lower-face landmarks in canonical crop coordinates
    pose: np.ndarray  # (F, 3) yaw, pitch, roll
    source_start: float = 0.0  # seconds into the training video


@dataclass
class Atlas:
    shapes: np.ndarray  # (K, 4) mouth-shape vectors
    pose: np.ndarray  # (K, 3)
    lower_face: np.ndarray  # (K, P, 2) canonical crop coordinates
    source_frame: np.ndarray  # (K,) frame index in the training video (consecutive runs render smoothly)
    # BGR crops of the canonical crop size and their uint8 mattes, kept as the encoded JPEG / PNG bytes (a 1080p
    # atlas is ~800 MB decoded); `entry(k)` decodes one, the most recently used ones stay decoded
    crops: list[np.ndarray | bytes] = field(default_factory=list)
    alphas: list[np.ndarray | bytes] = field(default_factory=list)
    cache_size: int = 256

    def __post_init__(self):
        from functools import lru_cache

        self.entry = lru_cache(maxsize=self.cache_size)(self._decode)

    def _decode(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        crop, alpha = self.crops[k], self.alphas[k]
        return (decode_image(crop) if isinstance(crop, bytes) else crop,
                decode_image(alpha, gray=True) if isinstance(alpha, bytes) else alpha)


@dataclass
class AvatarModel:
    width: int
    height: int
    fps: int
    crop_origin: tuple[int, int]  # canonical crop top-left (canonical = reference-frame pixel space)
    crop_size: tuple[int, int]  # (w, h)
    interocular: float  # pixels, in the canonical frame
    base: Segment
    actions: dict[str, Segment]
    atlas: Atlas
    card: dict
    mouth_model_path: Path | None = None
    media_dir: Path | None = None  # where the segment videos were extracted
    _tmp: tempfile.TemporaryDirectory | None = None

    def video_path(self, name: str) -> Path:
        return Path(self.media_dir) / name

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> AvatarModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _segment_arrays(prefix: str, seg: Segment) -> dict[str, np.ndarray]:
    return {f"{prefix}.to_canonical": seg.to_canonical, f"{prefix}.lower_face": seg.lower_face,
            f"{prefix}.pose": seg.pose}


def _segment_meta(seg: Segment) -> dict:
    return {"name": seg.name, "video": seg.video, "alpha": seg.alpha, "frames": seg.frames,
            "source_start": seg.source_start}


def save_model(model: AvatarModel, path: os.PathLike | str, *, media_dir: Path, mouth_model: Path) -> Path:
    """Write the model zip. Segment videos are read from `media_dir`."""

    path = Path(path)
    arrays = {**_segment_arrays("base", model.base)}
    for name, seg in model.actions.items():
        arrays.update(_segment_arrays(f"action.{name}", seg))
    atlas = model.atlas
    arrays.update({"atlas.shapes": atlas.shapes, "atlas.pose": atlas.pose, "atlas.lower_face": atlas.lower_face,
                   "atlas.source_frame": atlas.source_frame})
    manifest = {
        "format": FORMAT, "version": VERSION, "width": model.width, "height": model.height, "fps": model.fps,
        "crop_origin": list(model.crop_origin), "crop_size": list(model.crop_size),
        "interocular": model.interocular, "base": _segment_meta(model.base),
        "actions": [_segment_meta(seg) for seg in model.actions.values()], "atlas_size": len(atlas.crops),
        "card": model.card,
    }  # fmt: skip
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1),
                    compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("arrays.npz", buf.getvalue())
        zf.write(mouth_model, "mouth.npz")
        for seg in [model.base, *model.actions.values()]:
            zf.write(media_dir / seg.video, seg.video)
            zf.write(media_dir / seg.alpha, seg.alpha)
        for i, (crop, alpha) in enumerate(zip(atlas.crops, atlas.alphas, strict=True)):
            zf.writestr(f"atlas/{i}.jpg", crop if isinstance(crop, bytes) else encode_crop(crop))
            zf.writestr(f"atlas/{i}.png", alpha if isinstance(alpha, bytes) else encode_matte(alpha))
    tmp.replace(path)
    return path


def encode_crop(image: np.ndarray, quality: int = 94) -> bytes:
    """4:4:4 JPEG (no chroma subsampling: lips and teeth keep their edges)."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
              cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    return cv2.imencode(".jpg", image, params)[1].tobytes()


def encode_matte(alpha: np.ndarray) -> bytes:
    import cv2

    return cv2.imencode(".png", alpha, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()


def decode_image(data: bytes, *, gray: bool = False) -> np.ndarray:
    import cv2

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)


class ModelFileError(ValueError):
    pass


def _load_segment(meta: dict, arrays, prefix: str) -> Segment:
    return Segment(
        name=meta["name"], video=meta["video"], alpha=meta["alpha"], frames=int(meta["frames"]),
        to_canonical=arrays[f"{prefix}.to_canonical"], lower_face=arrays[f"{prefix}.lower_face"],
        pose=arrays[f"{prefix}.pose"], source_start=float(meta.get("source_start", 0.0)),
    )  # fmt: skip


def load_model(path: os.PathLike | str) -> AvatarModel:
    """Open a model zip; its videos go to a private temporary folder removed by close()."""

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"not an avatar model file: {exc}") from exc
    with zf:
        manifest = json.loads(zf.read("manifest.json"))
        if manifest.get("format") != FORMAT or int(manifest.get("version", 0)) > VERSION:
            raise ModelFileError("not an avatar model file of a supported version")
        arrays = dict(np.load(io.BytesIO(zf.read("arrays.npz"))))
        tmp = tempfile.TemporaryDirectory(prefix="avatar-")
        media = Path(tmp.name)
        base = _load_segment(manifest["base"], arrays, "base")
        actions = {m["name"]: _load_segment(m, arrays, f"action.{m['name']}") for m in manifest["actions"]}
        for seg in [base, *actions.values()]:
            for member in (seg.video, seg.alpha):
                with zf.open(member) as src, open(media / member, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        with zf.open("mouth.npz") as src, open(media / "mouth.npz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        count = int(manifest["atlas_size"])
        crops = [zf.read(f"atlas/{i}.jpg") for i in range(count)]
        alphas = [zf.read(f"atlas/{i}.png") for i in range(count)]
    atlas = Atlas(arrays["atlas.shapes"], arrays["atlas.pose"], arrays["atlas.lower_face"],
                  arrays["atlas.source_frame"], crops, alphas)
    return AvatarModel(
        width=int(manifest["width"]), height=int(manifest["height"]), fps=int(manifest["fps"]),
        crop_origin=tuple(manifest["crop_origin"]), crop_size=tuple(manifest["crop_size"]),
        interocular=float(manifest["interocular"]), base=base, actions=actions, atlas=atlas,
        card=manifest.get("card", {}), mouth_model_path=media / "mouth.npz", media_dir=media, _tmp=tmp,
    )  # fmt: skip


def read_card(path: os.PathLike | str) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("manifest.json")).get("card", {})
