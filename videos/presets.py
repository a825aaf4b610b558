"""Preset digital humans of a fresh install: photo avatars made from public-domain portraits that ship inside
packages the platform depends on (nothing is downloaded). Each preset is written once to a local cache file, so
every host (web or worker) makes its own copy from its own installed packages."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from metastudio.errors import InvalidParameter


def _astronaut(target: Path) -> None:
    import skimage.data
    from PIL import Image

    Image.fromarray(skimage.data.astronaut()).save(target, format="PNG")


def _grace_hopper(target: Path) -> None:
    import matplotlib
    from PIL import Image

    source = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    Image.open(source).convert("RGB").save(target, format="PNG")


@dataclass(frozen=True)
class PresetPhoto:
    preset_id: str
    name: str
    description: str
    gender: str
    source: str  # where the picture comes from, and its licence
    make: Callable[[Path], None]

    def as_dict(self) -> dict:
        return {"preset_id": self.preset_id, "name": self.name, "description": self.description,
                "gender": self.gender, "source": self.source}


PRESETS = {preset.preset_id: preset for preset in (
    PresetPhoto("preset-photo-eileen", "Eileen", "Astronaut portrait, studio light", "FEMALE",
                "NASA portrait of astronaut Eileen Collins, shipped with scikit-image as skimage.data.astronaut(); "
                "public domain (a work of the US government)", _astronaut),
    PresetPhoto("preset-photo-grace", "Grace", "Portrait in navy uniform, studio light", "FEMALE",
                "US Navy portrait of Rear Admiral Grace Hopper, shipped with matplotlib as "
                "sample_data/grace_hopper.jpg; "
                "public domain (a work of the US government)", _grace_hopper),
)}


def preset_photos() -> list[PresetPhoto]:
    return list(PRESETS.values())


def get_preset(preset_id, *, field: str = "preset_id") -> PresetPhoto:
    preset = PRESETS.get(preset_id) if isinstance(preset_id, str) else None
    if preset is None:
        raise InvalidParameter(f"must be one of {', '.join(PRESETS)}", field=field)
    return preset


def preset_photo_path(preset: PresetPhoto) -> Path:
    """The preset's picture as a local PNG (made from its package on first use)."""
    folder = Path(settings.DATA_DIR) / "presets"
    target = folder / f"{preset.preset_id}.png"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{preset.preset_id}.{os.getpid()}.png"
        preset.make(partial)
        os.replace(partial, target)  # atomic: a concurrent reader never sees half a file
    return target
