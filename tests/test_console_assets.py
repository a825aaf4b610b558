"""The console's asset library with Django's test client: pages and IAM, the upload flow through the console
endpoints (create -> PUT to the signed URL -> complete -> processing job -> ACTIVED with a thumbnail), bad
files and quota errors, recycle bin, transfer between tenants, the overview's storage bar, and tenant
isolation of every id-taking URL."""

import base64
import hashlib
import io
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from assets import actions as asset_actions
from assets.models import Asset, AssetFile
from metastudio import jobs
from metastudio.jobs import Job
from tenancy.audit import Actor
from tenancy.models import AuditLog
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.test_console import by_testid, has_message, logged_in, page


def png_bytes(width: int = 64, height: int = 48, color=(200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def md5_b64(content: bytes) -> str:
    return base64.b64encode(hashlib.md5(content).digest()).decode()


def create_upload(client, content: bytes, file_name: str = "photo.png", asset_type: str = "IMAGE", **fields):
    data = {"asset_type": asset_type, "name": "", "description": "", "tags": "", "file_name": file_name,
            "file_size": str(len(content)), **fields}
    return client.post(reverse("console:asset_upload"), data)


def put_bytes(client, upload_url: str, content: bytes):
    parts = urlsplit(upload_url)
    return client.put(f"{parts.path}?{parts.query}", data=content, content_type="application/octet-stream")


def upload(client, content: bytes, file_name: str = "photo.png", asset_type: str = "IMAGE", *, put=None,
           **fields) -> tuple[dict, object]:
    """The console's JS flow: create, PUT the bytes, complete. Returns (create answer, complete response)."""
    created = create_upload(client, content, file_name, asset_type, **fields)
    assert created.status_code == 201, created.content
    answer = created.json()
    assert put_bytes(client, answer["upload_url"], content if put is None else put).status_code == 200
    return answer, client.post(answer["complete_url"])


def processing_job(asset_id) -> Job:
    return Job.objects.get(kind="asset_process", params__asset_id=str(asset_id))


def make_active_image(tenant, client=None, name: str = "photo.png") -> Asset:
    """An ACTIVED image with its thumbnail, made through the console flow."""
    client = client or logged_in(Client(), tenant.owner)
    answer, done = upload(client, png_bytes(), name)
    assert done.status_code == 200, done.content
    assert jobs.run(str(processing_job(answer["asset_id"]).pk)) == "done"
    asset = Asset.objects.get(pk=answer["asset_id"])
    assert asset.state == Asset.State.ACTIVED, asset.reason
    return asset


def thumbnail_of(asset: Asset) -> AssetFile:
    return asset.files.get(category=AssetFile.Category.THUMBNAIL)


def actor(tenant) -> Actor:
    return Actor(user=tenant.owner, account=tenant.account, via="api")


def bare_asset(tenant, name="clip", asset_type="VIDEO", state=Asset.State.ACTIVED) -> Asset:
    asset = asset_actions.create_asset(actor(tenant), tenant.account, name=name, asset_type=asset_type)
    Asset.objects.filter(pk=asset.pk).update(state=state)
    asset.refresh_from_db()
    return asset


# --- pages and IAM ----------------------------------------------------------------------------------------

def test_library_renders_every_tab_for_owner(client, tenant):
    video = bare_asset(tenant, "intro clip", "VIDEO")
    image = bare_asset(tenant, "team photo", "IMAGE")
    logged_in(client, tenant.owner)
    body = page(client.get(reverse("console:assets")))
    assert "Asset library" in body and "intro clip" in body and "team photo" in body
    for label in ("Video", "Image", "PPT", "Music", "Material", "Common file", "Avatar models", "Voice models",
                  "Scenes", "Animations", "Business-card templates", "Recycle bin", "Import from another tenant"):
        assert label in body
    assert 'data-testid="upload-open"' in body and 'data-testid="drop-zone"' in body

    response = client.get(reverse("console:assets"), {"type": "IMAGE"})
    assert response.status_code == 200
    assert [card["asset"] for card in response.context["cards"]] == [image]
    assert 'value="IMAGE" selected' in page(response)  # the upload type follows the tab
    assert [c["asset"] for c in client.get(reverse("console:assets"), {"q": "INTRO"}).context["cards"]] == [video]
    assert "No asset matches" in page(client.get(reverse("console:assets"), {"q": "nothing-like-it"}))
    response = client.get(reverse("console:assets"), {"type": "RECYCLE_BIN"})
    assert response.context["cards"] == [] and "The recycle bin is empty." in page(response)
    assert 'data-testid="upload-open"' not in page(response)

    response = client.get(reverse("console:asset_detail", args=[video.pk]))
    assert response.status_code == 200
    assert by_testid(response, "asset-name") == "intro clip"
    assert by_testid(response, "asset-state") == "ACTIVED"


def test_nav_shows_asset_library_to_readers_only(client, tenant):
    from tests.test_console import nav_urls

    assert reverse("console:assets") in nav_urls(logged_in(client, tenant.owner).get(reverse("console:overview")))
    assert reverse("console:assets") in nav_urls(logged_in(client, tenant.member).get(reverse("console:overview")))
    assert reverse("console:assets") not in nav_urls(logged_in(client, tenant.nobody).get(reverse("console:overview")))


def test_user_without_policy_gets_403_everywhere(client, tenant):
    asset = make_active_image(tenant)
    thumb = thumbnail_of(asset)
    logged_in(client, tenant.nobody)
    for url in (reverse("console:assets"), reverse("console:asset_detail", args=[asset.pk]),
                reverse("console:asset_file", args=[asset.pk, thumb.pk]),
                f"{reverse('console:asset_status')}?ids={asset.pk}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert 'data-testid="forbidden"' in page(response)
    assert create_upload(client, png_bytes()).status_code == 403
    assert client.post(reverse("console:asset_detail", args=[asset.pk]), {"op": "delete"}).status_code == 403
    assert client.post(reverse("console:asset_import"), {"replication_info": "x"}).status_code == 403
    assert Asset.objects.filter(account=tenant.account).count() == 1


def test_readonly_member_views_but_cannot_change(client, tenant):
    asset = make_active_image(tenant)
    logged_in(client, tenant.member)
    response = client.get(reverse("console:assets"))
    assert response.status_code == 200
    body = page(response)
    assert asset.name in body
    assert 'data-testid="upload-open"' not in body and 'data-testid="import-open"' not in body
    detail = page(client.get(reverse("console:asset_detail", args=[asset.pk])))
    for hidden in ("asset-update", 'data-testid="delete"', "force-delete", 'data-testid="transfer"', "Deactivate"):
        assert hidden not in detail
    # The member may still see the thumbnail.
    thumb = thumbnail_of(asset)
    assert client.get(reverse("console:asset_file", args=[asset.pk, thumb.pk])).status_code == 200

    audits = AuditLog.objects.count()
    assert create_upload(client, png_bytes()).status_code == 403
    for op in ("update", "delete", "force_delete", "deactivate", "share"):
        response = client.post(reverse("console:asset_detail", args=[asset.pk]), {"op": op, "name": "renamed"})
        assert response.status_code == 403, op
    assert client.post(reverse("console:asset_import"), {"replication_info": "x"}).status_code == 403
    asset_actions.delete_asset(actor(tenant), asset)
    audits = AuditLog.objects.count()
    assert client.post(reverse("console:asset_detail", args=[asset.pk]), {"op": "restore"}).status_code == 403
    asset.refresh_from_db()
    assert asset.state == Asset.State.DELETED and asset.name == "photo.png"
    assert Asset.objects.filter(account=tenant.account).count() == 1
    assert AuditLog.objects.count() == audits


def test_cross_tenant_ids_answer_404(client, tenant, other_tenant):
    foreign = make_active_image(other_tenant)
    foreign_thumb = thumbnail_of(foreign)
    foreign_main = foreign.files.get(category=AssetFile.Category.MAIN)
    pending = create_upload(logged_in(client, other_tenant.owner), png_bytes()).json()
    mine = make_active_image(tenant)
    logged_in(client, tenant.owner)
    audits = AuditLog.objects.count()

    def status(method, name, *args, data=None):
        return getattr(client, method)(reverse(f"console:{name}", args=args), data or {}).status_code

    assert status("get", "asset_detail", foreign.pk) == 404
    for op in ("update", "delete", "force_delete", "restore", "activate", "deactivate", "share"):
        assert status("post", "asset_detail", foreign.pk, data={"op": op, "name": "x"}) == 404, op
    assert status("get", "asset_file", foreign.pk, foreign_thumb.pk) == 404
    assert status("get", "asset_file", foreign.pk, foreign_main.pk) == 404
    assert status("get", "asset_file", mine.pk, foreign_thumb.pk) == 404  # my asset, their file
    assert status("get", "asset_detail", uuid.uuid4()) == 404
    assert status("post", "asset_complete", pending["asset_id"], pending["file_id"]) == 404
    assert status("post", "asset_complete", mine.pk, pending["file_id"]) == 404
    answer = client.get(reverse("console:asset_status"), {"ids": f"{foreign.pk},{mine.pk},not-a-uuid"}).json()
    assert [item["asset_id"] for item in answer["assets"]] == [str(mine.pk)]

    foreign.refresh_from_db()
    assert foreign.state == Asset.State.ACTIVED and foreign.name == "photo.png"
    assert AssetFile.objects.get(pk=pending["file_id"]).state == AssetFile.State.WAITING_UPLOAD
    assert AuditLog.objects.count() == audits


# --- upload -------------------------------------------------------------------------------------------------

def test_upload_flow_end_to_end(client, tenant):
    logged_in(client, tenant.owner)
    content = png_bytes(64, 48)
    created = create_upload(client, content, "team photo.png", description="the team", tags="team, 2026",
                            file_md5=md5_b64(content))
    assert created.status_code == 201
    answer = created.json()
    assert set(answer) >= {"asset_id", "file_id", "upload_url"}
    assert urlsplit(answer["upload_url"]).path == f"/uploads/{answer['file_id']}"
    asset = Asset.objects.get(pk=answer["asset_id"], account=tenant.account)
    assert (asset.name, asset.description, asset.tags, asset.state) == ("team photo.png", "the team",
                                                                       ["team", "2026"], "CREATING")
    assert AuditLog.objects.filter(action="asset.create", via="console").exists()

    assert put_bytes(client, answer["upload_url"], content).status_code == 200
    done = client.post(answer["complete_url"])
    assert done.status_code == 200, done.content
    assert done.json()["file_state"] == "CREATED"

    # The card shows CREATING with the job's progress; the status poll answers the same card.
    job = processing_job(asset.pk)
    response = client.get(reverse("console:assets"), {"type": "IMAGE"})
    card = response.context["cards"][0]
    assert card["asset"] == asset and card["job"] == job
    assert f'data-job-id="{job.pk}"' in page(response) and "<progress" in page(response)
    status = client.get(reverse("console:asset_status"), {"ids": str(asset.pk)}).json()["assets"][0]
    assert status["state"] == "CREATING" and status["job_id"] == str(job.pk)

    assert jobs.run(str(job.pk)) == "done"
    asset.refresh_from_db()
    assert asset.state == Asset.State.ACTIVED, asset.reason
    status = client.get(reverse("console:asset_status"), {"ids": str(asset.pk)}).json()["assets"][0]
    assert status["state"] == "ACTIVED" and 'data-testid="asset-cover"' in status["html"]

    thumb = thumbnail_of(asset)
    thumb_url = reverse("console:asset_file", args=[asset.pk, thumb.pk])
    assert thumb_url in page(client.get(reverse("console:assets")))
    served = client.get(thumb_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(b"".join(served.streaming_content))).format == "PNG"

    detail = client.get(reverse("console:asset_detail", args=[asset.pk]))
    body = page(detail)
    assert 'data-testid="preview-image"' in body
    assert ("Resolution", "64×48") in detail.context["media_rows"]
    assert "team photo.png" in body and "THUMBNAIL" in body
    main = asset.files.get(category=AssetFile.Category.MAIN)
    original = client.get(reverse("console:asset_file", args=[asset.pk, main.pk]), {"download": "1"})
    assert b"".join(original.streaming_content) == content
    assert "attachment" in original["Content-Disposition"]


def test_bad_file_shows_its_reason(client, tenant):
    logged_in(client, tenant.owner)
    answer, done = upload(client, b"MZ" + b"\0" * 200, "holiday.png")  # an executable renamed .png
    assert done.status_code == 200
    job = processing_job(answer["asset_id"])
    assert jobs.run(str(job.pk)) == "failed"
    asset = Asset.objects.get(pk=answer["asset_id"])
    assert asset.state == Asset.State.FAILED and asset.reason
    response = client.get(reverse("console:assets"))
    assert by_testid(response, "asset-state") == "FAILED"
    assert by_testid(response, "asset-reason") == asset.reason
    assert by_testid(client.get(reverse("console:asset_detail", args=[asset.pk])), "asset-reason") == asset.reason


def test_processing_crash_fails_the_asset_with_its_reason(client, tenant, monkeypatch):
    from synthesis.media import derive

    def broken(*args, **kwargs):
        raise RuntimeError("thumbnailer exploded")

    monkeypatch.setattr(derive, "image_thumbnail", broken)
    logged_in(client, tenant.owner)
    answer, done = upload(client, png_bytes())
    assert done.status_code == 200
    assert jobs.run(str(processing_job(answer["asset_id"]).pk)) == "failed"
    asset = Asset.objects.get(pk=answer["asset_id"])
    assert asset.state == Asset.State.FAILED
    assert asset.reason == "processing failed: RuntimeError: thumbnailer exploded"
    assert by_testid(client.get(reverse("console:assets")), "asset-reason") == asset.reason
    assert not asset.files.filter(generated=True).exists()


def test_truncated_upload_fails_on_complete(client, tenant):
    logged_in(client, tenant.owner)
    content = png_bytes()
    answer, done = upload(client, content, put=content[:10])
    assert done.status_code == 400
    assert "size mismatch" in done.json()["error_msg"]
    asset = Asset.objects.get(pk=answer["asset_id"])
    assert asset.state == Asset.State.FAILED and "size mismatch" in asset.reason
    assert not Job.objects.filter(kind="asset_process").exists()
    assert by_testid(client.get(reverse("console:assets")), "asset-reason").startswith("main file: size mismatch")


@pytest.mark.parametrize("fields, message", [
    ({"name": "x" * 257}, "asset_name"),
    ({"file_name": "../../etc/"}, "file_name"),
    ({"asset_type": "SPACESHIP"}, "asset_type"),
    ({"file_size": "0"}, "file_size"),
    ({"file_size": "lots"}, "file_size"),
    ({"file_size": str(6 * 1024**3)}, "file_size"),
    ({"tags": ",".join(f"t{i}" for i in range(30))}, "tags"),
])
def test_upload_refused_with_message_and_nothing_stored(client, tenant, fields, message):
    logged_in(client, tenant.owner)
    response = create_upload(client, png_bytes(), **fields)
    assert response.status_code == 400
    assert response.json()["error_msg"].startswith(message)
    assert not Asset.objects.filter(account=tenant.account).exists()


def test_quota_error_is_shown_before_bytes_are_sent(client, tenant, settings):
    settings.ASSET_FREE_STORAGE_BYTES = 100
    logged_in(client, tenant.owner)
    response = create_upload(client, png_bytes())
    assert response.status_code == 400
    error = response.json()
    assert error["error_code"] == "MSS.00000013"
    assert "storage quota exceeded" in error["error_msg"]
    assert not Asset.objects.filter(account=tenant.account).exists()
    assert not AssetFile.objects.exists()


def test_readonly_or_foreign_complete_is_refused(client, tenant):
    answer = create_upload(logged_in(client, tenant.owner), png_bytes()).json()
    logged_in(client, tenant.member)
    assert client.post(answer["complete_url"]).status_code == 403
    assert AssetFile.objects.get(pk=answer["file_id"]).state == AssetFile.State.WAITING_UPLOAD


# --- detail actions ---------------------------------------------------------------------------------------------

def test_rename_deactivate_activate(client, tenant):
    asset = make_active_image(tenant)
    logged_in(client, tenant.owner)
    url = reverse("console:asset_detail", args=[asset.pk])
    response = client.post(url, {"op": "update", "name": "renamed", "description": "new words", "tags": "a, b"},
                           follow=True)
    assert has_message(response, "Asset updated.")
    asset.refresh_from_db()
    assert (asset.name, asset.description, asset.tags) == ("renamed", "new words", ["a", "b"])
    response = client.post(url, {"op": "update", "name": "  "}, follow=True)
    assert has_message(response, "asset_name: must be 1 to 256 characters")

    assert has_message(client.post(url, {"op": "deactivate"}, follow=True), "Asset deactivated.")
    asset.refresh_from_db()
    assert asset.state == Asset.State.UNACTIVED
    assert "Activate" in page(client.get(url))
    assert has_message(client.post(url, {"op": "deactivate"}, follow=True), "only ACTIVED assets")
    assert has_message(client.post(url, {"op": "activate"}, follow=True), "Asset activated.")
    assert has_message(client.post(url, {"op": "explode"}, follow=True), "unknown operation")


def test_delete_restore_and_delete_permanently(client, tenant, django_capture_on_commit_callbacks):
    asset = make_active_image(tenant)
    stored = [f.stored.path for f in asset.files.all()]
    logged_in(client, tenant.owner)
    url = reverse("console:asset_detail", args=[asset.pk])

    response = client.post(url, {"op": "delete"}, follow=True)
    assert has_message(response, "Asset moved to the recycle bin.")
    assert response.redirect_chain[-1][0] == f"{reverse('console:assets')}?type=RECYCLE_BIN"
    assert [card["asset"] for card in response.context["cards"]] == [asset]
    assert client.get(reverse("console:assets")).context["cards"] == []
    body = page(client.get(url))
    assert 'data-testid="restore"' in body and 'data-testid="delete"' not in body and "asset-update" not in body
    assert has_message(client.post(url, {"op": "delete"}, follow=True), "already in the recycle bin")

    assert has_message(client.post(url, {"op": "restore"}, follow=True), "Asset restored.")
    asset.refresh_from_db()
    assert asset.state == Asset.State.ACTIVED
    assert [card["asset"] for card in client.get(reverse("console:assets")).context["cards"]] == [asset]
    assert has_message(client.post(url, {"op": "restore"}, follow=True), "only an asset in the recycle bin")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"op": "force_delete"}, follow=True)
    assert has_message(response, "Asset deleted permanently.")
    assert not Asset.objects.filter(pk=asset.pk).exists()
    assert stored and not any(Path(path).exists() for path in stored)
    assert client.get(url).status_code == 404
    assert AuditLog.objects.filter(action="asset.delete", via="console").count() == 2


# --- transfer -------------------------------------------------------------------------------------------------

def test_transfer_between_tenants(client, tenant, other_tenant):
    asset = make_active_image(tenant, name="logo.png")
    logged_in(client, tenant.owner)
    url = reverse("console:asset_detail", args=[asset.pk])
    assert 'data-testid="transfer-dialog"' not in page(client.get(url))
    response = client.post(url, {"op": "share"}, follow=True)
    assert has_message(response, "Replication info created")
    info = response.context["replication_info"]
    assert info and by_testid(response, "replication-info") == info
    assert 'data-testid="transfer-dialog"' in page(response)
    assert 'data-testid="transfer-dialog"' not in page(client.get(url))  # shown once

    logged_in(client, other_tenant.owner)
    response = client.post(reverse("console:asset_import"), {"replication_info": "garbage"}, follow=True)
    assert has_message(response, "replication_info: is not valid or has expired")
    response = client.post(reverse("console:asset_import"), {"replication_info": f" {info}\n"}, follow=True)
    assert has_message(response, "Asset imported.")
    copy = Asset.objects.get(account=other_tenant.account)
    assert response.redirect_chain[-1][0] == reverse("console:asset_detail", args=[copy.pk])
    assert (copy.name, copy.state, copy.type) == ("logo.png", Asset.State.ACTIVED, "IMAGE")
    copied_thumb = thumbnail_of(copy)
    served = client.get(reverse("console:asset_file", args=[copy.pk, copied_thumb.pk]))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == thumbnail_of(asset).stored.read()
    # The source stays with its owner, out of the receiver's reach.
    assert client.get(reverse("console:asset_detail", args=[asset.pk])).status_code == 404


def test_transfer_of_an_inactive_asset_is_refused(client, tenant):
    asset = bare_asset(tenant, state=Asset.State.UNACTIVED)
    logged_in(client, tenant.owner)
    response = client.post(reverse("console:asset_detail", args=[asset.pk]), {"op": "share"}, follow=True)
    assert has_message(response, "not ACTIVED")
    assert not response.context["replication_info"]


# --- overview -----------------------------------------------------------------------------------------------

def test_overview_shows_storage_and_asset_counts(client, tenant, settings):
    settings.ASSET_FREE_STORAGE_BYTES = 1024 * 1024
    logged_in(client, tenant.owner)
    response = client.get(reverse("console:overview"))
    assert by_testid(response, "storage-percent") == "0.0"
    assert by_testid(response, "storage-limit") == "1.0\xa0MB"
    asset = make_active_image(tenant, client)
    bare_asset(tenant, "clip", "VIDEO")
    response = client.get(reverse("console:overview"))
    assert response.context["storage"]["used_bytes"] == asset.size_bytes + 0
    assert float(by_testid(response, "storage-percent")) == round(100 * asset.size_bytes / 1024**2, 1)
    assert by_testid(response, "assets-IMAGE") == "1" and by_testid(response, "assets-VIDEO") == "1"
    # Visible to a user without policy too (the overview is everyone's), without links to the library.
    response = logged_in(client, tenant.nobody).get(reverse("console:overview"))
    assert response.status_code == 200 and 'href="/assets/' not in page(response)


# --- previews of other media (need ffmpeg) ---------------------------------------------------------------------

needs_ffmpeg = pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is not installed")


def ffmpeg(tmp_path, name: str, *args: str) -> bytes:
    target = tmp_path / name
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(target)], check=True, timeout=60)
    return target.read_bytes()


@needs_ffmpeg
def test_video_and_music_previews(client, tenant, tmp_path):
    logged_in(client, tenant.owner)
    video = ffmpeg(tmp_path, "clip.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1",
                   "-pix_fmt", "yuv420p", "-c:v", "libx264")
    answer, done = upload(client, video, "clip.mp4", "VIDEO")
    assert done.status_code == 200
    assert jobs.run(str(processing_job(answer["asset_id"]).pk)) == "done"
    asset = Asset.objects.get(pk=answer["asset_id"])
    assert asset.state == Asset.State.ACTIVED, asset.reason
    detail = client.get(reverse("console:asset_detail", args=[asset.pk]))
    preview = asset.files.get(category=AssetFile.Category.PREVIEW)
    assert f'src="{reverse("console:asset_file", args=[asset.pk, preview.pk])}"' in page(detail)
    rows = dict(detail.context["media_rows"])
    assert rows["Resolution"] == "320×240" and rows["Video codec"] == "h264" and rows["Frame rate"] == "25 fps"
    served = client.get(reverse("console:asset_file", args=[asset.pk, preview.pk]))
    assert served["Content-Type"] == "video/mp4" and "attachment" not in served.get("Content-Disposition", "")

    music = ffmpeg(tmp_path, "tone.wav", "-f", "lavfi", "-i", "sine=frequency=440:duration=1")
    answer, done = upload(client, music, "tone.wav", "MUSIC")
    assert done.status_code == 200
    assert jobs.run(str(processing_job(answer["asset_id"]).pk)) == "done"
    asset = Asset.objects.get(pk=answer["asset_id"])
    assert asset.state == Asset.State.ACTIVED, asset.reason
    body = page(client.get(reverse("console:asset_detail", args=[asset.pk])))
    assert 'data-testid="preview-audio"' in body and 'data-testid="preview-waveform"' in body


def test_pdf_pages_are_shown_in_order(client, tenant, tmp_path):
    pdftoppm = shutil.which("pdftoppm")
    if not pdftoppm:
        pytest.skip("poppler is not installed")
    pages = [Image.new("RGB", (320, 180), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:])
    logged_in(client, tenant.owner)
    answer, done = upload(client, out.getvalue(), "deck.pdf", "PPT")
    assert done.status_code == 200
    assert jobs.run(str(processing_job(answer["asset_id"]).pk)) == "done"
    asset = Asset.objects.get(pk=answer["asset_id"])
    assert asset.state == Asset.State.ACTIVED, asset.reason
    detail = client.get(reverse("console:asset_detail", args=[asset.pk]))
    page_files = list(asset.files.filter(category=AssetFile.Category.PAGE).order_by("position"))
    assert len(page_files) == 3
    assert detail.context["page_urls"] == [reverse("console:asset_file", args=[asset.pk, f.pk]) for f in page_files]
    assert ("Pages", 3) in detail.context["media_rows"]


def test_uploaded_html_is_never_served_as_a_page(client, tenant):
    asset = bare_asset(tenant, "notes", "COMMON_FILE", state=Asset.State.CREATING)
    logged_in(client, tenant.owner)
    content = b"<script>alert(1)</script>"
    file, url = asset_actions.create_file(actor(tenant), tenant.account, asset_id=asset.pk, file_name="x.html",
                                          file_size=len(content), base_url="http://testserver/")
    assert put_bytes(client, url, content).status_code == 200
    asset_actions.complete_file(actor(tenant), file)
    served = client.get(reverse("console:asset_file", args=[asset.pk, file.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == "application/octet-stream"
    assert "attachment" in served["Content-Disposition"]
    assert "sandbox" in served["Content-Security-Policy"]


def test_status_lists_progress_json(client, tenant):
    asset = bare_asset(tenant, state=Asset.State.CREATING)
    logged_in(client, tenant.owner)
    answer = client.get(reverse("console:asset_status"), {"ids": str(asset.pk)}).json()
    assert answer["assets"][0]["job_id"] is None
    assert "waiting for the upload" in answer["assets"][0]["html"]
    assert json.dumps(answer)
