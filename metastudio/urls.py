from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from assets.api.views import receive_upload
from avatars.api.views import receive_upload as receive_avatar_upload
from metastudio.api.errors import api_not_found
from tenancy.api.views import AuthTokenView

api_v1 = [
    path("", include("tenancy.api.urls")),
    path("", include("assets.api.urls")),
    path("", include("voices.api.urls")),
    path("", include("avatars.api.urls")),
    path("", include("videos.api.urls")),
]

urlpatterns = [
    path("v3/auth/tokens", AuthTokenView.as_view(), name="auth-tokens"),
    path("v1/<str:project_id>/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
         name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema", authentication_classes=[],
                                                     permission_classes=[]), name="api-docs"),
    path("uploads/<str:file_id>", receive_upload, name="asset-upload"),
    path("avatar-uploads/<str:upload_id>", receive_avatar_upload, name="avatar-upload"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("console.urls")),
]

handler404 = api_not_found
