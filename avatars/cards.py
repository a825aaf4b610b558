"""Digital-human business cards: one action per change (create, update, delete), each checking every input
before anything is stored, then queuing a render (avatars.card_tasks). A card is counted once, when its first
render succeeds."""

import re
import secrets
import uuid
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from assets import moderation
from assets.models import Asset
from avatars.models import BusinessCard
from metastudio import jobs
from metastudio.errors import InvalidParameter, StateConflict
from tenancy.audit import Actor, record_audit
from videos import actions as photo_actions
from videos import presets

CARD_TYPE = "2D_DIGITAL_HUMAN_CARD"
CARD_RESOURCE = "BUSINESS_CARD"
TEXT_LIMITS = {"name": 32, "company": 64, "title": 48, "mobile_phone": 32, "phone": 32, "mail": 96, "address": 128,
               "other1": 64, "other2": 64, "other3": 64}
MAX_INTRO = 2000
MAX_QR = 512
MAX_LOGO_BYTES = 4 * 1024 * 1024
GENDERS = ("MALE", "FEMALE", "")
_MAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+\-() ]{3,32}$")


def _templates() -> dict:
    from synthesis.photo.card import TEMPLATES

    return TEMPLATES


def clean_text_config(config, *, partial_of: dict | None = None) -> dict:
    """The card text: `name` is required; every field has a length limit; mail and phones are checked."""
    if not isinstance(config, dict):
        raise InvalidParameter("must be an object", field="card_text_config")
    cleaned = dict(partial_of or {})
    for key, value in config.items():
        field = f"card_text_config.{key}"
        if key not in TEXT_LIMITS:
            raise InvalidParameter(f"unknown field; use {', '.join(TEXT_LIMITS)}", field=field)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InvalidParameter("must be a string", field=field)
        value = value.strip()
        if len(value) > TEXT_LIMITS[key]:
            raise InvalidParameter(f"at most {TEXT_LIMITS[key]} characters", field=field)
        if value and key == "mail" and not _MAIL.match(value):
            raise InvalidParameter("is not an e-mail address", field=field)
        if value and key in ("mobile_phone", "phone") and not _PHONE.match(value):
            raise InvalidParameter("may hold only digits, spaces, +, -, ( and )", field=field)
        cleaned[key] = value
    if not cleaned.get("name"):
        raise InvalidParameter("the card needs the person's name", field="card_text_config.name")
    return {key: cleaned[key] for key in TEXT_LIMITS if cleaned.get(key)}


def _template(value) -> str:
    from synthesis.photo.card import DEFAULT_TEMPLATE

    if value in (None, ""):
        return DEFAULT_TEMPLATE
    if value not in _templates():
        raise InvalidParameter(f"must be one of the card templates {', '.join(_templates())}",
                               field="card_templet_asset_id")
    return value


def _intro_text(account, text, voice_id, text_config: dict) -> tuple[str, str]:
    """(text, voice id) of a TEXT introduction; an empty text becomes a greeting made from the card."""
    from voices import speech

    voice = speech.resolve_voice(account, voice_id, field="voice_asset_id")
    if text is None or not str(text).strip():
        text = default_introduction(text_config, voice.language or "zh")
    if not isinstance(text, str):
        raise InvalidParameter("must be a string", field="introduction_text")
    if len(text) > MAX_INTRO:
        raise InvalidParameter(f"at most {MAX_INTRO} characters; this text has {len(text)}",
                               field="introduction_text")
    try:
        speech.clean_tts_request(account, {"text": text, "voice_asset_id": voice_id}, max_chars=MAX_INTRO)
    except InvalidParameter as error:
        raise InvalidParameter(error.detail, field="introduction_text") from None
    return text, voice_id


def default_introduction(text_config: dict, language: str) -> str:
    name, title, company = (text_config.get(key, "") for key in ("name", "title", "company"))
    if language.startswith("zh"):
        role = f"{company}的{title}" if company and title else (company or title)
        return f"大家好，我是{role}{name}。很高兴认识您！" if role else f"大家好，我是{name}。很高兴认识您！"
    role = f", {title} at {company}" if company and title else (f", {title or ''}{company or ''}" if (title or company)
                                                               else "")
    return f"Hello, I am {name}{role}. Nice to meet you!"


def _image_bytes(value, field: str, max_bytes: int) -> bytes:
    data = photo_actions.decode_image(value, field)
    if len(data) > max_bytes:
        raise InvalidParameter(f"at most {max_bytes // 2**20} MB", field=field)
    return data


def _logo(data: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(ContentFile(data)) as image:
            image.verify()
            readable = image.format in ("PNG", "JPEG", "WEBP")
    except (UnidentifiedImageError, OSError, ValueError):
        readable = False
    if not readable:
        raise InvalidParameter("is not a PNG, JPG or WEBP picture", field="card_image_config.logo_image")
    return default_storage.save(f"avatars/cards/logos/{uuid.uuid4().hex}.{photo_actions.image_suffix(data)}",
                                ContentFile(data))


def _audio_from_asset(account, asset_id) -> tuple[str, Asset]:
    from avatars.actions import store_driving_audio

    field = "introduction_audio_asset_id"
    with photo_actions.audio_asset_copy(account, asset_id, field=field) as local:
        stored, _ = store_driving_audio(account, Path(local), folder="avatars/cards/audio", field=field, mono=True)
    return stored, Asset.objects.get(pk=asset_id)


class _Inputs:
    """Checked inputs of a create or update; stores files only once everything else passed, and removes them
    again when the transaction does not commit."""

    def __init__(self):
        self.stored: list[str] = []

    def keep(self, name: str) -> str:
        self.stored.append(name)
        return name

    def discard(self) -> None:
        for name in self.stored:
            default_storage.delete(name)


def _apply(account, card: BusinessCard, inputs: _Inputs, *, text_config, card_image_config, preset_id, photo_path,
           logo_path, introduction_type, introduction_text, voice_asset_id, introduction_audio_asset_id,
           audio_path, card_templet_asset_id, video_asset_name, gender, qr_code_content, creating: bool) -> None:
    from avatars.actions import store_driving_audio

    if text_config is not None or creating:
        card.text_config = clean_text_config(text_config if text_config is not None else {},
                                             partial_of=None if creating else card.text_config)
    if card_templet_asset_id is not None or creating:
        card.template = _template(card_templet_asset_id)
    if gender is not None:
        if str(gender).upper() not in GENDERS:
            raise InvalidParameter("must be MALE or FEMALE", field="gender")
        card.gender = str(gender).upper()
    if video_asset_name is not None:
        if not isinstance(video_asset_name, str) or len(video_asset_name) > 256:
            raise InvalidParameter("at most 256 characters", field="video_asset_name")
        card.video_asset_name = video_asset_name.strip()
    if qr_code_content is not None:
        if not isinstance(qr_code_content, str) or len(qr_code_content) > MAX_QR:
            raise InvalidParameter(f"at most {MAX_QR} characters", field="qr_code_content")
        card.qr_code_content = qr_code_content.strip()
    images = card_image_config or {}
    if not isinstance(images, dict):
        raise InvalidParameter("must be an object", field="card_image_config")
    _apply_photo(account, card, inputs, images.get("human_image"), photo_path, preset_id, creating)
    if images.get("logo_image") == "" and not logo_path:  # an empty logo removes it
        card.logo.name = ""
    elif images.get("logo_image") or logo_path:
        data = (_image_bytes(images["logo_image"], "card_image_config.logo_image", MAX_LOGO_BYTES)
                if images.get("logo_image") else Path(logo_path).read_bytes())
        card.logo.name = inputs.keep(_logo(data))
    kind = str(introduction_type or card.introduction_type or "TEXT").upper()
    if kind not in BusinessCard.IntroductionType.values:
        raise InvalidParameter("must be TEXT or AUDIO", field="introduction_type")
    card.introduction_type = kind
    if kind == "TEXT":
        text = introduction_text if introduction_text is not None else card.introduction_text
        card.introduction_text, card.voice_asset_id = _intro_text(
            account, text, voice_asset_id if voice_asset_id is not None else card.voice_asset_id, card.text_config)
    elif audio_path is not None:
        name, _ = store_driving_audio(account, Path(audio_path), folder="avatars/cards/audio", field="audio",
                                      mono=True)
        card.introduction_audio.name, card.introduction_audio_asset = inputs.keep(name), None
    elif introduction_audio_asset_id:
        name, card.introduction_audio_asset = _audio_from_asset(account, introduction_audio_asset_id)
        card.introduction_audio.name = inputs.keep(name)
    elif not card.introduction_audio:
        raise InvalidParameter("an AUDIO introduction needs introduction_audio_asset_id (an audio asset)",
                               field="introduction_audio_asset_id")
    spoken = card.introduction_text if card.introduction_type == "TEXT" else ""
    if not account.review_exempt and moderation.findings(*card.text_config.values(), spoken,
                                                         card.qr_code_content, card.video_asset_name):
        raise InvalidParameter("the card text or introduction did not pass machine review",
                               field="card_text_config")


def _apply_photo(account, card, inputs: _Inputs, image_b64, photo_path, preset_id, creating: bool) -> None:
    given = [value for value in (image_b64, photo_path, preset_id) if value]
    if len(given) > 1:
        raise InvalidParameter("give one photo: card_image_config.human_image, an uploaded photo or a preset_id",
                               field="card_image_config.human_image")
    if preset_id:
        card.preset_id, card.photo.name = presets.get_preset(preset_id).preset_id, ""
    elif image_b64 or photo_path:
        data = (photo_actions.decode_image(image_b64, "card_image_config.human_image") if image_b64
                else Path(photo_path).read_bytes())
        photo_actions.check_photo_file(data, field="card_image_config.human_image")
        card.photo.name, card.preset_id = inputs.keep(photo_actions.store_photo(account, data)), ""
    elif creating:
        raise InvalidParameter("the card needs a photo: card_image_config.human_image (base64) or a preset_id",
                               field="card_image_config.human_image")


def _render(actor: Actor, card: BusinessCard) -> None:
    from avatars.card_tasks import CARD_RENDER

    card.engine_job = jobs.submit(actor, card.account, CARD_RENDER.name, {"business_card_id": str(card.pk)},
                                  project=card.project)
    card.save()


def create_business_card(actor: Actor, account, *, text_config=None, card_image_config=None, preset_id=None,
                         photo_path=None, logo_path=None, introduction_type=None, introduction_text=None,
                         voice_asset_id=None, introduction_audio_asset_id=None, audio_path=None,
                         card_templet_asset_id=None, video_asset_name=None, gender=None, qr_code_content=None,
                         business_card_type=None, project=None) -> BusinessCard:
    """A new card, checked in full, with its first render queued."""
    if business_card_type not in (None, "", CARD_TYPE):
        raise InvalidParameter(f"must be {CARD_TYPE}", field="business_card_type")
    card = BusinessCard(account=account, project=project, created_by=actor.user,
                        share_token=secrets.token_urlsafe(32))
    inputs = _Inputs()
    try:
        _apply(account, card, inputs, text_config=text_config, card_image_config=card_image_config,
               preset_id=preset_id, photo_path=photo_path, logo_path=logo_path, introduction_type=introduction_type,
               introduction_text=introduction_text, voice_asset_id=voice_asset_id,
               introduction_audio_asset_id=introduction_audio_asset_id, audio_path=audio_path,
               card_templet_asset_id=card_templet_asset_id, video_asset_name=video_asset_name, gender=gender,
               qr_code_content=qr_code_content, creating=True)
        with transaction.atomic():
            card.save()
            _render(actor, card)
            record_audit(actor, "business_card.create", card, account=account, detail={"name": card.name})
    except BaseException:
        inputs.discard()
        raise
    return card


def update_business_card(actor: Actor, card: BusinessCard, **changes) -> BusinessCard:
    """Change any part of a card (fields left out keep their values) and render it again."""
    if card.rendering:
        raise StateConflict("the card is being rendered; wait for it to finish", field="job_id")
    old_files = {field: getattr(card, field).name for field in ("photo", "logo", "introduction_audio")}
    inputs = _Inputs()
    fields = ("text_config", "card_image_config", "preset_id", "photo_path", "logo_path", "introduction_type",
              "introduction_text", "voice_asset_id", "introduction_audio_asset_id", "audio_path",
              "card_templet_asset_id", "video_asset_name", "gender", "qr_code_content")
    try:
        _apply(card.account, card, inputs, **{field: changes.get(field) for field in fields}, creating=False)
        with transaction.atomic():
            _render(actor, card)
            record_audit(actor, "business_card.update", card, account=card.account,
                         detail={"changed": sorted(key for key, value in changes.items() if value is not None)})
    except BaseException:
        inputs.discard()
        card.refresh_from_db()
        raise
    for field, name in old_files.items():
        if name and name != getattr(card, field).name:
            transaction.on_commit(lambda name=name: default_storage.delete(name))
    return card


def delete_business_card(actor: Actor, card: BusinessCard) -> None:
    """Delete a card that is not being rendered (a waiting render is canceled). Its video stays in the asset
    library."""
    job = card.engine_job
    if job is not None and job.state == jobs.Job.State.PROCESSING:
        raise StateConflict("the card is being rendered; wait for it to finish", field="job_id")
    with transaction.atomic():
        if job is not None and job.state == jobs.Job.State.WAITING:
            jobs.cancel(actor, job)
        record_audit(actor, "business_card.delete", card, account=card.account, detail={"name": card.name})
        names = [getattr(card, field).name for field in ("photo", "logo", "introduction_audio", "card_image")]
        card.delete()
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names if name])


def photo_of(card: BusinessCard):
    """A readable File of the card's photo (its upload or its preset's picture), or None."""
    return photo_actions.open_photo(card.photo.name, card.preset_id)
