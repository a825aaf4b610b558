from django.urls import path

from videos.api import views

detection = views.PhotoDetectionViewSet
video = views.PhotoVideoViewSet

urlpatterns = [
    path("photo-detection", detection.as_view({"post": "create"})),
    path("photo-detection/<str:detection_job_id>", detection.as_view({"get": "retrieve"})),
    path("photo-detection/<str:detection_job_id>/preview", detection.as_view({"get": "preview"})),
    path("photo-digital-human-videos", video.as_view({"post": "create"})),
    path("photo-digital-human-videos/<str:photo_video_job_id>", video.as_view({"get": "retrieve"})),
    path("photo-digital-human-videos/<str:photo_video_job_id>/cancel", video.as_view({"post": "cancel"})),
    path("photo-digital-human-presets", views.PhotoPresetsView.as_view()),
]
