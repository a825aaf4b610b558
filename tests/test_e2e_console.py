"""The issue's "done when", as a user does it: a real platform (uvicorn + django-q2 worker) on loopback,
driven in headless Chromium and with AK/SK-signed HTTP requests."""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from metastudio.api.signing import sign_request
from tests.e2e_support import chromium, demo_platform, login
from tests.services import http

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with demo_platform(tmp_path_factory.mktemp("platform-data")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _signed(base: str, ak: str, sk: str, method: str, path: str, body: dict | None = None):
    url = base + path
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    reply = http(method, url, body, sign_request(ak, sk, method, url, headers, raw))
    return reply.status, reply.json() if reply.body else {}, reply.headers


def test_new_user_journey(platform, browser):
    base = platform["base"]
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()

    # The tenant admin logs in and creates an IAM user with the ReadOnly policy.
    login(page, base, "demo-admin", platform["password"])
    project_id = page.inner_text("[data-testid=project-cn-north-4]").strip()
    page.goto(f"{base}/iam/users/")
    form = page.locator("[data-testid=create-user]")
    form.locator("input[name=name]").fill("reader")
    form.locator("input[name=email]").fill("reader@example.com")
    form.locator("input[name=password]").fill("reader-password-1")
    form.get_by_label("MetaStudio ReadOnlyAccess").check()
    form.locator("button[type=submit]").click()
    assert "reader" in page.inner_text("[data-testid=users-table]")
    page.click("text=Sign out")

    # The reader logs in, gets an access key, and signs API requests with it.
    login(page, base, "reader", "reader-password-1")
    assert page.locator("[data-testid=create-user]").count() == 0
    page.goto(f"{base}/iam/access-keys/")
    page.click("[data-testid=create-key]")
    ak = page.inner_text("[data-testid=new-ak]").strip()
    sk = page.inner_text("[data-testid=new-sk]").strip()
    page.reload()
    assert page.locator("[data-testid=new-sk]").count() == 0, "the secret is shown only once"

    status, body, headers = _signed(base, ak, sk, "GET", f"/v1/{project_id}/export-jobs")
    assert status == 200 and body["count"] == 0 and headers.get("x-request-id")
    status, body, _ = _signed(base, ak, sk, "POST", f"/v1/{project_id}/export-jobs", {"format": "CSV"})
    assert (status, body["error_code"]) == (403, "MSS.00000005"), "ReadOnly cannot create"

    # Over the table's limit (export list: 20/s in cn-north-4) the gateway answers 429 APIGW.0308.
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _signed(base, ak, sk, "GET", f"/v1/{project_id}/export-jobs"), range(60)))
    throttled = [body for status, body, _ in answers if status == 429]
    assert throttled and all(body["error_code"] == "APIGW.0308" for body in throttled)
    assert sum(1 for status, _, _ in answers if status == 200) >= 10
    page.click("text=Sign out")

    # The admin exports the audit log and watches the job finish live in the task center.
    login(page, base, "demo-admin", platform["password"])
    page.goto(f"{base}/iam/audit-log/")
    page.select_option("[data-testid=export-form] select[name=format]", "CSV")
    page.click("[data-testid=export]")
    page.wait_for_url(f"{base}/tasks/")
    page.evaluate("window.__sameDocument = true")
    page.wait_for_selector("[data-testid=live-status][data-state=live]", timeout=15000)
    page.wait_for_selector("#jobs tr[data-state=SUCCEED]", timeout=60000)
    assert page.evaluate("window.__sameDocument") is True, "the row changed without a page reload"
    assert "100%" in page.inner_text("#jobs tr[data-state=SUCCEED]")
    with page.expect_download() as download_info:
        page.click("#jobs tr[data-state=SUCCEED] [data-testid=download]")
    content = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert content.startswith("time,account,actor,action")
    assert "iam.user.create" in content and "iam.access_key.create" in content
    context.close()


def _png(width: int = 48, height: int = 32) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_asset_upload_in_the_browser(platform, browser):
    """Upload through the file chooser and by drag and drop; cards turn ACTIVED / FAILED live."""
    base = platform["base"]
    context = browser.new_context()
    page = context.new_page()
    login(page, base, "demo-admin", platform["password"])
    page.goto(f"{base}/assets/?type=IMAGE")
    page.evaluate("window.__sameDocument = true")
    page.click("[data-testid=upload-open]")
    page.set_input_files("[data-testid=upload-file]",
                         files=[{"name": "browser photo.png", "mimeType": "image/png", "buffer": _png()}])
    page.click("[data-testid=upload-submit]")
    page.wait_for_selector("[data-testid=upload-item][data-state=done]", timeout=30000)
    card = page.wait_for_selector("[data-testid=asset-card][data-state=ACTIVED]", timeout=60000)
    assert "browser photo.png" in card.inner_text()
    cover = card.query_selector("[data-testid=asset-cover]")
    assert cover and page.evaluate("(img) => img.complete && img.naturalWidth > 0", cover)

    # Drag and drop a renamed executable: refused by validation, with its reason on the card.
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array([77, 90, 0, 0, 0, 0, 0, 0])], "evil.png", {type: "image/png"}));
        document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
    }""")
    page.click("[data-testid=upload-submit]")
    failed = page.wait_for_selector("[data-testid=asset-card][data-state=FAILED]", timeout=60000)
    assert failed.query_selector("[data-testid=asset-reason]").inner_text().strip()
    assert page.evaluate("window.__sameDocument") is True, "the cards changed without a page reload"
    context.close()
