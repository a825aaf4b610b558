"""Signed upload URLs of avatar training material, on the assets' upload machinery (assets.uploads).

Each URL names one AvatarUpload: a file slot (authorization letter, ID card images, cover) or one part of the
training video (MetaStudio's `video_multipart_count`). Embedded mode: `PUT /avatar-uploads/<id>?token=...`
streams the body to `<upload dir>/<id>.part` in 1 MiB chunks; a large part may be sent in pieces with
`Content-Range: bytes <start>-<end>/<total>`, and `HEAD` answers `Upload-Offset` (how much arrived) so an
interrupted upload resumes where it stopped. Scaled mode (S3 storage): the URL is an S3 presigned PUT; what
arrived is found in the bucket when the job is submitted.
"""

import base64
import contextlib
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage

from assets import uploads as asset_uploads
from avatars.models import AvatarUpload
from metastudio.errors import InvalidParameter, NotFound, StateConflict, is_uuid

SALT = "metastudio.avatars.upload"
Slot = AvatarUpload.Slot
IMAGE_MAX_BYTES = 10 * 1024 * 1024
# The API field each slot is named by (MetaStudio: training_video_upload_url, grant_file_upload_url, ...); also
# the job's FileField holding the accepted file.
FIELDS = {Slot.TRAINING_VIDEO: "training_video", Slot.GRANT_FILE: "grant_file",
          Slot.ID_CARD_IMAGE1: "id_card_image1", Slot.ID_CARD_IMAGE2: "id_card_image2", Slot.COVER: "cover"}
# What each slot must really contain (probe container names).
KINDS = {
    Slot.TRAINING_VIDEO: ("video", ("mp4", "mov"), "an MP4 or MOV video"),
    Slot.GRANT_FILE: (None, ("pdf", "png", "jpeg"), "a PDF, PNG or JPG document"),
    Slot.ID_CARD_IMAGE1: ("image", ("png", "jpeg"), "a PNG or JPG image"),
    Slot.ID_CARD_IMAGE2: ("image", ("png", "jpeg"), "a PNG or JPG image"),
    Slot.COVER: ("image", ("png", "jpeg"), "a PNG or JPG image"),
}
EXTENSIONS = {"mp4": ".mp4", "mov": ".mov", "pdf": ".pdf", "png": ".png", "jpeg": ".jpg"}


def is_s3() -> bool:
    return asset_uploads.is_s3()


def max_bytes(slot: str) -> int:
    if slot == Slot.TRAINING_VIDEO:
        return getattr(settings, "AVATAR_VIDEO_MAX_BYTES", settings.ASSET_MAX_FILE_BYTES)
    return getattr(settings, "AVATAR_IMAGE_MAX_BYTES", IMAGE_MAX_BYTES)


def bucket_key(upload: AvatarUpload) -> str:
    """Where an upload's bytes land in S3 mode (the presigned PUT's key)."""
    return f"avatars/{upload.account_id}/{upload.job_id}/uploads/{upload.pk}"


def stored_name(job, slot: str, tag: str, container: str) -> str:
    """Where a job's accepted file lives in storage."""
    return f"avatars/{job.account_id}/{job.pk}/{FIELDS[slot]}-{tag}{EXTENSIONS.get(container, '')}"


def token(upload: AvatarUpload) -> str:
    return signing.dumps(str(upload.pk), salt=SALT, compress=False)


def upload_url(upload: AvatarUpload, base_url: str) -> str:
    if is_s3():
        client = default_storage.connection.meta.client
        return client.generate_presigned_url(
            "put_object", Params={"Bucket": default_storage.bucket_name, "Key": bucket_key(upload)},
            ExpiresIn=settings.ASSET_UPLOAD_URL_TTL_SECONDS)
    return f"{base_url.rstrip('/')}/avatar-uploads/{upload.pk}?token={token(upload)}"


def signed_upload(upload_id: str, raw_token: str) -> AvatarUpload:
    """The upload a signed URL names; 404 for an unknown id or a forged token, 409 once expired."""
    upload = AvatarUpload.objects.select_related("job").filter(pk=upload_id).first() if is_uuid(upload_id) else None
    if upload is None:
        raise NotFound("unknown upload URL")
    try:
        value = signing.loads(raw_token or "", salt=SALT, max_age=settings.ASSET_UPLOAD_URL_TTL_SECONDS)
    except signing.SignatureExpired:
        raise StateConflict("the upload URL has expired; ask for new URLs (PUT the job)", field="token") from None
    except signing.BadSignature:
        raise NotFound("unknown upload URL") from None
    if value != str(upload.pk):
        raise NotFound("unknown upload URL")
    return upload


def part_path(upload: AvatarUpload) -> Path:
    return asset_uploads.part_path(upload)


def received_size(upload: AvatarUpload) -> int:
    if is_s3():
        key = bucket_key(upload)
        return default_storage.size(key) if default_storage.exists(key) else 0
    path = part_path(upload)
    return path.stat().st_size if path.exists() else 0


def parse_total(content_range: str | None) -> int | None:
    """The total size a Content-Range header announces (None without the header)."""
    if not content_range:
        return None
    match = asset_uploads.RANGE.match(content_range.strip())
    if not match:
        raise InvalidParameter("must look like 'bytes <start>-<end>/<total>'", field="Content-Range")
    return int(match.group(3))


def write(upload: AvatarUpload, stream, content_range: str | None, total: int | None) -> int:
    """Write a PUT body into the upload's part file (whole, or a Content-Range piece); returns the size so far."""
    limit = total if total is not None else max_bytes(upload.slot)
    target = SimpleNamespace(pk=upload.pk, declared_size=limit)
    start, length = asset_uploads.parse_range(content_range, limit) if content_range else (0, None)
    try:
        return asset_uploads.write_stream(target, stream, start, length)
    except InvalidParameter as error:
        if error.field == "file_size":
            raise InvalidParameter(f"at most {max_bytes(upload.slot)} bytes", field=FIELDS[upload.slot]) from None
        raise


def etag(upload: AvatarUpload) -> str:
    """Hex MD5 of a complete local part (computed while it arrived when it came in one piece)."""
    path = part_path(upload)
    streamed = asset_uploads.streamed_md5(SimpleNamespace(pk=upload.pk))
    digest = streamed or asset_uploads.md5_base64(path)
    return base64.b64decode(digest).hex()


@contextlib.contextmanager
def local_bytes(upload: AvatarUpload):
    """A local path holding the upload's bytes (the part file, or a download from the bucket)."""
    if not is_s3():
        yield part_path(upload)
        return
    from assets.tasks import local_copy

    with local_copy(bucket_key(upload)) as path:
        yield Path(path)


def discard(upload: AvatarUpload) -> None:
    if is_s3():
        key = bucket_key(upload)
        if default_storage.exists(key):
            default_storage.delete(key)
        return
    asset_uploads.discard(upload)


def store(path: Path, name: str) -> str:
    """Put a local file into storage under `name` (a rename on the local file system); returns the stored name."""
    if is_s3():
        with open(path, "rb") as handle:
            stored = default_storage.save(name, File(handle))
        path.unlink(missing_ok=True)
        return stored
    target = Path(default_storage.path(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    path.replace(target)
    return name


def concatenate(parts: list[AvatarUpload]) -> Path:
    """The parts of a video joined in order into one local temporary file (the caller stores or deletes it)."""
    settings.ASSET_UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(prefix="avatar-video-", suffix=".part", dir=settings.ASSET_UPLOAD_DIR,
                                         delete=False)
    with handle:
        for part in parts:
            with local_bytes(part) as path, open(path, "rb") as source:
                shutil.copyfileobj(source, handle, asset_uploads.CHUNK)
    return Path(handle.name)


def bucket_etag(upload: AvatarUpload) -> str:
    """S3 mode: the object's ETag (the hex MD5 of a single PUT)."""
    client = default_storage.connection.meta.client
    head = client.head_object(Bucket=default_storage.bucket_name, Key=bucket_key(upload))
    return str(head.get("ETag", "")).strip('"')


def drop_sidecar(upload: AvatarUpload) -> None:
    """The MD5 noted while a part arrived is not needed once the part is accepted."""
    if not is_s3():
        part_path(upload).with_suffix(".md5").unlink(missing_ok=True)


def put_file(upload: AvatarUpload, path: Path) -> int:
    """A local file handed to the platform directly, put where a signed PUT would have put it."""
    if not is_s3():
        with open(path, "rb") as source:
            return write(upload, source, None, None)
    with open(path, "rb") as source:
        default_storage.save(bucket_key(upload), File(source))
    return path.stat().st_size
