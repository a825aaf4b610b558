"""The console's business cards with Django's test client: the gallery (card image or photo, state, progress,
share link, actions by IAM), the editor (an uploaded astronaut photo or a preset, card text, logo, QR code,
template, text or audio introduction; each error shown at the input it names, values kept), the card page before
and after the render (progress, then the player with the card image as poster, the download and the share link;
a failed render's reason), edit and delete; the tenant's files (PNG, MP4 with Range); IAM (ReadOnly looks, cannot
change; no policy sees nothing) and tenant isolation. Renders run synchronously with metastudio.jobs.run."""

import io
import re

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from avatars import cards
from avatars.models import BusinessCard
from metastudio import jobs
from tenancy.audit import Actor
from tests import media_samples as ms
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.test_console import by_testid, has_message, logged_in, page

pytestmark = pytest.mark.timeout(300)
VOICE = "espeak-en-us-f"
PRESET = "preset-photo-eileen"


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


def photo_upload(astronaut, name: str = "astronaut.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(astronaut), content_type="image/png")


def form(**changes) -> dict:
    """The editor's fields as a browser posts them (a preset photo unless changed)."""
    data = {"photo_choice": PRESET, "name": "Eileen Collins", "title": "Commander", "company": "NASA",
            "mobile_phone": "+1 555 0100", "phone": "", "mail": "eileen@example.com", "address": "Houston, Texas",
            "other1": "To the stars", "other2": "", "other3": "", "template": "classic", "qr_code_content": "",
            "introduction_type": "TEXT", "introduction_text": "", "voice_asset_id": VOICE, "video_asset_name": ""}
    data.update(changes)
    return data


def make_card(tenant, **changes) -> BusinessCard:
    arguments = {"text_config": {"name": "Grace Hopper", "title": "Rear Admiral", "company": "US Navy"},
                 "preset_id": "preset-photo-grace", "voice_asset_id": VOICE, "introduction_text": "Hello."}
    arguments.update(changes)
    return cards.create_business_card(Actor.system(tenant.account), tenant.account, project=tenant.project,
                                      **arguments)


def stopped(card: BusinessCard) -> BusinessCard:
    """The card with its render canceled (so it can change without waiting for a render)."""
    jobs.cancel(Actor.system(card.account), card.engine_job)
    return BusinessCard.objects.select_related("engine_job").get(pk=card.pk)


def render(card: BusinessCard) -> BusinessCard:
    assert jobs.run(str(card.engine_job_id)) == "done", BusinessCard.objects.get(pk=card.pk).engine_job.error_msg
    return BusinessCard.objects.select_related("engine_job", "video_asset").get(pk=card.pk)


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def field_error(response, name: str) -> str:
    return by_testid(response, f"error-{name}")


# --- the whole flow ----------------------------------------------------------------------------------------------

def test_a_card_made_from_an_uploaded_photo_renders_and_plays(client, tenant, astronaut):
    logged_in(client, tenant.owner)
    editor = page(client.get(reverse("console:card_new")))
    for words in ('data-testid="photo-input"', f'data-testid="photo-preset-{PRESET}"', 'data-testid="template-classic"',
                  'data-testid="template-dark"', "Classic (light)", "Dark (gold)", f'value="{VOICE}"',
                  "a greeting is made from the card", reverse("console:photo_preset", args=[PRESET])):
        assert words in editor, words
    preset = client.get(reverse("console:photo_preset", args=[PRESET]))
    assert preset.status_code == 200 and content(preset)[:4] == b"\x89PNG"

    logo = SimpleUploadedFile("logo.png", png(np.full((60, 160, 3), (20, 60, 200), np.uint8)))
    response = client.post(reverse("console:card_new"), form(
        photo_choice="upload", photo=photo_upload(astronaut), logo=logo, template="dark",
        qr_code_content="https://example.com/eileen", video_asset_name="Eileen card"))
    card = BusinessCard.objects.get(account=tenant.account)
    assert response.status_code == 302 and response.url == reverse("console:card_detail", args=[card.pk])
    assert card.text_config == {"name": "Eileen Collins", "title": "Commander", "company": "NASA",
                                "mobile_phone": "+1 555 0100", "mail": "eileen@example.com",
                                "address": "Houston, Texas", "other1": "To the stars"}
    assert card.photo and not card.preset_id and card.logo and card.template == "dark"
    assert card.qr_code_content == "https://example.com/eileen" and card.video_asset_name == "Eileen card"
    assert card.introduction_text == "Hello, I am Eileen Collins, Commander at NASA. Nice to meet you!"
    assert card.project == tenant.project and card.created_by == tenant.owner
    assert card.engine_job.kind == "avatars.business_card" and card.engine_job.state == "WAITING"

    # before the render: progress, the photo, no player, no share link yet
    detail = client.get(response.url)
    body = page(detail)
    assert has_message(detail, "Card created") and by_testid(detail, "card-state") == "WAITING"
    progress = body[body.index('data-testid="card-progress"') - 60:body.index('data-testid="card-progress"')]
    assert "hidden" not in progress
    assert 'data-testid="card-video"' not in body and 'data-testid="card-share-pending"' in body
    assert f'data-engine-job-id="{card.engine_job_id}"' in body and 'data-live="1"' in body
    state = client.get(reverse("console:card_state", args=[card.pk])).json()
    assert state["state"] == "WAITING" and state["rendering"] and state["video_url"] is None
    assert state["engine_job_id"] == str(card.engine_job_id) and state["job"]["progress"] == 0

    card = render(card)
    detail = client.get(reverse("console:card_detail", args=[card.pk]))
    body = page(detail)
    assert by_testid(detail, "card-state") == "SUCCEED" and 'data-live=""' in body
    video = re.search(r'<video [^>]*data-testid="card-video"', body).group(0)
    video_url = re.search(r'src="([^"]+)"', video).group(1)
    poster = re.search(r'poster="([^"]+)"', video).group(1)
    assert video_url.startswith(reverse("console:card_video", args=[card.pk]))
    assert poster.startswith(reverse("console:card_image", args=[card.pk])) and "controls" in video
    share = f"http://testserver{reverse('console:card_share', args=[card.share_token])}"
    assert f'value="{share}"' in body and f'data-copy="{share}"' in body and f'href="{share}"' in body
    assert 'data-testid="card-image-download"' in body and "Eileen card" in body

    # the files, tenant-scoped: PNG, the MP4 seekable
    image = client.get(poster)
    assert image.status_code == 200 and image["Content-Type"] == "image/png" and content(image)[:4] == b"\x89PNG"
    download = client.get(poster + "&download=1")
    assert "attachment" in download["Content-Disposition"] and "Eileen Collins.png" in download["Content-Disposition"]
    whole = client.get(video_url)
    assert whole.status_code == 200 and whole["Content-Type"] == "video/mp4"
    part = client.get(video_url, HTTP_RANGE="bytes=0-99")
    head = content(part)
    assert part.status_code == 206 and part["Content-Range"].startswith("bytes 0-99/")
    assert len(head) == 100 and head[4:8] == b"ftyp"
    for name in ("card_photo", "card_logo"):
        got = client.get(reverse(f"console:{name}", args=[card.pk]))
        assert got.status_code == 200 and content(got)[:4] == b"\x89PNG", name
    assert client.get(reverse("console:card_audio", args=[card.pk])).status_code == 404  # a TEXT introduction

    # the gallery shows the rendered card image and the share link; the public page plays without an account
    gallery = client.get(reverse("console:cards"))
    tiles = page(gallery)
    assert tiles.count('data-testid="card-tile"') == 1 and "Commander · NASA" in tiles
    assert reverse("console:card_image", args=[card.pk]) in tiles and f'data-copy="{share}"' in tiles
    client.logout()
    public = client.get(share)
    assert public.status_code == 200 and b"card.mp4" in public.content
    assert client.get(share + "card.mp4", HTTP_RANGE="bytes=0-9").status_code == 206
    assert client.get(poster).status_code == 302  # the console's own files need a login


def test_the_gallery_shows_progress_and_actions_by_iam(client, tenant, other_tenant):
    waiting = make_card(tenant)
    canceled = stopped(make_card(tenant, text_config={"name": "Ada", "company": "Analytical Engines"}))
    theirs = make_card(other_tenant, text_config={"name": "Not Mine"})
    gallery = logged_in(client, tenant.owner).get(reverse("console:cards"))
    body = page(gallery)
    assert body.count('data-testid="card-tile"') == 2 and "Not Mine" not in body and str(theirs.pk) not in body
    assert 'data-testid="card-new"' in body and body.count('data-testid="card-edit"') == 2
    assert body.count('data-testid="card-delete"') == 2 and "data-confirm=" in body
    assert body.index(f'data-card-id="{canceled.pk}"') < body.index(f'data-card-id="{waiting.pk}"')  # newest first
    tile = body[body.index(f'data-card-id="{waiting.pk}"'):]
    assert 'data-rendering="1"' in tile and f'data-engine-job-id="{waiting.engine_job_id}"' in tile
    assert reverse("console:card_photo", args=[waiting.pk]) in tile  # not rendered yet: the photo
    assert "Rear Admiral · US Navy" in tile and ">WAITING<" in tile
    assert f'data-card-id="{canceled.pk}" data-state="CANCELED"' in body
    photo = client.get(reverse("console:card_photo", args=[waiting.pk]))
    assert photo.status_code == 200 and content(photo)[:4] == b"\x89PNG"  # the preset's picture

    member = page(logged_in(client, tenant.member).get(reverse("console:cards")))
    assert member.count('data-testid="card-tile"') == 2
    for hidden in ('data-testid="card-new"', 'data-testid="card-edit"', 'data-testid="card-delete"'):
        assert hidden not in member, hidden
    empty = page(logged_in(client, other_tenant.member).get(reverse("console:cards")))
    assert empty.count('data-testid="card-tile"') == 1
    BusinessCard.objects.filter(account=other_tenant.account).delete()
    assert 'data-testid="no-cards"' in page(client.get(reverse("console:cards")))


def test_nav_links_the_gallery(client, tenant):
    for user in (tenant.owner, tenant.member):
        body = page(logged_in(client, user).get(reverse("console:overview")))
        assert f'href="{reverse("console:cards")}"' in body and ">Business cards<" in body
    nobody = page(logged_in(client, tenant.nobody).get(reverse("console:overview")))
    assert f'href="{reverse("console:cards")}"' not in nobody


# --- errors at their fields ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"name": "  "}, "name", "the card needs the person's name"),
    ({"name": "x" * 33}, "name", "at most 32 characters"),
    ({"mail": "not-mail"}, "mail", "is not an e-mail address"),
    ({"mobile_phone": "call me"}, "mobile_phone", "may hold only digits"),
    ({"introduction_text": "x" * 2001}, "introduction_text", "at most 2000 characters; this text has 2001"),
    ({"voice_asset_id": ""}, "voice_asset_id", "a voice is required"),
    ({"voice_asset_id": "no-such-voice"}, "voice_asset_id", "voice no-such-voice does not exist"),
    ({"photo_choice": "upload"}, "photo", "choose a photo to upload"),
    ({"photo_choice": ""}, "photo", "upload a photo or pick a preset"),
    ({"photo_choice": "preset-nobody"}, "photo", "must be one of preset-photo-eileen"),
    ({"template": "neon"}, "template", "must be one of the card templates"),
    ({"qr_code_content": "x" * 513}, "qr_code_content", "at most 512 characters"),
    ({"introduction_type": "AUDIO"}, "audio", "choose a WAV or MP3 file"),
    ({"video_asset_name": "v" * 257}, "video_asset_name", "at most 256 characters"),
])
def test_errors_are_shown_at_the_field_they_name(client, tenant, changes, field, words):
    logged_in(client, tenant.owner)
    response = client.post(reverse("console:card_new"), form(company="Kept Company Ltd", **changes))
    assert response.status_code == 200
    assert words in field_error(response, field)
    assert 'value="Kept Company Ltd"' in page(response)  # what was typed is kept
    for other in ("name", "mail", "photo", "introduction_text", "form"):
        if other != field:
            assert field_error(response, other) == "", other
    assert not BusinessCard.objects.exists()


def test_photo_and_audio_uploads_are_checked(client, tenant, astronaut, tmp_path):
    logged_in(client, tenant.owner)
    small = SimpleUploadedFile("small.png", png(np.asarray(Image.fromarray(astronaut).resize((70, 70)))))
    response = client.post(reverse("console:card_new"), form(photo_choice="upload", photo=small))
    assert "resolution" in field_error(response, "photo")
    logo = SimpleUploadedFile("logo.png", b"not a picture")
    assert "is not a PNG, JPG or WEBP picture" in field_error(
        client.post(reverse("console:card_new"), form(logo=logo)), "logo")
    stereo = ms.make_wav(tmp_path / "stereo.wav", rate=16000, channels=2, seconds=1)
    response = client.post(reverse("console:card_new"), form(
        introduction_type="AUDIO", audio=SimpleUploadedFile("stereo.wav", stereo.read_bytes())))
    assert "must be mono" in field_error(response, "audio") and 'data-testid="files-dropped"' in page(response)
    assert not BusinessCard.objects.exists()

    mono = ms.make_wav(tmp_path / "mono.wav", rate=16000, channels=1, seconds=1.5)
    response = client.post(reverse("console:card_new"), form(
        introduction_type="AUDIO", introduction_text="ignored", audio=SimpleUploadedFile("mono.wav",
                                                                                         mono.read_bytes())))
    card = BusinessCard.objects.get()
    assert response.status_code == 302 and card.introduction_type == "AUDIO" and card.introduction_audio
    assert card.preset_id == PRESET
    assert reverse("console:card_audio", args=[card.pk]) in page(client.get(response.url))
    audio = client.get(reverse("console:card_audio", args=[card.pk]))
    assert audio.status_code == 200 and content(audio)[:4] == b"RIFF"


def test_the_page_script_gets_json(client, tenant):
    logged_in(client, tenant.owner)
    refused = client.post(reverse("console:card_new"), form(mail="nope"), HTTP_ACCEPT="application/json")
    assert refused.status_code == 400
    assert refused.json() == {"error_code": "MSS.00000003", "error_msg": "card_text_config.mail: is not an e-mail "
                              "address", "field": "card_text_config.mail", "input": "mail",
                              "message": "is not an e-mail address"}
    made = client.post(reverse("console:card_new"), form(), HTTP_ACCEPT="application/json")
    card = BusinessCard.objects.get()
    assert made.status_code == 201 and made.json() == {"card_id": str(card.pk),
                                                       "url": reverse("console:card_detail", args=[card.pk])}
    busy = client.post(reverse("console:card_edit", args=[card.pk]), form(), HTTP_ACCEPT="application/json")
    assert busy.status_code == 409 and busy.json()["input"] == "form" and "rendered" in busy.json()["message"]


# --- edit, failure, delete -----------------------------------------------------------------------------------

def test_edit_fills_the_form_and_renders_again(client, tenant, astronaut):
    card = make_card(tenant, introduction_text="")
    logged_in(client, tenant.owner)
    busy = client.get(reverse("console:card_edit", args=[card.pk]))
    assert 'data-testid="card-locked"' in page(busy) and re.search(r'<button type="submit" disabled', page(busy))
    refused = client.post(reverse("console:card_edit", args=[card.pk]), form())
    assert "the card is being rendered" in field_error(refused, "form")

    card = stopped(card)
    editor = client.get(reverse("console:card_edit", args=[card.pk]))
    body = page(editor)
    assert 'data-testid="card-locked"' not in body
    assert 'value="Grace Hopper"' in body and 'value="Rear Admiral"' in body and 'value="US Navy"' in body
    assert re.search(r'value="current" checked', body) and reverse("console:card_photo", args=[card.pk]) in body
    assert re.search(r'value="classic" checked', body) and re.search(rf'value="{VOICE}"[^>]*selected', body)
    assert "></textarea>" in body  # the greeting made from the card is shown empty: it is made again
    old_job = card.engine_job_id

    response = client.post(reverse("console:card_edit", args=[card.pk]), form(
        photo_choice="current", name="Grace Hopper", title="Computer Scientist", company="", mail="",
        template="dark", introduction_text=""))
    assert response.status_code == 302 and response.url == reverse("console:card_detail", args=[card.pk])
    card = BusinessCard.objects.get(pk=card.pk)
    assert card.text_config["title"] == "Computer Scientist" and "company" not in card.text_config
    assert card.template == "dark" and card.preset_id == "preset-photo-grace" and card.engine_job_id != old_job
    assert card.introduction_text == "Hello, I am Grace Hopper, Computer Scientist. Nice to meet you!"
    assert has_message(client.get(response.url), "Card saved")

    card = stopped(card)
    response = client.post(reverse("console:card_edit", args=[card.pk]), form(
        photo_choice="upload", photo=photo_upload(astronaut), introduction_text="Hi there."))
    card = BusinessCard.objects.get(pk=card.pk)
    assert response.status_code == 302 and card.photo and not card.preset_id
    assert card.introduction_text == "Hi there." and card.text_config["name"] == "Eileen Collins"


def test_a_failed_render_shows_its_reason(client, tenant, astronaut):
    logged_in(client, tenant.owner)
    two = SimpleUploadedFile("two.png", png(np.hstack([astronaut, astronaut])))
    client.post(reverse("console:card_new"), form(photo_choice="upload", photo=two))
    card = BusinessCard.objects.get()
    assert jobs.run(str(card.engine_job_id)) == "failed"
    detail = client.get(reverse("console:card_detail", args=[card.pk]))
    assert by_testid(detail, "card-state") == "FAILED" and "one_face" in by_testid(detail, "card-error")
    assert 'data-testid="card-video"' not in page(detail)
    gallery = page(client.get(reverse("console:cards")))
    assert "one_face" in gallery and 'data-state="FAILED"' in gallery
    assert client.get(reverse("console:card_state", args=[card.pk])).json()["job"]["error_msg"]


def test_delete(client, tenant):
    card = make_card(tenant)
    logged_in(client, tenant.owner)
    jobs.Job.objects.filter(pk=card.engine_job_id).update(state="PROCESSING")
    busy = client.post(reverse("console:card_delete", args=[card.pk]), follow=True)
    assert busy.redirect_chain[-1][0] == reverse("console:card_detail", args=[card.pk])
    assert has_message(busy, "the card is being rendered") and BusinessCard.objects.filter(pk=card.pk).exists()
    jobs.Job.objects.filter(pk=card.engine_job_id).update(state="WAITING")
    assert client.get(reverse("console:card_delete", args=[card.pk])).status_code == 405
    response = client.post(reverse("console:card_delete", args=[card.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:cards")
    assert has_message(response, "Card Grace Hopper deleted")
    assert not BusinessCard.objects.filter(pk=card.pk).exists()
    card.engine_job.refresh_from_db()
    assert card.engine_job.state == "CANCELED"  # the waiting render was canceled
    assert client.get(reverse("console:card_detail", args=[card.pk])).status_code == 404


# --- IAM and tenants ------------------------------------------------------------------------------------------

def test_member_can_look_but_not_change(client, tenant, astronaut):
    card = stopped(make_card(tenant))
    logged_in(client, tenant.member)
    assert client.get(reverse("console:card_detail", args=[card.pk])).status_code == 200
    detail = page(client.get(reverse("console:card_detail", args=[card.pk])))
    assert 'data-testid="card-edit"' not in detail and 'data-testid="card-delete"' not in detail
    assert client.get(reverse("console:card_state", args=[card.pk])).status_code == 200
    for url in (reverse("console:card_new"), reverse("console:card_edit", args=[card.pk])):
        denied = client.get(url)
        assert denied.status_code == 403 and 'data-testid="forbidden"' in page(denied), url
        assert client.post(url, form()).status_code == 403, url
    assert "metastudio:businesscard:create" in page(client.get(reverse("console:card_new")))
    as_json = client.post(reverse("console:card_new"), form(), HTTP_ACCEPT="application/json")
    assert as_json.status_code == 403 and as_json.json()["error_code"] == "MSS.00000005"
    assert client.post(reverse("console:card_delete", args=[card.pk])).status_code == 403
    assert BusinessCard.objects.filter(pk=card.pk).count() == 1
    card.refresh_from_db()
    assert card.text_config["name"] == "Grace Hopper"


def test_nobody_sees_nothing(client, tenant):
    card = make_card(tenant)
    logged_in(client, tenant.nobody)
    for url in (reverse("console:cards"), reverse("console:card_new"), reverse("console:card_detail", args=[card.pk]),
                reverse("console:card_state", args=[card.pk]), reverse("console:card_photo", args=[card.pk])):
        response = client.get(url)
        assert response.status_code == 403 and "metastudio:businesscard:show" in page(response), url


def test_other_tenants_cards_are_not_found(client, tenant, other_tenant):
    card = stopped(make_card(tenant))
    logged_in(client, other_tenant.owner)
    for name in ("card_detail", "card_edit", "card_state", "card_image", "card_video", "card_photo", "card_logo",
                 "card_audio"):
        assert client.get(reverse(f"console:{name}", args=[card.pk])).status_code == 404, name
    assert client.post(reverse("console:card_edit", args=[card.pk]), form()).status_code == 404
    assert client.post(reverse("console:card_delete", args=[card.pk])).status_code == 404
    assert BusinessCard.objects.filter(pk=card.pk).exists()
    assert client.get(reverse("console:photo_preset", args=["preset-nobody"])).status_code == 404
