"""Back office: reviewers (group `reviewer`) see the video check report, play the training video, open the
authorization letter and the ID images, then approve (training is queued), send back with a reason (the tenant
fixes and resubmits) or refuse for good. The material is served only through this admin's protected views."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from assets.serving import ranged_response
from avatars import actions, uploads
from avatars.models import AvatarJobLog, AvatarTrainingJob, AvatarUpload
from metastudio.errors import ServiceError
from tenancy.audit import Actor

FILE_FIELDS = tuple(uploads.FIELDS.values())  # training_video, grant_file, id_card_image1, id_card_image2, cover


class LogInline(admin.TabularInline):
    """The operation log is seen with its job: whoever may view the job sees it, nobody edits it."""

    model = AvatarJobLog
    extra = 0
    can_delete = False
    fields = ("created_at", "log_type", "operate_user", "actor_name", "description")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("avatars.view_avatartrainingjob")


class ReviewActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=1024, label="Reason",
                             help_text="Shown to the tenant; required to reject.")


@admin.register(AvatarTrainingJob)
class AvatarTrainingJobAdmin(admin.ModelAdmin):
    action_form = ReviewActionForm
    list_display = ("name", "account", "state", "reason", "model_resolution", "submitted_at")
    list_filter = ("state", "model_resolution", "is_background_replacement")
    search_fields = ("name", "id", "account__name", "batch_name")
    inlines = [LogInline]
    actions = ["approve", "reject", "reject_for_good"]
    fieldsets = [
        (None, {"fields": ("name", "account", "state", "reason", "contact", "batch_name", "tags",
                           "is_background_replacement", "model_resolution", "action_segments", "submitted_at",
                           "model_asset")}),
        ("Material", {"fields": ("video_player", "letter", "id_images", "cover_image")}),
        ("Video check", {"fields": ("check_report",)}),
        ("Decision", {"fields": ("decision",)}),
    ]
    readonly_fields = ("name", "account", "state", "reason", "contact", "batch_name", "tags",
                       "is_background_replacement", "model_resolution", "action_segments", "submitted_at",
                       "model_asset",
                       "video_player", "letter", "id_images", "cover_image", "check_report", "decision")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Reviewers act through the actions; the fields themselves stay read-only.
        return request.user.has_perm("avatars.change_avatartrainingjob")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("file/<uuid:job_id>/<str:field>", view(self.material_file), name="avatars_admin_file")] \
            + super().get_urls()

    # --- the material, served to reviewers only -----------------------------------------------------------

    def material_file(self, request, job_id, field):
        """A file of the job's material; the video honours Range requests so the player can seek."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = AvatarTrainingJob.objects.filter(pk=job_id).first()
        if job is None or field not in FILE_FIELDS or not getattr(job, field):
            raise Http404
        return ranged_response(request, getattr(job, field))

    def _url(self, job, field: str) -> str:
        return reverse("admin:avatars_admin_file", args=[job.pk, field])

    @admin.display(description="training video")
    def video_player(self, job):
        if not job.training_video:
            return "-"
        return format_html('<video controls preload="metadata" width="480" src="{}" data-testid="training-video">'
                           '</video><div><a href="{}" target="_blank">open the video</a> ({})</div>',
                           self._url(job, "training_video"), self._url(job, "training_video"),
                           job.file_names.get("training_video", ""))

    @admin.display(description="authorization letter")
    def letter(self, job):
        if not job.grant_file:
            return "-"
        return format_html('<a href="{}" target="_blank">open the letter</a> ({})', self._url(job, "grant_file"),
                           job.file_names.get("grant_file", ""))

    @admin.display(description="ID card images")
    def id_images(self, job):
        shown = [(self._url(job, field), self._url(job, field)) for field in ("id_card_image1", "id_card_image2")
                 if getattr(job, field)]
        if not shown:
            return "-"
        return format_html_join("", '<a href="{}" target="_blank"><img src="{}" height="160" '
                                    'style="margin-right:8px"></a>', shown)

    @admin.display(description="cover")
    def cover_image(self, job):
        if not job.cover:
            return "-"
        return format_html('<img src="{}" height="120">', self._url(job, "cover"))

    @admin.display(description="check report")
    def check_report(self, job):
        report = job.verify_report or {}
        if not report:
            return "-"
        facts = format_html(
            "<div>{}x{} at {} fps, {} s, audio: {}, green screen: {}, verdict: <b>{}</b></div>",
            report.get("width"), report.get("height"), report.get("fps"), report.get("duration_s"),
            "yes" if report.get("has_audio") else "no", "yes" if report.get("green_screen") else "no",
            "passed" if report.get("passed") else "failed")
        rules = format_html_join("", "<tr><td>{}</td><td><b>{}</b></td><td>{}</td></tr>",
                                 ((rule.get("rule"), rule.get("status"), rule.get("message"))
                                  for rule in report.get("rules") or [] if isinstance(rule, dict)))
        warnings = format_html_join("", "<li>{}</li>", ((warning,) for warning in report.get("warnings") or []))
        return format_html('{}<table data-testid="check-rules">{}</table><ul>{}</ul>', facts, rules, warnings)

    @admin.display(description="reviewer's decision")
    def decision(self, job):
        audit = job.admin_audit or {}
        if not audit:
            return "-"
        verdict = "approved" if audit.get("approved") else ("refused for good" if audit.get("final") else "rejected")
        return format_html("{} by {} ({}): {}", verdict, audit.get("reviewer"), audit.get("audit_time"),
                           audit.get("message"))

    # --- decisions ----------------------------------------------------------------------------------------

    def _each(self, request, queryset, *, approved: bool, final: bool = False) -> None:
        actor = Actor.from_request(request, via="admin")
        reason = request.POST.get("reason", "").strip()
        done = 0
        for job in queryset:
            try:
                actions.review(actor, job, approved=approved, final=final, message=reason)
                done += 1
            except ServiceError as error:
                self.message_user(request, f"{job.name}: {error.message}", messages.ERROR)
        if done:
            verdict = "approved: training queued" if approved else ("refused for good" if final else "rejected")
            self.message_user(request, f"{done} job(s) {verdict}.")

    @admin.action(description="Approve the material (starts training)", permissions=["change"])
    def approve(self, request, queryset):
        self._each(request, queryset, approved=True)

    @admin.action(description="Reject: the tenant may fix it and resubmit (give a reason)", permissions=["change"])
    def reject(self, request, queryset):
        self._each(request, queryset, approved=False)

    @admin.action(description="Refuse for good (JOB_REJECT; give a reason)", permissions=["change"])
    def reject_for_good(self, request, queryset):
        self._each(request, queryset, approved=False, final=True)


@admin.register(AvatarUpload)
class AvatarUploadAdmin(admin.ModelAdmin):
    """Read-only view of upload URLs (support: why a file was refused)."""

    list_display = ("job", "slot", "part_number", "generation", "state", "received_bytes", "reason")
    list_filter = ("slot", "state")
    search_fields = ("job__name", "job__id")
    readonly_fields = [field.name for field in AvatarUpload._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
