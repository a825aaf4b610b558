"""Video production as a user makes a video, on a real platform (uvicorn + django-q2 worker) in headless Chromium.

Setup (by action, as an upload through the asset library would end): a 2-slide PPTX with speaker notes (one
English, one Chinese) and a WAV as the tenant's PPT and MUSIC assets, processed by the worker. The tenant admin
opens Video production, starts a new video with a preset photo avatar, writes the first scene in English and adds
a pause with the SSML helper, imports the PPT (its progress shown live; one scene per page, the page as background,
the notes as text), turns subtitles on and picks the music, drags the avatar on the canvas, sets 720p; a scene
emptied on purpose is refused at its field (the scene and its text box are marked) and fixed; the script is saved,
rendered with live progress by stage, and the player plays the MP4 the server serves as video/mp4."""

import re

import pytest

from tests.e2e_support import VIDEO_DURATION, chromium, demo_platform, login
from tests.services import django_script, http_bytes

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
NOTES = ("This page shows our plan.", "这是第二页。")
FIRST = "Hello and welcome to our product tour."
# Make the tenant's PPT and MUSIC assets as an upload ends: the file stored, then the asset job (validation,
# pages, waveform) run; the worker may claim a job first, so wait until both are ACTIVED.
SETUP = """
import time
from pathlib import Path
from assets import actions
from assets.models import Asset, AssetFile
from assets.tasks import store_generated_file
from metastudio import jobs
from tenancy.audit import Actor
from tenancy.models import Account

account = Account.objects.get(name="demo")
actor = Actor.system(account)
project = account.projects.order_by("region").first()
made = []
for path, kind in ((Path({ppt!r}), "PPT"), (Path({music!r}), "MUSIC")):
    asset = actions.create_asset(actor, account, name=path.stem, asset_type=kind, project=project)
    file = store_generated_file(asset, AssetFile.Category.MAIN, path, name=path.name, file_type=path.suffix[1:])
    AssetFile.objects.filter(pk=file.pk).update(generated=False)
    made.append((asset.pk, jobs.submit(actor, account, "asset_process", {{"asset_id": str(asset.pk)}},
                                       project=project)))
for _, job in made:
    jobs.run(str(job.pk))
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    states = {{str(pk): Asset.objects.get(pk=pk).state for pk, _ in made}}
    if all(state == "ACTIVED" for state in states.values()):
        break
    time.sleep(0.5)
result = states
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with demo_platform(tmp_path_factory.mktemp("video-platform")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def materials(platform, tmp_path_factory):
    from pptx import Presentation

    from tests import media_samples as ms

    folder = tmp_path_factory.mktemp("video-material")
    deck_path = ms.make_pptx(folder / "tour.pptx", slides=2)
    deck = Presentation(deck_path)
    for slide, notes in zip(deck.slides, NOTES, strict=True):
        slide.notes_slide.notes_text_frame.text = notes
    deck.save(deck_path)
    music = ms.make_wav(folder / "music.wav", channels=1, seconds=3)
    states = django_script(platform["env"], SETUP.format(ppt=str(deck_path), music=str(music)), timeout=150)
    assert set(states.values()) == {"ACTIVED"}, states
    return states


def select_text(page, start: int, end: int) -> None:
    page.eval_on_selector("[data-testid=scene-text]", "(el, [a, b]) => { el.focus(); el.setSelectionRange(a, b); }",
                          [start, end])


def test_build_a_three_scene_video_and_render_it(platform, browser, materials):
    base = platform["base"]
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    login(page, base, "demo-admin", platform["password"])

    # 1. A new video: a preset photo avatar, the first scene in English with a pause from the SSML helper.
    page.click("nav >> text=Video production")
    page.wait_for_selector("[data-testid=video-scripts]")
    page.click("[data-testid=video-new]")
    page.wait_for_selector("[data-testid=layer-human]")
    page.fill("[data-testid=script-name]", "Product tour")
    page.click("[data-testid=material-avatar] >> text=Eileen")
    assert "Eileen" in page.inner_text("[data-testid=current-avatar]")
    page.fill("[data-testid=scene-text]", FIRST)
    select_text(page, len("Hello"), len("Hello"))
    page.select_option("[data-testid=ssml-break-time]", "500ms")
    page.click("[data-testid=ssml-pause]")
    text = page.input_value("[data-testid=scene-text]")
    assert text == '<speak>Hello<break time="500ms"/> and welcome to our product tour.</speak>'
    assert page.inner_text("[data-testid=scene-mode]") == "SSML"
    assert page.inner_text("[data-testid=scene-chars]") == f"{len(FIRST)} / 10,000"
    start = text.index("welcome")  # the audition reads the selected words with the script's voice
    select_text(page, start, start + len("welcome to our product tour"))
    page.click("[data-testid=audition]")
    page.wait_for_function("() => ['playing', 'done'].includes("
                           "document.getElementById('video-editor').dataset.audition)", timeout=20000)
    # a title on the canvas: sent to the back, then deleted
    page.click("[data-testid=tab-text]")
    page.click("[data-testid=add-title]")
    assert page.inner_text("[data-testid=layer-selected]") == "Text layer 2 of 2"
    page.click("[data-testid=layer-bottom]")
    assert page.inner_text("[data-testid=layer-selected]") == "Text layer 1 of 2"
    page.click("[data-testid=layer-delete]")
    assert page.locator("[data-testid=layer-text]").count() == 0
    assert page.locator("[data-testid=layer-human]").count() == 1

    # 2. The PPT: one scene per page appended, the page as background, the notes as text.
    page.click("[data-testid=tab-ppt]")
    page.click("[data-testid=material-ppt] >> [data-testid=ppt-import-button]")
    page.wait_for_selector("[data-testid=ppt-import]:not([hidden])")
    page.wait_for_function("() => document.querySelector('[data-testid=ppt-import]').dataset.state === 'SUCCEED'",
                           timeout=60000)
    assert "Added 2 scenes" in page.inner_text("[data-testid=ppt-result]")
    assert page.locator("[data-testid=scene-thumb]").count() == 3
    assert page.inner_text("[data-testid=scene-title]") == "Scene 2"
    assert page.input_value("[data-testid=scene-text]") == NOTES[0]
    page.wait_for_function("() => { const img = document.querySelector('[data-testid=canvas-background]');"
                           " return img && img.complete && img.naturalWidth > 0; }", timeout=10000)
    page.click("[data-testid=scene-thumb] >> nth=2")
    assert page.input_value("[data-testid=scene-text]") == NOTES[1]
    assert page.inner_text("[data-testid=scene-count]") == "3 / 100"
    page.click("[data-testid=scene-duplicate]")  # scene 4, a copy of 3; moved before it, then deleted
    page.click("[data-testid=scene-left]")
    assert page.inner_text("[data-testid=scene-title]") == "Scene 3"
    assert page.locator("[data-testid=scene-thumb]").count() == 4
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=scene-delete]")
    assert page.locator("[data-testid=scene-thumb]").count() == 3
    assert page.input_value("[data-testid=scene-text]") == NOTES[1]

    # 3. Subtitles and music; 720p.
    page.check("[data-testid=subtitles]")
    page.wait_for_selector("[data-testid=subtitle-preview]")
    assert page.inner_text("[data-testid=subtitle-preview]") == NOTES[1]
    page.click("[data-testid=tab-music]")
    page.click("[data-testid=material-music] >> [data-testid=use-music]")
    assert page.input_value("[data-testid=music]") != ""
    assert page.is_checked("[data-testid=music-ducking]")
    page.select_option("[data-testid=resolution]", "720")

    # 4. Drag the avatar of the first scene to the left; its X follows.
    page.click("[data-testid=scene-thumb] >> nth=0")
    human = page.locator("[data-testid=layer-human]")
    box = human.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 120, box["y"] + box["height"] / 2, steps=6)
    page.mouse.up()
    dragged_x = int(page.input_value("[data-testid=layer-position-dx]"))
    assert page.locator("[data-testid=layer-human].selected").count() == 1
    assert dragged_x < 1920 - 200 and human.bounding_box()["x"] < box["x"] - 100
    width, height = (int(page.input_value(f"[data-testid=layer-size-{side}]")) for side in ("width", "height"))
    handle = page.locator("[data-testid=layer-resize]").bounding_box()
    page.mouse.move(handle["x"] + 5, handle["y"] + 5)
    page.mouse.down()
    page.mouse.move(handle["x"] + 45, handle["y"] + 5, steps=4)
    page.mouse.up()
    resized = int(page.input_value("[data-testid=layer-size-width]"))
    assert resized > width + 40  # the avatar keeps its proportions
    assert int(page.input_value("[data-testid=layer-size-height]")) == pytest.approx(height * resized / width, abs=2)

    # 5. An empty scene is refused at its field; fixed, the script is saved.
    page.click("[data-testid=scene-thumb] >> nth=1")
    page.fill("[data-testid=scene-text]", "")
    page.click("[data-testid=script-save]")
    page.wait_for_selector("[data-testid=error-scene-text]:not([hidden])")
    assert "needs the text" in page.inner_text("[data-testid=error-scene-text]")
    assert "shoot_scripts[1].text_config.text" in page.inner_text("[data-testid=error-form]")
    assert page.locator("[data-testid=scene-thumb].has-error").count() == 1
    page.fill("[data-testid=scene-text]", NOTES[0])
    page.click("[data-testid=script-save]")
    page.wait_for_url(re.compile(r".*/videos/[0-9a-f-]{36}/$"))
    page.wait_for_function("() => document.getElementById('video-editor').dataset.state === 'saved'")
    assert page.locator("[data-testid=error-scene-text]:not([hidden])").count() == 0
    page.click("[data-testid=scene-thumb] >> nth=0")
    page.click("[data-testid=layer-human]")
    assert int(page.input_value("[data-testid=layer-position-dx]")) == dragged_x  # stored as dragged

    # 6. Render: progress by stage, live, then the player.
    page.click("[data-testid=script-render]")
    page.wait_for_selector("[data-testid=render-progress]:not([hidden])", timeout=15000)
    seen = set()
    for _ in range(900):
        if page.locator("[data-testid=render-result]:not([hidden])").count():
            break
        assert page.locator("[data-testid=render-error]:not([hidden])").count() == 0, \
            page.inner_text("[data-testid=render-error]")
        seen.add((page.inner_text("[data-testid=render-percent]"), page.inner_text("[data-testid=render-stage]")))
        page.wait_for_timeout(100)
    page.wait_for_selector("[data-testid=render-result]:not([hidden])", timeout=5000)
    assert any(percent not in ("0%", "100%") and stage for percent, stage in seen), seen
    assert page.evaluate(VIDEO_DURATION, "[data-testid=render-panel] [data-testid=render-video]") > 3
    src = page.get_attribute("[data-testid=render-panel] [data-testid=render-video]", "src")
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    served = http_bytes("GET", f"{base}{src}", None, {"Cookie": cookies}, timeout=30)
    assert served.status == 200 and served.headers["content-type"] == "video/mp4" and served.body[4:8] == b"ftyp"

    # 7. The scripts page lists the script and its render with the player.
    page.click("text=← Video production")
    page.wait_for_selector("[data-testid=video-render]")
    assert page.inner_text("[data-testid=video-script-open]") == "Product tour"
    assert page.inner_text("[data-testid=video-script-scenes]") == "3"
    assert page.inner_text("[data-testid=video-script-last]") == "SUCCEED"
    assert page.inner_text("[data-testid=video-render] >> [data-testid=render-state]") == "SUCCEED"
    assert page.get_attribute("[data-testid=video-render] >> [data-testid=render-video]", "src") == src
    assert not problems, problems
