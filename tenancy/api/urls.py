from django.urls import path

from metastudio.api.routes import crud_routes
from tenancy.api import views

urlpatterns = [
    *crud_routes("iam/users", views.IamUserViewSet, "user_id"),
    *crud_routes("iam/groups", views.GroupViewSet, "group_id"),
    *crud_routes("iam/policies", views.PolicyViewSet, "policy_id"),
    *crud_routes("iam/access-keys", views.AccessKeyViewSet, "access_key"),
    path("audit-logs", views.AuditLogViewSet.as_view({"get": "list"})),
    *crud_routes("export-jobs", views.ExportJobViewSet, "job_id",
                 extra={"cancel": {"post": "cancel"}, "file": {"get": "file"}}),
]
