"""Video production API at MetaStudio's paths: scripts (`/digital-human-video-scripts` CRUD + copy), render jobs
(`/2d-digital-human-videos` create, show, cancel while waiting), the tenant's video jobs of both kinds
(`/digital-human-videos`), subtitle files (`/subtitle-files`) and, as our extension, PPT imports
(`/video-ppt-imports`: a PPT/PPTX/PDF asset as one scene per page). Views parse input and call the actions in
videos.scripts, videos.video_jobs, videos.subtitle_files and videos.ppt_import."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from metastudio import jobs
from metastudio.api.views import TenantViewSet, json_body, query_time
from metastudio.errors import InvalidParameter, NotFound, StateConflict, is_uuid
from metastudio.jobs import Job
from videos import ppt_import, scripts, subtitle_files, video_jobs
from videos.api import video_serializers as s
from videos.api.views import _KindViewSet
from videos.callbacks import JOB_TYPES
from videos.models import VideoScript

RENDER = "videos.render"
PHOTO_VIDEO = "videos.photo_video"
LISTED_KINDS = {JOB_TYPES[RENDER]: RENDER, JOB_TYPES[PHOTO_VIDEO]: PHOTO_VIDEO}
SORT_DIRS = ("asc", "desc")


def _sort(found, params):
    sort_key = params.get("sort_key") or "create_time"
    if sort_key != "create_time":
        raise InvalidParameter("must be create_time", field="sort_key")
    sort_dir = (params.get("sort_dir") or "desc").lower()
    if sort_dir not in SORT_DIRS:
        raise InvalidParameter("must be asc or desc", field="sort_dir")
    return found.order_by("created_at" if sort_dir == "asc" else "-created_at")


def _created(found, params):
    if params.get("create_since"):
        found = found.filter(created_at__gte=query_time(params["create_since"], "create_since"))
    if params.get("create_until"):
        found = found.filter(created_at__lte=query_time(params["create_until"], "create_until"))
    return found


class VideoScriptViewSet(TenantViewSet):
    model = VideoScript
    list_key = "video_scripts"
    lookup_url_kwarg = "script_id"
    iam_actions = {"create": "metastudio:video:create", "list": "metastudio:video:show",
                   "retrieve": "metastudio:video:show", "update": "metastudio:video:update",
                   "destroy": "metastudio:video:delete", "copy": "metastudio:video:copy"}
    rate_limits = {"create": "video_script.create", "list": "video_script.list", "retrieve": "video_script.show",
                   "update": "video_script.update", "destroy": "video_script.delete", "copy": "video_script.copy"}

    def get_object(self):
        try:
            return super().get_object()
        except NotFound:
            raise NotFound(f"script {self.kwargs['script_id']} does not exist", field="script_id") from None

    @extend_schema(request=None)
    def create(self, request, project_id):
        script = scripts.create_script(self.actor(), self.account, json_body(request), project=self.project)
        return Response({"script_id": str(script.pk)}, status=201)

    @extend_schema(operation_id="ListVideoScripts")
    def list(self, request, project_id):
        params, found = request.query_params, self.get_queryset()
        if params.get("script_name"):
            found = found.filter(name__icontains=params["script_name"])
        page = self.paginate_queryset(_sort(_created(found, params), params))
        return self.get_paginated_response([s.script_base_json(script) for script in page])

    def retrieve(self, request, project_id, script_id):
        return Response(s.script_json(self.get_object()))

    @extend_schema(request=None)
    def update(self, request, project_id, script_id):
        script = scripts.update_script(self.actor(), self.get_object(), json_body(request))
        return Response(s.script_json(script))

    def destroy(self, request, project_id, script_id):
        scripts.delete_script(self.actor(), self.get_object())
        return Response(status=204)

    @extend_schema(request=None)
    def copy(self, request, project_id, script_id):
        body = request.data if isinstance(request.data, dict) else {}
        script = scripts.copy_script(self.actor(), self.get_object(), name=body.get("script_name"))
        return Response({"script_id": str(script.pk)}, status=201)


class _VisibleKindViewSet(_KindViewSet):
    """Jobs of one kind inside the history window (older ones answer 404)."""

    def scoped_queryset(self):
        return super().scoped_queryset().in_history()


class RenderJobViewSet(_VisibleKindViewSet):
    kind = RENDER
    lookup_url_kwarg = "video_job_id"
    iam_actions = {"create": "metastudio:video:create", "retrieve": "metastudio:video:show",
                   "cancel": "metastudio:video:cancel"}
    rate_limits = {"create": "video_job.create", "retrieve": "video_job.show", "cancel": "video_job.cancel"}

    @extend_schema(request=None)
    def create(self, request, project_id):
        job = video_jobs.create_video_job(self.actor(), self.account, json_body(request), project=self.project)
        return Response({"job_id": str(job.pk)}, status=201)

    def retrieve(self, request, project_id, video_job_id):
        return Response(s.render_job_json(self.get_object(), self.api_base()))

    @extend_schema(request=None)
    def cancel(self, request, project_id, video_job_id):
        job = jobs.cancel(self.actor(), self.get_object())  # only while WAITING (409)
        return Response(s.render_job_json(job, self.api_base()))


class VideoJobListViewSet(TenantViewSet):
    """ListDigitalHumanVideo: the tenant's render and photo video jobs of the last six months."""

    model = Job
    list_key = "jobs"
    iam_actions = {"list": "metastudio:video:show"}
    rate_limits = {"list": "video_job.list"}

    def scoped_queryset(self):
        return Job.objects.filter(account=self.account, kind__in=LISTED_KINDS.values()).in_history()

    def list(self, request, project_id):
        params, found = request.query_params, self.get_queryset()
        if params.get("state"):
            states = [state.strip().upper() for state in params["state"].split(",") if state.strip()]
            unknown = sorted(set(states) - set(Job.State.values))
            if unknown:
                raise InvalidParameter(f"unknown state {unknown[0]}; states are {', '.join(Job.State.values)}",
                                       field="state")
            found = found.filter(state__in=states)
        if params.get("job_type"):
            if params["job_type"] not in LISTED_KINDS:
                raise InvalidParameter(f"must be {' or '.join(LISTED_KINDS)}", field="job_type")
            found = found.filter(kind=LISTED_KINDS[params["job_type"]])
        if params.get("job_id"):
            found = found.filter(pk=params["job_id"]) if is_uuid(params["job_id"]) else found.none()
        if params.get("script_id"):
            found = found.filter(params__script_id=params["script_id"])
        page = self.paginate_queryset(_sort(_created(found, params), params))
        links = s.asset_links(page, self.api_base())
        return self.get_paginated_response([s.video_job_json(job, self.api_base(), links) for job in page])


class SubtitleFileViewSet(_VisibleKindViewSet):
    kind = subtitle_files.SUBTITLE_FILE.name
    lookup_url_kwarg = "subtitle_job_id"
    iam_actions = {"create": "metastudio:video:create", "retrieve": "metastudio:video:show",
                   "download": "metastudio:video:show"}
    rate_limits = {"create": "subtitle_file.create", "retrieve": "subtitle_file.show",
                   "download": "subtitle_file.show"}

    @extend_schema(request=None)
    def create(self, request, project_id):
        job = subtitle_files.create_subtitle_file(self.actor(), self.account, json_body(request),
                                                  project=self.project)
        return Response({"job_id": str(job.pk)}, status=200)

    def retrieve(self, request, project_id, subtitle_job_id):
        return Response(s.subtitle_file_json(self.get_object(), self.api_base()))

    def download(self, request, project_id, subtitle_job_id):
        job = self.get_object()
        if job.state != Job.State.SUCCEED or not job.result_file:
            raise StateConflict(f"the subtitle file is {job.state}; it can be downloaded once it succeeded",
                                field="job_id")
        extension, content_type = subtitle_files.FORMATS[job.params["format"]]
        with job.result_file.open("rb") as stored:
            response = HttpResponse(stored.read(), content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="subtitles-{job.pk}.{extension}"'
        return response


class PptImportViewSet(_VisibleKindViewSet):
    """Our extension (MetaStudio's console imports PPT pages; its API has no such call): a PPT, PPTX or PDF
    asset becomes one scene per page, the page as the background and the slide notes as the scene's text."""

    kind = ppt_import.PPT_IMPORT.name
    lookup_url_kwarg = "ppt_import_job_id"
    iam_actions = {"create": "metastudio:video:create", "retrieve": "metastudio:video:show"}
    rate_limits = {"create": None, "retrieve": None}

    @extend_schema(request=None)
    def create(self, request, project_id):
        body = json_body(request)
        if body.get("ppt_asset_id") in (None, ""):
            raise InvalidParameter("is required: the id of a PPT asset (a PPT, PPTX or PDF file)",
                                   field="ppt_asset_id")
        job = ppt_import.submit_ppt_import(self.actor(), self.account, body.get("ppt_asset_id"),
                                           project=self.project)
        return Response({"job_id": str(job.pk)}, status=201)

    def retrieve(self, request, project_id, ppt_import_job_id):
        return Response(s.ppt_import_json(self.get_object()))
