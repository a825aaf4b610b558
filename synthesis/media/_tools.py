"""Subprocess plumbing shared by probe and derive: every external tool runs with a timeout, in its own
process group (killed as a whole on timeout), with stdin closed, and fails with a MediaError that carries
the tail of its stderr."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .errors import MediaError, MediaTimeout, ToolMissing

# Debian package that provides each external tool (for the error message and the Makefile).
TOOL_PACKAGES = {
    "ffmpeg": "ffmpeg",
    "ffprobe": "ffmpeg",
    "soffice": "libreoffice-impress",
    "pdftoppm": "poppler-utils",
    "pdfinfo": "poppler-utils",
}

STDERR_TAIL_CHARS = 1200
_CONTEXT_PREFIX = re.compile(r"\[[^\]\n]* @ 0x[0-9a-f]+\] ")  # ffmpeg's "[mov,mp4,... @ 0x55...] " log prefix

# Demuxers ffmpeg/ffprobe may use on an uploaded file. Playlist/concat/image-sequence demuxers (hls, concat,
# image2, ...) are left out on purpose: they would make ffmpeg open other local files or URLs named inside
# the upload.
SAFE_DEMUXERS = (
    "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,flv,asf,avi,mp3,wav,aac,ogg,flac,mpegts,mpeg,"
    "png_pipe,jpeg_pipe,bmp_pipe,webp_pipe,gif"
)
INPUT_GUARD = ["-protocol_whitelist", "file", "-format_whitelist", SAFE_DEMUXERS]


def tool_path(name: str) -> str:
    path = shutil.which(name)
    if not path:
        package = TOOL_PACKAGES.get(name, name)
        raise ToolMissing(f"{name} is not installed (Debian package {package!r})")
    return path


def tool_available(name: str) -> bool:
    return shutil.which(name) is not None


def tail(data: bytes | str, limit: int = STDERR_TAIL_CHARS) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    if len(text) > limit:
        text = "..." + text[-limit:]
    return text


def run(
    args: Sequence[str | os.PathLike],
    *,
    timeout: float,
    what: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run a tool; returns the CompletedProcess (stdout and stderr as bytes).

    Raises ToolMissing if the binary is absent, MediaTimeout after `timeout` seconds (the whole process group
    is killed), MediaError on a non-zero exit when `check`."""
    argv = [tool_path(str(args[0])), *(os.fspath(a) for a in args[1:])]
    paths = [a for a in argv[1:] if a.startswith("/")]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        detail = redact(tail(err), paths) or "no output"
        raise MediaTimeout(f"{what} took longer than {timeout:g} s and was stopped; {detail}")
    except BaseException:
        _kill_group(proc)
        proc.communicate()
        raise
    if check and proc.returncode != 0:
        detail = redact(tail(err), paths) or "no error output"
        raise MediaError(f"{what} failed (exit code {proc.returncode}): {detail}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def redact(text: str, paths: Sequence[str]) -> str:
    """Replace absolute paths (storage locations) in a tool's message by their last component."""
    for path in sorted(paths, key=len, reverse=True):
        text = text.replace(path, os.path.basename(path.rstrip("/")) or "file")
    return _CONTEXT_PREFIX.sub("", text)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


@contextmanager
def atomic_output(dst: Path) -> Iterator[Path]:
    """Yield a temporary path next to `dst` (same suffix, so tools pick the format from it); on success it is
    renamed over `dst`, on failure removed. A half-written derived file is never visible under its name."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.part-{uuid.uuid4().hex[:8]}{dst.suffix}")
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise MediaError(f"no output was produced for {dst.name}")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def abspath(path: os.PathLike | str) -> str:
    """Absolute path string, so a file name starting with '-' is never read as an option."""
    return os.path.abspath(os.fspath(path))
