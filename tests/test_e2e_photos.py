"""The photo digital human as a user does it, on a real platform (uvicorn + django-q2 worker) in headless Chromium:
the tenant admin opens the page, uploads the public-domain astronaut photo of scikit-image (shown at once), the
photo check runs on the worker and its report appears by itself (the marked-up preview, a pass verdict, every
rule); they type a sentence, pick a voice and generate: the progress moves live until the player shows the video,
which loads with a real duration; the recent videos list it. A photo without a face fails the check and cannot be
used; a missing voice is shown next to the voice picker."""

import re

import pytest

from tests.e2e_support import chromium, demo_platform, login

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
SENTENCE = "Good morning! This video was made from a single photo."


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with demo_platform(tmp_path_factory.mktemp("photo-platform")) as running:
        yield running


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    import skimage.data
    from PIL import Image

    path = tmp_path_factory.mktemp("photo-material") / "astronaut.jpg"
    Image.fromarray(skimage.data.astronaut()).save(path, format="JPEG", quality=92)
    return path


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    from PIL import Image

    path = tmp_path_factory.mktemp("photo-material") / "blank.png"
    Image.new("RGB", (300, 300), (128, 128, 128)).save(path, format="PNG")
    return path


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def test_upload_check_generate_and_play(platform, browser, astronaut, blank):
    base = platform["base"]
    context = browser.new_context()
    page = context.new_page()
    login(page, base, "demo-admin", platform["password"])

    # 1. The page, from the navigation: presets with their pictures, nothing to generate from yet.
    page.click("nav >> text=Photo digital human")
    page.wait_for_selector("[data-testid=photo-studio]")
    assert page.locator("[data-testid=preset-card]").count() == 2
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=preset-img]')]"
                           ".every(img => img.complete && img.naturalWidth > 0)", timeout=15000)
    assert "public domain" in page.inner_text("[data-testid=preset-photos]")
    assert page.is_disabled("[data-testid=generate]")
    assert "Choose a photo" in page.inner_text("[data-testid=generate-reason]")

    # 2. A photo without a face fails the check: it cannot be used, and the page says why.
    page.set_input_files("[data-testid=photo-input]", str(blank))
    page.wait_for_selector("[data-testid=detection-verdict][data-verdict=fail]", timeout=90000)
    assert page.get_attribute("[data-testid=detection-rule][data-rule=one_face]", "data-status") == "fail"
    assert page.is_disabled("[data-testid=generate]")
    assert "failed the check (One face" in page.inner_text("[data-testid=generate-reason]")
    failed_check = page.get_attribute("[data-testid=detection-report]", "data-job-id")
    page.check("[data-testid=preset-choice] >> nth=1")  # a preset can be used instead
    page.wait_for_selector("[data-testid=generate]:enabled")

    # 3. Upload: the photo shows at once, the check runs on the worker and its report replaces the progress.
    page.set_input_files("[data-testid=photo-input]", str(astronaut))
    page.wait_for_function("() => { const img = document.querySelector('[data-testid=photo-chosen-img]');"
                           " return img.src.startsWith('blob:') && img.complete && img.naturalWidth === 512; }",
                           timeout=5000)
    page.wait_for_function("(old) => { const report = document.querySelector('[data-testid=detection-report]');"
                           " return report && report.dataset.jobId !== old; }", arg=failed_check, timeout=90000)
    assert page.get_attribute("[data-testid=detection-verdict]", "data-verdict") == "pass", \
        page.inner_text("[data-testid=detection-report]")
    assert "PASS" in page.inner_text("[data-testid=detection-verdict]")
    page.wait_for_function("() => { const img = document.querySelector('[data-testid=detection-preview]');"
                           " return img && img.complete && img.naturalWidth > 0; }", timeout=15000)
    rules = page.eval_on_selector_all("[data-testid=detection-rule]", "rows => rows.map(r => [r.dataset.rule, "
                                      "r.dataset.status, r.cells[2].innerText, r.cells[3].innerText])")
    statuses = {rule: status for rule, status, _, _ in rules}
    assert statuses["one_face"] == "pass" and statuses["pose"] == "pass" and "fail" not in statuses.values()
    assert all(message and value for _, _, message, value in rules)
    assert page.is_checked("[data-testid=photo-choice-upload]")
    page.wait_for_selector("[data-testid=generate]:enabled")
    assert re.search(r"\?detection=[0-9a-f-]{36}$", page.url)

    # 4. A missing voice is shown next to the voice picker; nothing starts.
    page.select_option("[data-testid=voice-select]", "")
    page.click("[data-testid=generate]")
    page.wait_for_selector("#generate-form[data-state=refused]", timeout=10000)
    assert "voice_config.voice_asset_id: a voice is required" in page.inner_text("[data-testid=error-voice]")
    assert page.locator("[data-testid=photo-video-row]").count() == 0

    # 5. Text, voice, generate: the progress moves live until the player shows the video.
    page.fill("[data-testid=text-input]", SENTENCE)
    assert page.inner_text("[data-testid=text-count]").strip() == str(len(SENTENCE))
    page.select_option("[data-testid=voice-select]", "espeak-en-us-m")
    page.fill("[data-testid=name-input]", "Browser photo video")
    page.click("[data-testid=generate]")
    page.wait_for_selector("#generate-form[data-state=running]", timeout=15000)
    assert page.is_disabled("[data-testid=generate]")
    page.wait_for_selector("[data-testid=photo-video-row][data-state=WAITING], "
                           "[data-testid=photo-video-row][data-state=PROCESSING], "
                           "[data-testid=photo-video-row][data-state=SUCCEED]", timeout=15000)
    page.wait_for_selector("#generate-form[data-state=done]", timeout=180000)
    assert page.evaluate("() => document.querySelector('[data-testid=video-progress-bar]').value") == 100
    assert page.inner_text("[data-testid=video-percent]").strip() == "100%"
    assert page.is_visible("[data-testid=video-player]")
    page.evaluate("""() => new Promise((resolve) => {
        const video = document.querySelector('[data-testid=video-player]');
        if (video.readyState >= 1) resolve(); else video.addEventListener('loadedmetadata', () => resolve());
    })""")
    duration = page.evaluate("() => document.querySelector('[data-testid=video-player]').duration")
    assert duration > 1, duration
    assert float(page.inner_text("[data-testid=video-duration]")) == pytest.approx(duration, abs=0.3)
    assert float(page.inner_text("[data-testid=video-charged]")) > 0
    assert page.get_attribute("[data-testid=video-download]", "href").endswith("/video.mp4?download=1")

    # 6. The recent videos list it, finished, with a play link.
    page.wait_for_selector("[data-testid=photo-video-row][data-state=SUCCEED] [data-testid=photo-video-play]",
                           timeout=15000)
    assert "Browser photo video" in page.inner_text("[data-testid=photo-videos]")
    context.close()
