"""Asset jobs: validate the main file against the media rules and make the derived files."""

import contextlib
import shutil
import tempfile
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from assets import moderation, uploads
from assets.models import Asset, AssetFile
from metastudio.jobs import JobFailure, JobKind, JobLost, JobRun, register_kind
from synthesis.media.errors import PageLimitExceeded

PROCESS = register_kind(JobKind(name="asset_process", label="Asset validation and previews",
                                handler="assets.tasks.process_asset", iam_resource="asset"))
TEXT_REVIEW_LIMIT = 1024 * 1024


@contextlib.contextmanager
def local_copy(name: str):
    """A path to the stored file: the file itself on local storage, a temporary download from S3."""
    try:
        yield Path(default_storage.path(name))
        return
    except NotImplementedError:
        pass
    with tempfile.TemporaryDirectory(prefix="asset-") as folder:
        target = Path(folder) / Path(name).name
        with default_storage.open(name, "rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, uploads.CHUNK)
        yield target


def process_asset(run: JobRun) -> dict:
    from synthesis.media import derive
    from synthesis.media.probe import probe
    from synthesis.media.rules import check

    asset = Asset.objects.get(pk=run.job.params["asset_id"])
    main = asset.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).first()
    if main is None:
        raise JobFailure("the asset has no uploaded main file")
    try:
        return _process(run, asset, main, derive, probe, check)
    except (JobFailure, JobLost):
        raise
    except Exception as error:  # a tool crash must not leave the asset CREATING for ever
        Asset.objects.filter(pk=asset.pk, state=Asset.State.CREATING).update(
            state=Asset.State.FAILED, reason=f"processing failed: {type(error).__name__}: {error}"[:1024],
            updated_at=timezone.now())
        raise


def _process(run: JobRun, asset: Asset, main: AssetFile, derive, probe, check) -> dict:
    with local_copy(main.stored.name) as path, tempfile.TemporaryDirectory(prefix="derive-") as workdir:
        run.progress(10, "checking the media")
        info = probe(path)
        violations = check(asset.type, main.name, info)
        if violations:
            reason = "; ".join(violation.message for violation in violations)
            _fail(asset, reason)
            raise JobFailure(f"the file does not meet the rules: {reason}", code="MSS.00000015")
        review_text = _text_findings(asset, path)
        run.progress(30, "making previews")
        try:
            derived = _derive(asset, info, path, Path(workdir), derive, run)
        except PageLimitExceeded as error:  # a legacy .ppt's pages are only known once converted
            reason = f"the document has {error.pages} pages; at most {error.limit} are allowed"
            _fail(asset, reason)
            raise JobFailure(f"the file does not meet the rules: {reason}", code="MSS.00000015") from None
        _activate(asset, info.as_dict(), derived, review_text)
    return {"asset_id": str(asset.pk), "derived_files": len(derived), "media": info.as_dict()}


def _derive(asset: Asset, info, path: Path, workdir: Path, derive, run: JobRun) -> list[tuple[str, Path, int]]:
    """(category, file, position) of every derived file."""
    made = []
    if info.kind == "image":
        made.append(("THUMBNAIL", derive.image_thumbnail(path, workdir / "thumbnail.png"), 0))
    elif info.kind == "video":
        made.append(("THUMBNAIL", derive.video_thumbnail(path, workdir / "thumbnail.png"), 0))
        run.progress(50, "cutting a preview clip")
        made.append(("PREVIEW", derive.video_preview(path, workdir / "preview.mp4"), 0))
    elif info.kind == "audio":
        made.append(("WAVEFORM", derive.audio_waveform(path, workdir / "waveform.png"), 0))
        made.append(("OTHER", derive.extract_mono_wav(path, workdir / "mono.wav"), 0))
    elif info.kind == "document" and asset.type == Asset.Type.PPT:
        run.progress(40, "rendering the pages")
        pages = derive.document_pages(path, workdir / "pages")
        made.extend(("PAGE", page, index) for index, page in enumerate(pages, start=1))
        if pages:
            made.append(("THUMBNAIL", derive.image_thumbnail(pages[0], workdir / "thumbnail.png"), 0))
    return [(category, Path(file), position) for category, file, position in made]


def _text_findings(asset: Asset, path: Path) -> list[str]:
    if asset.type != Asset.Type.COMMON_FILE or path.suffix.lower() not in (".txt", ".md", ".csv", ".srt", ".json"):
        return []
    with open(path, "rb") as handle:
        text = handle.read(TEXT_REVIEW_LIMIT).decode("utf-8", errors="ignore")
    return moderation.findings(text)


def _fail(asset: Asset, reason: str) -> None:
    with transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(state=Asset.State.FAILED, reason=reason[:1024],
                                                 updated_at=timezone.now())


def store_generated_file(asset: Asset, category: str, path: Path, *, name: str | None = None, position: int = 0,
                         file_type: str = "") -> AssetFile:
    """A file the platform made (preview, page, trained model...) stored as a CREATED file of `asset`."""
    size = path.stat().st_size
    record = AssetFile.objects.create(asset=asset, account_id=asset.account_id, category=category,
                                      name=name or path.name, file_type=file_type, declared_size=size,
                                      state=AssetFile.State.CREATED, received_bytes=size, generated=True,
                                      position=position, completed_at=timezone.now())
    with open(path, "rb") as handle:
        record.stored.name = default_storage.save(uploads.storage_name(record), handle)
    record.save(update_fields=["stored"])
    return record


@transaction.atomic
def _activate(asset: Asset, media: dict, derived: list, text_findings: list[str]) -> None:
    total = 0
    for category, file, position in derived:
        name = file.name if category != "PAGE" else f"page-{position:03d}.png"
        total += store_generated_file(asset, category, file, name=name, position=position).declared_size
    asset.refresh_from_db()
    review, note = asset.review, asset.review_note
    if text_findings and review != Asset.Review.EXEMPT:
        review, note = Asset.Review.NEEDS_MANUAL, f"machine review of the text matched: {', '.join(text_findings)}"
    waiting = review == Asset.Review.NEEDS_MANUAL
    Asset.objects.filter(pk=asset.pk, state=Asset.State.CREATING).update(
        state=Asset.State.UNACTIVED if waiting else Asset.State.ACTIVED,
        reason="waiting for manual review" if waiting else "", media_info=media, review=review, review_note=note,
        size_bytes=F("size_bytes") + total, updated_at=timezone.now(),
    )
