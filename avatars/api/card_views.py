"""Business card API at MetaStudio's paths (digital-human-business-cards): CRUD, plus the card's files."""

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from avatars import cards
from avatars.api import card_serializers as s
from avatars.models import BusinessCard
from metastudio.api.views import TenantViewSet, json_body, query_time
from metastudio.errors import InvalidParameter, NotFound

FILES = {"photo": "photo", "logo": "logo", "card-image": "card_image"}
CONTENT_TYPES = {"card_image": "image/png"}


def _changes(body: dict) -> dict:
    return {
        "text_config": body.get("card_text_config"), "card_image_config": body.get("card_image_config"),
        "preset_id": body.get("preset_id"), "introduction_type": body.get("introduction_type"),
        "introduction_text": body.get("introduction_text"), "voice_asset_id": body.get("voice_asset_id"),
        "introduction_audio_asset_id": body.get("introduction_audio_asset_id"),
        "card_templet_asset_id": body.get("card_templet_asset_id"), "video_asset_name": body.get("video_asset_name"),
        "gender": body.get("gender"), "qr_code_content": body.get("qr_code_content"),
    }


class BusinessCardViewSet(TenantViewSet):
    model = BusinessCard
    list_key = "jobs"
    lookup_url_kwarg = "business_card_id"
    iam_actions = {
        "create": "metastudio:businesscard:create", "list": "metastudio:businesscard:show",
        "retrieve": "metastudio:businesscard:show", "update": "metastudio:businesscard:update",
        "destroy": "metastudio:businesscard:delete", "file": "metastudio:businesscard:show",
    }
    rate_limits = {
        "create": "business_card.create", "list": "business_card.list", "retrieve": "business_card.show",
        "update": "business_card.update", "destroy": "business_card.delete", "file": "business_card.show",
    }

    def get_queryset(self):
        return super().get_queryset().select_related("engine_job", "video_asset")

    def get_object(self):
        try:
            return super().get_object()
        except NotFound:
            raise NotFound(f"business card {self.kwargs[self.lookup_url_kwarg]} does not exist",
                           field="job_id") from None

    def _json(self, card: BusinessCard) -> dict:
        share = self.request.build_absolute_uri(reverse("console:card_share", args=[card.share_token]))
        return s.card_json(card, self.api_base(), share)

    @extend_schema(request=None)
    def create(self, request, project_id):
        body = json_body(request)
        card = cards.create_business_card(self.actor(), self.account, **_changes(body),
                                          business_card_type=body.get("business_card_type"), project=self.project)
        return Response({"job_id": str(card.pk)}, status=201)

    def list(self, request, project_id):
        params, found = request.query_params, self.get_queryset()
        if params.get("state"):
            found = found.filter(engine_job__state__in=[state.strip() for state in params["state"].split(",")])
        if params.get("create_since"):
            found = found.filter(created_at__gte=query_time(params["create_since"], "create_since"))
        if params.get("create_until"):
            found = found.filter(created_at__lte=query_time(params["create_until"], "create_until"))
        page = self.paginate_queryset(found.order_by("-created_at"))
        return self.get_paginated_response([s.job_info(card, self.api_base()) for card in page])

    def retrieve(self, request, project_id, business_card_id):
        return Response(self._json(self.get_object()))

    @extend_schema(request=None)
    def update(self, request, project_id, business_card_id):
        card = cards.update_business_card(self.actor(), self.get_object(), **_changes(json_body(request)))
        return Response({"job_id": str(card.pk)})

    def destroy(self, request, project_id, business_card_id):
        cards.delete_business_card(self.actor(), self.get_object())
        return Response(status=204)

    def file(self, request, project_id, business_card_id, kind):
        card = self.get_object()
        if kind not in FILES:
            raise InvalidParameter(f"must be one of {', '.join(FILES)}", field="file")
        opened = cards.photo_of(card) if kind == "photo" else (getattr(card, FILES[kind]) or None)
        if opened is None:
            raise NotFound(f"the card has no {kind}", field="file")
        return FileResponse(opened.open("rb") if kind != "photo" else opened,
                            content_type=CONTENT_TYPES.get(FILES[kind]))
