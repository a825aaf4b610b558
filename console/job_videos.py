"""What the console's video pages share about the jobs that make videos (photo videos, script renders): the
tenant's job of a kind, the VIDEO asset a successful job stored, and that video served seekable or as a
download."""

from django.http import Http404
from django.utils.http import content_disposition_header

from assets.models import Asset, AssetFile
from console.avatars_views import HIDDEN_STATES, _media_response, _stored_file
from metastudio.errors import is_uuid
from metastudio.jobs import Job

VIDEO_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime"}


def account_job(request, kind: str, job_id) -> Job:
    job = Job.objects.filter(account=request.user.account, kind=kind, pk=job_id).first()
    if job is None:
        raise Http404
    return job


def job_video(job: Job) -> Asset | None:
    """The VIDEO asset a successful job stored, unless it was deleted or frozen since."""
    if job.state != Job.State.SUCCEED:
        return None
    asset_id = (job.result or {}).get("asset_id")
    if not is_uuid(asset_id):
        return None
    return (Asset.objects.filter(account=job.account, type=Asset.Type.VIDEO, pk=asset_id)
            .exclude(state__in=HIDDEN_STATES).first())


def job_video_response(request, job: Job, default_name: str):
    """The job's video inline (seekable); ?download=1 as an attachment named after the asset."""
    video = job_video(job)
    stored = _stored_file(video, AssetFile.Category.MAIN) if video is not None else None
    if stored is None:
        raise Http404
    extension = (stored.name.rsplit(".", 1)[-1] if "." in stored.name else "mp4").lower()
    response = _media_response(request, stored.stored, VIDEO_TYPES.get(extension, "video/mp4"))
    if request.GET.get("download"):
        response["Content-Disposition"] = content_disposition_header(
            True, f"{video.name or default_name}.{extension}")
    return response
