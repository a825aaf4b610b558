"""PPT import (videos.ppt_import): a PPTX (with notes and a hidden slide) or a PDF asset becomes one IMAGE asset
and one scene per shown page, scenes that a script accepts as they are; bad assets are refused with the field,
too many pages fail the job with the count."""

from pathlib import Path

import pytest

from assets.models import Asset, AssetFile
from metastudio import jobs
from metastudio.errors import InvalidParameter, NotFound, StateConflict
from metastudio.jobs import Job
from synthesis.media.probe import probe
from tenancy.audit import Actor
from tests import media_samples as ms
from videos import ppt_import, scripts

pytestmark = pytest.mark.timeout(300)
NOTES = "Welcome to our product tour."


def _asset(t, path: Path, asset_type: str = Asset.Type.PPT) -> Asset:
    from assets.tasks import store_generated_file

    asset = Asset.objects.create(account=t.account, project=t.project, name=path.stem, type=asset_type,
                                 state=Asset.State.ACTIVED)
    store_generated_file(asset, AssetFile.Category.MAIN, path, name=path.name, file_type=path.suffix[1:])
    return asset


def _pptx(path: Path) -> Path:
    """Three 16:9 slides: notes on the first, the second hidden, the third with text but no notes."""
    from pptx import Presentation
    from pptx.util import Emu, Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)
    for number, (text, notes) in enumerate((("Product tour", NOTES), ("Draft", "Do not show this."),
                                            ("Quarterly results", "")), 1):
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(11), Inches(2))
        box.text_frame.text = text
        box.text_frame.paragraphs[0].runs[0].font.size = Pt(60)
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
        if number == 2:
            slide._element.set("show", "0")
    prs.save(path)
    return path


@pytest.fixture
def actor(tenant):
    return Actor(user=tenant.owner, account=tenant.account, via="api")


def _run(job) -> Job:
    assert jobs.run(str(job.pk)) in ("done", "failed")
    return Job.objects.get(pk=job.pk)


def _accepts(account, scenes) -> dict:
    return scripts.clean_script(account, {"script_name": "Imported", "model_asset_id": "preset-photo-eileen",
                                          "voice_config": {"voice_asset_id": "espeak-en-us-f"},
                                          "shoot_scripts": scenes})


def test_a_pptx_becomes_one_page_asset_and_one_scene_per_shown_slide(tenant, actor, tmp_path):
    ms.need("soffice", "pdftoppm")
    ppt = _asset(tenant, _pptx(tmp_path / "tour.pptx"))
    job = _run(ppt_import.submit_ppt_import(actor, tenant.account, str(ppt.pk)))
    assert job.state == Job.State.SUCCEED, job.error_msg
    assert job.kind == "videos.ppt_import" and job.progress == 100
    result = job.result
    assert result["page_count"] == 2 and len(result["scenes"]) == 2  # the hidden slide is left out
    texts = [scene["text_config"]["text"] for scene in result["scenes"]]
    assert texts == [NOTES, "Quarterly results"]  # the notes, else the slide's own text
    pages = [Asset.objects.get(pk=scene["background_config"][0]["background_asset_id"])
             for scene in result["scenes"]]
    for number, page in enumerate(pages, 1):
        assert page.type == Asset.Type.IMAGE and page.state == Asset.State.ACTIVED and page.created_by_platform
        assert page.account == tenant.account and page.tags == [ppt_import.PAGE_TAG]
        assert page.has_property("BACKGROUND_IMG")
        assert page.media_info["ppt_asset_id"] == str(ppt.pk) and page.media_info["page"] == number
        info = probe(Path(page.files.get(category=AssetFile.Category.MAIN).stored.path))
        assert (info.width, info.height) == (1920, 1080)
        assert page.files.filter(category=AssetFile.Category.THUMBNAIL).exists()
    cleaned = _accepts(tenant.account, result["scenes"])  # the scenes go into a script as they are
    assert [scene["background_config"][0]["background_asset_id"] for scene in cleaned["shoot_scripts"]] == [
        str(page.pk) for page in pages]
    # a retry (a lost worker) reuses the stored pages
    Job.objects.filter(pk=job.pk).update(state=Job.State.WAITING)
    assert _run(job).result == result
    assert Asset.objects.filter(account=tenant.account, type=Asset.Type.IMAGE).count() == 2


def test_a_pdf_imports_with_placeholder_texts_and_too_many_pages_fail_the_job(tenant, actor, tmp_path):
    ms.need("pdftoppm")
    pdf = _asset(tenant, ms.make_pdf(tmp_path / "slides.pdf", pages=2))
    job = _run(ppt_import.submit_ppt_import(actor, tenant.account, str(pdf.pk)))
    assert job.state == Job.State.SUCCEED, job.error_msg
    assert [scene["text_config"]["text"] for scene in job.result["scenes"]] == ["Page 1", "Page 2"]  # no text
    _accepts(tenant.account, job.result["scenes"])
    big = _asset(tenant, ms.make_pdf(tmp_path / "big.pdf", pages=101))
    job = _run(ppt_import.submit_ppt_import(actor, tenant.account, str(big.pk)))
    assert job.state == Job.State.FAILED
    assert "101 pages" in job.error_msg and "at most 100" in job.error_msg
    assert Asset.objects.filter(account=tenant.account, type=Asset.Type.IMAGE).count() == 2  # only the first PDF's


def test_only_the_tenants_own_usable_ppt_assets_are_imported(tenant, other_tenant, actor, tmp_path):
    pdf = ms.make_pdf(tmp_path / "slides.pdf", pages=1)
    theirs = _asset(other_tenant, pdf)
    image = _asset(tenant, ms.make_image(tmp_path / "picture.png"), Asset.Type.IMAGE)
    frozen = _asset(tenant, pdf)
    Asset.objects.filter(pk=frozen.pk).update(state=Asset.State.BLOCK)
    for asset_id, error in ((str(theirs.pk), NotFound), ("not-an-id", NotFound), (str(image.pk), InvalidParameter),
                            (str(frozen.pk), StateConflict)):
        with pytest.raises(error) as raised:
            ppt_import.submit_ppt_import(actor, tenant.account, asset_id)
        assert raised.value.field == "ppt_asset_id"
    assert not Job.objects.filter(kind="videos.ppt_import").exists()
