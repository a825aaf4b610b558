from django.urls import path

from videos.api import video_views, views

detection = views.PhotoDetectionViewSet
video = views.PhotoVideoViewSet
script = video_views.VideoScriptViewSet
render = video_views.RenderJobViewSet
subtitle = video_views.SubtitleFileViewSet
ppt = video_views.PptImportViewSet

urlpatterns = [
    path("photo-detection", detection.as_view({"post": "create"})),
    path("photo-detection/<str:detection_job_id>", detection.as_view({"get": "retrieve"})),
    path("photo-detection/<str:detection_job_id>/preview", detection.as_view({"get": "preview"})),
    path("photo-digital-human-videos", video.as_view({"post": "create"})),
    path("photo-digital-human-videos/<str:photo_video_job_id>", video.as_view({"get": "retrieve"})),
    path("photo-digital-human-videos/<str:photo_video_job_id>/cancel", video.as_view({"post": "cancel"})),
    path("photo-digital-human-presets", views.PhotoPresetsView.as_view()),
    # video production
    path("digital-human-video-scripts", script.as_view({"post": "create", "get": "list"})),
    path("digital-human-video-scripts/<str:script_id>",
         script.as_view({"get": "retrieve", "put": "update", "delete": "destroy"})),
    path("digital-human-video-scripts/<str:script_id>/copy", script.as_view({"post": "copy"})),
    path("2d-digital-human-videos", render.as_view({"post": "create"})),
    path("2d-digital-human-videos/<str:video_job_id>", render.as_view({"get": "retrieve"})),
    path("2d-digital-human-videos/<str:video_job_id>/cancel", render.as_view({"post": "cancel"})),
    path("digital-human-videos", video_views.VideoJobListViewSet.as_view({"get": "list"})),
    path("subtitle-files", subtitle.as_view({"post": "create"})),
    path("subtitle-files/<str:subtitle_job_id>", subtitle.as_view({"get": "retrieve"})),
    path("subtitle-files/<str:subtitle_job_id>/file", subtitle.as_view({"get": "download"})),
    # our extension: a PPT, PPTX or PDF asset as one scene per page
    path("video-ppt-imports", ppt.as_view({"post": "create"})),
    path("video-ppt-imports/<str:ppt_import_job_id>", ppt.as_view({"get": "retrieve"})),
]
