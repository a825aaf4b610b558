"""Photo digital human API at MetaStudio's paths: photo detection, photo videos (create, show, cancel while
waiting) and the preset photo avatars. Views parse input and call videos.actions."""

from django.http import FileResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from metastudio import jobs
from metastudio.api.views import ProjectApiView, TenantViewSet, json_body
from metastudio.errors import NotFound, StateConflict
from metastudio.jobs import Job
from videos import actions, presets
from videos.api import serializers as s
from videos.tasks import DETECTION, PHOTO_VIDEO


class _KindViewSet(TenantViewSet):
    """Engine jobs of one kind, of this tenant."""

    model = Job
    kind = ""

    def scoped_queryset(self):
        return Job.objects.filter(account=self.account, kind=self.kind)

    def get_object(self):
        try:
            return super().get_object()
        except NotFound:
            raise NotFound(f"job {self.kwargs[self.lookup_url_kwarg]} does not exist", field="job_id") from None


class PhotoDetectionViewSet(_KindViewSet):
    kind = DETECTION.name
    lookup_url_kwarg = "detection_job_id"
    iam_actions = {"create": "metastudio:photo:create", "retrieve": "metastudio:photo:show",
                   "preview": "metastudio:photo:show"}
    rate_limits = {"create": "photo_detection.create", "retrieve": "photo_detection.show",
                   "preview": "photo_detection.show"}

    @extend_schema(request=None)
    def create(self, request, project_id):
        data = actions.decode_image(json_body(request).get("human_image"))
        job = actions.create_photo_detection(self.actor(), self.account, data, project=self.project)
        return Response({"job_id": str(job.pk)}, status=201)

    def retrieve(self, request, project_id, **ids):
        return Response(s.detection_json(self.get_object(), self.api_base()))

    def preview(self, request, project_id, detection_job_id):
        job = self.get_object()
        if job.state != Job.State.SUCCEED:
            raise StateConflict(f"the detection is {job.state}; its preview exists once it succeeded", field="job_id")
        if not job.result_file:
            raise NotFound("the photo could not be read, so there is no preview", field="job_id")
        return FileResponse(job.result_file.open("rb"), content_type="image/png")


class PhotoVideoViewSet(_KindViewSet):
    kind = PHOTO_VIDEO.name
    lookup_url_kwarg = "photo_video_job_id"
    iam_actions = {"create": "metastudio:photo:create", "retrieve": "metastudio:photo:show",
                   "cancel": "metastudio:photo:cancel"}
    rate_limits = {"create": "photo_video_job.create", "retrieve": "photo_video_job.show",
                   "cancel": "photo_video_job.cancel"}

    @extend_schema(request=None)
    def create(self, request, project_id):
        body = json_body(request)
        output = body.get("output_asset_config") or {}
        job = actions.create_photo_video(
            self.actor(), self.account, human_image=body.get("human_image"), preset_id=body.get("preset_id"),
            shoot_scripts=body.get("shoot_scripts"), voice_config=body.get("voice_config"),
            video_config=body.get("video_config"),
            asset_name=output.get("asset_name") if isinstance(output, dict) else None, project=self.project)
        return Response({"job_id": str(job.pk)}, status=201)

    def retrieve(self, request, project_id, **ids):
        return Response(s.photo_video_json(self.get_object(), self.api_base()))

    @extend_schema(request=None)
    def cancel(self, request, project_id, photo_video_job_id):
        job = jobs.cancel(self.actor(), self.get_object())  # only while WAITING (409)
        return Response(s.photo_video_json(job, self.api_base()))


class PhotoPresetsView(ProjectApiView):
    """The preset photo avatars every tenant can use (extension: `preset_id` of a photo video)."""

    iam_actions = {"get": "metastudio:photo:show"}
    rate_limits = {"get": None}

    def get(self, request, project_id):
        items = [preset.as_dict() for preset in presets.preset_photos()]
        return Response({"count": len(items), "presets": items})
