from django.urls import path

from console import assets_views, views

app_name = "console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<uuid:job_id>/cancel", views.cancel_task, name="cancel_task"),
    path("tasks/<uuid:job_id>/download", views.download_task, name="download_task"),
    path("assets/", assets_views.library, name="assets"),
    path("assets/status", assets_views.status, name="asset_status"),
    path("assets/upload", assets_views.upload, name="asset_upload"),
    path("assets/import", assets_views.import_asset, name="asset_import"),
    path("assets/<uuid:asset_id>/", assets_views.detail, name="asset_detail"),
    path("assets/<uuid:asset_id>/files/<uuid:file_id>", assets_views.asset_file, name="asset_file"),
    path("assets/<uuid:asset_id>/files/<uuid:file_id>/complete", assets_views.complete, name="asset_complete"),
    path("iam/users/", views.users, name="users"),
    path("iam/users/<uuid:user_id>/", views.user_detail, name="user_detail"),
    path("iam/groups/", views.groups, name="groups"),
    path("iam/groups/<uuid:group_id>/", views.group_detail, name="group_detail"),
    path("iam/policies/", views.policies, name="policies"),
    path("iam/policies/<uuid:policy_id>/delete", views.delete_policy, name="delete_policy"),
    path("iam/access-keys/", views.access_keys, name="access_keys"),
    path("iam/access-keys/create", views.create_access_key, name="create_access_key"),
    path("iam/access-keys/<str:access_key>/change", views.change_access_key, name="change_access_key"),
    path("iam/audit-log/", views.audit_log, name="audit_log"),
    path("iam/audit-log/export", views.export_audit_log, name="export_audit_log"),
]
