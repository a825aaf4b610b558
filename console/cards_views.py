"""The console's business cards: the gallery of the tenant's cards (card image or photo, state, live render
progress, share link), the editor (photo upload with a preview or a preset digital human, card text, logo, QR
code, template, a text or audio introduction; each error next to the field it names), the card page (render
progress followed live, then the card video, the card image and the share link) and the tenant-scoped files.
Views parse input, call avatars.cards and render.

The public card page: anyone with its link (an unguessable token) sees the card image and plays the card video,
without an account, as a shared e-business card is meant to be seen."""

import contextlib
import hashlib

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from assets.models import Asset, AssetFile
from assets.serving import ranged_response
from avatars import cards
from avatars.models import BusinessCard
from console.avatars_views import SPEAK_VOICE, _media_response, _project
from console.views import _actor, console_page, refuse, wants_json
from console.voices_views import _preset_groups, _uploaded_path, _voice_assets
from metastudio import jobs
from metastudio.errors import InvalidParameter, ServiceError
from tenancy.permissions import user_can
from videos import presets

HIDDEN_STATES = (Asset.State.DELETED, Asset.State.WAITING_DELETE, Asset.State.BLOCK)
SHOW, CREATE, UPDATE, DELETE = (f"metastudio:businesscard:{verb}" for verb in ("show", "create", "update", "delete"))
TERMINAL = ("SUCCEED", "FAILED", "CANCELED")
# The card text inputs: (input name = card_text_config key, label, input type, placeholder).
TEXT_INPUTS = [
    ("name", "Name", "text", "Eileen Collins"),
    ("title", "Title", "text", "Commander"),
    ("company", "Company", "text", "NASA"),
    ("mobile_phone", "Mobile", "tel", "+1 555 0100"),
    ("phone", "Phone", "tel", ""),
    ("mail", "E-mail", "email", "eileen@example.com"),
    ("address", "Address", "text", ""),
    ("other1", "Extra line 1", "text", "A slogan, a web site…"),
    ("other2", "Extra line 2", "text", ""),
    ("other3", "Extra line 3", "text", ""),
]
# The API field names (avatars.cards) whose errors are shown next to each other input; the rest at the top.
FIELD_INPUTS = {
    **{f"card_text_config.{key}": key for key in cards.TEXT_LIMITS},
    "card_text_config": "name",
    "photo": "photo", "preset_id": "photo", "card_image_config": "photo", "card_image_config.human_image": "photo",
    "logo": "logo", "card_image_config.logo_image": "logo",
    "card_templet_asset_id": "template",
    "qr_code_content": "qr_code_content",
    "introduction_type": "introduction_type",
    "introduction_text": "introduction_text",
    "voice_asset_id": "voice_asset_id",
    "audio": "audio", "introduction_audio_asset_id": "audio",
    "video_asset_name": "video_asset_name",
}
IMAGE_ACCEPT = ".png,.jpg,.jpeg,.webp"
AUDIO_ACCEPT = ".wav,.mp3"


# --- helpers --------------------------------------------------------------------------------------------------

def _cards(account):
    return BusinessCard.objects.filter(account=account).select_related("engine_job", "video_asset")


def _account_card(request, card_id) -> BusinessCard:
    card = _cards(request.user.account).filter(pk=card_id).first()
    if card is None:
        raise Http404
    return card


def _video_file(card: BusinessCard) -> AssetFile | None:
    """The MAIN file of the card's rendered video (None before the first render, or when the video is gone)."""
    video = card.video_asset
    if video is None or video.state in HIDDEN_STATES:
        return None
    return (video.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).exclude(stored="")
            .order_by("-created_at").first())


def _version(card: BusinessCard) -> str:
    """A cache-busting query for the card's files: they change with each save and render."""
    names = (card.engine_job_id, card.card_image.name, card.video_asset_id, card.photo.name, card.preset_id,
             card.logo.name, card.introduction_audio.name)
    return "?v=" + hashlib.sha1("|".join(str(name or "") for name in names).encode()).hexdigest()[:12]


def _share_url(request, card: BusinessCard) -> str:
    return request.build_absolute_uri(reverse("console:card_share", args=[card.share_token]))


def _card_state(request, card: BusinessCard) -> dict:
    """A card's live view: its render (the engine job, state as the card's), and the files it has now."""
    job = card.engine_job
    payload = jobs.job_payload(job) if job is not None else {"job_id": None, "progress": 0, "stage": "",
                                                              "error_msg": None}
    payload["state"] = card.state
    has_video = _video_file(card) is not None
    return {
        "card_id": str(card.pk),
        "state": card.state,
        "rendering": card.rendering,
        "engine_job_id": str(card.engine_job_id) if card.engine_job_id else None,
        "job": payload,
        "image_url": reverse("console:card_image", args=[card.pk]) + _version(card) if card.card_image else None,
        "video_url": reverse("console:card_video", args=[card.pk]) + _version(card) if has_video else None,
        "share_url": _share_url(request, card) if card.card_image else None,
        "detail_url": reverse("console:card_detail", args=[card.pk]),
    }


def _input_of(field: str | None) -> str:
    return FIELD_INPUTS.get(field or "", "form")


def _templates() -> list[dict]:
    from synthesis.photo.card import TEMPLATES

    def rgb(color) -> str:
        return f"rgb({color[0]}, {color[1]}, {color[2]})" if color else "transparent"

    return [{"id": tpl.id, "label": tpl.label, "style": tpl.style, "top": rgb(tpl.bg_top),
             "bottom": rgb(tpl.bg_bottom), "accent": rgb(tpl.accent), "panel": rgb(tpl.panel),
             "text": rgb(tpl.text_color), "name": rgb(tpl.name_color)} for tpl in TEMPLATES.values()]


def _template_labels() -> dict:
    from synthesis.photo.card import TEMPLATES

    return {tpl.id: tpl.label for tpl in TEMPLATES.values()}


def _voices(account) -> list:
    return list(_voice_assets(account).filter(state=Asset.State.ACTIVED).order_by("name"))


def _default_voice(groups) -> str:
    every = [voice.voice_id for _, _, group in groups for voice in group]
    if SPEAK_VOICE in every:
        return SPEAK_VOICE
    return next((v.voice_id for code, _, group in groups if code == "en" for v in group), every[0] if every else "")


def _voice_language(account, voice_id: str) -> str:
    from voices import speech

    try:
        return speech.resolve_voice(account, voice_id, usable=False).language or "zh"
    except ServiceError:
        return ""


def _values_of(card: BusinessCard) -> dict:
    """The editor's inputs filled from a card. A stored introduction that is the greeting made from the card is
    shown empty, so that it is made again from the changed card."""
    text = card.introduction_text
    if text and card.voice_asset_id:
        language = _voice_language(card.account, card.voice_asset_id)
        if language and text == cards.default_introduction(card.text_config, language):
            text = ""
    return {
        **{key: card.text_config.get(key, "") for key in cards.TEXT_LIMITS},
        "photo_choice": "current",
        "template": card.template,
        "qr_code_content": card.qr_code_content,
        "introduction_type": card.introduction_type,
        "introduction_text": text,
        "voice_asset_id": card.voice_asset_id,
        "video_asset_name": card.video_asset_name,
    }


def _changes(request, values, card: BusinessCard | None, stack: contextlib.ExitStack) -> dict:
    """The keyword arguments of create/update_business_card from the posted form; uploaded files become local
    paths that live as long as `stack`."""
    files = request.FILES
    creating = card is None
    changes = {
        "text_config": {key: values.get(key, "") for key in cards.TEXT_LIMITS},
        "card_templet_asset_id": values.get("template") or None,
        "qr_code_content": values.get("qr_code_content", ""),
        "video_asset_name": values.get("video_asset_name", ""),
    }
    choice = values.get("photo_choice") or ("upload" if files.get("photo") else "current")
    if choice == "upload":
        if not files.get("photo"):
            raise InvalidParameter("choose a photo to upload, or pick a preset digital human", field="photo")
        changes["photo_path"] = stack.enter_context(_uploaded_path(request, "photo"))[0]
    elif choice != "current":
        changes["preset_id"] = choice
    elif creating:
        raise InvalidParameter("upload a photo or pick a preset digital human", field="photo")
    if files.get("logo"):
        changes["logo_path"] = stack.enter_context(_uploaded_path(request, "logo"))[0]
    kind = (values.get("introduction_type") or "TEXT").upper()
    changes["introduction_type"] = kind
    if kind == "AUDIO":
        if files.get("audio"):
            changes["audio_path"] = stack.enter_context(_uploaded_path(request, "audio"))[0]
        elif creating or not card.introduction_audio:
            raise InvalidParameter("choose a WAV or MP3 file (mono) with the introduction", field="audio")
    elif kind == "TEXT":
        changes["introduction_text"] = values.get("introduction_text", "")
        changes["voice_asset_id"] = values.get("voice_asset_id", "")
    return changes


def _save(request, card: BusinessCard | None) -> BusinessCard:
    values = request.POST
    with contextlib.ExitStack() as stack:
        changes = _changes(request, values, card, stack)
        if card is None:
            account = request.user.account
            return cards.create_business_card(_actor(request), account, **changes, project=_project(account))
        return cards.update_business_card(_actor(request), card, **changes)


def _editor(request, card: BusinessCard | None, values, errors: dict):
    account = request.user.account
    groups = _preset_groups()
    voices = _voices(account)
    voice_id = values.get("voice_asset_id") or _default_voice(groups)
    listed = {voice.voice_id for _, _, group in groups for voice in group} | {str(voice.pk) for voice in voices}
    text_inputs = [{"name": key, "label": label, "type": kind, "placeholder": placeholder,
                    "value": values.get(key, ""), "error": errors.get(key, ""), "maxlength": cards.TEXT_LIMITS[key],
                    "required": key == "name"} for key, label, kind, placeholder in TEXT_INPUTS]
    return render(request, "console/cards/edit.html", {
        "card": card,
        "values": values,
        "errors": errors,
        "text_inputs": text_inputs[:3],
        "contact_inputs": text_inputs[3:7],
        "extra_inputs": text_inputs[7:],
        "presets": presets.preset_photos(),
        "templates": _templates(),
        "preset_groups": groups,
        "voices": voices,
        "voice_id": voice_id,
        "voice_unlisted": voice_id if voice_id and voice_id not in listed else "",
        "photo_url": reverse("console:card_photo", args=[card.pk]) + _version(card) if card else "",
        "logo_url": reverse("console:card_logo", args=[card.pk]) + _version(card) if card and card.logo else "",
        "audio_url": reverse("console:card_audio", args=[card.pk]) + _version(card)
        if card and card.introduction_audio else "",
        "max_intro": cards.MAX_INTRO,
        "max_qr": cards.MAX_QR,
        "image_accept": IMAGE_ACCEPT,
        "audio_accept": AUDIO_ACCEPT,
        "locked": card is not None and card.rendering,
        "files_dropped": request.method == "POST" and bool(request.FILES),
    })


def _submit(request, card: BusinessCard | None):
    """Save the posted editor; the card page on success, else the editor with each error at its field."""
    try:
        saved = _save(request, card)
    except ServiceError as error:
        name = _input_of(error.field)
        if wants_json(request):
            return JsonResponse({**error.body(), "field": error.field or "form", "input": name,
                                 "message": error.detail}, status=error.status)
        return _editor(request, card, request.POST, {name: error.detail})
    url = reverse("console:card_detail", args=[saved.pk])
    done = "Card created: it is being rendered." if card is None else "Card saved: it is being rendered again."
    messages.success(request, done)
    if wants_json(request):
        return JsonResponse({"card_id": str(saved.pk), "url": url}, status=201 if card is None else 200)
    return redirect(url)


# --- gallery -----------------------------------------------------------------------------------------------------

@console_page(SHOW)
def gallery(request):
    """The tenant's cards as tiles: the card image once rendered (else the photo), state, live progress while
    rendering, and open / edit / share / delete."""
    user = request.user
    tiles = []
    for card in _cards(user.account).order_by("-created_at"):
        state = _card_state(request, card)
        tiles.append({"card": card, "state": state, "text": card.text_config,
                      "photo_url": reverse("console:card_photo", args=[card.pk]) + _version(card)})
    return render(request, "console/cards/gallery.html", {
        "tiles": tiles,
        "can_create": user_can(user, CREATE),
        "can_update": user_can(user, UPDATE),
        "can_delete": user_can(user, DELETE),
        "ws_live": user_can(user, "metastudio:job:show"),
    })


# --- editor --------------------------------------------------------------------------------------------------------

@console_page(SHOW)
def new(request):
    if not user_can(request.user, CREATE):
        return refuse(request, CREATE)
    if request.method == "POST":
        return _submit(request, None)
    return _editor(request, None, {"photo_choice": "upload", "template": "classic", "introduction_type": "TEXT"}, {})


@console_page(SHOW)
def edit(request, card_id):
    if not user_can(request.user, UPDATE):
        return refuse(request, UPDATE)
    card = _account_card(request, card_id)
    if request.method == "POST":
        return _submit(request, card)
    return _editor(request, card, _values_of(card), {})


# --- card page -------------------------------------------------------------------------------------------------

@console_page(SHOW)
def detail(request, card_id):
    """Render progress followed live; then the card video (poster: the card image), the image download, the
    share link; a failed render shows its reason."""
    card = _account_card(request, card_id)
    user = request.user
    state = _card_state(request, card)
    text = card.text_config
    job = card.engine_job
    return render(request, "console/cards/detail.html", {
        "card": card,
        "state": state,
        "text": text,
        "lines": [(label, text.get(key)) for key, label, _, _ in TEXT_INPUTS[1:] if text.get(key)],
        "template_label": _template_labels().get(card.template, card.template),
        "preset": presets.PRESETS.get(card.preset_id),
        "photo_url": reverse("console:card_photo", args=[card.pk]) + _version(card),
        "error_msg": job.error_msg if job is not None and card.state == "FAILED" else "",
        "voice_name": _voice_name(card),
        "can_update": user_can(user, UPDATE),
        "can_delete": user_can(user, DELETE),
        "ws_live": user_can(user, "metastudio:job:show"),
    })


def _voice_name(card: BusinessCard) -> str:
    if card.introduction_type != BusinessCard.IntroductionType.TEXT or not card.voice_asset_id:
        return ""
    from voices import speech

    try:
        return speech.resolve_voice(card.account, card.voice_asset_id, usable=False).name
    except ServiceError:
        return f"{card.voice_asset_id} (no longer available)"


@require_GET
@console_page(SHOW)
def state(request, card_id):
    return JsonResponse(_card_state(request, _account_card(request, card_id)))


@require_POST
@console_page(SHOW)
def delete(request, card_id):
    if not user_can(request.user, DELETE):
        return refuse(request, DELETE)
    card = _account_card(request, card_id)
    name = card.name
    try:
        cards.delete_business_card(_actor(request), card)
    except ServiceError as error:
        if wants_json(request):
            return JsonResponse(error.body(), status=error.status)
        messages.error(request, error.message)
        return redirect("console:card_detail", card_id=card.pk)
    if wants_json(request):
        return JsonResponse({"deleted": str(card_id)})
    messages.success(request, f"Card {name} deleted; its videos stay in the asset library.")
    return redirect("console:cards")


# --- the tenant's card files ---------------------------------------------------------------------------------

@require_GET
@console_page(SHOW)
def card_image(request, card_id):
    card = _account_card(request, card_id)
    if not card.card_image:
        raise Http404
    response = _media_response(request, card.card_image, "image/png")
    if request.GET.get("download"):
        response["Content-Disposition"] = content_disposition_header(True, f"{card.name or 'card'}.png")
    return response


@require_GET
@console_page(SHOW)
def card_video(request, card_id):
    main = _video_file(_account_card(request, card_id))
    if main is None:
        raise Http404
    return _media_response(request, main.stored, "video/mp4")


@require_GET
@console_page(SHOW)
def card_photo(request, card_id):
    opened = cards.photo_of(_account_card(request, card_id))  # an open File: the response reads and closes it
    if opened is None:
        raise Http404
    return _media_response(request, opened)


@require_GET
@console_page(SHOW)
def card_logo(request, card_id):
    card = _account_card(request, card_id)
    if not card.logo:
        raise Http404
    return _media_response(request, card.logo)


@require_GET
@console_page(SHOW)
def card_audio(request, card_id):
    card = _account_card(request, card_id)
    if not card.introduction_audio:
        raise Http404
    return _media_response(request, card.introduction_audio)


# --- the public card page (no account) ---------------------------------------------------------------------

def _shared(token: str) -> BusinessCard:
    card = BusinessCard.objects.select_related("video_asset").filter(share_token=token).first()
    if card is None or not card.card_image:
        raise Http404
    return card


def _shared_video(card: BusinessCard):
    video = card.video_asset
    if video is None or video.state in HIDDEN_STATES:
        return None
    return video.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).first()


@require_GET
def share(request, token):
    card = _shared(token)
    return render(request, "console/cards/share.html", {
        "card": card, "token": token, "has_video": _shared_video(card) is not None,
        "text": card.text_config,
    })


@require_GET
def share_image(request, token):
    return ranged_response(request, _shared(token).card_image, "image/png")


@require_GET
def share_video(request, token):
    main = _shared_video(_shared(token))
    if main is None:
        raise Http404
    return ranged_response(request, main.stored, "video/mp4")
