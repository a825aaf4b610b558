"""The business card render (avatars.business_card): the photo is checked with every photo rule, cropped to the
card's video window and made to speak the introduction (synthesis.photo.talking); the talking video is composed
into the card layout (synthesis.photo.card) and stored as a VIDEO asset, and the card image next to it. A retry
after the video was stored reuses it. The card is counted once (BUSINESS_CARD), when its first render succeeds,
in the engine's completing transaction."""

import contextlib
import tempfile
from pathlib import Path

from django.core.files.base import File

from assets.models import Asset
from assets.tasks import local_copy
from avatars.models import BusinessCard
from metastudio.jobs import JobFailure, JobKind, JobRun, register_kind
from videos.tasks import ensure_animatable, local_photo

CARD_RENDER = register_kind(JobKind(name="avatars.business_card", label="Business card", iam_resource="businesscard",
                                    handler="avatars.card_tasks.render_card",
                                    on_succeed="avatars.card_tasks.card_rendered", lease_seconds=600, max_attempts=2))
TALK_MAX_SIDE = 1080


def _card(run: JobRun) -> BusinessCard:
    card = BusinessCard.objects.filter(pk=run.job.params.get("business_card_id")).first()
    if card is None:
        raise JobFailure("the business card no longer exists")
    return card



@contextlib.contextmanager
def _local(field_file):
    with local_copy(field_file.name) as path:
        yield Path(path)


def card_text(card: BusinessCard):
    from synthesis.photo.card import CardText

    text = card.text_config
    return CardText(name=text.get("name", ""), title=text.get("title", ""), company=text.get("company", ""),
                    mobile_phone=text.get("mobile_phone", ""), phone=text.get("phone", ""),
                    mail=text.get("mail", ""), address=text.get("address", ""),
                    others=tuple(text[key] for key in ("other1", "other2", "other3") if text.get(key)))


def render_card(run: JobRun) -> dict:
    import cv2

    from synthesis.photo import card as layout
    from synthesis.photo.talking import render_talking_photo

    card = _card(run)
    stored = Asset.objects.filter(account=card.account, type=Asset.Type.VIDEO,
                                  media_info__business_card_job_id=str(run.job.pk)).first()
    with tempfile.TemporaryDirectory(prefix="card-") as folder, contextlib.ExitStack() as stack:
        work = Path(folder)
        photo = stack.enter_context(local_photo(card.photo.name, card.preset_id))
        logo = stack.enter_context(_local(card.logo)) if card.logo else None
        text = card_text(card)
        qr = card.qr_code_content or None
        tts = _tts(card)
        run.progress(2, "checking the photo")
        report = ensure_animatable(photo)
        run.progress(4, "drawing the card")
        image = layout.render_card_image(text, photo, work / "card.png", template=card.template, logo_path=logo,
                                         qr_text=qr)
        if stored is None:
            cropped = layout.card_photo_crop(cv2.imread(str(photo), cv2.IMREAD_COLOR),
                                             layout.video_box_aspect(card.template))
            cv2.imwrite(str(work / "face.png"), cropped)
            audio, phonemes = _introduction(run, card, tts, work, stack)
            run.progress(12, "animating the photo")
            talk = render_talking_photo(work / "face.png", work / "talk.mp4", audio_path=audio, phonemes=phonemes,
                                        max_side=TALK_MAX_SIDE, progress=run.scaled_progress(12, 80))
            run.progress(80, "composing the card video")
            video = layout.render_card_video(text, talk, work / "card.mp4", template=card.template, logo_path=logo,
                                             qr_text=qr, progress=run.scaled_progress(80, 96))
            run.progress(96, "storing the card")
            stored = _store_video(run, card, Path(video), work)
        _save_card(card, stored, Path(image))
    if tts:
        from voices import speech

        run.meter(speech.tts_resource(tts["voice_tier"]), tts["characters"], "characters")
    return {"business_card_id": str(card.pk), "asset_id": str(stored.pk), "asset_name": stored.name,
            "duration": (stored.media_info or {}).get("duration_s"), "photo_warnings": report.warnings}


def _tts(card: BusinessCard) -> dict | None:
    """The checked TTS request of a TEXT introduction (None for AUDIO)."""
    if card.introduction_type != BusinessCard.IntroductionType.TEXT:
        return None
    from metastudio.errors import ServiceError
    from voices import speech

    try:
        return speech.clean_tts_request(card.account, {"text": card.introduction_text,
                                                       "voice_asset_id": card.voice_asset_id, "sample_rate": 24000})
    except ServiceError as error:  # the voice was deleted or frozen since the card was saved
        raise JobFailure(f"the introduction cannot be spoken: {error.message}") from None


def _introduction(run: JobRun, card: BusinessCard, tts: dict | None, work: Path, stack) -> tuple[Path, list | None]:
    """The introduction as a local WAV/MP3 and its timed phonemes (text) or None (audio)."""
    if tts is None:
        if not card.introduction_audio:
            raise JobFailure("the card has no introduction audio")
        return stack.enter_context(_local(card.introduction_audio)), None
    from avatars.tasks import speak_text

    run.progress(6, "speaking the introduction")
    return speak_text(card.account, tts, work / "intro.wav")


def _store_video(run: JobRun, card: BusinessCard, video: Path, work: Path) -> Asset:
    from avatars.tasks import store_platform_video

    name = card.video_asset_name or f"{card.name} business card"
    return store_platform_video(run.job, video, work, name=name,
                                media_info={"business_card_id": str(card.pk),
                                            "business_card_job_id": str(run.job.pk)})


def _save_card(card: BusinessCard, video: Asset, image: Path) -> None:
    old = card.card_image.name
    with image.open("rb") as handle:
        card.card_image.save(f"avatars/cards/{card.pk}/card.png", File(handle), save=False)
    BusinessCard.objects.filter(pk=card.pk).update(card_image=card.card_image.name, video_asset=video)
    if old and old != card.card_image.name:
        card.card_image.storage.delete(old)


def card_rendered(engine_job) -> None:
    """on_succeed: the card is counted once, at its first successful render."""
    from billing.metering import record_usage

    card = BusinessCard.objects.filter(pk=(engine_job.params or {}).get("business_card_id")).first()
    if card is not None:
        record_usage(card.account, "BUSINESS_CARD", 1, "card", source_job=engine_job,
                     source_key=f"business_card:{card.pk}")
