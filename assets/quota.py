"""Storage quota: 5 GB free per tenant plus purchased space.

Counted: every asset not permanently deleted (recycle bin and frozen included), plus the declared size of
uploads in progress. Not counted: avatar and voice models, and platform-generated videos younger than
six months.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from assets.models import Asset, AssetFile, StorageQuota
from metastudio.errors import LimitExceeded

FREE_VIDEO_AGE = timedelta(days=183)
UNCOUNTED_TYPES = (Asset.Type.HUMAN_MODEL_2D, Asset.Type.VOICE_MODEL)


def _counted_assets(account, now=None):
    now = now or timezone.now()
    young_platform_video = Q(type=Asset.Type.VIDEO, created_by_platform=True, created_at__gt=now - FREE_VIDEO_AGE)
    return Asset.objects.filter(account=account).exclude(type__in=UNCOUNTED_TYPES).exclude(young_platform_video)


def is_counted(asset, now=None) -> bool:
    """The same rule as _counted_assets, for one asset in memory."""
    if asset.type in UNCOUNTED_TYPES:
        return False
    young = asset.created_at is not None and asset.created_at > (now or timezone.now()) - FREE_VIDEO_AGE
    return not (asset.type == Asset.Type.VIDEO and asset.created_by_platform and young)


def used_bytes(account, now=None) -> int:
    assets = _counted_assets(account, now)
    stored = assets.aggregate(total=Sum("size_bytes"))["total"] or 0
    pending = AssetFile.objects.filter(
        asset__in=assets, state__in=[AssetFile.State.WAITING_UPLOAD, AssetFile.State.UPLOADING]
    ).aggregate(total=Sum("declared_size"))["total"] or 0
    return stored + pending


def limit_bytes(account) -> int:
    purchased = StorageQuota.objects.filter(account=account).values_list("purchased_bytes", flat=True).first() or 0
    return settings.ASSET_FREE_STORAGE_BYTES + purchased


def usage(account) -> dict:
    used, limit = used_bytes(account), limit_bytes(account)
    return {"used_bytes": used, "limit_bytes": limit, "percent": round(100 * used / limit, 1) if limit else 100.0}


def ensure_room(asset, extra_bytes: int) -> None:
    """Refuse, before any byte is sent, an upload that would take the tenant over its quota."""
    if not is_counted(asset):
        return
    used, limit = used_bytes(asset.account), limit_bytes(asset.account)
    if used + extra_bytes > limit:
        raise LimitExceeded(
            f"storage quota exceeded: {used} of {limit} bytes used, this file needs {extra_bytes} more; "
            "delete assets permanently (the recycle bin counts too) or buy more space",
            field="file_size", code="MSS.00000013",
        )
