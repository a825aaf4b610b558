"""Every state change of assets and their files. Atomic and audited."""

import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from assets import moderation, quota, uploads
from assets.models import Asset, AssetFile
from metastudio import jobs
from metastudio.errors import InvalidParameter, NotFound, PermissionDenied, StateConflict
from tenancy.audit import Actor, record_audit

MAX_TAGS = 20
MAX_TAG_LENGTH = 64
REPLICATION_SALT = "metastudio.assets.replication"
REPLICATION_TTL_SECONDS = 7 * 24 * 3600
ENTERPRISE_TYPES = (Asset.Type.HUMAN_MODEL_2D, Asset.Type.VOICE_MODEL)


def _clean_name(name) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= 256:
        raise InvalidParameter("must be 1 to 256 characters", field="asset_name")
    return name


def clean_tags(tags) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise InvalidParameter(f"must be a list of at most {MAX_TAGS} tags", field="tags")
    cleaned = []
    for index, tag in enumerate(tags):
        if not isinstance(tag, str) or not 1 <= len(tag.strip()) <= MAX_TAG_LENGTH:
            raise InvalidParameter(f"each tag is 1 to {MAX_TAG_LENGTH} characters", field=f"tags[{index}]")
        if tag.strip() not in cleaned:
            cleaned.append(tag.strip())
    return cleaned


def _clean_properties(properties) -> list[dict]:
    if properties is None:
        return []
    if not isinstance(properties, list):
        raise InvalidParameter("must be a list of {key, value}", field="system_properties")
    cleaned = []
    for index, item in enumerate(properties):
        key = item.get("key") if isinstance(item, dict) else None
        if key not in Asset.SYSTEM_PROPERTIES:
            raise InvalidParameter(f"key must be one of {', '.join(Asset.SYSTEM_PROPERTIES)}",
                                   field=f"system_properties[{index}].key")
        cleaned.append({"key": key, "value": str(item.get("value", "Yes"))[:64]})
    return cleaned


def _review(account, *texts) -> tuple[str, str]:
    if account.review_exempt:
        return Asset.Review.EXEMPT, ""
    found = moderation.findings(*texts)
    if found:
        return Asset.Review.NEEDS_MANUAL, f"machine review matched: {', '.join(found)}"
    return Asset.Review.PASSED, ""


@transaction.atomic
def create_asset(actor: Actor, account, *, name, asset_type, description="", tags=None, system_properties=None,
                 project=None, created_by_platform=False) -> Asset:
    if asset_type not in Asset.Type.values:
        raise InvalidParameter(f"must be one of {', '.join(Asset.Type.values)}", field="asset_type")
    if asset_type in ENTERPRISE_TYPES and not account.is_enterprise and not created_by_platform:
        raise PermissionDenied("custom avatar and voice models are for enterprise accounts", field="asset_type")
    if len(description or "") > 1024:
        raise InvalidParameter("at most 1024 characters", field="asset_description")
    asset = Asset(account=account, project=project, created_by=actor.user, name=_clean_name(name),
                  description=description or "", type=asset_type, tags=clean_tags(tags),
                  system_properties=_clean_properties(system_properties), created_by_platform=created_by_platform)
    asset.review, asset.review_note = _review(account, asset.name, asset.description, *asset.tags)
    asset.save()
    record_audit(actor, "asset.create", asset, account=account,
                 detail={"name": asset.name, "type": asset_type, "review": asset.review})
    return asset


@transaction.atomic
def update_asset(actor: Actor, asset: Asset, *, name=None, description=None, tags=None,
                 system_properties=None) -> Asset:
    _ensure_not_frozen(asset)
    if asset.state == Asset.State.DELETED:
        raise StateConflict("restore the asset from the recycle bin before changing it", field="asset_id")
    changed = {}
    if name is not None:
        asset.name = changed["asset_name"] = _clean_name(name)
    if description is not None:
        if len(description) > 1024:
            raise InvalidParameter("at most 1024 characters", field="asset_description")
        asset.description = changed["asset_description"] = description
    if tags is not None:
        asset.tags = changed["tags"] = clean_tags(tags)
    if system_properties is not None:
        asset.system_properties = changed["system_properties"] = _clean_properties(system_properties)
    if changed:
        asset.review, asset.review_note = _review(asset.account, asset.name, asset.description, *asset.tags)
    asset.save()
    record_audit(actor, "asset.update", asset, account=asset.account, detail=changed)
    return asset


def _ensure_not_frozen(asset: Asset) -> None:
    if asset.state == Asset.State.BLOCK:
        raise StateConflict(f"the asset is frozen: {asset.reason}", field="asset_id", code="MSS.00000014")


def ensure_usable(asset: Asset) -> Asset:
    """The one check every job makes before using an asset: active and not frozen."""
    _ensure_not_frozen(asset)
    if asset.state != Asset.State.ACTIVED:
        raise StateConflict(f"the asset is {asset.state}, not ACTIVED", field="asset_id")
    return asset


@transaction.atomic
def delete_asset(actor: Actor, asset: Asset, *, force: bool = False) -> None:
    if force:
        _delete_permanently(actor, asset)
        return
    if asset.state == Asset.State.DELETED:
        raise StateConflict("the asset is already in the recycle bin; use mode=force to delete it",
                            field="asset_id")
    if asset.state == Asset.State.BLOCK:
        raise StateConflict(f"the asset is frozen: {asset.reason}", field="asset_id", code="MSS.00000014")
    Asset.objects.filter(pk=asset.pk).update(previous_state=F("state"), state=Asset.State.DELETED,
                                             deleted_at=timezone.now(), updated_at=timezone.now())
    record_audit(actor, "asset.delete", asset, account=asset.account, detail={"mode": "recycle"})
    asset.refresh_from_db()


def ensure_exportable(file: AssetFile) -> None:
    """A model the platform trained (voice or avatar) is used inside the platform only: never downloaded."""
    if file.generated and file.category == AssetFile.Category.MAIN and file.asset.type in ENTERPRISE_TYPES:
        raise PermissionDenied("trained voice and avatar models are used inside the platform and cannot be exported",
                               field="file_id")


def _delete_permanently(actor: Actor, asset: Asset) -> None:
    names = [f.stored.name for f in asset.files.all() if f.stored]
    parts = [uploads.part_path(f) for f in asset.files.all()] if not uploads.is_s3() else []
    record_audit(actor, "asset.delete", asset, account=asset.account, detail={"mode": "force", "name": asset.name})
    asset.delete()

    def remove_files():
        for name in names:
            default_storage.delete(name)
        for path in parts:
            path.unlink(missing_ok=True)

    transaction.on_commit(remove_files)


@transaction.atomic
def restore_asset(actor: Actor, asset: Asset) -> Asset:
    restored = Asset.objects.filter(pk=asset.pk, state=Asset.State.DELETED).update(
        state=F("previous_state"), previous_state="", deleted_at=None, updated_at=timezone.now())
    if not restored:
        raise StateConflict(f"only an asset in the recycle bin can be restored; this one is {asset.state}",
                            field="asset_id")
    record_audit(actor, "asset.restore", asset, account=asset.account)
    asset.refresh_from_db()
    return asset


@transaction.atomic
def set_active(actor: Actor, asset: Asset, active: bool) -> Asset:
    wanted, current = (Asset.State.ACTIVED, Asset.State.UNACTIVED) if active else \
        (Asset.State.UNACTIVED, Asset.State.ACTIVED)
    if not Asset.objects.filter(pk=asset.pk, state=current).update(state=wanted, updated_at=timezone.now()):
        asset.refresh_from_db()
        raise StateConflict(f"the asset is {asset.state}; only {current} assets can be set {wanted}",
                            field="asset_id")
    record_audit(actor, "asset.activate" if active else "asset.deactivate", asset, account=asset.account)
    asset.refresh_from_db()
    return asset


@transaction.atomic
def freeze(actor: Actor, asset: Asset, reason: str) -> Asset:
    if not reason.strip():
        raise InvalidParameter("a reason is required", field="reason")
    if asset.state == Asset.State.BLOCK:
        raise StateConflict("the asset is already frozen", field="asset_id")
    Asset.objects.filter(pk=asset.pk).update(previous_state=F("state"), state=Asset.State.BLOCK, reason=reason[:1024],
                                             updated_at=timezone.now())
    record_audit(actor, "asset.freeze", asset, account=asset.account, detail={"reason": reason})
    asset.refresh_from_db()
    return asset


@transaction.atomic
def unfreeze(actor: Actor, asset: Asset, reason: str) -> Asset:
    if not Asset.objects.filter(pk=asset.pk, state=Asset.State.BLOCK).update(
            state=F("previous_state"), previous_state="", reason="", updated_at=timezone.now()):
        raise StateConflict("the asset is not frozen", field="asset_id")
    record_audit(actor, "asset.unfreeze", asset, account=asset.account, detail={"reason": reason})
    asset.refresh_from_db()
    return asset


@transaction.atomic
def set_review(actor: Actor, asset: Asset, *, approved: bool, note: str = "") -> Asset:
    """A reviewer's decision on an asset the machine review flagged; a rejection freezes it."""
    asset.review = Asset.Review.PASSED if approved else Asset.Review.REJECTED
    asset.review_note = note[:1024]
    asset.save(update_fields=["review", "review_note", "updated_at"])
    record_audit(actor, "asset.review", asset, account=asset.account, detail={"approved": approved, "note": note})
    if not approved and asset.state != Asset.State.BLOCK:
        freeze(actor, asset, f"rejected by review: {note or 'content not allowed'}")
    return asset


# --- files ----------------------------------------------------------------------------------------------

@transaction.atomic
def create_file(actor: Actor, account, *, asset_id, file_name, file_size, file_md5="", file_type="",
                category=AssetFile.Category.MAIN, base_url: str) -> tuple[AssetFile, str]:
    from synthesis.media.rules import safe_filename

    asset = Asset.objects.select_for_update().filter(account=account, pk=asset_id).first() if asset_id else None
    if asset is None:
        raise NotFound(f"asset {asset_id} does not exist", field="asset_id")
    _ensure_not_frozen(asset)
    if asset.state == Asset.State.DELETED:
        raise StateConflict("the asset is in the recycle bin", field="asset_id")
    if category not in AssetFile.UPLOADABLE:
        raise InvalidParameter(f"must be one of {', '.join(AssetFile.UPLOADABLE)}", field="asset_file_category")
    try:
        name = safe_filename(file_name or "")
    except ValueError as error:
        raise InvalidParameter(str(error), field="file_name") from None
    if not isinstance(file_size, int) or not 1 <= file_size <= settings.ASSET_MAX_FILE_BYTES:
        raise InvalidParameter(f"must be between 1 and {settings.ASSET_MAX_FILE_BYTES} bytes", field="file_size")
    if file_md5 and len(file_md5) != 24:
        raise InvalidParameter("must be the base64 of the 16-byte MD5 digest (24 characters)", field="file_md5")
    if category == AssetFile.Category.MAIN and asset.files.filter(
            category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).exists():
        raise StateConflict("the asset already has its main file", field="asset_file_category")
    quota.ensure_room(asset, file_size)
    file = AssetFile.objects.create(asset=asset, account=account, category=category, name=name,
                                    file_type=(file_type or name.rsplit(".", 1)[-1] if "." in name else "")[:64],
                                    declared_size=file_size, declared_md5=file_md5)
    record_audit(actor, "asset.file.create", file, account=account,
                 detail={"asset_id": str(asset.pk), "name": name, "size": file_size, "category": category})
    return file, uploads.upload_url(file, base_url)


def receive_upload(file: AssetFile, stream, content_range: str | None) -> int:
    """Stream a PUT body into the file's upload; returns the bytes received so far."""
    start, length = prepare_upload(file, content_range)
    return record_received(file, uploads.write_stream(file, stream, start, length))


def prepare_upload(file: AssetFile, content_range: str | None) -> tuple[int, int | None]:
    """Check the file may take bytes; returns (start offset, announced length)."""
    if file.state not in (AssetFile.State.WAITING_UPLOAD, AssetFile.State.UPLOADING):
        raise StateConflict(f"the file is {file.state}; it takes no more bytes", field="file_id")
    _ensure_not_frozen(file.asset)
    return uploads.parse_range(content_range, file.declared_size)


def record_received(file: AssetFile, size: int) -> int:
    AssetFile.objects.filter(pk=file.pk).update(state=AssetFile.State.UPLOADING, received_bytes=size)
    return size


def complete_file(actor: Actor, file: AssetFile, state: str = "CREATED") -> AssetFile:
    """Verify size and MD5, store the bytes, and start processing the asset (validation, derived files)."""
    if state not in ("CREATED", "FAILED", "CANCELLED"):
        raise InvalidParameter("must be CREATED, FAILED or CANCELLED", field="state")
    if state == "CREATED":
        _ensure_not_frozen(file.asset)
    with transaction.atomic():
        claimed = AssetFile.objects.filter(
            pk=file.pk, state__in=[AssetFile.State.WAITING_UPLOAD, AssetFile.State.UPLOADING]
        ).update(state=AssetFile.State.FAILED, reason="verifying")  # takes the file: a racing complete gets 409
        if not claimed:
            file.refresh_from_db()
            raise StateConflict(f"the file is already {file.state}", field="file_id")
    if state != "CREATED":
        return _end_upload(actor, file, AssetFile.State.CANCELLED if state == "CANCELLED" else AssetFile.State.FAILED,
                           f"upload reported {state} by the client")
    problem = _verify(file)
    if problem:
        return _end_upload(actor, file, AssetFile.State.FAILED, problem)
    with transaction.atomic():
        name = uploads.move_into_storage(file)
        AssetFile.objects.filter(pk=file.pk).update(state=AssetFile.State.CREATED, stored=name, reason="",
                                                    received_bytes=file.declared_size, completed_at=timezone.now())
        Asset.objects.filter(pk=file.asset_id).update(size_bytes=F("size_bytes") + file.declared_size,
                                                      updated_at=timezone.now())
        file.refresh_from_db()
        record_audit(actor, "asset.file.complete", file, account=file.account, detail={"asset_id": str(file.asset_id)})
        if file.category == AssetFile.Category.MAIN:
            jobs.submit(actor, file.account, "asset_process", {"asset_id": str(file.asset_id)},
                        project=file.asset.project)
    return file


def _verify(file: AssetFile) -> str:
    size = uploads.received_size(file)
    if size != file.declared_size:
        return f"size mismatch: declared {file.declared_size} bytes, received {size}"
    if file.declared_md5:
        source = uploads.storage_name(file) if uploads.is_s3() else uploads.part_path(file)
        actual = uploads.streamed_md5(file) or uploads.md5_base64(source, from_storage=uploads.is_s3())
        if actual != file.declared_md5:
            return f"MD5 mismatch: declared {file.declared_md5}, received {actual}"
    return ""


def _end_upload(actor: Actor, file: AssetFile, state: str, reason: str) -> AssetFile:
    with transaction.atomic():
        AssetFile.objects.filter(pk=file.pk).update(state=state, reason=reason[:1024])
        if file.category == AssetFile.Category.MAIN:
            Asset.objects.filter(pk=file.asset_id, state=Asset.State.CREATING).update(
                state=Asset.State.FAILED, reason=f"main file: {reason}"[:1024], updated_at=timezone.now())
        record_audit(actor, "asset.file.fail", file, account=file.account, detail={"reason": reason})
    uploads.discard(file)
    file.refresh_from_db()
    return file


def fail_stale_uploads(now=None) -> int:
    """Scheduled: assets whose main file did not arrive within the deadline turn FAILED."""
    now = now or timezone.now()
    stale = Asset.objects.filter(
        state=Asset.State.CREATING,
        created_at__lt=now - timedelta(seconds=settings.ASSET_MAIN_FILE_DEADLINE_SECONDS),
    ).exclude(files__category=AssetFile.Category.MAIN, files__state=AssetFile.State.CREATED)
    count = 0
    for asset in stale:
        hours = settings.ASSET_MAIN_FILE_DEADLINE_SECONDS // 3600
        if Asset.objects.filter(pk=asset.pk, state=Asset.State.CREATING).update(
                state=Asset.State.FAILED, reason=f"the main file was not uploaded within {hours} h",
                updated_at=timezone.now()):
            count += 1
            record_audit(Actor.system(asset.account), "asset.expire", asset, account=asset.account)
            for file in asset.files.filter(state__in=[AssetFile.State.WAITING_UPLOAD, AssetFile.State.UPLOADING]):
                AssetFile.objects.filter(pk=file.pk).update(state=AssetFile.State.FAILED, reason="upload expired")
                uploads.discard(file)
    return count


# --- transfer to another tenant ---------------------------------------------------------------------------

def replication_info(actor: Actor, asset: Asset) -> str:
    ensure_usable(asset)
    record_audit(actor, "asset.replication_info", asset, account=asset.account)
    return signing.dumps({"asset": str(asset.pk), "account": str(asset.account_id)}, salt=REPLICATION_SALT)


@transaction.atomic
def replicate(actor: Actor, account, info: str, *, project=None) -> Asset:
    """Copy an asset of another tenant into `account`, given the replication info its owner shared."""
    try:
        data = signing.loads(info or "", salt=REPLICATION_SALT, max_age=REPLICATION_TTL_SECONDS)
    except signing.BadSignature:
        raise InvalidParameter("is not valid or has expired", field="replication_info") from None
    source = Asset.objects.filter(pk=data["asset"], account_id=data["account"]).first()
    if source is None:
        raise NotFound("the shared asset no longer exists", field="replication_info")
    ensure_usable(source)
    if source.type in ENTERPRISE_TYPES and not account.is_enterprise:
        raise PermissionDenied("avatar and voice models can only go to enterprise accounts", field="replication_info")
    copy = Asset.objects.create(
        account=account, project=project, created_by=actor.user, name=source.name, description=source.description,
        type=source.type, state=Asset.State.ACTIVED, tags=source.tags, system_properties=source.system_properties,
        media_info=source.media_info, review=source.review, review_note=source.review_note,
        size_bytes=source.size_bytes,
    )
    quota.ensure_room(copy, 0)
    copied = []
    try:
        for file in source.files.filter(state=AssetFile.State.CREATED):
            clone = AssetFile.objects.create(asset=copy, account=account, category=file.category, name=file.name,
                                             file_type=file.file_type, declared_size=file.declared_size,
                                             declared_md5=file.declared_md5, state=AssetFile.State.CREATED,
                                             received_bytes=file.received_bytes, generated=file.generated,
                                             position=file.position, completed_at=timezone.now())
            clone.stored = _copy_stored(file.stored.name, uploads.storage_name(clone))
            copied.append(clone.stored.name)
            clone.save(update_fields=["stored"])
    except BaseException:
        for name in copied:  # the rows roll back; do not leave their bytes behind
            default_storage.delete(name)
        raise
    record_audit(actor, "asset.replicate", copy, account=account,
                 detail={"source_asset": str(source.pk), "source_account": str(source.account_id)})
    record_audit(actor, "asset.replicated_out", source, account=source.account,
                 detail={"target_account": str(account.pk), "copy": str(copy.pk)})
    return copy


def _copy_stored(source_name: str, target_name: str) -> str:
    with default_storage.open(source_name, "rb") as source:
        if uploads.is_s3():
            return default_storage.save(target_name, source)
        target = Path(default_storage.path(target_name))
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            shutil.copyfileobj(source, out, uploads.CHUNK)
    return target_name
