from django.urls import path

from assets.api import views
from metastudio.api.routes import crud_routes

assets = views.AssetViewSet
files = views.FileViewSet

urlpatterns = [
    path("digital-assets/batch-action", assets.as_view({"post": "batch"})),
    path("digital-assets/summarys", assets.as_view({"post": "summary", "get": "summary"})),
    path("digital-assets/replication", assets.as_view({"post": "replicate"})),
    *crud_routes("digital-assets", assets, "asset_id",
                 extra={"restore": {"post": "restore"}, "replication-info": {"get": "replication_info"}}),
    path("files", files.as_view({"post": "create"})),
    path("files/<str:file_id>", files.as_view({"delete": "destroy"})),
    path("files/<str:file_id>/complete", files.as_view({"post": "complete"})),
    path("files/<str:file_id>/download", files.as_view({"get": "download"})),
]
