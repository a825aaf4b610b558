"""A business card as a user makes it, on a real platform (uvicorn + django-q2 worker) in headless Chromium: the
tenant admin opens Business cards, makes a new card with a preset digital human (the fastest photo) and the name,
title and company (an uploaded photo is previewed first), follows the render's progress on the card page, then
plays the card video there and copies the share link in the gallery; the public share link opens in a fresh
browser without an account and plays the card too."""

import re

import pytest

from tests.e2e_support import VIDEO_DURATION, chromium, demo_platform, login

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
PROGRESS = """() => {
  const panel = document.querySelector("[data-testid=card-progress]");
  if (!panel || panel.hidden) return null;
  return [panel.querySelector("[data-testid=card-percent]").textContent.trim(),
          panel.querySelector("[data-testid=card-stage]").textContent.trim()];
}"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with demo_platform(tmp_path_factory.mktemp("card-platform")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def test_make_a_card_follow_its_render_and_share_it(platform, browser, tmp_path):
    import skimage.data
    from PIL import Image
    from playwright.sync_api import Error as PlaywrightError

    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo, format="PNG")
    base = platform["base"]
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    login(page, base, "demo-admin", platform["password"])

    # 1. The gallery, then the editor: a preset digital human, the card text, the template.
    page.click("nav >> text=Business cards")
    page.wait_for_selector("[data-testid=card-gallery]")
    page.click("[data-testid=card-new]")
    page.wait_for_selector("[data-testid=card-form]")
    # an uploaded photo is previewed at once (and chosen); then the preset instead
    page.set_input_files("[data-testid=photo-input]", str(photo))
    page.wait_for_function("() => { const img = document.querySelector('[data-testid=photo-preview]');"
                           " return !img.hidden && img.complete && img.naturalWidth === 512; }", timeout=10000)
    assert page.is_checked("[data-testid=photo-upload]")
    page.check("[data-testid=photo-preset-preset-photo-eileen]")
    mini = page.eval_on_selector(".bc-mini", "el => getComputedStyle(el).getPropertyValue('--photo')")
    assert "preset-photo-eileen" in mini  # the template visuals show the chosen photo
    page.fill("[data-testid=input-name]", "Eileen Collins")
    page.fill("[data-testid=input-title]", "Commander")
    page.fill("[data-testid=input-company]", "NASA")
    placeholder = page.get_attribute("[data-testid=input-introduction_text]", "placeholder")
    assert "Hello, I am Eileen Collins, Commander at NASA. Nice to meet you!" in placeholder
    # an error first: it is shown at its field and the form stays as it was
    page.fill("[data-testid=input-mail]", "not-mail")
    page.click("[data-testid=card-save]")
    page.wait_for_selector("[data-testid=error-mail]:not([hidden])")
    assert "e-mail" in page.inner_text("[data-testid=error-mail]")
    assert page.input_value("[data-testid=input-name]") == "Eileen Collins"
    page.fill("[data-testid=input-mail]", "eileen@example.com")
    page.click("[data-testid=card-save]")

    # 2. The card page follows the render, then plays the card video.
    page.wait_for_url(re.compile(r".*/cards/[0-9a-f-]{36}/$"), timeout=30000)
    assert page.inner_text("[data-testid=card-name]").strip() == "Eileen Collins"
    assert page.inner_text("[data-testid=card-state]").strip() in ("WAITING", "PROCESSING", "SUCCEED")
    seen = set()  # (percent, stage) shown while the render runs; the page reloads itself when the state changes
    for _ in range(600):
        try:
            if page.locator("[data-testid=card-video]").count():
                break
            assert page.locator("[data-testid=card-error]").count() == 0, page.inner_text("[data-testid=card-error]")
            shown = page.evaluate(PROGRESS)
        except PlaywrightError:  # the page reloaded in between
            shown = None
        if shown:
            seen.add(tuple(shown))
        page.wait_for_timeout(200)
    page.wait_for_selector("[data-testid=card-video]", timeout=5000)
    assert any(percent not in ("0%", "100%") and stage for percent, stage in seen), seen
    assert page.inner_text("[data-testid=card-state]").strip() == "SUCCEED"
    assert page.evaluate(VIDEO_DURATION, "[data-testid=card-video]") > 0
    assert page.get_attribute("[data-testid=card-video]", "poster")
    share = page.input_value("[data-testid=card-share-url]")
    assert share.startswith(f"{base}/cards/share/")

    # 3. The gallery shows the rendered card.
    page.click("nav >> text=Business cards")
    page.wait_for_function("() => { const img = document.querySelector('[data-testid=card-thumb]');"
                           " return img && img.complete && img.naturalWidth > 0; }", timeout=10000)
    assert "Commander · NASA" in page.inner_text("[data-testid=card-tile]")
    page.click("[data-testid=card-copy-share]")
    page.wait_for_selector("[data-testid=card-copy-share][data-copied='1']", timeout=5000)
    assert page.evaluate("() => navigator.clipboard.readText()") == share
    context.close()

    # 4. The share link in a fresh browser, without an account: the card plays.
    visitor = browser.new_context()
    public = visitor.new_page()
    public.goto(share)
    assert "/accounts/login" not in public.url
    public.wait_for_selector("#card-video")
    assert public.evaluate(VIDEO_DURATION, "#card-video") > 0
    assert "Eileen Collins" in public.title()
    visitor.close()
