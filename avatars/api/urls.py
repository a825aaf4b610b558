from django.urls import path

from avatars.api import card_views, views

training = views.AvatarTrainingJobViewSet
JOBS = "digital-human-training-manage/user/jobs"

urlpatterns = [
    path(JOBS, training.as_view({"post": "create", "get": "list"})),
    path(f"{JOBS}/<str:avatar_job_id>", training.as_view({"get": "retrieve", "put": "partial_update",
                                                          "delete": "destroy"})),
    path(f"{JOBS}/<str:avatar_job_id>/command", training.as_view({"post": "command"})),
]

cards = card_views.BusinessCardViewSet
CARDS = "digital-human-business-cards"
urlpatterns += [
    path(CARDS, cards.as_view({"post": "create", "get": "list"})),
    path(f"{CARDS}/<str:business_card_id>", cards.as_view({"get": "retrieve", "put": "update", "delete": "destroy"})),
    path(f"{CARDS}/<str:business_card_id>/files/<str:kind>", cards.as_view({"get": "file"})),
]
