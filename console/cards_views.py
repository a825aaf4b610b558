"""The console's business cards. The public card page: anyone with its link (an unguessable token) sees the card
image and plays the card video, without an account, as a shared e-business card is meant to be seen."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from assets.models import Asset, AssetFile
from assets.serving import ranged_response
from avatars.models import BusinessCard

HIDDEN_STATES = (Asset.State.DELETED, Asset.State.WAITING_DELETE, Asset.State.BLOCK)


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
