"""Zip safety: refuse zip bombs and hostile entry names before any tool (python-pptx, LibreOffice, an unzip)
opens a zip container such as a PPTX."""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import UnsafeArchive

MAX_TOTAL_UNCOMPRESSED = 1024 * 1024 * 1024  # 1 GiB declared uncompressed in all
MAX_COMPRESSION_RATIO = 100  # per entry, for entries larger than RATIO_MIN_ENTRY_BYTES
RATIO_MIN_ENTRY_BYTES = 1024 * 1024  # small entries (XML of a few KB) may compress extremely well
MAX_ENTRIES = 10_000
VERIFY_CHUNK = 1024 * 1024

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ZipStats:
    entries: int
    total_uncompressed: int
    total_compressed: int
    names: tuple[str, ...]


def unsafe_entry_name(name: str) -> str | None:
    """Why an entry name is unsafe to extract, or None."""
    if not name:
        return "an entry has an empty name"
    if "\x00" in name or any(ord(c) < 32 for c in name):
        return f"entry name {name!r} contains control characters"
    if "\\" in name:
        return f"entry name {name!r} contains a backslash"
    if name.startswith("/") or _DRIVE.match(name):
        return f"entry name {name!r} is an absolute path"
    if ".." in name.split("/"):
        return f"entry name {name!r} leaves the archive folder (path traversal)"
    return None


def check_zip_safe(
    path: os.PathLike | str,
    max_total: int = MAX_TOTAL_UNCOMPRESSED,
    max_ratio: float = MAX_COMPRESSION_RATIO,
    max_entries: int = MAX_ENTRIES,
    verify: bool = True,
) -> ZipStats:
    """Check a zip file is safe to open; return its stats or raise UnsafeArchive with the reason.

    Checks, in order: it is a readable zip; entry count <= max_entries; every entry name is relative with no
    '..', backslash, drive letter or control character; the declared uncompressed total <= max_total; no entry
    over 1 MiB declares a compression ratio above max_ratio. With `verify`, every entry is then decompressed
    in a stream (bounded by its declared size, never held in memory) and its CRC checked, so an archive whose
    headers understate the real content is refused as well."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise UnsafeArchive(f"not a readable zip archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise UnsafeArchive(f"archive has {len(infos)} entries, more than the limit of {max_entries}")
        total = 0
        total_compressed = 0
        for info in infos:
            reason = unsafe_entry_name(info.filename)
            if reason:
                raise UnsafeArchive(reason)
            if info.flag_bits & 0x1:
                raise UnsafeArchive(f"entry {info.filename!r} is encrypted")
            total += info.file_size
            total_compressed += info.compress_size
            if total > max_total:
                raise UnsafeArchive(f"archive declares more than {_mb(max_total)} of uncompressed content (zip bomb?)")
            if info.file_size > RATIO_MIN_ENTRY_BYTES:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > max_ratio:
                    raise UnsafeArchive(
                        f"entry {info.filename!r} expands {ratio:.0f}x ({_mb(info.compress_size)} -> "
                        f"{_mb(info.file_size)}), more than the limit of {max_ratio:g}x (zip bomb?)"
                    )
        if verify:
            for info in infos:
                if info.is_dir():
                    continue
                try:
                    with zf.open(info) as fh:
                        while fh.read(VERIFY_CHUNK):
                            pass
                except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
                    raise UnsafeArchive(f"entry {info.filename!r} cannot be read: {exc}") from exc
                except RuntimeError as exc:  # encrypted member
                    raise UnsafeArchive(f"entry {info.filename!r} cannot be read: {exc}") from exc
        return ZipStats(
            entries=len(infos),
            total_uncompressed=total,
            total_compressed=total_compressed,
            names=tuple(i.filename for i in infos),
        )


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
