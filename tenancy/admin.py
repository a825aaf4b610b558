"""Back office: accounts and IAM for platform staff; the audit log for auditors (read-only, exportable)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from metastudio import jobs
from metastudio.errors import ServiceError
from tenancy.audit import Actor
from tenancy.exports import AUDIT_EXPORT
from tenancy.models import AccessKey, Account, AuditLog, Policy, Project, User, UserGroup


class ProjectInline(admin.TabularInline):
    model = Project
    extra = 0
    readonly_fields = ("project_id", "created_at")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "is_enterprise", "sp", "created_at")
    list_filter = ("type", "is_enterprise")
    search_fields = ("name",)
    inlines = [ProjectInline]
    readonly_fields = ("iam_version",)


@admin.register(User)
class TenantUserAdmin(UserAdmin):
    list_display = ("username", "email", "account", "is_staff", "is_active")
    list_filter = ("is_staff", "is_active", "groups")
    fieldsets = UserAdmin.fieldsets + (("Tenant", {"fields": ("account", "description")}),)


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "account")
    list_filter = ("type",)


@admin.register(UserGroup)
class UserGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "account")
    filter_horizontal = ("members", "policies")


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    list_display = ("access_key_id", "user", "is_active", "created_at", "last_used_at")
    exclude = ("secret_encrypted",)
    readonly_fields = ("access_key_id", "user", "created_at", "last_used_at")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "account", "actor_name", "action", "target_type", "target_id", "source_ip", "via")
    list_filter = ("via", "action", "account")
    search_fields = ("actor_name", "action", "target_id", "request_id")
    date_hierarchy = "created_at"
    actions = ["export_csv", "export_xlsx"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in AuditLog._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _export(self, request, fmt: str) -> None:
        if not request.user.has_perm("tenancy.export_auditlog"):
            self.message_user(request, "You may not export the audit log.", messages.ERROR)
            return
        actor = Actor.from_request(request, via="admin")
        try:
            job = jobs.submit(actor, None, AUDIT_EXPORT.name, {"format": fmt})
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, f"Export job {job.pk} started; download it under Platform > Jobs.")

    @admin.action(description="Export the whole audit log as CSV")
    def export_csv(self, request, queryset):
        self._export(request, "CSV")

    @admin.action(description="Export the whole audit log as XLSX")
    def export_xlsx(self, request, queryset):
        self._export(request, "XLSX")
