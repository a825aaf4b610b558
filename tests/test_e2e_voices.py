"""The voice issue's "done when", as users do it, on a real platform (uvicorn + django-q2 worker) in headless
Chromium: a tenant admin records a sentence with the microphone (Chromium's fake device plays a speech file),
uploads the rest as a zip, adds the authorization letter and submits; a reviewer approves in the back office;
training runs with progress shown; the new voice reads Chinese and English in the TTS playground and over the
API with word timestamps."""

import json
import re
import time
from pathlib import Path

import pytest

from synthesis.speech.prompts import prompts
from tests import voice_samples as vs
from tests.e2e_support import chromium, demo_platform, login
from tests.services import http

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    # Speech recognition of every take is covered by the API tests; here a looping fake microphone would
    # start mid-sentence, so the text check is off and the level, clipping and format checks stay on.
    with demo_platform(tmp_path_factory.mktemp("voice-platform"), METASTUDIO_VOICE_CHECK_ASR="false") as running:
        yield running


@pytest.fixture(scope="module")
def microphone(tmp_path_factory):
    """What the fake microphone hears: the first prompt read aloud, at 48 kHz."""
    path = tmp_path_factory.mktemp("mic") / "speaker.wav"
    path.write_bytes(vs.wav_bytes(vs.speech(prompts("en", 20)[0], sample_rate=48000), 48000))
    return path


@pytest.fixture(scope="module")
def browser(microphone):
    with chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={microphone}",
                  "--autoplay-policy=no-user-gesture-required") as launched:
        yield launched


def test_record_review_train_and_speak(platform, browser, tmp_path):
    base = platform["base"]
    context = browser.new_context(permissions=["microphone"], accept_downloads=True)
    page = context.new_page()
    login(page, base, "demo-admin", platform["password"])
    project_id = page.inner_text("[data-testid=project-cn-north-4]").strip()

    # 1. A BASIC voice: 20 prompted English sentences.
    page.goto(f"{base}/voices/new")
    page.check("[data-testid=tier-basic]")
    page.fill("[data-testid=voice-name-input]", "Browser Voice")
    page.select_option("[data-testid=voice-language]", "en")
    page.click("[data-testid=voice-create]")
    page.wait_for_selector("[data-testid=sentence][data-index='1']")
    job_url = page.url

    # 2. Record sentence 1 with the microphone: level meter moves, the take is checked at once.
    page.click("[data-testid=record][data-index='1']")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=level-meter]').dataset.level) > -40",
                           timeout=10000)
    time.sleep(4)
    page.click("[data-testid=stop][data-index='1']")
    page.wait_for_selector("[data-testid=sentence][data-index='1'][data-status=OK]", timeout=30000)

    # 3. The other sentences as a zip, then the letter, consent and submit.
    zip_path = tmp_path / "recordings.zip"
    zip_path.write_bytes(vs.recordings_zip(prompts("en", 20)))
    page.set_input_files("[data-testid=package-input]", str(zip_path))
    page.click("[data-testid=package-upload]")
    page.wait_for_selector("[data-testid=package-result][data-state=done]", timeout=60000)
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(vs.PDF_LETTER)
    page.goto(job_url)
    page.set_input_files("[data-testid=letter-input]", str(letter))
    page.click("[data-testid=letter-upload]")
    page.wait_for_selector("[data-testid=consent]")
    page.check("[data-testid=consent]")
    page.click("[data-testid=submit-job]")
    page.wait_for_selector("[data-testid=job-state]:text('AUDITING')", timeout=90000)

    # 4. The reviewer approves in the back office.
    back_office = browser.new_context()  # its own cookies: the tenant admin stays signed in
    admin = back_office.new_page()
    admin.goto(f"{base}/admin/login/")
    admin.fill("input[name=username]", "platform-admin")
    admin.fill("input[name=password]", platform["admin_password"])
    admin.click("input[type=submit]")
    admin.goto(f"{base}/admin/voices/voicetrainingjob/")
    admin.check("input[name=_selected_action]")
    admin.select_option("select[name=action]", "approve")
    admin.fill("input[name=reason]", "letter and voice match")
    admin.click("button[name=index]")
    assert "approved" in admin.inner_text(".messagelist")
    back_office.close()

    # 5. Training shows its progress live on the job page, then the voice exists.
    page.goto(job_url)
    page.wait_for_selector("[data-testid=job-state]:text-matches('WAITING|PROCESSING|SUCCEED')", timeout=30000)
    seen = set()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = page.inner_text("[data-testid=job-state]").strip()
        if state == "PROCESSING" and page.locator("[data-testid=job-percent]").count():
            seen.add(page.inner_text("[data-testid=job-percent]").strip())
        if state in ("SUCCEED", "FAILED"):
            break
        time.sleep(0.5)
    assert state == "SUCCEED", page.inner_text("[data-testid=job-state-panel]")
    assert any(value not in ("0%", "100%") for value in seen), f"no progress was shown: {seen}"
    voice_href = page.get_attribute("[data-testid=job-voice-link]", "href")
    voice_id = re.search(r"/voices/([0-9a-f-]{36})/", voice_href).group(1)

    # 6. The new voice in the TTS playground: Chinese and English, streamed, words highlighted.
    page.goto(f"{base}/tts/?voice={voice_id}")
    page.evaluate("""() => { window.__spoken = new Set();
        const note = () => document.querySelectorAll('.speaking').forEach(w => window.__spoken.add(w.textContent));
        new MutationObserver(note).observe(document.body, {subtree: true, attributes: true,
                                                           attributeFilter: ['class']}); }""")
    page.fill("[data-testid=tts-text]", "Hello from my new voice. 你好，这是我的声音。")
    page.click("[data-testid=tts-play]")
    page.wait_for_selector("[data-testid=playground][data-state=done]", timeout=60000)
    assert int(page.get_attribute("[data-testid=playground]", "data-chunks")) >= 2
    spoken = page.evaluate("() => [...window.__spoken]")
    assert "Hello" in spoken and "你" in spoken, spoken
    with page.expect_download() as download:
        page.click("[data-testid=tts-download]")
    audio = Path(download.value.path()).read_bytes()
    assert audio[:4] == b"RIFF" and len(audio) > 44 + 16000  # more than half a second of 16 kHz speech
    context.close()

    # 7. Over the API, with a token: word timestamps in both languages.
    token = http("POST", f"{base}/v3/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "demo-admin", "password": platform["password"], "domain": {"name": "demo"}}}}}}
    ).headers["x-subject-token"]
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
    created = http("POST", f"{base}/v1/{project_id}/ttsc/async-jobs", {
        "text": "Good morning, everyone. 大家早上好。", "voice_asset_id": voice_id, "need_timestamp": True}, headers)
    assert created.status == 201, created.body
    job_id = created.json()["job_id"]
    for _ in range(120):
        shown = http("GET", f"{base}/v1/{project_id}/ttsc/async-jobs/{job_id}", None, headers).json()
        if shown["state"] in ("FINISHED", "ERROR"):
            break
        time.sleep(0.5)
    assert shown["state"] == "FINISHED", json.dumps(shown)[:500]
    words = [word["word"] for word in shown["timestamps"]]
    assert "Good" in words and "大" in words
