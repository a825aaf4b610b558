"""Avatar training API at MetaStudio's paths (digital-human-training-manage). Views parse input and call actions;
the signed upload URL (outside /v1, no credentials) is served by receive_upload."""


from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from assets.api.views import signed_upload_endpoint
from avatars import actions, uploads
from avatars.api import serializers as s
from avatars.models import AvatarTrainingJob
from metastudio.api.views import TenantViewSet, json_body, query_time
from metastudio.errors import InvalidParameter, is_uuid

SORT_DIRS = ("asc", "desc")


def _or(value, default):
    """An optional field sent as null means its default."""
    return default if value is None else value


def _root(request) -> str:
    return request.build_absolute_uri("/")


class AvatarTrainingJobViewSet(TenantViewSet):
    model = AvatarTrainingJob
    list_key = "jobs"
    lookup_url_kwarg = "avatar_job_id"
    iam_actions = {
        "create": "metastudio:avatar:create", "list": "metastudio:avatar:show", "retrieve": "metastudio:avatar:show",
        "partial_update": "metastudio:avatar:update", "destroy": "metastudio:avatar:delete",
        "command": "metastudio:avatar:command",
    }
    rate_limits = {
        "create": "avatar_training.create", "list": "avatar_training.list", "retrieve": "avatar_training.show",
        "partial_update": "avatar_training.update", "destroy": "avatar_training.delete",
        "command": "avatar_training.command",
    }

    def get_queryset(self):
        return super().get_queryset().select_related("engine_job", "project", "model_asset")

    @extend_schema(request=None)
    def create(self, request, project_id):
        body = json_body(request)
        job = actions.create_training_job(
            self.actor(), self.account, name=body.get("name"), contact=body.get("contact", ""),
            batch_name=body.get("batch_name", ""), tags=body.get("tags"),
            is_background_replacement=_or(body.get("is_background_replacement"), False),
            video_multipart_count=_or(body.get("video_multipart_count"), 1),
            model_version=body.get("model_version") or "V3", action_segments=body.get("action_segments"),
            project=self.project)
        urls = actions.issue_upload_urls(job, _root(request))
        return Response({"job_id": str(job.pk), "state": job.state, **urls}, status=201)

    def list(self, request, project_id):
        params, found = request.query_params, self.get_queryset()
        if params.get("state"):
            found = found.filter(state__in=[state.strip() for state in params["state"].split(",")])
        if params.get("job_id"):
            found = found.filter(pk=params["job_id"]) if is_uuid(params["job_id"]) else found.none()
        if params.get("name"):
            found = found.filter(name__icontains=params["name"])
        if params.get("batch_name"):
            found = found.filter(batch_name=params["batch_name"])
        if params.get("tag"):
            found = found.filter(tags__icontains=f'"{params["tag"]}"')
        if params.get("create_since"):
            found = found.filter(created_at__gte=query_time(params["create_since"], "create_since"))
        if params.get("create_until"):
            found = found.filter(created_at__lte=query_time(params["create_until"], "create_until"))
        sort_key = params.get("sort_key") or "create_time"
        if sort_key != "create_time":
            raise InvalidParameter("must be create_time", field="sort_key")
        sort_dir = (params.get("sort_dir") or "asc").lower()
        if sort_dir not in SORT_DIRS:
            raise InvalidParameter("must be asc or desc", field="sort_dir")
        found = found.order_by("created_at" if sort_dir == "asc" else "-created_at")
        page = self.paginate_queryset(found)
        return self.get_paginated_response([s.job_json(job, self.api_base()) for job in page])

    def retrieve(self, request, project_id, avatar_job_id):
        job = self.get_object()
        actions.collect_arrivals(job)
        return Response(s.job_json(job, self.api_base(), detail=True))

    @extend_schema(request=None)
    def partial_update(self, request, project_id, avatar_job_id):
        body = json_body(request)
        job = actions.update_training_job(
            self.actor(), self.get_object(), name=body.get("name"), contact=body.get("contact"),
            batch_name=body.get("batch_name"), tags=body.get("tags"),
            is_background_replacement=body.get("is_background_replacement"),
            command_message=body.get("command_message"), video_multipart_count=body.get("video_multipart_count"),
            action_segments=body.get("action_segments"))
        urls = actions.issue_upload_urls(job, _root(request))
        return Response({"job_id": str(job.pk), "state": job.state, **urls})

    def destroy(self, request, project_id, avatar_job_id):
        actions.delete_job(self.actor(), self.get_object())
        return Response(status=204)

    @extend_schema(request=None)
    def command(self, request, project_id, avatar_job_id):
        body = json_body(request)
        job = self.get_object()
        result = actions.execute_command(self.actor(), job, body.get("command"),
                                         command_message=body.get("command_message"),
                                         comment_data=body.get("comment_data"))
        return Response({"job_id": str(job.pk), **result})


@csrf_exempt
def receive_upload(request, upload_id):
    """PUT (bytes, optionally Content-Range) or HEAD (how much arrived) on a signed avatar upload URL."""

    def answer(upload) -> JsonResponse:
        response = JsonResponse({"state": upload.state, "received_bytes": upload.received_bytes,
                                 "etag": upload.etag or None}, status=200)
        response["Upload-Offset"] = str(upload.received_bytes)
        if upload.etag:
            response["ETag"] = f'"{upload.etag}"'
        return response

    return signed_upload_endpoint(request, lambda token: uploads.signed_upload(upload_id, token),
                                  uploads.received_size, actions.receive_upload, answer)
