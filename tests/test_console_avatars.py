"""The console's avatar pages with Django's test client: avatar library (cards, cover, actions badge), avatar
production (shooting guide, create, file forms and the training video's signed URL in resumable pieces, consent,
submit), the check report per rule, the review and training progress, the model page (preview clip, model card,
Try it) and the job list with failed rules; IAM (read-only looks, cannot change) and tenant isolation of every
id-taking URL. The engine does not run here: states are moved through avatars.actions as the worker would."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assets.models import Asset, AssetFile
from assets.tasks import store_generated_file
from avatars import actions
from avatars.models import AvatarTrainingJob
from metastudio import jobs
from tenancy.audit import Actor
from tests import media_samples as ms
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.test_console import by_testid, has_message, logged_in, page

State = AvatarTrainingJob.State
CARD = {
    "resolution": "256x256", "fps": 25, "frames": 100, "training_video_seconds": 4.0, "face_found_share": 1.0,
    "green_screen": False, "supports_actions": False, "actions": [], "training_seconds": 10.98,
    "validation": {"method": "whisper-base encoder states", "opening_r": 0.6526, "match_share": 0.95,
                   "shape_r": [0.65, 0.38], "total_speech_s": 2.8,
                   "warnings": ["only 2.8 s of speech to learn from; 30 s or more gives a better lip-sync"]},
    "warnings": ["the held-out tail holds little speech; the validation figures say little"],
}
REPORT_FAILED = {
    "passed": False, "width": 256, "height": 256, "fps": 25.0, "duration_s": 4.0, "has_audio": True,
    "green_screen": False, "warnings": ["The video is short (4 s)."],
    "rules": [{"rule": "readable", "status": "pass", "message": "The video can be read.", "value": "mp4"},
              {"rule": "duration", "status": "warn", "message": "The video is short (4 s).", "value": 4.0},
              {"rule": "one_person", "status": "fail", "message": "Two faces are in the picture at 0.0-4.0 s.",
               "value": 2},
              {"rule": "frontal", "status": "fail", "message": "The face turns away from the camera.", "value": 30}],
}
REPORT_PASSED = {**REPORT_FAILED, "passed": True,
                 "rules": [rule for rule in REPORT_FAILED["rules"] if rule["status"] != "fail"]}


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("console-avatar-media")
    return {"video": ms.make_video(folder / "talk.mp4", size="320x240", seconds=2),
            "png": ms.make_image(folder / "id.png", (200, 120)),
            "jpg": ms.make_image(folder / "cover.jpg", (200, 200), fmt="JPEG"),
            "pdf": ms.make_pdf(folder / "letter.pdf", pages=1),
            "wav": ms.make_wav(folder / "speech.wav", rate=16000, channels=1, seconds=1)}


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def make_job(tenant, name: str = "Anna") -> AvatarTrainingJob:
    return actions.create_training_job(Actor.system(tenant.account), tenant.account, name=name,
                                       project=tenant.project)


def ready_job(tenant, media) -> AvatarTrainingJob:
    """A job with its training video and letter (uploaded through the actions, as the forms do)."""
    job = make_job(tenant)
    system = Actor.system(tenant.account)
    actions.upload_file(system, job, "TRAINING_VIDEO", media["video"], "talk.mp4")
    actions.upload_file(system, job, "GRANT_FILE", media["pdf"], "letter.pdf")
    return AvatarTrainingJob.objects.get(pk=job.pk)


def submitted_job(tenant, media) -> AvatarTrainingJob:
    return actions.submit(Actor.system(tenant.account), ready_job(tenant, media))


def make_model(tenant, media, tmp_path, name: str = "Astronaut", state: str = Asset.State.ACTIVED,
               **card) -> Asset:
    """An avatar model as training stores it (HUMAN_MODEL_2D: MAIN, COVER, SAMPLE, model card)."""
    card = {**CARD, **card}
    asset = Asset.objects.create(
        account=tenant.account, project=tenant.project, name=name, type=Asset.Type.HUMAN_MODEL_2D, state=state,
        review=Asset.Review.PASSED, tags=["SUPPORTS_ACTIONS"] if card["supports_actions"] else [],
        media_info={"trained_at": "2026-11-27T11:51:13+00:00", "supports_actions": card["supports_actions"],
                    "actions": card["actions"], "green_screen": card["green_screen"], "model_card": card,
                    "human_model_2d_meta": {"model_resolution": "1080P"}})
    model = tmp_path / f"{asset.pk}.model"
    model.write_bytes(b"model")
    store_generated_file(asset, AssetFile.Category.MAIN, model, file_type="model")
    store_generated_file(asset, AssetFile.Category.COVER, media["jpg"], name="cover.jpg", file_type="jpg")
    store_generated_file(asset, AssetFile.Category.SAMPLE, media["video"], name="preview.mp4", file_type="mp4")
    return asset


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- pages ---------------------------------------------------------------------------------------------------

def test_library_shows_the_tenants_models_as_cards(client, tenant, other_tenant, media, tmp_path):
    plain = make_model(tenant, media, tmp_path, "Plain")
    acting = make_model(tenant, media, tmp_path, "Acting", supports_actions=True, actions=["nod", "wave"])
    theirs = make_model(other_tenant, media, tmp_path, "Theirs")
    deleted = make_model(tenant, media, tmp_path, "Gone", state=Asset.State.DELETED)
    job = make_job(tenant)
    logged_in(client, tenant.member)
    response = client.get(reverse("console:avatars"))
    assert response.status_code == 200
    body = page(response)
    assert body.count('data-testid="avatar-card"') == 2
    for asset in (plain, acting):
        assert reverse("console:avatar_detail", args=[asset.pk]) in body
        assert reverse("console:avatar_cover", args=[asset.pk]) in body
    assert str(theirs.pk) not in body and str(deleted.pk) not in body
    assert body.count('data-testid="avatar-actions-badge"') == 1
    card = body[body.index(f'data-asset-id="{acting.pk}"'):]
    assert card.index('data-testid="avatar-actions-badge"') < card.index("</article>")
    assert 'data-testid="avatar-state">ACTIVED' in body
    assert reverse("console:avatar_job", args=[job.pk]) in body and "WAIT_FILE_UPLOAD" in body
    assert 'data-testid="avatar-new"' not in body  # read-only
    cover = client.get(reverse("console:avatar_cover", args=[plain.pk]))
    assert cover.status_code == 200 and content(cover)[:2] == b"\xff\xd8"


def test_no_models_only_the_real_presets(client, tenant):
    body = page(logged_in(client, tenant.owner).get(reverse("console:avatars")))
    assert 'data-testid="no-my-avatars"' in body and 'data-testid="avatar-card"' not in body
    # the presets are the photo digital humans, each backed by a picture that is served
    assert re.findall(r'data-preset-id="([^"]+)"', body) == ["preset-photo-eileen", "preset-photo-grace"]
    assert client.get(reverse("console:photo_preset", args=["preset-photo-eileen"])).status_code == 200


def test_nav_links_the_avatar_pages(client, tenant):
    for user in (tenant.owner, tenant.member):
        body = page(logged_in(client, user).get(reverse("console:overview")))
        assert f'href="{reverse("console:avatars")}"' in body and f'href="{reverse("console:avatar_new")}"' in body
    nobody = page(logged_in(client, tenant.nobody).get(reverse("console:overview")))
    assert f'href="{reverse("console:avatars")}"' not in nobody


def test_new_page_has_the_shooting_guide_and_creates_a_job(client, tenant):
    logged_in(client, tenant.owner)
    shown = page(client.get(reverse("console:avatar_new")))
    guide = shown[shown.index('data-testid="shooting-guide"'):]
    for words in ("1080p", "720p is accepted", "1 to 5 minutes", "Frontal", "always visible", "Exactly one person",
                  "light", "Speak naturally", "green screen is optional", "Optional: gestures",
                  "enter them as action segments"):
        assert words in guide, words
    response = client.post(reverse("console:avatar_new"), {"name": "Anna", "contact": "anna@example.com",
                                                           "tags": "sales, cn", "is_background_replacement": "on"})
    job = AvatarTrainingJob.objects.get(account=tenant.account)
    assert response.status_code == 302 and response.url == reverse("console:avatar_job", args=[job.pk])
    assert (job.name, job.contact, job.tags, job.is_background_replacement) == ("Anna", "anna@example.com",
                                                                                ["sales", "cn"], True)
    assert job.project == tenant.project and job.created_by == tenant.owner
    refused = client.post(reverse("console:avatar_new"), {"name": "  ", "contact": "kept@example.com"})
    assert refused.status_code == 200 and has_message(refused, "name: must be 1 to 256 characters")
    assert 'value="kept@example.com"' in page(refused)
    too_many = client.post(reverse("console:avatar_new"), {"name": "B", "tags": ",".join(f"t{i}" for i in range(21))})
    assert has_message(too_many, "tags: must be a list of at most 20 tags")
    assert AvatarTrainingJob.objects.count() == 1


def test_marked_action_segments_on_create_and_on_the_job_page(client, tenant):
    logged_in(client, tenant.owner)
    client.post(reverse("console:avatar_new"), {"name": "Waver", "action_segments": "wave 12-15.5\n\nnod 40 to 42 s"})
    job = AvatarTrainingJob.objects.get(account=tenant.account)
    assert job.action_segments == [{"name": "wave", "start_time": 12.0, "end_time": 15.5},
                                   {"name": "nod", "start_time": 40.0, "end_time": 42.0}]
    detail = client.get(reverse("console:avatar_job", args=[job.pk]))
    assert "wave 12-15.5\nnod 40-42</textarea>" in page(detail)
    url = reverse("console:avatar_segments", args=[job.pk])
    garbled = client.post(url, {"action_segments": "wave 12-15.5\nbow at the end"}, follow=True)
    assert has_message(garbled, "action_segments[1]: 'bow at the end': one action per line")
    short = client.post(url, {"action_segments": "wave 12-12.2"}, follow=True)
    assert has_message(short, "action_segments[0].end_time: start_time >= 0 and end_time at least 0.5 s after it")
    twice = client.post(reverse("console:avatar_new"), {"name": "Twice", "action_segments": "wave 1-2\nwave 3-4"})
    assert has_message(twice, "action_segments[1].name: a distinct name") and 'wave 3-4</textarea>' in page(twice)
    saved = client.post(url, {"action_segments": "bow 3-5"}, follow=True)
    assert has_message(saved, "Action segments saved.")
    job.refresh_from_db()
    assert job.action_segments == [{"name": "bow", "start_time": 3.0, "end_time": 5.0}]
    cleared = client.post(url, {"action_segments": ""}, follow=True)
    assert has_message(cleared, "Action segments saved.")
    job.refresh_from_db()
    assert job.action_segments == [] and AvatarTrainingJob.objects.count() == 1
    member = logged_in(client, tenant.member)
    assert member.post(url, {"action_segments": "wave 1-2"}).status_code == 403


def test_personal_accounts_are_told_avatars_are_for_enterprises(client, db):
    from tests.factories import make_tenant

    personal = make_tenant(is_enterprise=False)
    refused = logged_in(client, personal.owner).post(reverse("console:avatar_new"), {"name": "Anna"})
    assert has_message(refused, "enterprise") and not AvatarTrainingJob.objects.exists()


def test_job_page_before_the_upload(client, tenant):
    job = make_job(tenant)
    detail = logged_in(client, tenant.owner).get(reverse("console:avatar_job", args=[job.pk]))
    assert detail.status_code == 200
    text = page(detail)
    for testid in ("training_video-input", "grant_file-input", "id_card_image1-input", "id_card_image2-input",
                   "cover-input", "training_video-progress", "consent", "submit-job", "shooting-guide"):
        assert f'data-testid="{testid}"' in text, testid
    assert by_testid(detail, "job-state") == "WAIT_FILE_UPLOAD"
    assert 'data-testid="submit-job" disabled' in text
    assert "training_video (the training video): not uploaded" in text
    assert reverse("console:avatar_upload_urls", args=[job.pk]) in text
    assert 'data-status="current">Upload' in text and 'data-resumable="1"' in text


# --- uploads and submit ------------------------------------------------------------------------------------

def test_file_forms_call_the_actions_and_name_the_field(client, tenant, media):
    job = make_job(tenant)
    logged_in(client, tenant.owner)
    url = lambda field: reverse("console:avatar_file", args=[job.pk, field])  # noqa: E731
    bad_letter = client.post(url("grant_file"), {"grant_file": SimpleUploadedFile("letter.pdf", b"not a pdf" * 20)},
                             follow=True)
    assert has_message(bad_letter, "grant_file: must be a PDF, PNG or JPG document")
    bad_video = client.post(url("training_video"), {"training_video": upload(media["pdf"], "talk.mp4")},
                            follow=True)
    assert has_message(bad_video, "training_video: must be an MP4 or MOV video")
    none = client.post(url("id_card_image1"), follow=True)
    assert has_message(none, "id_card_image1: choose a file to upload")
    assert client.post(url("passport"), {"passport": upload(media["png"])}).status_code == 404

    video = client.post(url("training_video"), {"training_video": upload(media["video"])}, follow=True)
    assert has_message(video, "Training video uploaded.") and by_testid(video, "training_video-status").startswith(
        "Uploaded ✓ talk.mp4")
    letter = client.post(url("grant_file"), {"grant_file": upload(media["pdf"])}, HTTP_ACCEPT="application/json")
    assert letter.status_code == 200, letter.content
    answer = letter.json()
    assert answer["job"]["files"]["grant_file"] == {"uploaded": True, "file_name": "letter.pdf"}
    assert answer["job"]["missing"] == [] and answer["message"] == "Authorization letter uploaded."
    image = client.post(url("id_card_image1"), {"id_card_image1": upload(media["pdf"])}, HTTP_ACCEPT="application/json")
    assert image.status_code == 400 and image.json()["error_msg"].startswith("id_card_image1: must be a PNG or JPG")
    job.refresh_from_db()
    assert job.training_video and job.grant_file and not job.id_card_image1
    assert 'data-testid="submit-job" disabled' not in page(client.get(reverse("console:avatar_job", args=[job.pk])))


def test_the_video_goes_to_its_signed_url_in_resumable_pieces(client, tenant, media):
    job = make_job(tenant)
    logged_in(client, tenant.owner)
    urls = client.post(reverse("console:avatar_upload_urls", args=[job.pk]))
    assert urls.status_code == 200, urls.content
    url = urls.json()["training_video_upload_url"][0].replace("http://testserver", "")
    assert "/avatar-uploads/" in url and urls.json()["grant_file_upload_url"]
    data = media["video"].read_bytes()
    half = len(data) // 2
    first = client.generic("PUT", url, data[:half], content_type="application/octet-stream",
                           HTTP_CONTENT_RANGE=f"bytes 0-{half - 1}/{len(data)}")
    assert first.status_code == 200 and first.json()["state"] == "UPLOADING"
    assert client.head(url)["Upload-Offset"] == str(half)  # an interrupted upload resumes from here
    # the page asks again (a reload): the same upload goes on where it stopped
    again = client.post(reverse("console:avatar_upload_urls", args=[job.pk])).json()
    assert again["training_video_upload_url"][0].split("?")[0].endswith(url.split("?")[0])
    rest = client.generic("PUT", url, data[half:], content_type="application/octet-stream",
                          HTTP_CONTENT_RANGE=f"bytes {half}-{len(data) - 1}/{len(data)}")
    assert rest.status_code == 200 and rest.json()["state"] == "UPLOADED"
    state = client.get(reverse("console:avatar_job_state", args=[job.pk])).json()
    assert state["job"]["files"]["training_video"]["uploaded"] is True
    assert state["job"]["missing"] == ["grant_file (the authorization letter): not uploaded"]
    # a new video after all (e.g. the check failed): the accepted one is dropped, a fresh URL comes back
    replaced = client.post(reverse("console:avatar_upload_urls", args=[job.pk]), {"replace_video": "1"}).json()
    assert replaced["training_video_upload_url"][0].split("?")[0] != url.split("?")[0]
    job.refresh_from_db()
    assert not job.training_video


def test_submit_needs_the_consent_and_starts_the_check(client, tenant, media):
    job = make_job(tenant)
    logged_in(client, tenant.owner)
    submit_url = reverse("console:avatar_submit", args=[job.pk])
    not_ready = client.post(submit_url, {"consent": "on"}, follow=True)
    assert has_message(not_ready, "not ready: training_video (the training video): not uploaded")
    job = ready_job(tenant, media)
    submit_url = reverse("console:avatar_submit", args=[job.pk])
    no_consent = client.post(submit_url, follow=True)
    assert has_message(no_consent, "consent: confirm that the person has authorized")
    job.refresh_from_db()
    assert job.state == State.WAIT_FILE_UPLOAD
    submitted = client.post(submit_url, {"consent": "on"}, follow=True)
    assert has_message(submitted, "Submitted")
    job.refresh_from_db()
    assert job.state == State.AUTO_VERIFYING and job.engine_job.kind == "avatars.check"
    text = page(submitted)
    assert by_testid(submitted, "job-state") == "AUTO_VERIFYING"
    assert 'data-testid="check-pending"' in text and 'data-testid="job-progress"' in text
    assert f'data-engine-job-id="{job.engine_job_id}"' in text and 'data-live="1"' in text
    assert 'data-testid="training_video-input"' not in text and 'data-testid="submit-job"' not in text
    late = client.post(reverse("console:avatar_file", args=[job.pk, "cover"]), {"cover": upload(media["jpg"])},
                       HTTP_ACCEPT="application/json")
    assert late.status_code == 409 and "cover: the job is AUTO_VERIFYING" in late.json()["error_msg"]


# --- check report, review, training ---------------------------------------------------------------------------

def test_failed_check_shows_each_rule_and_the_job_list_names_the_failed_rules(client, tenant, media):
    job = submitted_job(tenant, media)
    actions.finish_video_check(job.pk, REPORT_FAILED)
    logged_in(client, tenant.owner)
    detail = client.get(reverse("console:avatar_job", args=[job.pk]))
    text = page(detail)
    assert by_testid(detail, "job-state") == "AUTO_VERIFY_FAILED" and by_testid(detail, "check-verdict") == "failed"
    for rule in REPORT_FAILED["rules"]:
        assert f'data-rule="{rule["rule"]}" data-status="{rule["status"]}"' in text
        assert rule["message"] in text
    assert "Two faces are in the picture at 0.0-4.0 s." in by_testid(detail, "job-reason")
    # the user can upload another video and submit again
    assert 'data-testid="training_video-input"' in text and 'data-replace="1"' in text
    assert 'data-testid="consent"' in text
    for listing in ("console:avatar_new", "console:avatars"):
        rows = page(client.get(reverse(listing)))
        row = rows[rows.index('data-testid="avatar-job-row"'):]
        assert "Two faces are in the picture" in row and "The face turns away from the camera." in row
        assert "The video can be read." not in row


def test_passed_check_waits_for_review_then_training_progress_is_shown(client, tenant, media):
    job = submitted_job(tenant, media)
    actions.finish_video_check(job.pk, REPORT_PASSED)
    logged_in(client, tenant.member)
    waiting = client.get(reverse("console:avatar_job", args=[job.pk]))
    assert by_testid(waiting, "job-state") == "MANUAL_VERIFYING" and by_testid(waiting, "check-verdict") == "passed"
    assert 'data-testid="review-waiting"' in page(waiting) and 'data-status="current">Review' in page(waiting)
    assert 'data-status="warn"' in page(waiting)

    job = actions.review(Actor.system(), AvatarTrainingJob.objects.get(pk=job.pk), approved=True,
                         message="letter and face match")
    actions.training_phase(job.pk, State.TRAINING_DATA_PREPROCESSING)
    actions.training_phase(job.pk, State.TRAINING)
    jobs.Job.objects.filter(pk=job.engine_job_id).update(progress=42, stage="tracking the face")
    training = client.get(reverse("console:avatar_job", args=[job.pk]))
    assert by_testid(training, "job-state") == "TRAINING"
    assert by_testid(training, "job-percent") == "42%" and by_testid(training, "job-stage") == "tracking the face"
    assert by_testid(training, "review-verdict") == "approved"
    assert by_testid(training, "review-message") == "letter and face match"
    assert 'data-status="current">Training' in page(training)
    state = client.get(reverse("console:avatar_job_state", args=[job.pk])).json()
    assert (state["job"]["state"], state["job"]["progress"], state["job"]["stage"]) == ("TRAINING", 42,
                                                                                        "tracking the face")
    assert state["engine_job_id"] == str(job.engine_job_id) and state["model_url"] is None
    listed = page(client.get(reverse("console:avatars")))
    assert "42%" in listed and "tracking the face" in listed


def test_rejected_review_shows_the_reviewers_message(client, tenant, media):
    job = submitted_job(tenant, media)
    job = actions.finish_video_check(job.pk, REPORT_PASSED)
    actions.review(Actor.system(), job, approved=False, message="the letter is not signed")
    detail = logged_in(client, tenant.owner).get(reverse("console:avatar_job", args=[job.pk]))
    assert by_testid(detail, "job-state") == "MANUAL_VERIFY_FAILED"
    assert by_testid(detail, "review-verdict") == "sent back"
    assert by_testid(detail, "review-message") == "the letter is not signed"
    assert 'data-testid="grant_file-input"' in page(detail) and 'data-testid="submit-job"' in page(detail)


def test_a_check_canceled_in_the_task_center_shows_as_failed(client, tenant, media):
    job = submitted_job(tenant, media)
    jobs.cancel(Actor.system(tenant.account), job.engine_job)
    detail = logged_in(client, tenant.owner).get(reverse("console:avatar_job", args=[job.pk]))
    assert by_testid(detail, "job-state") == "AUTO_VERIFY_FAILED"
    assert by_testid(detail, "job-reason") == "canceled by system before it started"
    assert 'data-testid="submit-job"' in page(detail)


def test_a_trained_job_links_its_model(client, tenant, media, tmp_path):
    job = make_job(tenant)
    asset = make_model(tenant, media, tmp_path)
    AvatarTrainingJob.objects.filter(pk=job.pk).update(state=State.JOB_SUCCESS, model_asset=asset)
    detail = logged_in(client, tenant.owner).get(reverse("console:avatar_job", args=[job.pk]))
    assert by_testid(detail, "job-state") == "JOB_SUCCESS"
    text = page(detail)
    assert reverse("console:avatar_detail", args=[asset.pk]) in text and 'data-testid="job-model-link"' in text
    assert 'data-live=""' in text and 'data-status="done">Ready' in text
    assert client.get(reverse("console:avatar_job_state", args=[job.pk])).json()["model_url"] == reverse(
        "console:avatar_detail", args=[asset.pk])


def test_delete_job(client, tenant):
    job = make_job(tenant)
    response = logged_in(client, tenant.owner).post(reverse("console:avatar_job_delete", args=[job.pk]), follow=True)
    assert has_message(response, "deleted") and not AvatarTrainingJob.objects.filter(pk=job.pk).exists()


# --- the model page ------------------------------------------------------------------------------------------

def test_model_page_shows_the_preview_and_the_card(client, tenant, media, tmp_path):
    asset = make_model(tenant, media, tmp_path, supports_actions=True, actions=["nod", "wave"])
    logged_in(client, tenant.member)
    detail = client.get(reverse("console:avatar_detail", args=[asset.pk]))
    assert detail.status_code == 200
    text = page(detail)
    preview_url = reverse("console:avatar_preview", args=[asset.pk])
    assert f'src="{preview_url}"' in text and 'data-testid="avatar-preview-video"' in text
    assert reverse("console:avatar_cover", args=[asset.pk]) in text
    card = text[text.index('data-testid="model-card"'):]
    for words in ("256x256", "Frame rate (fps)", "<td>25</td>", "Training video length (s)", "<td>4.0</td>",
                  "1080P"):
        assert words in card, words
    assert by_testid(detail, "model-actions") == "nod, wave" and 'data-testid="avatar-actions-badge"' in text
    validation = text[text.index('data-testid="model-validation"'):]
    assert "Mouth opening correlation (r)" in validation and "0.6526" in validation and "0.65, 0.38" in validation
    assert validation.index("Mouth opening") < validation.index("Frames matched")
    warnings = text[text.index('data-testid="model-warnings"'):]
    assert "<li>only 2.8 s of speech to learn from; 30 s or more gives a better lip-sync</li>" in warnings
    assert "<li>the held-out tail holds little speech; the validation figures say little</li>" in warnings
    assert 'data-testid="speak-form"' not in text and 'data-testid="speak-denied"' in text  # read-only
    played = client.get(preview_url)
    assert played.status_code == 200 and played["Content-Type"] == "video/mp4"
    assert content(played) == media["video"].read_bytes()
    ranged = client.get(preview_url, HTTP_RANGE="bytes=10-19")
    assert ranged.status_code == 206 and content(ranged) == media["video"].read_bytes()[10:20]
    assert ranged["Content-Range"] == f"bytes 10-19/{media['video'].stat().st_size}"


def test_try_it_lists_preset_and_trained_voices(client, tenant, other_tenant, media, tmp_path):
    asset = make_model(tenant, media, tmp_path)
    mine = Asset.objects.create(account=tenant.account, name="My voice", type=Asset.Type.VOICE_MODEL,
                                state=Asset.State.ACTIVED, media_info={"voice_tier": "BASIC", "language": "en"})
    theirs = Asset.objects.create(account=other_tenant.account, name="Their voice", type=Asset.Type.VOICE_MODEL,
                                  state=Asset.State.ACTIVED)
    text = page(logged_in(client, tenant.owner).get(reverse("console:avatar_detail", args=[asset.pk])))
    form = text[text.index('data-testid="speak-form"'):]
    assert f'<option value="{mine.pk}">My voice (BASIC)</option>' in form and str(theirs.pk) not in form
    assert 'value="espeak-cmn-f"' in form and 'value="espeak-en-us-f" selected' in form
    assert 'data-testid="speak-audio"' in form and 'data-testid="speak-video"' in form


def test_try_it_starts_a_speak_job_and_plays_its_clip(client, tenant, media, tmp_path):
    asset = make_model(tenant, media, tmp_path)
    logged_in(client, tenant.owner)
    url = reverse("console:avatar_speak", args=[asset.pk])
    started = client.post(url, {"mode": "text", "text": "Hello there.", "voice_id": "espeak-en-us-f"},
                          HTTP_ACCEPT="application/json")
    assert started.status_code == 201, started.content
    answer = started.json()
    job = jobs.Job.objects.get(pk=answer["job_id"])
    assert job.kind == "avatars.speak" and job.params["model_asset_id"] == str(asset.pk)
    assert job.params["tts"]["characters"] == len("Hello there.") and job.created_by == tenant.owner
    assert answer["state"] == "WAITING" and answer["video_url"] is None
    assert answer["state_url"] == reverse("console:avatar_speak_state", args=[asset.pk, job.pk])
    clip_url = reverse("console:avatar_clip", args=[asset.pk, job.pk])
    assert client.get(clip_url).status_code == 404  # not rendered yet

    # the worker renders it: a VIDEO asset made by the platform
    video = Asset.objects.create(account=tenant.account, name="clip", type=Asset.Type.VIDEO,
                                 state=Asset.State.ACTIVED, created_by_platform=True)
    store_generated_file(video, AssetFile.Category.MAIN, media["video"], name="clip.mp4", file_type="mp4")
    jobs.Job.objects.filter(pk=job.pk).update(state="SUCCEED", progress=100, result={"asset_id": str(video.pk)})
    state = client.get(answer["state_url"]).json()
    assert state["state"] == "SUCCEED" and state["video_url"] == clip_url
    played = client.get(clip_url)
    assert played.status_code == 200 and content(played) == media["video"].read_bytes()
    assert clip_url in page(client.get(reverse("console:avatar_detail", args=[asset.pk])))  # recent clips

    audio = client.post(url, {"mode": "audio", "audio": upload(media["wav"])}, HTTP_ACCEPT="application/json")
    assert audio.status_code == 201, audio.content
    assert jobs.Job.objects.get(pk=audio.json()["job_id"]).params["audio_seconds"] == pytest.approx(1, abs=0.1)


@pytest.mark.parametrize("form, status, words", [
    ({"mode": "text", "text": "", "voice_id": "espeak-en-us-f"}, 400, "text: give either text"),
    ({"mode": "text", "text": "hi", "voice_id": "no-such-voice"}, 404, "voice_id: voice no-such-voice does not exist"),
    ({"mode": "text", "text": "x" * 2001, "voice_id": "espeak-en-us-f"}, 400, "text: at most 2000 characters"),
    ({"mode": "audio"}, 400, "audio: choose a file to upload"),
])
def test_try_it_errors_name_the_field(client, tenant, media, tmp_path, form, status, words):
    asset = make_model(tenant, media, tmp_path)
    logged_in(client, tenant.owner)
    url = reverse("console:avatar_speak", args=[asset.pk])
    answer = client.post(url, form, HTTP_ACCEPT="application/json")
    assert answer.status_code == status and answer.json()["error_msg"].startswith(words), answer.json()
    shown = client.post(url, form, follow=True)
    assert has_message(shown, words)
    assert not jobs.Job.objects.filter(kind="avatars.speak").exists()


def test_try_it_refuses_a_wav_that_is_not_audio(client, tenant, media, tmp_path):
    asset = make_model(tenant, media, tmp_path)
    answer = logged_in(client, tenant.owner).post(
        reverse("console:avatar_speak", args=[asset.pk]), {"mode": "audio", "audio": upload(media["png"], "a.wav")},
        HTTP_ACCEPT="application/json")
    assert answer.status_code == 400 and answer.json()["error_msg"].startswith("audio: must be a WAV or MP3")


def test_a_model_not_actived_cannot_try(client, tenant, media, tmp_path):
    asset = make_model(tenant, media, tmp_path, state=Asset.State.UNACTIVED)
    logged_in(client, tenant.owner)
    text = page(client.get(reverse("console:avatar_detail", args=[asset.pk])))
    assert 'data-testid="speak-unavailable"' in text and 'data-testid="speak-form"' not in text
    refused = client.post(reverse("console:avatar_speak", args=[asset.pk]),
                          {"text": "hi", "voice_id": "espeak-en-us-f"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and "not ACTIVED" in refused.json()["error_msg"]


# --- IAM and tenant isolation --------------------------------------------------------------------------------

def test_member_can_look_but_not_change(client, tenant, media, tmp_path):
    job, asset = make_job(tenant), make_model(tenant, media, tmp_path)
    logged_in(client, tenant.member)
    for url in (reverse("console:avatars"), reverse("console:avatar_new"),
                reverse("console:avatar_job", args=[job.pk]), reverse("console:avatar_job_state", args=[job.pk]),
                reverse("console:avatar_detail", args=[asset.pk]), reverse("console:avatar_cover", args=[asset.pk]),
                reverse("console:avatar_preview", args=[asset.pk])):
        assert client.get(url).status_code == 200, url
    detail = page(client.get(reverse("console:avatar_job", args=[job.pk])))
    assert 'data-testid="training_video-input"' not in detail and 'data-testid="submit-job"' not in detail
    assert 'data-testid="delete-job"' not in detail and 'data-testid="files"' in detail
    assert 'data-testid="avatar-create-denied"' in page(client.get(reverse("console:avatar_new")))
    assert client.post(reverse("console:avatar_new"), {"name": "x"}).status_code == 403
    denied = client.post(reverse("console:avatar_upload_urls", args=[job.pk]))
    assert denied.status_code == 403 and "metastudio:avatar:update" in denied.json()["error_msg"]
    assert client.post(reverse("console:avatar_file", args=[job.pk, "grant_file"]),
                       {"grant_file": upload(media["pdf"])}).status_code == 403
    json_denied = client.post(reverse("console:avatar_file", args=[job.pk, "grant_file"]),
                              {"grant_file": upload(media["pdf"])}, HTTP_ACCEPT="application/json")
    assert json_denied.status_code == 403 and json_denied.json()["error_code"] == "MSS.00000005"
    assert client.post(reverse("console:avatar_submit", args=[job.pk]), {"consent": "on"}).status_code == 403
    assert client.post(reverse("console:avatar_job_delete", args=[job.pk])).status_code == 403
    speak = client.post(reverse("console:avatar_speak", args=[asset.pk]),
                        {"text": "hi", "voice_id": "espeak-en-us-f"}, HTTP_ACCEPT="application/json")
    assert speak.status_code == 403 and "metastudio:avatar:speak" in speak.json()["error_msg"]
    job.refresh_from_db()
    assert not job.grant_file and job.uploads.count() == 0 and AvatarTrainingJob.objects.count() == 1
    assert not jobs.Job.objects.filter(kind="avatars.speak").exists()


def test_nobody_sees_nothing(client, tenant, media, tmp_path):
    job, asset = make_job(tenant), make_model(tenant, media, tmp_path)
    logged_in(client, tenant.nobody)
    for url in (reverse("console:avatars"), reverse("console:avatar_new"),
                reverse("console:avatar_job", args=[job.pk]), reverse("console:avatar_detail", args=[asset.pk]),
                reverse("console:avatar_preview", args=[asset.pk])):
        assert client.get(url).status_code == 403, url


def test_other_tenants_ids_are_not_found(client, tenant, other_tenant, media, tmp_path):
    job, asset = make_job(other_tenant), make_model(other_tenant, media, tmp_path)
    speak_job = actions.speak_with_avatar(Actor.system(other_tenant.account), asset, text="hi",
                                          voice_id="espeak-en-us-f")
    mine = make_model(tenant, media, tmp_path, "Mine")
    logged_in(client, tenant.owner)
    gets = [reverse("console:avatar_job", args=[job.pk]), reverse("console:avatar_job_state", args=[job.pk]),
            reverse("console:avatar_detail", args=[asset.pk]), reverse("console:avatar_cover", args=[asset.pk]),
            reverse("console:avatar_preview", args=[asset.pk]),
            reverse("console:avatar_speak_state", args=[asset.pk, speak_job.pk]),
            reverse("console:avatar_speak_state", args=[mine.pk, speak_job.pk]),
            reverse("console:avatar_clip", args=[mine.pk, speak_job.pk])]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [reverse("console:avatar_upload_urls", args=[job.pk]),
             reverse("console:avatar_file", args=[job.pk, "grant_file"]),
             reverse("console:avatar_submit", args=[job.pk]), reverse("console:avatar_job_delete", args=[job.pk]),
             reverse("console:avatar_segments", args=[job.pk]), reverse("console:avatar_speak", args=[asset.pk])]
    for url in posts:
        response = client.post(url, {"grant_file": upload(media["pdf"]), "consent": "on", "text": "hi",
                                     "voice_id": "espeak-en-us-f", "action_segments": "wave 1-2"})
        assert response.status_code == 404, url
    job.refresh_from_db()
    assert not job.grant_file and job.state == State.WAIT_FILE_UPLOAD and job.action_segments == []
    assert jobs.Job.objects.filter(kind="avatars.speak").count() == 1
    assert str(job.pk) not in page(client.get(reverse("console:avatar_new")))
    assert str(asset.pk) not in page(client.get(reverse("console:avatars")))
