"""Back office: the review queue (reviewers approve or reject flagged assets) and freeze / unfreeze."""

from django.contrib import admin, messages

from assets import actions
from assets.models import Asset, AssetFile
from metastudio.errors import ServiceError
from tenancy.audit import Actor


class AssetFileInline(admin.TabularInline):
    model = AssetFile
    extra = 0
    can_delete = False
    fields = ("category", "name", "state", "declared_size", "generated", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "type", "state", "review", "review_note", "created_at")
    list_filter = ("review", "state", "type")
    search_fields = ("name", "id", "account__name")
    inlines = [AssetFileInline]
    actions = ["approve", "reject", "freeze_assets", "unfreeze_assets"]
    readonly_fields = [field.name for field in Asset._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, work, done: str) -> None:
        actor = Actor.from_request(request, via="admin")
        reason = request.POST.get("reason", "").strip()
        ok = 0
        for asset in queryset:
            try:
                work(actor, asset, reason)
                ok += 1
            except ServiceError as error:
                self.message_user(request, f"{asset.name}: {error.message}", messages.ERROR)
        if ok:
            self.message_user(request, f"{ok} asset(s) {done}.")

    @admin.action(description="Approve (review passed)", permissions=["change"])
    def approve(self, request, queryset):
        def work(actor, asset, reason):
            actions.set_review(actor, asset, approved=True, note=reason)
            if asset.state == Asset.State.UNACTIVED and asset.reason == "waiting for manual review":
                actions.set_active(actor, asset, True)

        self._each(request, queryset, work, "approved")

    @admin.action(description="Reject (freezes the asset)", permissions=["change"])
    def reject(self, request, queryset):
        self._each(request, queryset, lambda actor, asset, reason: actions.set_review(
            actor, asset, approved=False, note=reason or "content not allowed"), "rejected")

    @admin.action(description="Freeze", permissions=["change"])
    def freeze_assets(self, request, queryset):
        self._each(request, queryset, lambda actor, asset, reason: actions.freeze(
            actor, asset, reason or "frozen by a reviewer"), "frozen")

    @admin.action(description="Unfreeze", permissions=["change"])
    def unfreeze_assets(self, request, queryset):
        self._each(request, queryset, lambda actor, asset, reason: actions.unfreeze(
            actor, asset, reason or "unfrozen by a reviewer"), "unfrozen")

    def has_change_permission(self, request, obj=None):
        # Reviewers act through the actions above; the fields themselves stay read-only.
        return request.user.has_perm("assets.change_asset")
