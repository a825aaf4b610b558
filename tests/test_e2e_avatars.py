"""Avatar production as a user does it, on a real platform (uvicorn + django-q2 worker) in headless Chromium: the
tenant admin reads the shooting guide, creates a job, uploads a short talking clip (PUT to its signed URL in
resumable pieces, with a progress bar) and the authorization letter, ticks the consent and submits; the check
report appears by itself when the worker's check finishes. A reviewer approves (server-side, through
avatars.actions, as the back office does); the page follows the training and links the model, whose page plays
the preview clip and shows the model card; *try it* makes the avatar say a new sentence (the speech engine's
voice) and lip-sync an uploaded recording, and each clip plays in the page."""

import re

import pytest

from tests import media_samples as ms
from tests.e2e_support import chromium, demo_platform, login
from tests.services import django_script

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with demo_platform(tmp_path_factory.mktemp("avatar-platform")) as running:
        yield running


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    from synthesis.avatar.testmedia import make_talking_clip, opening_track, speech_like_audio, write_wav

    folder = tmp_path_factory.mktemp("avatar-material")
    make_talking_clip(folder / "talk.mp4", seconds=4, size=(256, 256))
    recording = write_wav(folder / "recording.wav", speech_like_audio(opening_track(3.0, 25, seed=3), 25, seed=3))
    return {"video": folder / "talk.mp4", "letter": ms.make_pdf(folder / "letter.pdf", pages=1), "audio": recording}


@pytest.fixture(scope="module")
def browser():
    with chromium("--autoplay-policy=no-user-gesture-required") as launched:
        yield launched


def test_upload_check_review_train_and_preview(platform, browser, material):
    base = platform["base"]
    context = browser.new_context()
    page = context.new_page()
    login(page, base, "demo-admin", platform["password"])

    # 1. Avatar production: the shooting guide, then a new job.
    page.click("nav >> text=Avatar production")
    assert "1080p" in page.inner_text("[data-testid=shooting-guide]")
    page.fill("[data-testid=avatar-name-input]", "Browser Avatar")
    page.click("[data-testid=avatar-create]")
    page.wait_for_selector("[data-testid=training_video-input]")
    job_url = page.url
    job_id = re.search(r"/avatars/jobs/([0-9a-f-]{36})/", job_url).group(1)
    assert page.is_disabled("[data-testid=submit-job]")

    # 2. The training video to its signed URL with a progress bar, then the letter.
    # Small pieces, and the connection drops once on the way: the upload asks how much arrived and goes on.
    page.evaluate("() => { document.getElementById('avatar-job').dataset.pieceBytes = String(32 * 1024); }")
    pieces = []

    def flaky(route):
        pieces.append(route.request.headers.get("content-range"))
        if len(pieces) == 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r".*/avatar-uploads/.*"), lambda route: flaky(route) if route.request.method == "PUT"
               else route.continue_())
    page.set_input_files("[data-testid=training_video-input]", str(material["video"]))
    page.click("[data-testid=training_video-upload]")
    page.wait_for_selector("[data-testid=training_video-status][data-state=done]", timeout=30000)
    assert page.evaluate("() => document.querySelector('[data-testid=training_video-progress]').value") == 100
    size = material["video"].stat().st_size
    assert len(pieces) >= 3 and pieces[1] == pieces[2], pieces  # the dropped piece was sent again
    assert pieces[-1].endswith(f"-{size - 1}/{size}"), pieces
    page.unroute(re.compile(r".*/avatar-uploads/.*"))
    page.set_input_files("[data-testid=grant_file-input]", str(material["letter"]))
    page.click("[data-testid=grant_file-upload]")
    page.wait_for_selector("[data-testid=grant_file-status][data-state=done]", timeout=30000)
    page.wait_for_selector("[data-testid=submit-job]:enabled")

    # 3. Consent, submit: the check runs on the worker and its report appears without touching the page.
    page.check("[data-testid=consent]")
    page.click("[data-testid=submit-job]")
    page.wait_for_selector("[data-testid=job-state]:text('AUTO_VERIFYING'), [data-testid=check-report]")
    page.wait_for_selector("[data-testid=check-report]", timeout=60000)
    assert page.inner_text("[data-testid=job-state]").strip() == "MANUAL_VERIFYING", \
        page.inner_text("[data-testid=job-state-panel]")
    rules = page.eval_on_selector_all("[data-testid=check-rule]", "rows => rows.map(r => [r.dataset.rule, "
                                                                  "r.dataset.status, r.cells[2].innerText])")
    statuses = {rule: status for rule, status, _ in rules}
    assert statuses["one_person"] == "pass" and statuses["face_visible"] == "pass"
    assert statuses["duration"] == "warn" and all(message for _, _, message in rules)
    assert page.locator("[data-testid=review-waiting]").count() == 1

    # 4. The reviewer approves (as the back office does); training runs on the worker, followed live.
    state = django_script(platform["env"], f"""
        from avatars import actions
        from avatars.models import AvatarTrainingJob
        from tenancy.audit import Actor
        job = actions.review(Actor.system(), AvatarTrainingJob.objects.get(pk="{job_id}"), approved=True,
                             message="letter and face match")
        result = job.state
    """)
    assert state == "MANUAL_VERIFY_SUCCESS"
    page.wait_for_selector("[data-testid=job-state]:text-matches('MANUAL_VERIFY_SUCCESS|TRAINING|INFERENCE|"
                           "JOB_SUCCESS')", timeout=20000)
    page.wait_for_selector("[data-testid=job-model-link]", timeout=90000)
    assert page.inner_text("[data-testid=job-state]").strip() == "JOB_SUCCESS"
    assert page.inner_text("[data-testid=review-verdict]").strip() == "approved"

    # 5. The model page: the preview clip plays, the model card is there.
    page.click("[data-testid=job-model-link]")
    page.wait_for_selector("[data-testid=avatar-preview-video]")
    page.wait_for_function("() => document.querySelector('[data-testid=avatar-preview-video]').readyState >= 1",
                           timeout=15000)
    assert page.evaluate("() => document.querySelector('[data-testid=avatar-preview-video]').duration") > 1
    card = page.inner_text("[data-testid=model-card]")
    assert "256x256" in card and "Training video length" in card
    assert page.locator("[data-testid=model-validation]").count() == 1
    assert page.inner_text("[data-testid=avatar-name]").strip() == "Browser Avatar"

    # 6. Try it: a new sentence from text, then an uploaded recording; each clip is rendered on the worker.
    page.fill("[data-testid=speak-text]", "Good morning, this is a new sentence.")
    page.click("[data-testid=speak-start]")
    page.wait_for_selector("#speak-form[data-state=done]", timeout=90000)
    page.wait_for_function("() => document.querySelector('[data-testid=speak-video]').readyState >= 1",
                           timeout=15000)
    said = page.evaluate("() => document.querySelector('[data-testid=speak-video]').duration")
    assert said > 1
    page.check("[data-testid=speak-mode-audio]")
    page.set_input_files("[data-testid=speak-audio]", str(material["audio"]))
    page.click("[data-testid=speak-start]")
    page.wait_for_selector("#speak-form[data-state=running]", timeout=10000)
    page.wait_for_selector("#speak-form[data-state=done]", timeout=90000)
    page.wait_for_function("() => document.querySelector('[data-testid=speak-video]').readyState >= 1",
                           timeout=15000)
    assert abs(page.evaluate("() => document.querySelector('[data-testid=speak-video]').duration") - 3.0) < 0.3

    # 7. The avatar library lists it with its cover.
    page.click("nav >> text=Avatar library")
    page.wait_for_function("() => { const img = document.querySelector('[data-testid=avatar-cover]');"
                           " return img && img.complete && img.naturalWidth > 0; }", timeout=10000)
    assert "Browser Avatar" in page.inner_text("[data-testid=my-avatars]")
    context.close()
