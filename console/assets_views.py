"""The console's asset library: tabs per type, upload (create -> PUT -> complete), detail with previews,
recycle bin and transfer between tenants. Views parse input, call assets.actions and render."""

import mimetypes
import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from assets import actions
from assets.api.views import filter_assets
from assets.models import Asset, AssetFile
from assets.tasks import PROCESS
from console.views import _actor, _attempt, _forbidden, console_page, json_forbidden
from metastudio import jobs
from metastudio.errors import InvalidParameter, ServiceError
from tenancy.permissions import user_can

# (?type= value, label) in MetaStudio's order; "" is every type, BIN the recycle bin.
TABS = [
    ("", "All"),
    (Asset.Type.VIDEO, "Video"),
    (Asset.Type.IMAGE, "Image"),
    (Asset.Type.PPT, "PPT"),
    (Asset.Type.MUSIC, "Music"),
    (Asset.Type.MATERIAL, "Material"),
    (Asset.Type.COMMON_FILE, "Common file"),
    (Asset.Type.HUMAN_MODEL_2D, "Avatar models"),
    (Asset.Type.VOICE_MODEL, "Voice models"),
    (Asset.Type.SCENE, "Scenes"),
    (Asset.Type.ANIMATION, "Animations"),
    (Asset.Type.BUSINESS_CARD_TEMPLET, "Business-card templates"),
]
TYPE_LABELS = {value: label for value, label in TABS if value}
BIN = "RECYCLE_BIN"
PAGE_SIZE = 48
COVER_CATEGORIES = (AssetFile.Category.COVER, AssetFile.Category.THUMBNAIL)
STATUS_MAX_IDS = 100
INLINE_TYPES = ("image/", "video/", "audio/")  # shown in the page; anything else is a download
NEVER_INLINE = ("image/svg+xml",)

# Which IAM action each operation of the detail page needs.
DETAIL_OPS = {
    "update": "metastudio:asset:update",
    "activate": "metastudio:asset:update",
    "deactivate": "metastudio:asset:update",
    "delete": "metastudio:asset:delete",
    "force_delete": "metastudio:asset:delete",
    "restore": "metastudio:asset:restore",
    "share": "metastudio:asset:share",
}


def _permissions(user) -> dict[str, bool]:
    return {
        "can_create": user_can(user, "metastudio:asset:create") and user_can(user, "metastudio:file:create"),
        "can_update": user_can(user, "metastudio:asset:update"),
        "can_delete": user_can(user, "metastudio:asset:delete"),
        "can_restore": user_can(user, "metastudio:asset:restore"),
        "can_share": user_can(user, "metastudio:asset:share"),
        "can_copy": user_can(user, "metastudio:asset:copy"),
        "live": user_can(user, "metastudio:job:show"),
    }


def _json_error(error: ServiceError) -> JsonResponse:
    return JsonResponse(error.body(), status=error.status)


def _account_asset(request, asset_id, queryset=None) -> Asset:
    asset = (queryset or Asset.objects).filter(account=request.user.account, pk=asset_id).first()
    if asset is None:
        raise Http404
    return asset


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in (text or "").split(",") if tag.strip()]


def _card_assets(queryset):
    """Assets with only their cover/thumbnail files prefetched (not every PPT page)."""
    covers = AssetFile.objects.filter(category__in=COVER_CATEGORIES, state=AssetFile.State.CREATED).exclude(stored="")
    return queryset.prefetch_related(Prefetch("files", queryset=covers, to_attr="cover_files"))


def _processing_jobs(account, assets) -> dict[str, jobs.Job]:
    """The latest processing job of each asset still CREATING (one query)."""
    ids = [str(asset.pk) for asset in assets if asset.state == Asset.State.CREATING]
    if not ids:
        return {}
    found: dict[str, jobs.Job] = {}
    for job in jobs.Job.objects.filter(account=account, kind=PROCESS.name, params__asset_id__in=ids).order_by(
            "created_at"):
        found[job.params.get("asset_id")] = job
    return found


def _cards(request, assets) -> list[dict]:
    processing = _processing_jobs(request.user.account, assets)
    cards = []
    for asset in assets:
        cover = next((f for c in COVER_CATEGORIES for f in asset.cover_files if f.category == c), None)
        job = processing.get(str(asset.pk))
        reason = asset.reason
        if asset.state == Asset.State.CREATING and job is not None and job.state == jobs.Job.State.FAILED:
            reason = job.error_msg  # the job ended without settling the asset
        cards.append({
            "asset": asset,
            "type_label": TYPE_LABELS.get(asset.type, asset.type),
            "cover_url": reverse("console:asset_file", args=[asset.pk, cover.pk]) if cover else "",
            "job": job,
            "reason": reason,
        })
    return cards


def _card_html(request, card) -> str:
    return render_to_string("console/assets/_card.html", {"card": card}, request=request)


@console_page("metastudio:asset:show")
def library(request):
    account = request.user.account
    tab = request.GET.get("type", "")
    if tab not in TYPE_LABELS and tab != BIN:
        tab = ""
    query = request.GET.get("q", "").strip()
    params = {"name": query}
    if tab == BIN:
        params["asset_state"] = Asset.State.DELETED
    elif tab:
        params["asset_type"] = tab
    assets = filter_assets(Asset.objects.filter(account=account), params)
    page = Paginator(_card_assets(assets), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = dict(Asset.objects.filter(account=account).exclude(state=Asset.State.DELETED)
                  .values_list("type").annotate(n=Count("id")).values_list("type", "n"))
    tabs = [(value, label, sum(counts.values()) if not value else counts.get(value, 0)) for value, label in TABS]
    bin_count = Asset.objects.filter(account=account, state=Asset.State.DELETED).count()
    return render(request, "console/assets/library.html", {
        "tabs": tabs, "tab": tab, "bin": BIN, "bin_count": bin_count, "query": query, "page": page,
        "cards": _cards(request, list(page.object_list)),
        "upload_types": [(value, label) for value, label in TABS if value],
        "default_type": tab if tab in TYPE_LABELS else Asset.Type.VIDEO,
        **_permissions(request.user),
    })


@require_GET
@console_page("metastudio:asset:show")
def status(request):
    """Light poll for cards: the current card HTML of the given assets of the user's account."""
    ids = [value for value in request.GET.get("ids", "").split(",") if value][:STATUS_MAX_IDS]
    valid = []
    for value in ids:
        try:
            valid.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    assets = list(_card_assets(Asset.objects.filter(account=request.user.account, pk__in=valid)))
    return JsonResponse({"assets": [
        {"asset_id": str(card["asset"].pk), "state": card["asset"].state,
         "job_id": str(card["job"].pk) if card["job"] else None, "html": _card_html(request, card)}
        for card in _cards(request, assets)
    ]})


@require_POST
@console_page("metastudio:asset:create")
def upload(request):
    """Step 1 of an upload: create the asset and its main file; answer the signed upload URL."""
    if not user_can(request.user, "metastudio:file:create"):
        return json_forbidden("metastudio:file:create")
    account = request.user.account
    post = request.POST
    try:
        size = int(post.get("file_size", ""))
    except ValueError:
        return _json_error(InvalidParameter("must be the exact byte count of the file", field="file_size"))
    try:
        with transaction.atomic():  # a refused file (quota, name, size) leaves no asset behind
            asset = actions.create_asset(
                _actor(request), account, name=post.get("name", "").strip() or post.get("file_name", ""),
                asset_type=post.get("asset_type", ""), description=post.get("description", ""),
                tags=_tags(post.get("tags", "")), project=account.projects.first(),
            )
            file, url = actions.create_file(
                _actor(request), account, asset_id=asset.pk, file_name=post.get("file_name", ""), file_size=size,
                file_md5=post.get("file_md5", ""), file_type=post.get("file_type", ""),
                base_url=request.build_absolute_uri("/"),
            )
    except ServiceError as error:
        return _json_error(error)
    return JsonResponse({
        "asset_id": str(asset.pk), "file_id": str(file.pk), "upload_url": url,
        "complete_url": reverse("console:asset_complete", args=[asset.pk, file.pk]),
        "detail_url": reverse("console:asset_detail", args=[asset.pk]),
    }, status=201)


@require_POST
@console_page("metastudio:asset:create")
def complete(request, asset_id, file_id):
    """Step 3 of an upload: verify the bytes and start processing (or cancel with state=CANCELLED)."""
    if not user_can(request.user, "metastudio:file:complete"):
        return json_forbidden("metastudio:file:complete")
    asset = _account_asset(request, asset_id)
    file = asset.files.filter(pk=file_id).first()
    if file is None:
        raise Http404
    try:
        file = actions.complete_file(_actor(request), file, request.POST.get("state", "CREATED"))
    except ServiceError as error:
        return _json_error(error)
    asset.refresh_from_db()
    body = {"asset_id": str(asset.pk), "file_state": file.state, "asset_state": asset.state,
            "reason": file.reason or asset.reason or None}
    if file.state == AssetFile.State.FAILED:
        body.update(error_code="MSS.00000016", error_msg=f"file: {file.reason}")
        return JsonResponse(body, status=400)
    return JsonResponse(body)


@require_POST
@console_page("metastudio:asset:copy")
def import_asset(request):
    """Receiving side of a transfer: copy another tenant's asset from its replication info."""
    account = request.user.account
    created = []

    def copy():
        created.append(actions.replicate(_actor(request), account, request.POST.get("replication_info", "").strip(),
                                         project=account.projects.first()))

    if _attempt(request, copy, "Asset imported."):
        return redirect("console:asset_detail", asset_id=created[0].pk)
    return redirect("console:assets")


MEDIA_FIELDS = [  # (label, keys tried in asset.media_info, as synthesis.media.probe writes it)
    ("Duration", ("duration_s", "duration")),
    ("Resolution", ("resolution",)),
    ("Video codec", ("video_codec", "codec")),
    ("Audio codec", ("audio_codec",)),
    ("Frame rate", ("fps",)),
    ("Pages", ("pages",)),
    ("Format", ("container",)),
    ("Sample rate", ("sample_rate",)),
    ("Channels", ("channels",)),
]
HIDDEN_MEDIA_KEYS = {"width", "height", "error", "unsafe", "size_bytes"}


def _media_rows(info: dict) -> list[tuple[str, object]]:
    """(label, value) of the probed facts: the known ones in a fixed order, then any others."""
    info = dict(info or {})
    if not info.get("resolution") and info.get("width") and info.get("height"):
        info["resolution"] = f"{info['width']}×{info['height']}"
    rows, used = [], set(HIDDEN_MEDIA_KEYS)
    for label, keys in MEDIA_FIELDS:
        used.update(keys)
        value = next((info[key] for key in keys if info.get(key) not in (None, "", [])), None)
        if value is None:
            continue
        if label == "Duration" and isinstance(value, (int, float)):
            value = f"{value:.2f} s"
        elif label == "Frame rate" and isinstance(value, float):
            value = f"{value:g} fps"
        elif label == "Sample rate":
            value = f"{value} Hz"
        rows.append((label, value))
    rows.extend((key.replace("_", " ").capitalize(), value) for key, value in sorted(info.items())
                if key not in used and value not in (None, "", [], {}, False) and not isinstance(value, (dict, list)))
    return rows


def _file_url(asset, file) -> str:
    return reverse("console:asset_file", args=[asset.pk, file.pk]) if file else ""


@console_page("metastudio:asset:show")
def detail(request, asset_id):
    asset = _account_asset(request, asset_id)
    if request.method == "POST":
        return _detail_post(request, asset)
    files = list(asset.files.all())
    ready = [f for f in files if f.state == AssetFile.State.CREATED and f.stored]

    def first(category):
        return next((f for f in ready if f.category == category), None)

    main, preview = first(AssetFile.Category.MAIN), first(AssetFile.Category.PREVIEW)
    poster = first(AssetFile.Category.COVER) or first(AssetFile.Category.THUMBNAIL)
    pages = sorted((f for f in ready if f.category == AssetFile.Category.PAGE), key=lambda f: f.position)
    job = _processing_jobs(request.user.account, [asset]).get(str(asset.pk))
    share = request.session.pop("replication_info", None)
    return render(request, "console/assets/detail.html", {
        "asset": asset,
        "type_label": TYPE_LABELS.get(asset.type, asset.type),
        "files": [(f, _file_url(asset, f) if f in ready else "") for f in files],
        "video_url": _file_url(asset, preview or main) if asset.type == Asset.Type.VIDEO else "",
        "audio_url": _file_url(asset, main) if asset.type == Asset.Type.MUSIC else "",
        "waveform_url": _file_url(asset, first(AssetFile.Category.WAVEFORM)),
        "image_url": _file_url(asset, main) if asset.type == Asset.Type.IMAGE else "",
        "poster_url": _file_url(asset, poster),
        "page_urls": [_file_url(asset, f) for f in pages],
        "media_rows": _media_rows(asset.media_info),
        "job": job,
        "replication_info": share["info"] if share and share.get("asset") == str(asset.pk) else "",
        **_permissions(request.user),
    })


def _detail_post(request, asset):
    op = request.POST.get("op", "")
    needed = DETAIL_OPS.get(op)
    if needed is None:
        messages.error(request, f"unknown operation {op!r}")
        return redirect("console:asset_detail", asset_id=asset.pk)
    if not user_can(request.user, needed):
        return _forbidden(request, needed)
    actor = _actor(request)
    if op == "update":
        _attempt(request, lambda: actions.update_asset(
            actor, asset, name=request.POST.get("name", ""), description=request.POST.get("description", ""),
            tags=_tags(request.POST.get("tags", "")),
        ), "Asset updated.")
    elif op in ("activate", "deactivate"):
        _attempt(request, lambda: actions.set_active(actor, asset, op == "activate"),
                 "Asset activated." if op == "activate" else "Asset deactivated.")
    elif op == "delete":
        if _attempt(request, lambda: actions.delete_asset(actor, asset), "Asset moved to the recycle bin."):
            return redirect(f"{reverse('console:assets')}?type={BIN}")
    elif op == "force_delete":
        if _attempt(request, lambda: actions.delete_asset(actor, asset, force=True), "Asset deleted permanently."):
            return redirect("console:assets")
    elif op == "restore":
        _attempt(request, lambda: actions.restore_asset(actor, asset), "Asset restored.")
    elif op == "share":
        def share():
            request.session["replication_info"] = {"asset": str(asset.pk),
                                                   "info": actions.replication_info(actor, asset)}

        _attempt(request, share, "Replication info created: give it to the receiving tenant.")
    return redirect("console:asset_detail", asset_id=asset.pk)


@require_GET
@console_page("metastudio:asset:show")
def asset_file(request, asset_id, file_id):
    """A stored file of an asset of the user's account, inline (covers, players, page images)."""
    asset = _account_asset(request, asset_id)
    file = asset.files.filter(pk=file_id, state=AssetFile.State.CREATED).exclude(stored="").first()
    if file is None:
        raise Http404
    try:
        actions.ensure_exportable(file)
    except ServiceError:
        raise Http404 from None
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    inline = content_type.startswith(INLINE_TYPES) and content_type not in NEVER_INLINE
    response = FileResponse(file.stored.open("rb"), filename=file.name,
                            as_attachment=request.GET.get("download") == "1" or not inline,
                            content_type=content_type if inline else "application/octet-stream")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"  # uploaded bytes never run as a page
    return response
