"""Signed, expiring upload URLs and the receiving side of the embedded mode.

Embedded mode: `PUT /uploads/<file_id>?token=...` is served by the platform; bytes are streamed to
`<data dir>/uploads/<file_id>.part` in 1 MiB chunks, never whole in memory. A large file may be sent in
parts with `Content-Range: bytes <start>-<end>/<total>`; `HEAD` tells how much has arrived, so an
interrupted upload resumes where it stopped. Scaled mode (S3 storage): the URL is an S3 presigned PUT.
"""

import base64
import hashlib
import json
import re
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage

from metastudio.errors import InvalidParameter, NotFound, StateConflict, is_uuid

SALT = "metastudio.assets.upload"
CHUNK = 1024 * 1024
RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def is_s3() -> bool:
    return settings.STORAGE_BACKEND == "s3"


def storage_name(file) -> str:
    return f"assets/{file.account_id}/{file.asset_id}/{file.pk}/{file.name}"


def upload_token(file) -> str:
    return signing.dumps(str(file.pk), salt=SALT, compress=False)


def check_token(file_id: str, token: str) -> None:
    try:
        value = signing.loads(token or "", salt=SALT, max_age=settings.ASSET_UPLOAD_URL_TTL_SECONDS)
    except signing.SignatureExpired:
        raise StateConflict("the upload URL has expired; create the file again", field="token") from None
    except signing.BadSignature:
        raise NotFound("unknown upload URL") from None
    if value != str(file_id):
        raise NotFound("unknown upload URL")


def signed_file(file_id: str, token: str):
    """The file a signed upload URL names; 404 for an unknown id or a forged token."""
    from assets.models import AssetFile

    file = AssetFile.objects.select_related("asset").filter(pk=file_id).first() if is_uuid(file_id) else None
    if file is None:
        raise NotFound("unknown upload URL")
    check_token(file_id, token)
    return file


def upload_url(file, base_url: str) -> str:
    if is_s3():
        client = default_storage.connection.meta.client
        return client.generate_presigned_url(
            "put_object", Params={"Bucket": default_storage.bucket_name, "Key": storage_name(file)},
            ExpiresIn=settings.ASSET_UPLOAD_URL_TTL_SECONDS,
        )
    return f"{base_url.rstrip('/')}/uploads/{file.pk}?token={upload_token(file)}"


def part_path(file) -> Path:
    settings.ASSET_UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    return settings.ASSET_UPLOAD_DIR / f"{file.pk}.part"


def received_size(file) -> int:
    if is_s3():
        name = storage_name(file)
        return default_storage.size(name) if default_storage.exists(name) else 0
    path = part_path(file)
    return path.stat().st_size if path.exists() else 0


def parse_range(header: str | None, declared: int) -> tuple[int, int | None]:
    """(start offset, expected length or None) of a PUT; no header means the whole file from 0."""
    if not header:
        return 0, None
    match = RANGE.match(header.strip())
    if not match:
        raise InvalidParameter("must look like 'bytes <start>-<end>/<total>'", field="Content-Range")
    start, end, total = (int(group) for group in match.groups())
    if total != declared:
        raise InvalidParameter(f"total {total} differs from the declared file_size {declared}", field="Content-Range")
    if end < start or end >= total:
        raise InvalidParameter("end must be >= start and < total", field="Content-Range")
    return start, end - start + 1


class PartWriter:
    """Writes an upload's bytes at `start` of its part file, refusing more than declared.

    An upload that starts at byte 0 is hashed while it is written; the MD5 goes to a sidecar file so
    that complete need not read the file again. A resumed upload (start > 0) is hashed at complete.
    """

    def __init__(self, file, start: int, length: int | None):
        self.path = part_path(file)
        have = self.path.stat().st_size if self.path.exists() else 0
        if start not in (0, have):
            raise StateConflict(f"resume at byte {have}: {have} bytes have arrived", field="Content-Range")
        self.sidecar = self.path.with_suffix(".md5")
        self.sidecar.unlink(missing_ok=True)
        self.handle = open(self.path, "r+b" if start and self.path.exists() else "wb", buffering=CHUNK)
        self.handle.seek(start)
        self.handle.truncate()
        self.digest = hashlib.md5(usedforsecurity=False) if start == 0 else None
        self.start, self.length, self.limit, self.written = start, length, file.declared_size, 0

    def write(self, chunk: bytes) -> None:
        self.written += len(chunk)
        if self.start + self.written > self.limit:
            self.abort()
            raise InvalidParameter(f"more bytes than the declared file_size {self.limit}", field="file_size")
        self.handle.write(chunk)
        if self.digest is not None:
            self.digest.update(chunk)

    def abort(self) -> None:
        if not self.handle.closed:
            self.handle.truncate(self.start)
            self.handle.close()

    def finish(self) -> int:
        self.handle.close()
        if self.length is not None and self.written != self.length:
            raise InvalidParameter(f"Content-Range announced {self.length} bytes, {self.written} arrived",
                                   field="Content-Range")
        size = self.start + self.written
        if self.digest is not None:
            self.sidecar.write_text(json.dumps({"size": size, "md5": base64.b64encode(self.digest.digest()).decode()}))
        return size


def write_stream(file, stream, start: int, length: int | None) -> int:
    """Write a file-like request body at `start`; returns the new size."""
    writer = PartWriter(file, start, length)
    try:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    return writer.finish()


def streamed_md5(file) -> str | None:
    """The MD5 computed while the bytes arrived, if it covers the whole part file."""
    path = part_path(file)
    sidecar = path.with_suffix(".md5")
    if is_s3() or not sidecar.exists() or not path.exists():
        return None
    recorded = json.loads(sidecar.read_text())
    return recorded["md5"] if recorded["size"] == path.stat().st_size else None


def md5_base64(path_or_name: str | Path, from_storage: bool = False) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    handle = default_storage.open(str(path_or_name), "rb") if from_storage else open(path_or_name, "rb")
    with handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def move_into_storage(file) -> str:
    """Put the received bytes where the asset's files live; a rename on the local file system."""
    name = storage_name(file)
    if is_s3():
        return name
    target = Path(default_storage.path(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    part_path(file).replace(target)
    part_path(file).with_suffix(".md5").unlink(missing_ok=True)
    return name


def discard(file) -> None:
    if not is_s3():
        part_path(file).unlink(missing_ok=True)
        part_path(file).with_suffix(".md5").unlink(missing_ok=True)
