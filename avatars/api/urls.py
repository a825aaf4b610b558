from django.urls import path

from avatars.api import views

training = views.AvatarTrainingJobViewSet
JOBS = "digital-human-training-manage/user/jobs"

urlpatterns = [
    path(JOBS, training.as_view({"post": "create", "get": "list"})),
    path(f"{JOBS}/<str:avatar_job_id>", training.as_view({"get": "retrieve", "put": "partial_update",
                                                          "delete": "destroy"})),
    path(f"{JOBS}/<str:avatar_job_id>/command", training.as_view({"post": "command"})),
]
