"""Business card API on the real engine: create from a photo (or a preset) with card text, logo and QR code ->
a card video where the photo introduces the person (a VIDEO asset) and a card image; the public share page;
update re-renders, delete keeps the video; counted once per card; bad input refused with the field; IAM and
tenant isolation."""

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.cache import cache
from PIL import Image

from assets.models import Asset, AssetFile
from avatars.models import BusinessCard
from billing.models import UsageRecord
from metastudio import jobs
from synthesis.media.probe import probe
from tests import media_samples as ms
from tests.api_helpers import assert_error, fast_password_hashing, send_json  # noqa: F401

pytestmark = pytest.mark.timeout(300)
VOICE = "espeak-en-us-f"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def url(t, *parts) -> str:
    return "/".join([f"/v1/{t.project_id}/digital-human-business-cards", *map(str, parts)])


def card_body(astronaut, **changes) -> dict:
    body = {"business_card_type": "2D_DIGITAL_HUMAN_CARD",
            "card_text_config": {"name": "Eileen Collins", "title": "Commander", "company": "NASA",
                                 "mobile_phone": "+1 555 0100", "mail": "eileen@example.com",
                                 "address": "Houston, Texas", "other1": "To the stars"},
            "card_image_config": {"human_image": b64(png(astronaut)),
                                  "logo_image": b64(png(np.full((60, 160, 3), (20, 60, 200), np.uint8)))},
            "introduction_text": "Hello, I am Eileen.", "voice_asset_id": VOICE,
            "qr_code_content": "https://example.com/eileen", "video_asset_name": "Eileen card"}
    body.update(changes)
    return body


def render(card_id) -> BusinessCard:
    card = BusinessCard.objects.get(pk=card_id)
    assert jobs.run(str(card.engine_job_id)) == "done", card.engine_job.error_msg
    card.refresh_from_db()
    return card


def test_a_card_is_made_shared_updated_and_deleted(api, client, tenant, astronaut):
    owner = api(tenant.owner)
    answer = send_json(owner, "post", url(tenant), card_body(astronaut))
    assert answer.status_code == 201, answer.content
    card_id = answer.json()["job_id"]
    assert send_json(owner, "get", url(tenant, card_id)).json()["job_info"]["state"] == "WAITING"
    card = render(card_id)

    shown = send_json(api(tenant.member), "get", url(tenant, card_id)).json()
    info = shown["job_info"]
    assert info["state"] == "SUCCEED" and info["business_card_type"] == "2D_DIGITAL_HUMAN_CARD"
    assert shown["card_text_config"]["company"] == "NASA" and shown["card_templet_asset_id"] == "classic"
    video = Asset.objects.get(pk=info["output_asset_config"]["asset_id"], account=tenant.account)
    assert video.type == Asset.Type.VIDEO and video.name == "Eileen card"
    probed = probe(Path(video.files.get(category=AssetFile.Category.MAIN).stored.path))
    assert (probed.width, probed.height) == (1080, 1920) and probed.audio_codec == "aac"
    assert 0.8 < probed.duration_s < 5
    for key in ("human_image_url", "logo_image_url", "card_image_url"):
        got = owner.get(shown["card_image_url"][key].split("testserver")[1])
        assert got.status_code == 200 and b"".join(got.streaming_content)[:4] == b"\x89PNG", key
    with Image.open(card.card_image.path) as image:
        assert image.size == (1080, 1920)
    import cv2

    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.imread(card.card_image.path))
    assert decoded == "https://example.com/eileen"

    # the public page plays the card without an account
    share = shown["share_url"].split("testserver")[1]
    page = client.get(share)
    assert page.status_code == 200 and b"card.mp4" in page.content and b"Eileen Collins" in page.content
    assert client.get(share + "card.mp4", HTTP_RANGE="bytes=0-99").status_code == 206
    assert client.get(share.replace(card.share_token, "x" * 43)).status_code == 404
    assert UsageRecord.objects.get(account=tenant.account, resource_type="BUSINESS_CARD").quantity == 1

    # update: new text, template and a preset photo -> a new render; still counted once
    cache.clear()
    changed = send_json(owner, "put", url(tenant, card_id), {"card_text_config": {"title": "Pilot"},
                                                            "card_templet_asset_id": "dark",
                                                            "preset_id": "preset-photo-grace",
                                                            "card_image_config": {"logo_image": ""}})
    assert changed.status_code == 200, changed.content
    card = render(card_id)
    assert card.text_config["title"] == "Pilot" and card.text_config["name"] == "Eileen Collins"
    assert card.template == "dark" and card.preset_id == "preset-photo-grace" and not card.photo and not card.logo
    assert card.video_asset_id != video.pk
    assert UsageRecord.objects.filter(account=tenant.account, resource_type="BUSINESS_CARD").count() == 1
    listed = send_json(owner, "get", url(tenant)).json()
    assert listed["count"] == 1 and listed["jobs"][0]["job_id"] == card_id

    cache.clear()
    assert send_json(owner, "delete", url(tenant, card_id)).status_code == 204
    assert not BusinessCard.objects.filter(pk=card_id).exists()
    assert Asset.objects.filter(pk=video.pk).exists()  # the videos stay in the library
    assert client.get(share).status_code == 404


def test_an_empty_introduction_is_made_from_the_card_in_the_voice_language(api, tenant, astronaut):
    body = card_body(astronaut, introduction_text="", voice_asset_id=VOICE)
    card = BusinessCard.objects.get(pk=send_json(api(tenant.owner), "post", url(tenant), body).json()["job_id"])
    assert card.introduction_text == "Hello, I am Eileen Collins, Commander at NASA. Nice to meet you!"


def test_an_audio_introduction(api, tenant, astronaut, tmp_path):
    from assets.tasks import store_generated_file

    audio = Asset.objects.create(account=tenant.account, project=tenant.project, name="intro",
                                 type=Asset.Type.MUSIC, state=Asset.State.ACTIVED)
    store_generated_file(audio, AssetFile.Category.MAIN, ms.make_wav(tmp_path / "intro.wav", rate=16000, channels=1,
                                                                     seconds=1.5), name="intro.wav", file_type="wav")
    body = card_body(astronaut, introduction_type="AUDIO", introduction_audio_asset_id=str(audio.pk))
    card = render(send_json(api(tenant.owner), "post", url(tenant), body).json()["job_id"])
    assert card.engine_job.result["duration"] == pytest.approx(1.5, abs=0.2)
    assert not UsageRecord.objects.filter(account=tenant.account, resource_type__startswith="TTS").exists()


def test_a_photo_that_breaks_a_face_rule_fails_the_card(api, tenant, astronaut):
    body = card_body(astronaut, card_image_config={"human_image": b64(png(np.hstack([astronaut, astronaut])))})
    card = BusinessCard.objects.get(pk=send_json(api(tenant.owner), "post", url(tenant), body).json()["job_id"])
    assert jobs.run(str(card.engine_job_id)) == "failed"
    shown = send_json(api(tenant.owner), "get", url(tenant, card.pk)).json()
    assert shown["job_info"]["state"] == "FAILED" and "one_face" in shown["job_info"]["error_info"]["error_msg"]
    assert not UsageRecord.objects.filter(account=tenant.account).exists()


def test_bad_cards_are_refused_with_the_field(api, tenant, other_tenant, astronaut, tmp_path):
    from assets.tasks import store_generated_file

    theirs = Asset.objects.create(account=other_tenant.account, name="x", type=Asset.Type.MUSIC,
                                  state=Asset.State.ACTIVED)
    store_generated_file(theirs, AssetFile.Category.MAIN, ms.make_wav(tmp_path / "x.wav", rate=16000, channels=1),
                         name="x.wav", file_type="wav")
    small = b64(png(np.asarray(Image.fromarray(astronaut).resize((70, 70)))))
    cases = [
        ({"card_text_config": {"title": "x"}}, 400, "card_text_config.name"),
        ({"card_text_config": {"name": "x" * 33}}, 400, "card_text_config.name", "at most 32"),
        ({"card_text_config": {"name": "A", "mail": "not-mail"}}, 400, "card_text_config.mail"),
        ({"card_text_config": {"name": "A", "fax": "1"}}, 400, "card_text_config.fax"),
        ({"card_image_config": {}}, 400, "card_image_config.human_image"),
        ({"card_image_config": {"human_image": small}}, 400, "card_image_config.human_image", "resolution"),
        ({"card_image_config": {"human_image": b64(png(astronaut)), "logo_image": b64(b"nope")}}, 400,
         "card_image_config.logo_image"),
        ({"card_templet_asset_id": "neon"}, 400, "card_templet_asset_id", "classic"),
        ({"voice_asset_id": None}, 400, "voice_asset_id"),
        ({"introduction_text": "x" * 2001}, 400, "introduction_text", "at most 2000"),
        ({"introduction_type": "AUDIO"}, 400, "introduction_audio_asset_id"),
        ({"introduction_type": "AUDIO", "introduction_audio_asset_id": str(theirs.pk)}, 404,
         "introduction_audio_asset_id"),
        ({"business_card_type": "3D"}, 400, "business_card_type"),
        ({"qr_code_content": "x" * 513}, 400, "qr_code_content"),
        ({"card_text_config": {"name": "A", "other1": "forbidden-word-example"}}, 400, "card_text_config",
         "machine review"),
        ({"introduction_text": "I spread 恐怖主义宣传."}, 400, "card_text_config", "machine review"),
    ]
    for changes, status, *fragments in cases:
        cache.clear()
        body = card_body(astronaut, **changes)
        code = "MSS.00000004" if status == 404 else "MSS.00000003"
        assert_error(send_json(api(tenant.owner), "post", url(tenant), body), status, code, *fragments)
    assert not BusinessCard.objects.exists()


def test_iam_and_tenant_isolation(api, tenant, other_tenant, astronaut):
    body = card_body(astronaut, card_image_config={"human_image": b64(png(astronaut))})
    assert_error(send_json(api(tenant.member), "post", url(tenant), body), 403, "MSS.00000005")
    assert_error(send_json(api(tenant.nobody), "get", url(tenant)), 403, "MSS.00000005")
    card_id = send_json(api(tenant.owner), "post", url(tenant), body).json()["job_id"]
    assert_error(send_json(api(tenant.owner), "put", url(tenant, card_id), {}), 409, "MSS.00000007", "rendered")
    assert_error(send_json(api(tenant.member), "put", url(tenant, card_id), {}), 403, "MSS.00000005")
    assert_error(send_json(api(tenant.member), "delete", url(tenant, card_id)), 403, "MSS.00000005")
    for method in ("get", "put", "delete"):
        assert_error(send_json(api(other_tenant.owner), method, url(other_tenant, card_id), {}), 404,
                     "MSS.00000004", "job_id")
    assert_error(send_json(api(other_tenant.owner), "get", url(other_tenant, card_id, "files", "photo")), 404,
                 "MSS.00000004")
    assert send_json(api(other_tenant.owner), "get", url(other_tenant)).json()["count"] == 0
    assert send_json(api(tenant.member), "get", url(tenant)).json()["count"] == 1
