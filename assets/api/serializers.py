"""MetaStudio-shaped JSON of assets and files."""

from assets.models import Asset, AssetFile


def file_json(file: AssetFile, api_base: str | None = None) -> dict:
    """api_base: absolute URL of `/v1/{project_id}` for download links (None: no links)."""
    return {
        "file_id": str(file.pk),
        "file_name": file.name,
        "file_md5": file.declared_md5 or None,
        "file_size": file.declared_size,
        "file_type": file.file_type,
        "asset_file_category": file.category,
        "state": file.state,
        "reason": file.reason or None,
        "generated": file.generated,
        "download_url": f"{api_base}/files/{file.pk}/download"
        if api_base and file.state == AssetFile.State.CREATED and file.stored else None,
    }


def asset_json(asset: Asset, api_base: str | None = None, with_files: bool = True) -> dict:
    data = {
        "asset_id": str(asset.pk),
        "asset_name": asset.name,
        "asset_description": asset.description,
        "asset_type": asset.type,
        "asset_state": asset.state,
        "reason": asset.reason or None,
        "tags": asset.tags,
        "system_properties": asset.system_properties,
        "asset_extra_meta": {"media_info": asset.media_info} if asset.media_info else {},
        "review": {"state": asset.review, "note": asset.review_note or None},
        "size": asset.size_bytes,
        "create_time": asset.created_at.isoformat(),
        "update_time": asset.updated_at.isoformat(),
        "delete_time": asset.deleted_at.isoformat() if asset.deleted_at else None,
    }
    if with_files:
        data["files"] = [file_json(file, api_base) for file in asset.files.all()]
    return data
