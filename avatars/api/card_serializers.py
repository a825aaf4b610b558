"""JSON shapes of the business card API (MetaStudio's DigitalHumanBusinessCard fields; times in RFC 3339)."""

from avatars.api.serializers import rfc3339
from avatars.cards import CARD_TYPE
from avatars.models import BusinessCard
from metastudio.jobs import Job


def job_info(card: BusinessCard, api_base: str) -> dict:
    job = card.engine_job
    result = (job.result or {}) if job is not None and job.state == Job.State.SUCCEED else {}
    failed = job is not None and job.state in (Job.State.FAILED, Job.State.CANCELED)
    video = card.video_asset_id and str(card.video_asset_id)
    return {
        "job_id": str(card.pk),
        "state": card.state,
        "progress": job.progress if job is not None else 0,
        "stage": job.stage if job is not None else "",
        "business_card_type": CARD_TYPE,
        "name": card.name,
        "start_time": rfc3339(job.started_at) if job is not None else None,
        "end_time": rfc3339(job.finished_at) if job is not None else None,
        "create_time": rfc3339(card.created_at),
        "lastupdate_time": rfc3339(card.updated_at),
        "error_info": {"error_code": job.error_code or "MSS.00000011", "error_msg": job.error_msg} if failed else None,
        "output_asset_config": {
            "asset_id": video, "asset_name": result.get("asset_name") or (card.video_asset.name if video else None),
            "duration": result.get("duration"), "asset_url": f"{api_base}/digital-assets/{video}",
        } if video else None,
    }


def card_json(card: BusinessCard, api_base: str, share_url: str) -> dict:
    files = f"{api_base}/digital-human-business-cards/{card.pk}/files"
    return {
        "job_info": job_info(card, api_base),
        "card_templet_asset_id": card.template,
        "card_text_config": card.text_config,
        "card_image_url": {
            "human_image_url": f"{files}/photo",
            "logo_image_url": f"{files}/logo" if card.logo else None,
            "card_image_url": f"{files}/card-image" if card.card_image else None,
        },
        "preset_id": card.preset_id or None,
        "introduction_type": card.introduction_type,
        "introduction_text": card.introduction_text if card.introduction_type == "TEXT" else None,
        "voice_asset_id": card.voice_asset_id or None,
        "introduction_audio_asset_id": str(card.introduction_audio_asset_id) if card.introduction_audio_asset_id
        else None,
        "video_asset_name": card.video_asset_name or None,
        "gender": card.gender or None,
        "qr_code_content": card.qr_code_content or None,
        "share_url": share_url,
    }
