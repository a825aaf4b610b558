"""PPT import for video production (the job `videos.ppt_import`): a PPT asset (a PPT, PPTX or PDF file) becomes
one scene per page, the page as the scene's background and the slide's speaker notes as its text.

`submit_ppt_import(actor, account, ppt_asset_id)` checks the asset (the tenant's own, type PPT, ACTIVED and not
frozen, with its file) and queues the job with {"ppt_asset_id"}. Only PPT assets are taken: that type is the one
whose upload is checked as a document (PPT, PPTX or PDF, at most 100 pages, no bombs); a PDF uploaded as a
COMMON_FILE was never checked, so it is refused with a hint to upload it as PPT.

`import_ppt(run)`, the handler: the pages are rendered 1920 pixels wide by synthesis.compose.slides.import_slides
(LibreOffice for PPT/ODP, pdftoppm; hidden slides are left out; more than 100 pages fail the job with the count),
then each page is stored as an IMAGE asset of the tenant made by the platform (ACTIVED, tag PPT_PAGE, system
properties CREATED_BY_PLATFORM and BACKGROUND_IMG so the material panel lists it among backgrounds, media_info
{"ppt_asset_id", "page", "ppt_import_job_id"}, with a thumbnail), the progress moving page by page.

Result: {"page_count": n, "scenes": [scene, ...]}, each scene a flat `shoot_scripts` item that
videos.scripts.clean_script accepts as it is::

    {"script_type": "TEXT", "text_config": {"text": ...},
     "background_config": [{"background_type": "IMAGE", "background_asset_id": page asset id}],
     "layer_config": []}

The text is the slide's speaker notes; without notes, the text on the page (a PDF's page text, a slide's text
boxes), then the slide title; a page with no text at all gets "Page n" so the scene is still valid (the user
replaces it in the editor). A text is cut to the per-scene limit (10,000 characters).

A retry (the worker lost) reuses the pages the first attempt stored; a job that fails in the end removes them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.db import transaction

from assets.models import Asset, AssetFile
from assets.tasks import local_copy, store_generated_file
from metastudio import jobs
from metastudio.errors import InvalidParameter, NotFound, ServiceError, StateConflict, is_uuid
from metastudio.jobs import JobFailure, JobKind, JobRun, register_kind
from tenancy.audit import Actor
from videos.rendering import usable_asset

PPT_IMPORT = register_kind(JobKind(name="videos.ppt_import", label="PPT import", iam_resource="video",
                                   handler="videos.ppt_import.import_ppt", on_fail="videos.ppt_import.import_failed",
                                   lease_seconds=600, max_attempts=2))
PAGE_WIDTH = 1920
PAGE_TAG = "PPT_PAGE"


def submit_ppt_import(actor: Actor, account, ppt_asset_id, *, project=None) -> jobs.Job:
    """Queue the import of the tenant's PPT asset `ppt_asset_id`; refused (with the field) when it is not one."""
    from assets.actions import ensure_usable

    field = "ppt_asset_id"
    asset = Asset.objects.filter(account=account, pk=str(ppt_asset_id).strip()).first() if is_uuid(
        ppt_asset_id) else None
    if asset is None or asset.state in (Asset.State.DELETED, Asset.State.WAITING_DELETE):
        raise NotFound(f"asset {ppt_asset_id} does not exist", field=field)
    if asset.type != Asset.Type.PPT:
        raise InvalidParameter(f"must be a PPT asset (a PPT, PPTX or PDF file uploaded as type PPT); asset "
                               f"{asset.pk} is {asset.type}", field=field)
    try:
        ensure_usable(asset)
    except ServiceError as error:
        raise StateConflict(error.detail, field=field, code=error.code) from None
    if not asset.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).exists():
        raise StateConflict(f"asset {asset.pk} has no uploaded file", field=field)
    return jobs.submit(actor, account, PPT_IMPORT.name, {"ppt_asset_id": str(asset.pk)},
                       project=project or asset.project)


# --- the handler ----------------------------------------------------------------------------------------------

def import_ppt(run: JobRun) -> dict:
    from synthesis.compose.slides import import_slides
    from synthesis.media.errors import MediaError, PageLimitExceeded

    job = run.job
    ppt = usable_asset(job.account, job.params["ppt_asset_id"], "PPT")
    main = ppt.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).first()
    if main is None:
        raise JobFailure(f"the PPT (asset {ppt.pk}) has no file")
    run.progress(5, "rendering the pages")
    with tempfile.TemporaryDirectory(prefix="ppt-import-") as folder, local_copy(main.stored.name) as source:
        work = Path(folder)
        try:
            slides = import_slides(source, work / "pages", width=PAGE_WIDTH)
        except PageLimitExceeded as error:
            raise JobFailure(f"the presentation has {error.pages} pages; at most {error.limit} can be imported",
                             code="MSS.00000015") from None
        except MediaError as error:
            raise JobFailure(f"the presentation cannot be read: {error}") from None
        if not slides:
            raise JobFailure("the presentation has no pages to import (are all its slides hidden?)")
        stored = {int(page.media_info.get("page", 0)): page for page in _pages_of(job)}
        scenes = []
        for k, slide in enumerate(slides):
            run.progress(40 + int(58 * k / len(slides)), "storing the pages")
            page = stored.get(slide.number) or _store_page(job, ppt, slide, work)
            scenes.append(_scene(slide, page))
    return {"page_count": len(scenes), "scenes": scenes}


def _pages_of(job) -> list[Asset]:
    return list(Asset.objects.filter(account=job.account, type=Asset.Type.IMAGE,
                                     media_info__ppt_import_job_id=str(job.pk)))


@transaction.atomic
def _store_page(job, ppt: Asset, slide, work: Path) -> Asset:
    from synthesis.media import derive
    from synthesis.media.probe import probe

    info = probe(slide.image, decode_check=False)
    page = Asset.objects.create(
        account=job.account, project=job.project, created_by=job.created_by,
        name=f"{ppt.name} - page {slide.number}"[:256], type=Asset.Type.IMAGE, tags=[PAGE_TAG],
        state=Asset.State.ACTIVED, review=Asset.Review.PASSED, review_note="made by the platform",
        created_by_platform=True, system_properties=[{"key": "CREATED_BY_PLATFORM", "value": "Yes"},
                                                     {"key": "BACKGROUND_IMG", "value": "Yes"}],
        media_info={**info.as_dict(), "ppt_asset_id": str(ppt.pk), "page": slide.number,
                    "ppt_import_job_id": str(job.pk)},
    )
    files = [store_generated_file(page, AssetFile.Category.MAIN, slide.image, name=f"page-{slide.number:03d}.png",
                                  file_type="png")]
    thumbnail = derive.image_thumbnail(slide.image, work / f"thumbnail-{slide.number}.png")
    files.append(store_generated_file(page, AssetFile.Category.THUMBNAIL, Path(thumbnail), name="thumbnail.png"))
    Asset.objects.filter(pk=page.pk).update(size_bytes=sum(file.declared_size for file in files))
    page.refresh_from_db()
    return page


def scene_text(slide) -> str:
    """What the scene says: the notes, else the page's text, else its title, else "Page n"."""
    from videos.scripts import MAX_SCENE_CHARS

    for text in (slide.notes, slide.page_text, slide.title):
        if text and text.strip():
            return text.strip()[:MAX_SCENE_CHARS]
    return f"Page {slide.number}"


def _scene(slide, page: Asset) -> dict:
    return {"script_type": "TEXT", "text_config": {"text": scene_text(slide)},
            "background_config": [{"background_type": "IMAGE", "background_asset_id": str(page.pk)}],
            "layer_config": []}


def import_failed(job) -> None:
    """on_fail: the pages an attempt stored before the job failed in the end are removed, not left behind."""
    from assets.actions import delete_asset

    for page in _pages_of(job):
        delete_asset(Actor.system(job.account), page, force=True)
