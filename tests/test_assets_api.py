"""The asset library through the MetaStudio paths under /v1/{project_id}: assets (create, list filters, detail,
update, recycle bin, permanent delete, batch action, summary, transfer), files (signed upload URL, streamed and
resumable PUT, complete with size and MD5 checks, quota, expiry), freezing, processing jobs and moderation."""

import base64
import hashlib
import io
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from assets import actions
from assets.models import Asset, AssetFile
from metastudio import jobs
from metastudio.errors import StateConflict
from metastudio.jobs import Job
from tenancy.audit import Actor
from tenancy.models import AuditLog
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401
from tests.factories import make_tenant

WORDLIST = Path(__file__).resolve().parent.parent / "assets" / "wordlists" / "default.txt"


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.RATE_LIMIT_ENABLED = False


@pytest.fixture
def owner(tenant, api):
    return api(tenant.owner)


# --- helpers --------------------------------------------------------------------------------------------------

def base(tenant) -> str:
    return f"/v1/{tenant.project_id}"


def md5b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


def a_forbidden_word() -> str:
    for line in WORDLIST.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            return line.strip()
    raise AssertionError("the default word list is empty")


def create_asset(client, tenant, name="asset", asset_type="IMAGE", **extra) -> str:
    response = send_json(client, "POST", f"{base(tenant)}/digital-assets",
                         {"asset_name": name, "asset_type": asset_type, **extra})
    assert response.status_code == 201, response.content
    return response.json()["asset_id"]


def create_file(client, tenant, asset_id, data: bytes, name="picture.png", md5=True, **extra):
    body = {"asset_id": asset_id, "file_name": name, "file_size": len(data), "asset_file_category": "MAIN", **extra}
    if md5 and "file_md5" not in extra:
        body["file_md5"] = md5b64(data)
    return send_json(client, "POST", f"{base(tenant)}/files", body)


def new_file(client, tenant, asset_id, data: bytes, name="picture.png", **extra) -> tuple[str, str]:
    """(file_id, upload path with its token) of a new MAIN file."""
    response = create_file(client, tenant, asset_id, data, name, **extra)
    assert response.status_code == 201, response.content
    body = response.json()
    return body["file_id"], local_path(body["upload_url"])


def local_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path.startswith("/uploads/")
    return f"{parts.path}?{parts.query}"


def put(client, path: str, data: bytes, content_range: str | None = None):
    extra = {"HTTP_CONTENT_RANGE": content_range} if content_range else {}
    return client.generic("PUT", path, data=data, content_type="application/octet-stream", **extra)


def complete(client, tenant, file_id, body=None):
    return send_json(client, "POST", f"{base(tenant)}/files/{file_id}/complete", body or {"state": "CREATED"})


def upload(client, tenant, asset_id, data: bytes, name="picture.png") -> str:
    file_id, path = new_file(client, tenant, asset_id, data, name)
    assert put(client, path, data).status_code == 200
    response = complete(client, tenant, file_id)
    assert response.status_code == 200, response.content
    return file_id


def process_job(asset_id) -> Job:
    job = Job.objects.filter(kind="asset_process").order_by("-created_at").first()
    assert job is not None and job.params == {"asset_id": str(asset_id)}
    jobs.run(str(job.pk))
    job.refresh_from_db()
    return job


def asset_of(asset_id) -> Asset:
    return Asset.objects.get(pk=asset_id)


def actor(tenant) -> Actor:
    return Actor(user=tenant.owner, account=tenant.account, via="api")


def active_image(client, tenant, name="picture") -> str:
    """An asset through the whole flow: created, PNG uploaded, completed, processed -> ACTIVED."""
    asset_id = create_asset(client, tenant, name)
    upload(client, tenant, asset_id, png_bytes(), f"{name}.png")
    job = process_job(asset_id)
    assert job.state == Job.State.SUCCEED, (job.error_code, job.error_message)
    assert asset_of(asset_id).state == Asset.State.ACTIVED
    return asset_id


# --- create -----------------------------------------------------------------------------------------------------

def test_create_asset(owner, tenant):
    response = send_json(owner, "POST", f"{base(tenant)}/digital-assets",
                         {"asset_name": "Intro", "asset_type": "VIDEO", "asset_description": "first",
                          "tags": ["a", "b", "a"], "system_properties": [{"key": "MATERIAL_VIDEO", "value": "Yes"}]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["asset_state"] == "CREATING"
    asset = asset_of(body["asset_id"])
    assert (asset.name, asset.type, asset.tags, asset.account) == ("Intro", "VIDEO", ["a", "b"], tenant.account)
    assert asset.created_by == tenant.owner and asset.project == tenant.project
    assert asset.review == Asset.Review.PASSED
    assert AuditLog.objects.filter(action="asset.create", target_id=str(asset.pk)).exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"asset_name": "x", "asset_type": "NOPE"}, "asset_type"),
    ({"asset_name": "", "asset_type": "IMAGE"}, "asset_name"),
    ({"asset_name": "   ", "asset_type": "IMAGE"}, "asset_name"),
    ({"asset_name": "x" * 257, "asset_type": "IMAGE"}, "asset_name"),
    ({"asset_name": "x", "asset_type": "IMAGE", "tags": [f"t{i}" for i in range(actions.MAX_TAGS + 1)]}, "tags"),
    ({"asset_name": "x", "asset_type": "IMAGE", "tags": "not-a-list"}, "tags"),
    ({"asset_name": "x", "asset_type": "IMAGE", "tags": ["ok", ""]}, "tags[1]"),
    ({"asset_name": "x", "asset_type": "IMAGE", "system_properties": [{"key": "NOPE"}]}, "system_properties[0]"),
    ({"asset_name": "x", "asset_type": "IMAGE", "asset_description": "d" * 1025}, "asset_description"),
])
def test_create_asset_bad_input_names_the_field(owner, tenant, body, field):
    response = send_json(owner, "POST", f"{base(tenant)}/digital-assets", body)
    assert_error(response, 400, "MSS.00000003", field)
    assert not Asset.objects.exists()


def test_custom_models_are_for_enterprise_accounts(api, db):
    personal = make_tenant(is_enterprise=False)
    for kind in ("HUMAN_MODEL_2D", "VOICE_MODEL"):
        response = send_json(api(personal.owner), "POST", f"{base(personal)}/digital-assets",
                             {"asset_name": "me", "asset_type": kind})
        assert_error(response, 403, "MSS.00000005", "asset_type", "enterprise")
    assert not Asset.objects.exists()
    assert create_asset(api(personal.owner), personal, "pic", "IMAGE")


# --- list, detail, update ---------------------------------------------------------------------------------------

def listed(client, tenant, query: str = "") -> tuple[int, list[str]]:
    response = client.get(f"{base(tenant)}/digital-assets{'?' + query if query else ''}")
    assert response.status_code == 200, response.content
    body = response.json()
    return body["count"], [item["asset_name"] for item in body["assets"]]


def test_list_filters_and_sorting(owner, tenant, other_tenant):
    act = actor(tenant)
    create = actions.create_asset
    video = create(act, tenant.account, name="Beta video", asset_type="VIDEO", tags=["promo", "q4"])
    image = create(act, tenant.account, name="alpha image", asset_type="IMAGE", tags=["promo"],
                   system_properties=[{"key": "BACKGROUND_IMG", "value": "Yes"}])
    music = create(act, tenant.account, name="Gamma tune", asset_type="MUSIC")
    gone = create(act, tenant.account, name="deleted pic", asset_type="IMAGE")
    actions.delete_asset(act, gone)
    create(Actor.system(other_tenant.account), other_tenant.account, name="alpha foreign", asset_type="IMAGE")
    old = timezone.now() - timedelta(days=10)
    Asset.objects.filter(pk=music.pk).update(created_at=old)
    Asset.objects.filter(pk=video.pk).update(state=Asset.State.ACTIVED)

    assert listed(owner, tenant) == (3, ["alpha image", "Beta video", "Gamma tune"])
    assert listed(owner, tenant, "asset_type=IMAGE") == (1, ["alpha image"])
    assert listed(owner, tenant, "asset_type=IMAGE,MUSIC")[0] == 2
    assert listed(owner, tenant, "asset_state=ACTIVED") == (1, ["Beta video"])
    assert listed(owner, tenant, "asset_state=DELETED") == (1, ["deleted pic"])
    assert listed(owner, tenant, "name=ALPHA") == (1, ["alpha image"])
    assert listed(owner, tenant, f"name={image.pk}") == (1, ["alpha image"])
    assert listed(owner, tenant, "tag=promo")[1] == ["alpha image", "Beta video"]
    assert listed(owner, tenant, "tag=q4") == (1, ["Beta video"])
    assert listed(owner, tenant, "tag=pro") == (0, [])  # whole tags only
    assert listed(owner, tenant, "system_property=BACKGROUND_IMG") == (1, ["alpha image"])
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert listed(owner, tenant, f"start_time={since}")[1] == ["alpha image", "Beta video"]
    assert listed(owner, tenant, f"end_time={since}") == (1, ["Gamma tune"])
    assert listed(owner, tenant, "sort_key=asset_name&sort_dir=asc")[1] == ["Beta video", "Gamma tune",
                                                                             "alpha image"]
    assert listed(owner, tenant, "sort_key=create_time&sort_dir=asc")[1][0] == "Gamma tune"

    for query, field in [("asset_type=NOPE", "asset_type"), ("asset_state=GONE", "asset_state"),
                         ("start_time=yesterday", "start_time"), ("system_property=X", "system_property"),
                         ("sort_key=size", "sort_key"), ("sort_dir=up", "sort_dir"), ("limit=0", "limit")]:
        assert_error(owner.get(f"{base(tenant)}/digital-assets?{query}"), 400, "MSS.00000003", field)


def test_list_pagination_count(owner, tenant):
    for number in range(5):
        actions.create_asset(actor(tenant), tenant.account, name=f"asset {number}", asset_type="IMAGE")
    response = owner.get(f"{base(tenant)}/digital-assets?limit=2&offset=0&sort_key=asset_name&sort_dir=asc")
    body = response.json()
    assert body["count"] == 5 and [a["asset_name"] for a in body["assets"]] == ["asset 0", "asset 1"]
    body = owner.get(f"{base(tenant)}/digital-assets?limit=2&offset=4&sort_key=asset_name&sort_dir=asc").json()
    assert body["count"] == 5 and [a["asset_name"] for a in body["assets"]] == ["asset 4"]


def test_detail_and_update(owner, tenant):
    asset_id = create_asset(owner, tenant, "Before", tags=["x"])
    detail = owner.get(f"{base(tenant)}/digital-assets/{asset_id}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["asset_id"] == asset_id and body["asset_name"] == "Before" and body["asset_state"] == "CREATING"
    assert body["files"] == [] and body["review"]["state"] == "PASSED"

    response = send_json(owner, "PUT", f"{base(tenant)}/digital-assets/{asset_id}",
                         {"asset_name": "After", "asset_description": "new", "tags": ["y", "z"]})
    assert response.status_code == 200, response.content
    assert (response.json()["asset_name"], response.json()["tags"]) == ("After", ["y", "z"])
    asset = asset_of(asset_id)
    assert (asset.name, asset.description, asset.tags) == ("After", "new", ["y", "z"])
    assert AuditLog.objects.filter(action="asset.update", target_id=asset_id).exists()
    assert_error(send_json(owner, "PUT", f"{base(tenant)}/digital-assets/{asset_id}", {"asset_name": ""}),
                 400, "MSS.00000003", "asset_name")
    assert_error(owner.get(f"{base(tenant)}/digital-assets/{uuid.uuid4()}"), 404, "MSS.00000004")
    assert_error(owner.get(f"{base(tenant)}/digital-assets/not-a-uuid"), 404, "MSS.00000004")


# --- recycle bin, permanent delete, batch ---------------------------------------------------------------------

def test_delete_to_recycle_bin_then_restore(owner, tenant):
    asset_id = create_asset(owner, tenant, "Keep me")
    Asset.objects.filter(pk=asset_id).update(state=Asset.State.ACTIVED)
    assert owner.delete(f"{base(tenant)}/digital-assets/{asset_id}").status_code == 204
    asset = asset_of(asset_id)
    assert asset.state == Asset.State.DELETED and asset.previous_state == "ACTIVED" and asset.deleted_at
    assert listed(owner, tenant) == (0, [])
    assert listed(owner, tenant, "asset_state=DELETED") == (1, ["Keep me"])
    assert_error(owner.delete(f"{base(tenant)}/digital-assets/{asset_id}"), 409, "MSS.00000007", "mode=force")
    assert_error(send_json(owner, "PUT", f"{base(tenant)}/digital-assets/{asset_id}", {"asset_name": "x"}),
                 409, "MSS.00000007", "restore")

    response = send_json(owner, "POST", f"{base(tenant)}/digital-assets/{asset_id}/restore")
    assert response.status_code == 200, response.content
    assert response.json()["asset_state"] == "ACTIVED"
    asset = asset_of(asset_id)
    assert asset.state == Asset.State.ACTIVED and asset.deleted_at is None
    assert_error(send_json(owner, "POST", f"{base(tenant)}/digital-assets/{asset_id}/restore"), 409,
                 "MSS.00000007", "recycle bin")
    assert_error(owner.delete(f"{base(tenant)}/digital-assets/{asset_id}?mode=soft"), 400, "MSS.00000003", "mode")


def test_force_delete_removes_rows_and_stored_files(owner, tenant, settings, django_capture_on_commit_callbacks):
    asset_id = create_asset(owner, tenant, "Gone for good")
    data = png_bytes()
    file_id = upload(owner, tenant, asset_id, data)
    stored = Path(settings.MEDIA_ROOT) / AssetFile.objects.get(pk=file_id).stored.name
    assert stored.read_bytes() == data
    cover_id, cover_path = new_file(owner, tenant, asset_id, b"partial", "cover.png", asset_file_category="COVER")
    Asset.objects.filter(pk=asset_id).update(state=Asset.State.ACTIVED)
    assert put(owner, cover_path, b"part").status_code == 200
    part = Path(settings.ASSET_UPLOAD_DIR) / f"{cover_id}.part"
    assert part.exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"{base(tenant)}/digital-assets/{asset_id}?mode=force").status_code == 204
    assert not Asset.objects.filter(pk=asset_id).exists()
    assert not AssetFile.objects.filter(asset_id=asset_id).exists()
    assert not stored.exists() and not part.exists()
    assert AuditLog.objects.filter(action="asset.delete", target_id=asset_id, detail__mode="force").exists()


def test_batch_action_reports_each_asset(owner, tenant, other_tenant):
    active = create_asset(owner, tenant, "one")
    Asset.objects.filter(pk=active).update(state=Asset.State.ACTIVED)
    deleted = create_asset(owner, tenant, "two")
    actions.delete_asset(actor(tenant), asset_of(deleted))
    foreign = actions.create_asset(Actor.system(other_tenant.account), other_tenant.account, name="theirs",
                                   asset_type="IMAGE")
    missing = str(uuid.uuid4())
    response = send_json(owner, "POST", f"{base(tenant)}/digital-assets/batch-action",
                         {"action": "DELETE", "asset_ids": [active, deleted, missing, str(foreign.pk), "junk"]})
    assert response.status_code == 200, response.content
    results = {item["asset_id"]: item for item in response.json()["results"]}
    assert results[active]["result"] == "SUCCESS"
    assert results[deleted]["result"] == "FAILED" and results[deleted]["error_code"] == "MSS.00000007"
    for absent in (missing, str(foreign.pk), "junk"):
        assert results[absent]["result"] == "FAILED" and results[absent]["error_code"] == "MSS.00000004"
    assert asset_of(active).state == Asset.State.DELETED
    assert asset_of(foreign.pk).state == Asset.State.CREATING

    response = send_json(owner, "POST", f"{base(tenant)}/digital-assets/batch-action",
                         {"action": "RESTORE", "asset_ids": [active, deleted]})
    assert [item["result"] for item in response.json()["results"]] == ["SUCCESS", "SUCCESS"]
    response = send_json(owner, "POST", f"{base(tenant)}/digital-assets/batch-action",
                         {"action": "DEACTIVATE", "asset_ids": [active, deleted]})
    assert [item["result"] for item in response.json()["results"]] == ["SUCCESS", "FAILED"]
    assert asset_of(active).state == Asset.State.UNACTIVED

    for body, field in [({"action": "EXPLODE", "asset_ids": [active]}, "action"),
                        ({"action": "DELETE", "asset_ids": []}, "asset_ids"),
                        ({"action": "DELETE", "asset_ids": [active] * 101}, "asset_ids")]:
        assert_error(send_json(owner, "POST", f"{base(tenant)}/digital-assets/batch-action", body), 400,
                     "MSS.00000003", field)


def test_summary_counts_and_storage(owner, tenant, other_tenant):
    create_asset(owner, tenant, "a", "IMAGE")
    create_asset(owner, tenant, "b", "IMAGE")
    video = create_asset(owner, tenant, "c", "VIDEO")
    Asset.objects.filter(pk=video).update(state=Asset.State.ACTIVED, size_bytes=1000)
    create_asset(owner, tenant, "d", "MUSIC")
    actions.create_asset(Actor.system(other_tenant.account), other_tenant.account, name="x", asset_type="PPT")
    for method in ("POST", "GET"):
        response = send_json(owner, method, f"{base(tenant)}/digital-assets/summarys")
        assert response.status_code == 200, response.content
        body = response.json()
        counts = {item["asset_type"]: (item["total"], item["states"]) for item in body["asset_summarys"]}
        assert counts == {"IMAGE": (2, {"CREATING": 2}), "VIDEO": (1, {"ACTIVED": 1}),
                          "MUSIC": (1, {"CREATING": 1})}
        assert body["storage"]["used_bytes"] == 1000
        assert body["storage"]["limit_bytes"] == 5 * 1024 ** 3


# --- transfer ------------------------------------------------------------------------------------------------

def test_replication_into_another_tenant(owner, tenant, other_tenant, api, settings):
    asset_id = active_image(owner, tenant, "shared")
    source = asset_of(asset_id)
    source_files = {f.category: f for f in source.files.all()}
    assert {"MAIN", "THUMBNAIL"} <= set(source_files)

    response = owner.get(f"{base(tenant)}/digital-assets/{asset_id}/replication-info")
    assert response.status_code == 200, response.content
    info = response.json()["replication_info"]
    theirs = api(other_tenant.owner)
    response = send_json(theirs, "POST", f"{base(other_tenant)}/digital-assets/replication",
                         {"replication_info": info})
    assert response.status_code == 201, response.content
    copy = asset_of(response.json()["asset_id"])
    assert copy.account == other_tenant.account and copy.pk != source.pk
    assert (copy.name, copy.type, copy.state, copy.size_bytes) == (source.name, "IMAGE", "ACTIVED", source.size_bytes)
    media = Path(settings.MEDIA_ROOT)
    for clone in copy.files.all():
        original = source_files[clone.category]
        assert clone.stored.name != original.stored.name and str(other_tenant.account.pk) in clone.stored.name
        assert (media / clone.stored.name).read_bytes() == (media / original.stored.name).read_bytes()
    assert copy.files.count() == source.files.count()
    # the source is unchanged
    after = asset_of(asset_id)
    assert (after.state, after.account, after.size_bytes) == (source.state, tenant.account, source.size_bytes)
    assert all((media / f.stored.name).exists() for f in after.files.all())
    detail = theirs.get(f"{base(other_tenant)}/digital-assets/{copy.pk}").json()
    assert {f["asset_file_category"] for f in detail["files"]} == set(source_files)

    for bad in ("", "garbage", info[:-2] + "xx"):
        assert_error(send_json(theirs, "POST", f"{base(other_tenant)}/digital-assets/replication",
                               {"replication_info": bad}), 400, "MSS.00000003", "replication_info")


def test_replication_info_needs_a_usable_asset(owner, tenant):
    asset_id = create_asset(owner, tenant, "not ready")
    assert_error(owner.get(f"{base(tenant)}/digital-assets/{asset_id}/replication-info"), 409, "MSS.00000007")


# --- files: create ------------------------------------------------------------------------------------------------

def test_create_file_returns_signed_upload_url(owner, tenant):
    asset_id = create_asset(owner, tenant)
    data = png_bytes()
    response = create_file(owner, tenant, asset_id, data, "pic.png")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["upload_url"].startswith(f"http://testserver/uploads/{body['file_id']}?token=")
    file = AssetFile.objects.get(pk=body["file_id"])
    assert (file.name, file.declared_size, file.declared_md5, file.state, file.category, file.file_type) == (
        "pic.png", len(data), md5b64(data), "WAITING_UPLOAD", "MAIN", "png")


@pytest.mark.parametrize(("change", "field"), [
    ({"file_md5": "abc"}, "file_md5"),
    ({"file_md5": "a" * 32}, "file_md5"),
    ({"file_size": 0}, "file_size"),
    ({"file_size": 5 * 1024 ** 3 + 1}, "file_size"),
    ({"file_size": 6 * 1000 ** 3}, "file_size"),
    ({"file_size": "12"}, "file_size"),
    ({"file_name": ""}, "file_name"),
    ({"asset_file_category": "THUMBNAIL"}, "asset_file_category"),
    ({"asset_id": str(uuid.uuid4())}, "asset_id"),
    ({"asset_id": "nope"}, "asset_id"),
])
def test_create_file_bad_input(owner, tenant, change, field):
    asset_id = create_asset(owner, tenant)
    body = {"asset_id": asset_id, "file_name": "a.png", "file_size": 10, "file_md5": md5b64(b"x"), **change}
    response = send_json(owner, "POST", f"{base(tenant)}/files", body)
    status, code = (404, "MSS.00000004") if field == "asset_id" else (400, "MSS.00000003")
    assert_error(response, status, code, field)
    assert not AssetFile.objects.exists()


@pytest.mark.parametrize(("name", "kept"), [("../../etc/passwd", "passwd"), ("..\\..\\windows\\win.ini", "win.ini"),
                                           ("/abs/path/x.png", "x.png"), ("a/../../b.png", "b.png")])
def test_path_traversal_in_file_name_is_cleaned(owner, tenant, settings, name, kept):
    asset_id = create_asset(owner, tenant)
    data = b"plain bytes"
    response = create_file(owner, tenant, asset_id, data, name)
    assert response.status_code == 201, response.content
    file = AssetFile.objects.get(pk=response.json()["file_id"])
    assert file.name == kept
    assert put(owner, local_path(response.json()["upload_url"]), data).status_code == 200
    assert complete(owner, tenant, file.pk).status_code == 200
    file.refresh_from_db()
    stored = (Path(settings.MEDIA_ROOT) / file.stored.name).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve() / "assets" / str(tenant.account.pk))
    assert stored.name == kept and stored.read_bytes() == data


@pytest.mark.parametrize("name", ["..", "../..", "/"])
def test_file_name_that_is_only_a_path_is_refused(owner, tenant, name):
    response = create_file(owner, tenant, create_asset(owner, tenant), b"abc", name)
    assert_error(response, 400, "MSS.00000003", "file_name")


# --- files: upload and complete -------------------------------------------------------------------------------

def test_upload_head_and_complete(owner, tenant, settings):
    asset_id = create_asset(owner, tenant)
    data = png_bytes()
    file_id, path = new_file(owner, tenant, asset_id, data)
    head = owner.head(path)
    assert head.status_code == 200 and head["Upload-Offset"] == "0"
    response = put(owner, path, data)
    assert response.status_code == 200 and response["Upload-Offset"] == str(len(data))
    assert owner.head(path)["Upload-Offset"] == str(len(data))
    assert AssetFile.objects.get(pk=file_id).state == AssetFile.State.UPLOADING

    response = complete(owner, tenant, file_id)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "CREATED" and body["download_url"].endswith(f"/files/{file_id}/download")
    file = AssetFile.objects.get(pk=file_id)
    assert (Path(settings.MEDIA_ROOT) / file.stored.name).read_bytes() == data
    assert not (Path(settings.ASSET_UPLOAD_DIR) / f"{file_id}.part").exists()
    assert asset_of(asset_id).size_bytes == len(data)
    assert Job.objects.filter(kind="asset_process", params__asset_id=asset_id, state="WAITING").count() == 1
    download = owner.get(f"{base(tenant)}/files/{file_id}/download")
    assert download.status_code == 200 and b"".join(download.streaming_content) == data
    # a second main file is refused once the first is in
    assert_error(create_file(owner, tenant, asset_id, data), 409, "MSS.00000007", "main file")


def test_resumable_upload_in_two_parts(owner, tenant, settings):
    asset_id = create_asset(owner, tenant)
    data = bytes(range(256)) * 40  # 10240 bytes
    file_id, path = new_file(owner, tenant, asset_id, data, "blob.png")
    half = 4000
    response = put(owner, path, data[:half], f"bytes 0-{half - 1}/{len(data)}")
    assert response.status_code == 200 and response["Upload-Offset"] == str(half)
    assert owner.head(path)["Upload-Offset"] == str(half)
    # resuming anywhere but where it stopped is refused, and nothing is lost
    assert_error(put(owner, path, data[half + 10:], f"bytes {half + 10}-{len(data) - 1}/{len(data)}"), 409,
                 "MSS.00000007", f"resume at byte {half}")
    assert_error(put(owner, path, data[half:], f"bytes {half}-{len(data) - 1}/{len(data) + 1}"), 400,
                 "MSS.00000003", "Content-Range")
    assert_error(put(owner, path, data[half:], "bytes=4000-"), 400, "MSS.00000003", "Content-Range")
    assert_error(put(owner, path, data[half:half + 5], f"bytes {half}-{len(data) - 1}/{len(data)}"), 400,
                 "MSS.00000003", "Content-Range")
    assert owner.head(path)["Upload-Offset"] in (str(half), str(half + 5))
    current = int(owner.head(path)["Upload-Offset"])
    response = put(owner, path, data[current:], f"bytes {current}-{len(data) - 1}/{len(data)}")
    assert response.status_code == 200 and response["Upload-Offset"] == str(len(data))
    assert complete(owner, tenant, file_id).status_code == 200
    stored = AssetFile.objects.get(pk=file_id).stored.name
    assert (Path(settings.MEDIA_ROOT) / stored).read_bytes() == data


def test_more_bytes_than_declared_are_refused(owner, tenant):
    asset_id = create_asset(owner, tenant)
    file_id, path = new_file(owner, tenant, asset_id, b"12345", md5=False)
    assert_error(put(owner, path, b"1234567890"), 400, "MSS.00000003", "file_size")
    assert owner.head(path)["Upload-Offset"] == "0"


def test_wrong_md5_fails_the_asset(owner, tenant, settings):
    asset_id = create_asset(owner, tenant)
    data = png_bytes()
    file_id, path = new_file(owner, tenant, asset_id, data, file_md5=md5b64(b"something else"))
    assert put(owner, path, data).status_code == 200
    assert_error(complete(owner, tenant, file_id), 400, "MSS.00000016", "MD5 mismatch")
    asset, file = asset_of(asset_id), AssetFile.objects.get(pk=file_id)
    assert asset.state == Asset.State.FAILED and "MD5 mismatch" in asset.reason
    assert file.state == AssetFile.State.FAILED and not file.stored
    assert not (Path(settings.ASSET_UPLOAD_DIR) / f"{file_id}.part").exists()
    assert not Job.objects.filter(kind="asset_process").exists()
    assert_error(put(owner, path, data), 409, "MSS.00000007", "FAILED")
    assert_error(complete(owner, tenant, file_id), 409, "MSS.00000007")


def test_truncated_upload_is_a_size_mismatch(owner, tenant):
    asset_id = create_asset(owner, tenant)
    data = png_bytes()
    file_id, path = new_file(owner, tenant, asset_id, data)
    assert put(owner, path, data[: len(data) // 2]).status_code == 200
    assert_error(complete(owner, tenant, file_id), 400, "MSS.00000016", "size mismatch")
    asset = asset_of(asset_id)
    assert asset.state == Asset.State.FAILED and "size mismatch" in asset.reason
    assert asset.size_bytes == 0


def test_complete_without_any_bytes(owner, tenant):
    asset_id = create_asset(owner, tenant)
    file_id, _ = new_file(owner, tenant, asset_id, b"abc")
    assert_error(complete(owner, tenant, file_id), 400, "MSS.00000016", "received 0")


def test_two_completes_racing(owner, tenant, monkeypatch):
    """The second complete arrives while the first is still verifying the bytes: 409, and the first wins."""
    asset_id = create_asset(owner, tenant)
    data = png_bytes()
    file_id, path = new_file(owner, tenant, asset_id, data)
    assert put(owner, path, data).status_code == 200
    seen = []
    verify = actions._verify

    def verify_while_another_completes(file):
        seen.append(complete(owner, tenant, file_id))
        return verify(file)

    monkeypatch.setattr(actions, "_verify", verify_while_another_completes)
    first = complete(owner, tenant, file_id)
    assert first.status_code == 200, first.content
    assert_error(seen[0], 409, "MSS.00000007", "already")
    monkeypatch.setattr(actions, "_verify", verify)
    assert_error(complete(owner, tenant, file_id), 409, "MSS.00000007", "CREATED")
    assert AssetFile.objects.get(pk=file_id).state == AssetFile.State.CREATED
    assert Job.objects.filter(kind="asset_process").count() == 1
    assert asset_of(asset_id).size_bytes == len(data)


def test_cancel_a_file(owner, tenant, settings):
    asset_id = create_asset(owner, tenant)
    file_id, path = new_file(owner, tenant, asset_id, b"abcdef")
    assert put(owner, path, b"abc", "bytes 0-2/6").status_code == 200
    assert owner.delete(f"{base(tenant)}/files/{file_id}").status_code == 204
    assert AssetFile.objects.get(pk=file_id).state == AssetFile.State.CANCELLED
    assert not (Path(settings.ASSET_UPLOAD_DIR) / f"{file_id}.part").exists()


def test_quota_refuses_before_bytes_are_sent(owner, tenant, settings):
    settings.ASSET_FREE_STORAGE_BYTES = 1000
    asset_id = create_asset(owner, tenant)
    assert_error(send_json(owner, "POST", f"{base(tenant)}/files",
                           {"asset_id": asset_id, "file_name": "big.png", "file_size": 1001}),
                 400, "MSS.00000013", "quota")
    # uploads in progress count with their declared size
    first = send_json(owner, "POST", f"{base(tenant)}/files",
                      {"asset_id": asset_id, "file_name": "a.png", "file_size": 600})
    assert first.status_code == 201
    second_asset = create_asset(owner, tenant, "second")
    assert_error(send_json(owner, "POST", f"{base(tenant)}/files",
                           {"asset_id": second_asset, "file_name": "b.png", "file_size": 600}),
                 400, "MSS.00000013")
    assert AssetFile.objects.count() == 1
    # the recycle bin counts too
    Asset.objects.filter(pk=asset_id).update(state=Asset.State.DELETED, size_bytes=900)
    AssetFile.objects.update(state=AssetFile.State.CANCELLED)
    assert_error(send_json(owner, "POST", f"{base(tenant)}/files",
                           {"asset_id": second_asset, "file_name": "b.png", "file_size": 200}),
                 400, "MSS.00000013")
    # avatar and voice models do not count
    model = create_asset(owner, tenant, "me", "HUMAN_MODEL_2D")
    assert send_json(owner, "POST", f"{base(tenant)}/files",
                     {"asset_id": model, "file_name": "m.zip", "file_size": 5000}).status_code == 201


def test_expired_or_invalid_upload_token(owner, tenant, settings):
    asset_id = create_asset(owner, tenant)
    file_id, path = new_file(owner, tenant, asset_id, b"abc")
    other_id, other_path = new_file(owner, tenant, create_asset(owner, tenant, "b"), b"xyz")
    no_token = path.split("?")[0]
    assert put(owner, no_token, b"abc").status_code == 404
    assert put(owner, f"{no_token}?token=forged", b"abc").status_code == 404
    swapped = f"{no_token}?{other_path.split('?')[1]}"  # another file's valid token
    assert put(owner, swapped, b"abc").status_code == 404
    assert put(owner, f"/uploads/{uuid.uuid4()}?{path.split('?')[1]}", b"abc").status_code == 404
    assert owner.head(f"{no_token}?token=forged").status_code == 404
    settings.ASSET_UPLOAD_URL_TTL_SECONDS = -1  # every URL already issued is past its lifetime
    response = put(owner, path, b"abc")
    assert response.status_code == 409 and "expired" in response.json()["error_msg"]
    assert not (Path(settings.ASSET_UPLOAD_DIR) / f"{file_id}.part").exists()


def test_upload_url_answers_only_put_and_head(owner, tenant):
    asset_id = create_asset(owner, tenant)
    _, path = new_file(owner, tenant, asset_id, b"abc")
    assert owner.get(path).status_code == 405
    assert owner.post(path, b"abc", content_type="application/octet-stream").status_code == 405


def test_main_file_not_uploaded_in_24h_fails_the_asset(owner, tenant, other_tenant, settings):
    waiting = create_asset(owner, tenant, "never uploaded")
    file_id, path = new_file(owner, tenant, waiting, b"abcdef")
    assert put(owner, path, b"abc", "bytes 0-2/6").status_code == 200
    no_file = create_asset(owner, tenant, "no file at all")
    done = create_asset(owner, tenant, "uploaded")
    upload(owner, tenant, done, b"ok bytes", "done.png")
    assert actions.fail_stale_uploads() == 0  # not yet
    assert actions.fail_stale_uploads(now=timezone.now() + timedelta(hours=23)) == 0
    assert actions.fail_stale_uploads(now=timezone.now() + timedelta(hours=25)) == 2
    for asset_id in (waiting, no_file):
        asset = asset_of(asset_id)
        assert asset.state == Asset.State.FAILED and "24 h" in asset.reason
    assert asset_of(done).state == Asset.State.CREATING  # its main file is in; processing decides
    assert AssetFile.objects.get(pk=file_id).state == AssetFile.State.FAILED
    assert not (Path(settings.ASSET_UPLOAD_DIR) / f"{file_id}.part").exists()
    assert AuditLog.objects.filter(action="asset.expire").count() == 2
    assert actions.fail_stale_uploads(now=timezone.now() + timedelta(hours=25)) == 0


# --- frozen assets ---------------------------------------------------------------------------------------------

def test_frozen_asset_cannot_be_changed_uploaded_or_used(owner, tenant):
    asset_id = create_asset(owner, tenant, "frozen")
    file_id, path = new_file(owner, tenant, asset_id, b"abc")
    Asset.objects.filter(pk=asset_id).update(state=Asset.State.ACTIVED)
    actions.freeze(Actor.system(), asset_of(asset_id), "complaint upheld")
    asset = asset_of(asset_id)
    assert asset.state == Asset.State.BLOCK and asset.previous_state == "ACTIVED"
    assert AuditLog.objects.filter(action="asset.freeze", target_id=asset_id).exists()

    assert_error(send_json(owner, "PUT", f"{base(tenant)}/digital-assets/{asset_id}", {"asset_name": "x"}),
                 409, "MSS.00000014", "frozen")
    assert_error(create_file(owner, tenant, asset_id, b"abc", "cover.png", asset_file_category="COVER"),
                 409, "MSS.00000014", "frozen")
    assert_error(put(owner, path, b"abc"), 409, "MSS.00000014", "frozen")
    assert_error(complete(owner, tenant, file_id), 409, "MSS.00000014", "frozen")
    assert_error(owner.delete(f"{base(tenant)}/digital-assets/{asset_id}"), 409, "MSS.00000014")
    assert_error(owner.get(f"{base(tenant)}/digital-assets/{asset_id}/replication-info"), 409, "MSS.00000014")
    with pytest.raises(StateConflict) as raised:
        actions.ensure_usable(asset_of(asset_id))
    assert raised.value.code == "MSS.00000014"
    # still listed and shown, with its reason
    detail = owner.get(f"{base(tenant)}/digital-assets/{asset_id}").json()
    assert detail["asset_state"] == "BLOCK" and detail["reason"] == "complaint upheld"

    actions.unfreeze(Actor.system(), asset_of(asset_id), "appeal granted")
    assert actions.ensure_usable(asset_of(asset_id)).state == Asset.State.ACTIVED


def test_ensure_usable_wants_an_active_asset(owner, tenant):
    asset = asset_of(create_asset(owner, tenant))
    with pytest.raises(StateConflict):
        actions.ensure_usable(asset)


# --- processing jobs ----------------------------------------------------------------------------------------------

def test_processing_a_png_activates_it_with_a_thumbnail(owner, tenant, settings):
    asset_id = create_asset(owner, tenant, "photo")
    data = png_bytes(320, 200)
    upload(owner, tenant, asset_id, data, "photo.png")
    assert asset_of(asset_id).state == Asset.State.CREATING
    job = process_job(asset_id)
    assert job.state == Job.State.SUCCEED, (job.error_code, job.error_message)
    asset = asset_of(asset_id)
    assert asset.state == Asset.State.ACTIVED and asset.reason == ""
    assert (asset.media_info["width"], asset.media_info["height"]) == (320, 200)
    thumbnail = asset.files.get(category="THUMBNAIL")
    assert thumbnail.generated and thumbnail.state == AssetFile.State.CREATED
    assert (Path(settings.MEDIA_ROOT) / thumbnail.stored.name).stat().st_size == thumbnail.declared_size > 0
    assert asset.size_bytes == len(data) + thumbnail.declared_size
    detail = owner.get(f"{base(tenant)}/digital-assets/{asset_id}").json()
    assert detail["asset_extra_meta"]["media_info"]["width"] == 320
    assert {f["asset_file_category"] for f in detail["files"]} == {"MAIN", "THUMBNAIL"}


def test_executable_renamed_mp4_fails_the_video(owner, tenant):
    asset_id = create_asset(owner, tenant, "clip", "VIDEO")
    data = b"\x7fELF\x02\x01\x01\x00" + bytes(4000) + b"MZ\x90\x00 this is not a video"
    upload(owner, tenant, asset_id, data, "clip.mp4")
    job = process_job(asset_id)
    assert job.state == Job.State.FAILED
    asset = asset_of(asset_id)
    assert asset.state == Asset.State.FAILED and asset.reason
    assert not asset.files.filter(generated=True).exists()
    detail = owner.get(f"{base(tenant)}/digital-assets/{asset_id}").json()
    assert detail["asset_state"] == "FAILED" and detail["reason"]


def test_machine_review_word_holds_the_asset_for_manual_review(owner, tenant):
    word = a_forbidden_word()
    asset_id = create_asset(owner, tenant, f"my {word.upper()} picture")
    asset = asset_of(asset_id)
    assert asset.review == Asset.Review.NEEDS_MANUAL and word in asset.review_note
    upload(owner, tenant, asset_id, png_bytes(), "flagged.png")
    assert process_job(asset_id).state == Job.State.SUCCEED
    asset = asset_of(asset_id)
    assert asset.state == Asset.State.UNACTIVED and asset.review == Asset.Review.NEEDS_MANUAL
    with pytest.raises(StateConflict):
        actions.ensure_usable(asset)
    # a rename brings in the word too
    clean = create_asset(owner, tenant, "clean")
    send_json(owner, "PUT", f"{base(tenant)}/digital-assets/{clean}", {"asset_description": f"about {word}"})
    assert asset_of(clean).review == Asset.Review.NEEDS_MANUAL


def test_review_exempt_tenant(owner, tenant):
    tenant.account.review_exempt = True
    tenant.account.save(update_fields=["review_exempt"])
    asset_id = create_asset(owner, tenant, f"exempt {a_forbidden_word()}")
    assert asset_of(asset_id).review == Asset.Review.EXEMPT
    upload(owner, tenant, asset_id, png_bytes(), "ok.png")
    assert process_job(asset_id).state == Job.State.SUCCEED
    assert asset_of(asset_id).state == Asset.State.ACTIVED


def test_processing_skips_an_asset_deleted_meanwhile(owner, tenant):
    asset_id = create_asset(owner, tenant, "photo")
    upload(owner, tenant, asset_id, png_bytes(), "photo.png")
    actions.delete_asset(actor(tenant), asset_of(asset_id))
    process_job(asset_id)
    assert asset_of(asset_id).state == Asset.State.DELETED


# --- isolation and ReadOnly ------------------------------------------------------------------------------------

def asset_routes(asset_id, file_id):
    return [
        ("GET", f"digital-assets/{asset_id}"), ("PUT", f"digital-assets/{asset_id}"),
        ("DELETE", f"digital-assets/{asset_id}"), ("POST", f"digital-assets/{asset_id}/restore"),
        ("GET", f"digital-assets/{asset_id}/replication-info"), ("DELETE", f"files/{file_id}"),
        ("POST", f"files/{file_id}/complete"), ("GET", f"files/{file_id}/download"),
    ]


def test_other_tenants_asset_and_file_ids_are_404(owner, tenant, other_tenant, api):
    asset_id = active_image(owner, tenant)
    file_id = str(asset_of(asset_id).files.get(category="MAIN").pk)
    theirs = api(other_tenant.owner)
    before = AuditLog.objects.count()
    for method, route in asset_routes(asset_id, file_id):
        response = send_json(theirs, method, f"{base(other_tenant)}/{route}", {"asset_name": "x"})
        assert_error(response, 404, "MSS.00000004")
    assert_error(send_json(theirs, "POST", f"{base(other_tenant)}/files",
                           {"asset_id": asset_id, "file_name": "x.png", "file_size": 3}), 404, "MSS.00000004")
    assert_error(send_json(theirs, "DELETE", f"{base(other_tenant)}/digital-assets/{asset_id}?mode=force"),
                 404, "MSS.00000004")
    response = send_json(theirs, "POST", f"{base(other_tenant)}/digital-assets/batch-action",
                         {"action": "FORCE_DELETE", "asset_ids": [asset_id]})
    assert response.json()["results"][0]["error_code"] == "MSS.00000004"
    assert listed(theirs, other_tenant) == (0, [])
    assert AuditLog.objects.count() == before
    assert asset_of(asset_id).state == Asset.State.ACTIVED
    # and A's project through B's token
    assert_error(theirs.get(f"{base(tenant)}/digital-assets/{asset_id}"), 404, "MSS.00000002")


def test_read_only_member_reads_but_cannot_write(owner, tenant, api):
    asset_id = active_image(owner, tenant)
    file_id = str(asset_of(asset_id).files.get(category="MAIN").pk)
    member = api(tenant.member)
    assert member.get(f"{base(tenant)}/digital-assets").json()["count"] == 1
    assert member.get(f"{base(tenant)}/digital-assets/{asset_id}").status_code == 200
    assert send_json(member, "POST", f"{base(tenant)}/digital-assets/summarys").status_code == 200
    assert member.get(f"{base(tenant)}/digital-assets/summarys").status_code == 200
    assert member.get(f"{base(tenant)}/files/{file_id}/download").status_code == 200
    before = AuditLog.objects.count()
    writes = [("POST", "digital-assets", {"asset_name": "x", "asset_type": "IMAGE"}),
              ("PUT", f"digital-assets/{asset_id}", {"asset_name": "x"}),
              ("DELETE", f"digital-assets/{asset_id}", None),
              ("POST", f"digital-assets/{asset_id}/restore", None),
              ("POST", "digital-assets/batch-action", {"action": "DELETE", "asset_ids": [asset_id]}),
              ("GET", f"digital-assets/{asset_id}/replication-info", None),
              ("POST", "digital-assets/replication", {"replication_info": "x"}),
              ("POST", "files", {"asset_id": asset_id, "file_name": "x.png", "file_size": 3}),
              ("DELETE", f"files/{file_id}", None),
              ("POST", f"files/{file_id}/complete", None)]
    for method, route, body in writes:
        assert_error(send_json(member, method, f"{base(tenant)}/{route}", body), 403, "MSS.00000005")
    assert AuditLog.objects.count() == before
    assert asset_of(asset_id).state == Asset.State.ACTIVED and asset_of(asset_id).name == "picture"
