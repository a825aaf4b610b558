"""The ASGI fast path for upload PUTs (assets/asgi_upload.py), driven through the real ASGI application."""

import base64
import hashlib
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator

from assets import actions, uploads
from assets.models import AssetFile
from metastudio.asgi import application
from tenancy.audit import Actor
from tests.api_helpers import fast_password_hashing  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
DATA = b"fast path bytes " * 4096
DATA_SIZE = len(DATA)


@pytest.fixture
def settings_uploads(settings, tmp_path):
    settings.ASSET_UPLOAD_DIR = tmp_path / "uploads"
    return settings


def _new_file(tenant, size=DATA_SIZE, md5=None):
    actor = Actor.system(tenant.account)
    asset = actions.create_asset(actor, tenant.account, name="fast", asset_type="COMMON_FILE")
    md5 = md5 if md5 is not None else base64.b64encode(hashlib.md5(DATA).digest()).decode()
    file, url = actions.create_file(actor, tenant.account, asset_id=asset.pk, file_name="data.bin",
                                    file_size=size, file_md5=md5, base_url="http://testserver/")
    parts = urlsplit(url)
    return file, parts.path, parts.query


def _put(path, query, body, headers=()):
    communicator = HttpCommunicator(application, "PUT", f"{path}?{query}", body=body, headers=list(headers))
    return async_to_sync(communicator.get_response)()


def _header(response, name):
    return dict(response["headers"]).get(name.encode(), b"").decode()


def test_put_streams_to_the_part_file_and_complete_uses_the_streamed_md5(tenant, settings_uploads):
    file, path, query = _new_file(tenant)
    response = _put(path, query, DATA)
    assert response["status"] == 200
    assert _header(response, "upload-offset") == str(len(DATA))
    assert uploads.part_path(file).read_bytes() == DATA
    assert uploads.streamed_md5(file) == file.declared_md5
    done = actions.complete_file(Actor.system(tenant.account), file)
    assert done.state == AssetFile.State.CREATED


def test_more_bytes_than_declared_are_refused_and_nothing_is_kept(tenant, settings_uploads):
    file, path, query = _new_file(tenant, size=10)
    response = _put(path, query, DATA)
    assert response["status"] == 400
    assert b"file_size" in response["body"]
    assert uploads.part_path(file).stat().st_size == 0


def test_bad_token_and_unknown_file_answer_404(tenant, settings_uploads):
    _, path, _ = _new_file(tenant)
    assert _put(path, "token=forged", DATA)["status"] == 404
    assert _put("/uploads/not-a-uuid", "token=x", DATA)["status"] == 404


def test_resumed_part_and_wrong_md5(tenant, settings_uploads):
    file, path, query = _new_file(tenant, md5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    half = len(DATA) // 2
    first = _put(path, query, DATA[:half], [(b"content-range", f"bytes 0-{half - 1}/{len(DATA)}".encode())])
    assert first["status"] == 200
    second = _put(path, query, DATA[half:],
                  [(b"content-range", f"bytes {half}-{len(DATA) - 1}/{len(DATA)}".encode())])
    assert _header(second, "upload-offset") == str(len(DATA))
    assert uploads.streamed_md5(file) is None  # a resumed upload is hashed at complete
    done = actions.complete_file(Actor.system(tenant.account), file)
    assert done.state == AssetFile.State.FAILED and "MD5 mismatch" in done.reason
