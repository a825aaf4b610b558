from django.urls import path

from metastudio.api.routes import crud_routes
from voices.api import views

training = views.VoiceTrainingJobViewSet
JOB = "voice-training-manage/user/jobs/<str:training_job_id>"

urlpatterns = [
    path("voice-training-manage/user/basic-jobs", training.as_view({"post": "create_basic"})),
    path("voice-training-manage/user/middle-jobs", training.as_view({"post": "create_middle"})),
    path("voice-training-manage/user/advance-jobs", training.as_view({"post": "create_advance"})),
    path("voice-training-manage/user/jobs", training.as_view({"get": "list"})),
    path(JOB, training.as_view({"get": "retrieve", "delete": "destroy", "put": "commit"})),
    path(f"{JOB}/commit", training.as_view({"post": "commit"})),
    path(f"{JOB}/op-logs", training.as_view({"get": "op_logs"})),
    path(f"{JOB}/audit-result", training.as_view({"get": "audit_result"})),
    path(f"{JOB}/uploading-address-url", training.as_view({"get": "upload_address"})),
    path(f"{JOB}/recordings", training.as_view({"get": "recordings"})),
    path(f"{JOB}/recordings/<str:index>", training.as_view({"put": "recording"})),
    path(f"{JOB}/package", training.as_view({"put": "package"})),
    path(f"{JOB}/authorization-letter", training.as_view({"put": "letter"})),
    path(f"{JOB}/batch", training.as_view({"put": "batch"})),
    path("ttsc/async-jobs", views.TtsJobViewSet.as_view({"post": "create"})),
    path("ttsc/async-jobs/<str:tts_job_id>", views.TtsJobViewSet.as_view({"get": "retrieve"})),
    path("ttsc/async-jobs/<str:tts_job_id>/audio", views.TtsJobViewSet.as_view({"get": "audio"})),
    path("ttsc/audition", views.AuditionViewSet.as_view({"post": "create"})),
    path("ttsc/audition/<str:audition_job_id>", views.AuditionViewSet.as_view({"get": "retrieve"})),
    path("ttsc/audition/<str:audition_job_id>/audio", views.AuditionViewSet.as_view({"get": "audio"})),
    path("ttsc/phonetic-symbol", views.PhoneticSymbolView.as_view()),
    path("ttsc/voices", views.VoiceCatalogView.as_view()),
    *crud_routes("ttsc/vocabulary-configs", views.ReadingViewSet, "reading_id"),
    *crud_routes("ttsc/vocabulary-groups", views.VocabularyGroupViewSet, "vocab_group_id",
                 extra={"assets": {"put": "assets"}}),
]
