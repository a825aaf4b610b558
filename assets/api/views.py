
from django.db.models import Count, Q
from django.http import FileResponse, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from assets import actions, quota
from assets.api.serializers import asset_json, file_json
from assets.models import Asset, AssetFile
from metastudio.api.views import TenantViewSet, json_body, query_time
from metastudio.errors import InvalidParameter, NotFound, ServiceError, StateConflict, is_uuid

SORT_KEYS = {"create_time": "created_at", "update_time": "updated_at", "asset_name": "name"}
BATCH_ACTIONS = ("DELETE", "FORCE_DELETE", "RESTORE", "ACTIVATE", "DEACTIVATE")
MAX_BATCH = 100


def _listed(params, field: str, allowed) -> list[str]:
    values = [value.strip() for value in params.get(field, "").split(",") if value.strip()]
    for value in values:
        if value not in allowed:
            raise InvalidParameter(f"{value!r} is not one of {', '.join(allowed)}", field=field)
    return values


def filter_assets(assets, params):
    """The list filters of the API and the console: type, state, tag, name, time range, system property."""
    types = _listed(params, "asset_type", Asset.Type.values)
    if types:
        assets = assets.filter(type__in=types)
    states = _listed(params, "asset_state", Asset.State.values)
    assets = assets.filter(state__in=states) if states else assets.exclude(state=Asset.State.DELETED)
    if params.get("name"):
        assets = assets.filter(Q(name__icontains=params["name"]) | Q(pk__iexact=params["name"].strip())
                               if is_uuid(params["name"]) else Q(name__icontains=params["name"]))
    if params.get("tag"):
        assets = assets.filter(tags__icontains=f'"{params["tag"]}"')
    if params.get("start_time"):
        assets = assets.filter(created_at__gte=query_time(params["start_time"], "start_time"))
    if params.get("end_time"):
        assets = assets.filter(created_at__lte=query_time(params["end_time"], "end_time"))
    if params.get("system_property"):
        key = params["system_property"].split(":", 1)[0]
        if key not in Asset.SYSTEM_PROPERTIES:
            raise InvalidParameter(f"must be one of {', '.join(Asset.SYSTEM_PROPERTIES)}", field="system_property")
        assets = assets.filter(system_properties__icontains=f'"{key}"')
    sort_key = params.get("sort_key", "create_time")
    if sort_key not in SORT_KEYS:
        raise InvalidParameter(f"must be one of {', '.join(SORT_KEYS)}", field="sort_key")
    sort_dir = params.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise InvalidParameter('must be "asc" or "desc"', field="sort_dir")
    order = SORT_KEYS[sort_key]
    return assets.order_by(order if sort_dir == "asc" else f"-{order}", "-pk")


class AssetViewSet(TenantViewSet):
    model = Asset
    list_key = "assets"
    lookup_url_kwarg = "asset_id"
    iam_actions = {
        "list": "metastudio:asset:show", "retrieve": "metastudio:asset:show", "create": "metastudio:asset:create",
        "partial_update": "metastudio:asset:update", "destroy": "metastudio:asset:delete",
        "restore": "metastudio:asset:restore", "batch": "metastudio:asset:batch", "summary": "metastudio:asset:show",
        "replication_info": "metastudio:asset:share", "replicate": "metastudio:asset:copy",
    }
    rate_limits = {
        "list": "asset.list", "retrieve": "asset.show", "create": "asset.create", "partial_update": "asset.update",
        "destroy": "asset.delete", "restore": "asset.restore", "batch": "asset.batch_action",
        "summary": "asset.summary", "replication_info": "asset.replication_info", "replicate": "asset.copy",
    }

    def get_queryset(self):
        return super().get_queryset().prefetch_related("files")

    def list(self, request, project_id):
        page = self.paginate_queryset(filter_assets(self.get_queryset(), request.query_params))
        return self.get_paginated_response([asset_json(asset, self.api_base()) for asset in page])

    def retrieve(self, request, project_id, asset_id):
        return Response(asset_json(self.get_object(), self.api_base()))

    @extend_schema(request=None)
    def create(self, request, project_id):
        body = json_body(request)
        asset = actions.create_asset(
            self.actor(), self.account, name=body.get("asset_name"), asset_type=body.get("asset_type"),
            description=body.get("asset_description", ""), tags=body.get("tags"),
            system_properties=body.get("system_properties"), project=self.project,
        )
        return Response({"asset_id": str(asset.pk), "asset_state": asset.state}, status=201)

    @extend_schema(request=None)
    def partial_update(self, request, project_id, asset_id):
        body = json_body(request)
        asset = actions.update_asset(self.actor(), self.get_object(), name=body.get("asset_name"),
                                     description=body.get("asset_description"), tags=body.get("tags"),
                                     system_properties=body.get("system_properties"))
        return Response(asset_json(asset, self.api_base()))

    def destroy(self, request, project_id, asset_id):
        mode = request.query_params.get("mode", "")
        if mode not in ("", "force"):
            raise InvalidParameter('must be empty (recycle bin) or "force" (permanent)', field="mode")
        actions.delete_asset(self.actor(), self.get_object(), force=mode == "force")
        return Response(status=204)

    @extend_schema(request=None)
    def restore(self, request, project_id, asset_id):
        return Response(asset_json(actions.restore_asset(self.actor(), self.get_object()), self.api_base()))

    @extend_schema(request=None)
    def batch(self, request, project_id):
        body = json_body(request)
        action, ids = body.get("action"), body.get("asset_ids")
        if action not in BATCH_ACTIONS:
            raise InvalidParameter(f"must be one of {', '.join(BATCH_ACTIONS)}", field="action")
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_BATCH:
            raise InvalidParameter(f"must be a list of 1 to {MAX_BATCH} asset ids", field="asset_ids")
        results = [self._batch_one(action, str(asset_id)) for asset_id in ids]
        return Response({"results": results})

    def _batch_one(self, action: str, asset_id: str) -> dict:
        asset = self.get_queryset().filter(pk=asset_id).first() if is_uuid(asset_id) else None
        try:
            if asset is None:
                raise NotFound(f"asset {asset_id} does not exist")
            {
                "DELETE": lambda: actions.delete_asset(self.actor(), asset),
                "FORCE_DELETE": lambda: actions.delete_asset(self.actor(), asset, force=True),
                "RESTORE": lambda: actions.restore_asset(self.actor(), asset),
                "ACTIVATE": lambda: actions.set_active(self.actor(), asset, True),
                "DEACTIVATE": lambda: actions.set_active(self.actor(), asset, False),
            }[action]()
        except ServiceError as error:
            return {"asset_id": asset_id, "result": "FAILED", "error_code": error.code, "error_msg": error.message}
        return {"asset_id": asset_id, "result": "SUCCESS"}

    @extend_schema(request=None)
    def summary(self, request, project_id):
        rows = Asset.objects.filter(account=self.account).values("type", "state").annotate(n=Count("id"))
        counts: dict = {}
        for row in rows:
            counts.setdefault(row["type"], {})[row["state"]] = row["n"]
        summaries = [{"asset_type": kind, "total": sum(states.values()), "states": states}
                     for kind, states in sorted(counts.items())]
        return Response({"asset_summarys": summaries, "storage": quota.usage(self.account)})

    def replication_info(self, request, project_id, asset_id):
        info = actions.replication_info(self.actor(), self.get_object())
        return Response({"replication_info": info})

    @extend_schema(request=None)
    def replicate(self, request, project_id):
        copy = actions.replicate(self.actor(), self.account, json_body(request).get("replication_info"),
                                 project=self.project)
        return Response({"asset_id": str(copy.pk)}, status=201)


class FileViewSet(TenantViewSet):
    model = AssetFile
    lookup_url_kwarg = "file_id"
    iam_actions = {"create": "metastudio:file:create", "destroy": "metastudio:file:delete",
                   "complete": "metastudio:file:complete", "download": "metastudio:asset:show"}
    rate_limits = {"create": "file.create", "destroy": "file.delete", "complete": "file.complete", "download": None}

    @extend_schema(request=None)
    def create(self, request, project_id):
        body = json_body(request)
        size = body.get("file_size")
        file, url = actions.create_file(
            self.actor(), self.account, asset_id=body.get("asset_id") if is_uuid(body.get("asset_id")) else None,
            file_name=body.get("file_name"), file_size=size if isinstance(size, int) else -1,
            file_md5=body.get("file_md5", ""), file_type=body.get("file_type", ""),
            category=body.get("asset_file_category", "MAIN"), base_url=request.build_absolute_uri("/"),
        )
        return Response({"file_id": str(file.pk), "upload_url": url}, status=201)

    def destroy(self, request, project_id, file_id):
        file = self.get_object()
        if file.state == AssetFile.State.CREATED:
            raise StateConflict("an uploaded file is removed with its asset", field="file_id")
        actions.complete_file(self.actor(), file, "CANCELLED")
        return Response(status=204)

    @extend_schema(request=None)
    def complete(self, request, project_id, file_id):
        state = json_body(request).get("state", "CREATED") if request.data else "CREATED"
        file = actions.complete_file(self.actor(), self.get_object(), state)
        if file.state == AssetFile.State.FAILED:
            raise InvalidParameter(file.reason, field="file", code="MSS.00000016")
        return Response(file_json(file, self.api_base()))

    def download(self, request, project_id, file_id):
        file = self.get_object()
        if file.state != AssetFile.State.CREATED or not file.stored:
            raise StateConflict(f"the file is {file.state}", field="file_id")
        actions.ensure_exportable(file)
        return FileResponse(file.stored.open("rb"), filename=file.name)


def signed_upload_endpoint(request, find, received_size, receive, answer):
    """The signed-upload protocol: HEAD answers how much arrived (`Upload-Offset`, to resume), PUT sends bytes
    (optionally a `Content-Range` piece); errors as MetaStudio JSON. `find(token)` resolves the signed target,
    `receive(target, stream, content_range)` stores the bytes, `answer(result)` makes the PUT's response."""
    try:
        target = find(request.GET.get("token", ""))
        if request.method == "HEAD":
            response = HttpResponse(status=200)
            response["Upload-Offset"] = str(received_size(target))
            return response
        if request.method != "PUT":
            raise ServiceError("use PUT to send the bytes", status=405, code="MSS.00000008")
        result = receive(target, request, request.headers.get("Content-Range"))
    except ServiceError as error:
        return JsonResponse(error.body(), status=error.status)
    return answer(result)


@csrf_exempt
def receive_upload(request, file_id):
    """PUT (bytes, optionally Content-Range) or HEAD (how much arrived) on a signed upload URL."""
    from assets import uploads

    def answer(received: int) -> HttpResponse:
        response = HttpResponse(status=200)
        response["Upload-Offset"] = str(received)
        return response

    return signed_upload_endpoint(request, lambda token: uploads.signed_file(file_id, token), uploads.received_size,
                                  actions.receive_upload, answer)
