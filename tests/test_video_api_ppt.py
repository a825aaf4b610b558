"""PPT import through the API (our extension, /video-ppt-imports): a PDF asset becomes one scene per page with the
page as the background; the job's detail carries the page count and the scenes once it succeeded, ready to be
sent as a script's shoot_scripts. Bad ids, IAM and tenant isolation."""

import pytest
from django.core.cache import cache

from assets.models import Asset
from metastudio import jobs
from metastudio.jobs import Job
from tenancy.audit import Actor
from tests import media_samples as ms
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401
from tests.test_video_scripts import VOICE, _asset
from videos import scripts

pytestmark = pytest.mark.timeout(300)


def url(t, *parts) -> str:
    return "/".join([f"/v1/{t.project_id}", "video-ppt-imports", *[str(part) for part in parts]])


def call(api, user, method, path, payload=None):
    cache.clear()
    return send_json(api(user), method, path, payload)


@pytest.fixture
def pdf(tenant, tmp_path):
    return _asset(tenant, ms.make_pdf(tmp_path / "deck.pdf", pages=2), Asset.Type.PPT)


def test_a_pdf_becomes_one_scene_per_page(api, tenant, pdf):
    created = call(api, tenant.owner, "post", url(tenant), {"ppt_asset_id": str(pdf.pk)})
    assert created.status_code == 201, created.content
    job_id = created.json()["job_id"]
    waiting = call(api, tenant.member, "get", url(tenant, job_id)).json()
    assert waiting["state"] == "WAITING" and waiting["shoot_scripts"] is None and waiting["page_count"] is None
    assert waiting["ppt_asset_id"] == str(pdf.pk)
    assert jobs.run(job_id) == "done", Job.objects.get(pk=job_id).error_msg
    shown = call(api, tenant.member, "get", url(tenant, job_id)).json()
    assert (shown["state"], shown["progress"], shown["error_info"]) == ("SUCCEED", 100, None)
    assert shown["page_count"] == 2 and len(shown["shoot_scripts"]) == 2
    backgrounds = [scene["background_config"][0] for scene in shown["shoot_scripts"]]
    assert all(item["background_type"] == "IMAGE" for item in backgrounds)
    assert all(scene["text_config"]["text"] for scene in shown["shoot_scripts"])
    # the scenes are a script's scenes as they are
    scenes = shown["shoot_scripts"]
    cleaned = scripts.clean_script(tenant.account, {"script_name": "Deck", "model_asset_id": "preset-photo-eileen",
                                                    "voice_config": {"voice_asset_id": VOICE},
                                                    "shoot_scripts": scenes})
    assert len(cleaned["shoot_scripts"]) == 2


def test_bad_imports_iam_and_tenant_isolation(api, tenant, other_tenant, pdf, tmp_path):
    theirs = _asset(other_tenant, ms.make_pdf(tmp_path / "theirs.pdf", pages=1), Asset.Type.PPT)
    image = _asset(tenant, ms.make_image(tmp_path / "page.png", (64, 36)), Asset.Type.IMAGE)
    frozen = _asset(tenant, ms.make_pdf(tmp_path / "frozen.pdf", pages=1), Asset.Type.PPT, state=Asset.State.BLOCK)
    cases = [({}, 400, "MSS.00000003", "is required"), ({"ppt_asset_id": str(theirs.pk)}, 404, "MSS.00000004"),
             ({"ppt_asset_id": "nope"}, 404, "MSS.00000004"), ({"ppt_asset_id": str(image.pk)}, 400, "MSS.00000003",
                                                                "PPT asset"),
             ({"ppt_asset_id": str(frozen.pk)}, 409, None), ([1], 400, "MSS.00000003", "body")]
    for payload, status, code, *fragments in cases:
        answer = call(api, tenant.owner, "post", url(tenant), payload)
        assert answer.status_code == status, answer.content
        if code:
            assert_error(answer, status, code, *fragments)
        if isinstance(payload, dict) and payload:
            assert "ppt_asset_id" in answer.json()["error_msg"]
    assert not Job.objects.filter(account=tenant.account).exists()
    for user in (tenant.member, tenant.nobody):
        assert_error(call(api, user, "post", url(tenant), {"ppt_asset_id": str(pdf.pk)}), 403, "MSS.00000005")
    from videos import ppt_import

    job = ppt_import.submit_ppt_import(Actor.system(tenant.account), tenant.account, str(pdf.pk),
                                       project=tenant.project)
    assert call(api, tenant.member, "get", url(tenant, job.pk)).status_code == 200
    assert_error(call(api, tenant.nobody, "get", url(tenant, job.pk)), 403, "MSS.00000005")
    assert_error(call(api, other_tenant.owner, "get", url(other_tenant, job.pk)), 404, "MSS.00000004", "job_id")
