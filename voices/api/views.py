"""Voice production and TTS API at MetaStudio's paths. Views parse input and call actions."""

import tempfile
from pathlib import Path

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from assets.models import Asset
from metastudio import jobs
from metastudio.api.views import ProjectApiView, TenantViewSet, json_body
from metastudio.errors import InvalidParameter, NotFound, StateConflict, is_uuid
from voices import actions, speech
from voices.api import serializers as s
from voices.models import CustomReading, VocabularyGroup, VoiceTrainingJob
from voices.tasks import TTS_ASYNC, TTS_AUDITION

UPLOAD_CHUNK = 1024 * 1024


def _spool(request, limit: int) -> Path:
    """The request body (raw bytes, or the multipart field `file`) in a temporary file, at most `limit` bytes."""
    upload = request.FILES.get("file") if request.content_type.startswith("multipart/") else None
    handle = tempfile.NamedTemporaryFile(prefix="voice-upload-", suffix=".bin", delete=False)
    size = 0
    with handle:
        source = upload.chunks(UPLOAD_CHUNK) if upload else iter(lambda: request.read(UPLOAD_CHUNK), b"")
        for chunk in source:
            size += len(chunk)
            if size > limit:
                Path(handle.name).unlink(missing_ok=True)
                raise InvalidParameter(f"at most {limit} bytes", field="file")
            handle.write(chunk)
    if size == 0:
        Path(handle.name).unlink(missing_ok=True)
        raise InvalidParameter("the body is empty: send the file", field="file")
    return Path(handle.name)


def _filename(request, default: str) -> str:
    upload = request.FILES.get("file") if request.content_type.startswith("multipart/") else None
    return upload.name if upload else request.query_params.get("file_name", default)


class VoiceTrainingJobViewSet(TenantViewSet):
    model = VoiceTrainingJob
    list_key = "jobs"
    lookup_url_kwarg = "training_job_id"
    iam_actions = {
        "create_basic": "metastudio:voice:create", "create_middle": "metastudio:voice:create",
        "create_advance": "metastudio:voice:create", "list": "metastudio:voice:show",
        "retrieve": "metastudio:voice:show",
        "destroy": "metastudio:voice:delete", "commit": "metastudio:voice:submit",
        "op_logs": "metastudio:voice:showLogs", "audit_result": "metastudio:voice:showAudit",
        "upload_address": "metastudio:voice:showUploadAddress", "recording": "metastudio:voice:upload",
        "package": "metastudio:voice:upload", "letter": "metastudio:voice:upload",
        "batch": "metastudio:voice:update", "recordings": "metastudio:voice:showRecordings",
    }
    rate_limits = {
        "create_basic": "voice_training.create_basic", "create_middle": "voice_training.create_middle",
        "create_advance": "voice_training.create_advanced", "list": "voice_training.list",
        "retrieve": "voice_training.show",
        "destroy": "voice_training.delete", "commit": "voice_training.submit",
        "op_logs": "voice_training.operation_log", "audit_result": "voice_training.review_result",
        "upload_address": "voice_training.upload_url", "recording": "voice_training.confirm_recording",
        "package": "voice_training.confirm_recording", "letter": "voice_training.confirm_recording",
        "batch": "voice_training.set_batch", "recordings": "voice_training.recording_result",
    }

    def get_queryset(self):
        return super().get_queryset().select_related("engine_job")

    @extend_schema(request=None)
    def create_basic(self, request, project_id):
        return self._create(request, VoiceTrainingJob.Tier.BASIC)

    @extend_schema(request=None)
    def create_middle(self, request, project_id):
        return self._create(request, VoiceTrainingJob.Tier.MIDDLE)

    @extend_schema(request=None)
    def create_advance(self, request, project_id):
        return self._create(request, VoiceTrainingJob.Tier.ADVANCE)

    def _create(self, request, tier: str):
        body = json_body(request)
        job = actions.create_training_job(
            self.actor(), self.account, tier=tier, voice_name=body.get("voice_name"),
            sex=str(body.get("sex", "FEMALE")).upper(), language=str(body.get("language", "zh")).lower(),
            description=body.get("description", ""), project=self.project)
        data = s.training_job_json(job, detail=True)
        data["training_prompts"] = job.prompts
        return Response(data, status=201)

    def list(self, request, project_id):
        found = self.get_queryset()
        state = request.query_params.get("state")
        if state:
            found = found.filter(state__in=state.split(","))
        tier = request.query_params.get("tag")
        if tier:
            found = found.filter(tier=tier.upper())
        name = request.query_params.get("voice_name")
        if name:
            found = found.filter(voice_name__icontains=name)
        page = self.paginate_queryset(found)
        return self.get_paginated_response([s.training_job_json(job) for job in page])

    def retrieve(self, request, project_id, training_job_id):
        job = self.get_object()
        data = s.training_job_json(job, detail=True)
        data["missing"] = actions.missing_material(job) if job.state in VoiceTrainingJob.EDITABLE_STATES else []
        return Response(data)

    def destroy(self, request, project_id, training_job_id):
        actions.delete_job(self.actor(), self.get_object())
        return Response(status=204)

    @extend_schema(request=None)
    def commit(self, request, project_id, training_job_id):
        job = actions.submit(self.actor(), self.get_object())
        return Response(s.training_job_json(job))

    def op_logs(self, request, project_id, training_job_id):
        page = self.paginate_queryset(self.get_object().logs.all())
        return Response({"count": self.paginator.count, "operation_logs": [s.op_log_json(entry) for entry in page]})

    def audit_result(self, request, project_id, training_job_id):
        job = self.get_object()
        return Response({"system_audit_result": job.system_audit or None,
                         "admin_audit_result": job.admin_audit or None})

    def upload_address(self, request, project_id, training_job_id):
        job = self.get_object()
        base = f"{self.api_base()}/voice-training-manage/user/jobs/{job.pk}"
        count = job.required_sentences
        return Response({
            "segment_url": {"audio_uploading_url": [f"{base}/recordings/{n}" for n in range(1, count + 1)],
                            "txt_uploading_url": []},
            "package_url": {"training_data_uploading_url": f"{base}/package"},
            "authorization_letter_uploading_url": f"{base}/authorization-letter",
        })

    @extend_schema(request=None)
    def recording(self, request, project_id, training_job_id, index):
        from django.conf import settings

        job = self.get_object()
        path = _spool(request, settings.VOICE_RECORDING_MAX_BYTES)
        try:
            recording = actions.upload_recording(self.actor(), job, index, path)
        finally:
            path.unlink(missing_ok=True)
        return Response(s.recording_json(recording))

    def recordings(self, request, project_id, training_job_id):
        job = self.get_object()
        return Response({"recordings": [s.recording_json(r) for r in job.recordings.all()],
                         "missing": actions.missing_material(job)})

    @extend_schema(request=None)
    def package(self, request, project_id, training_job_id):
        from django.conf import settings

        job = self.get_object()
        path = _spool(request, settings.VOICE_PACKAGE_MAX_BYTES)
        try:
            with tempfile.TemporaryDirectory(prefix="voice-package-") as folder:
                job = actions.upload_package(self.actor(), job, path, _filename(request, "package.zip"), Path(folder))
        finally:
            path.unlink(missing_ok=True)
        return Response(s.training_job_json(job, detail=True))

    @extend_schema(request=None)
    def letter(self, request, project_id, training_job_id):
        job = self.get_object()
        path = _spool(request, actions.LETTER_MAX_BYTES)
        try:
            job = actions.upload_authorization_letter(self.actor(), job, path.read_bytes(),
                                                      _filename(request, "letter.pdf"))
        finally:
            path.unlink(missing_ok=True)
        return Response(s.training_job_json(job))

    @extend_schema(request=None)
    def batch(self, request, project_id, training_job_id):
        job = actions.set_batch(self.actor(), self.get_object(), json_body(request).get("batch_name", ""))
        return Response(s.training_job_json(job))


class TtsJobViewSet(TenantViewSet):
    """Asynchronous TTS jobs (`ttsc/async-jobs`) and auditions (`ttsc/audition`)."""

    model = jobs.Job
    lookup_url_kwarg = "tts_job_id"
    kind = TTS_ASYNC
    path = "ttsc/async-jobs"
    max_chars = None
    iam_actions = {"create": "metastudio:tts:create", "retrieve": "metastudio:tts:show",
                   "audio": "metastudio:tts:showAudio"}
    rate_limits = {"create": "tts.async_create", "retrieve": "tts.async_show", "audio": "tts.async_show"}

    def scoped_queryset(self):
        return jobs.Job.objects.filter(account=self.account, kind=self.kind.name)

    @extend_schema(request=None)
    def create(self, request, project_id):
        params = speech.clean_tts_request(self.account, json_body(request), max_chars=self.max_chars)
        job = jobs.submit(self.actor(), self.account, self.kind.name, params, project=self.project)
        return Response({"job_id": str(job.pk)}, status=201)

    def retrieve(self, request, project_id, **ids):
        return Response(s.tts_job_json(self.get_object(), self.api_base(), self.path))

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def audio(self, request, project_id, **ids):
        job = self.get_object()
        if job.state != jobs.Job.State.SUCCEED or not job.result_file:
            raise StateConflict(f"the audio is not ready (state {job.state})", field="job_id")
        return jobs.result_file_response(job)


class AuditionViewSet(TtsJobViewSet):
    lookup_url_kwarg = "audition_job_id"
    kind = TTS_AUDITION
    path = "ttsc/audition"
    rate_limits = {"create": "tts.audition_create", "retrieve": "tts.audition_file", "audio": "tts.audition_file"}
    max_chars = speech.AUDITION_MAX_CHARS


class PhoneticSymbolView(ProjectApiView):
    iam_actions = {"get": "metastudio:tts:showPhoneticSymbol"}
    rate_limits = {"get": "tts.phonetic_symbol"}

    def get(self, request, project_id):
        from synthesis.speech import synth
        from synthesis.speech.types import SpeechError

        text = request.query_params.get("text") or request.query_params.get("word") or ""
        try:
            symbols = synth.phonetic_symbols(text, lang="en")
        except SpeechError as error:
            raise InvalidParameter(error.message, field="text") from None
        return Response({"text": text, **symbols})


class VoiceCatalogView(ProjectApiView):
    """Voices usable for TTS: the preset catalog and the tenant's trained voice models."""

    iam_actions = {"get": "metastudio:tts:showVoices"}
    rate_limits = {"get": None}

    def get(self, request, project_id):
        voices = [s.voice_json(info) for info in speech.preset_voices()]
        mine = Asset.objects.filter(account=self.account, type=Asset.Type.VOICE_MODEL,
                                    state__in=(Asset.State.ACTIVED, Asset.State.BLOCK, Asset.State.UNACTIVED))
        for asset in mine:
            info = asset.media_info or {}
            voices.append({"voice_id": str(asset.pk), "name": asset.name, "engine": "clone",
                           "language": info.get("language", ""), "languages": ["zh", "en"],
                           "sex": info.get("sex", ""), "description": asset.description,
                           "tier": info.get("voice_tier", ""), "state": asset.state})
        return Response({"count": len(voices), "voices": voices})


class ReadingViewSet(TenantViewSet):
    model = CustomReading
    list_key = "vocabulary_configs"
    lookup_url_kwarg = "reading_id"
    iam_actions = {"create": "metastudio:tts:createReading", "list": "metastudio:tts:showReadings",
                   "partial_update": "metastudio:tts:updateReading", "destroy": "metastudio:tts:deleteReading"}
    rate_limits = {"create": "tts_reading.create", "list": "tts_reading.list", "partial_update": "tts_reading.update",
                   "destroy": "tts_reading.delete"}

    def _group(self, value):
        if value in (None, ""):
            return None
        group = VocabularyGroup.objects.filter(account=self.account, pk=value).first() if is_uuid(value) else None
        if group is None:
            raise NotFound(f"group {value} does not exist", field="group_id")
        return group

    @extend_schema(request=None)
    def create(self, request, project_id):
        body = json_body(request)
        reading = actions.set_reading(self.actor(), self.account, source=body.get("source_text"),
                                      target=body.get("target_text"), group=self._group(body.get("group_id")))
        return Response(s.reading_json(reading), status=201)

    def list(self, request, project_id):
        found = self.get_queryset()
        group = request.query_params.get("group_id")
        if group:
            found = found.filter(group=self._group(group))
        search = request.query_params.get("source_text")
        if search:
            found = found.filter(Q(source__icontains=search) | Q(target__icontains=search))
        page = self.paginate_queryset(found)
        return self.get_paginated_response([s.reading_json(reading) for reading in page])

    @extend_schema(request=None)
    def partial_update(self, request, project_id, reading_id):
        body = json_body(request)
        reading = actions.update_reading(self.actor(), self.get_object(), source=body.get("source_text"),
                                         target=body.get("target_text"))
        return Response(s.reading_json(reading))

    def destroy(self, request, project_id, reading_id):
        actions.delete_reading(self.actor(), self.get_object())
        return Response(status=204)


class VocabularyGroupViewSet(TenantViewSet):
    model = VocabularyGroup
    list_key = "groups"
    lookup_url_kwarg = "vocab_group_id"
    iam_actions = {"create": "metastudio:tts:createGroup", "list": "metastudio:tts:showGroups",
                   "partial_update": "metastudio:tts:updateGroup", "destroy": "metastudio:tts:deleteGroup",
                   "assets": "metastudio:tts:updateGroup"}
    rate_limits = {"create": "tts_vocabulary_group.create", "list": "tts_vocabulary_group.list",
                   "partial_update": "tts_vocabulary_group.rename", "destroy": "tts_vocabulary_group.delete",
                   "assets": "tts_vocabulary_group.set_assets"}

    @extend_schema(request=None)
    def create(self, request, project_id):
        group = actions.create_group(self.actor(), self.account, json_body(request).get("group_name"))
        return Response(s.group_json(group), status=201)

    def list(self, request, project_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([s.group_json(group) for group in page])

    @extend_schema(request=None)
    def partial_update(self, request, project_id, vocab_group_id):
        group = actions.rename_group(self.actor(), self.get_object(), json_body(request).get("group_name"))
        return Response(s.group_json(group))

    def destroy(self, request, project_id, vocab_group_id):
        actions.delete_group(self.actor(), self.get_object())
        return Response(status=204)

    @extend_schema(request=None)
    def assets(self, request, project_id, vocab_group_id):
        group = actions.set_group_voices(self.actor(), self.get_object(), json_body(request).get("asset_ids"))
        return Response(s.group_json(group))
