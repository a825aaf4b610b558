"""Back office: reviewers listen to the training material, read the authorization letter and approve or
reject voice training jobs (with a reason)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from metastudio.errors import ServiceError
from tenancy.audit import Actor
from voices import actions
from voices.models import CustomReading, VocabularyGroup, VoiceJobLog, VoiceRecording, VoiceTrainingJob


class JobPartInline(admin.TabularInline):
    """Recordings and logs are seen with their job: whoever may view the job sees them, nobody edits them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("voices.view_voicetrainingjob")


class RecordingInline(JobPartInline):
    model = VoiceRecording
    fields = ("index", "text", "status", "problem_list", "player")
    readonly_fields = fields

    @admin.display(description="problems")
    def problem_list(self, recording):
        return "; ".join(problem["message"] for problem in recording.problems) or "-"

    @admin.display(description="listen")
    def player(self, recording):
        url = reverse("admin:voices_admin_recording", args=[recording.pk])
        return format_html('<audio controls preload="none" src="{}"></audio>', url)


class LogInline(JobPartInline):
    model = VoiceJobLog
    fields = ("created_at", "operation", "actor_name", "message")
    readonly_fields = fields


class ReviewActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=1024, label="Reason",
                             help_text="Shown to the tenant; required to reject.")


@admin.register(VoiceTrainingJob)
class VoiceTrainingJobAdmin(admin.ModelAdmin):
    action_form = ReviewActionForm
    list_display = ("voice_name", "account", "tier", "language", "state", "reason", "submitted_at")
    list_filter = ("state", "tier", "language")
    search_fields = ("voice_name", "id", "account__name")
    inlines = [RecordingInline, LogInline]
    actions = ["approve", "reject"]
    readonly_fields = [field.name for field in VoiceTrainingJob._meta.fields] + ["letter", "audit_errors"]
    exclude = ("prompts",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("voices.change_voicetrainingjob")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("recording/<uuid:recording_id>", view(self.recording_audio), name="voices_admin_recording"),
            path("letter/<uuid:job_id>", view(self.letter_file), name="voices_admin_letter"),
        ] + super().get_urls()

    def recording_audio(self, request, recording_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        recording = VoiceRecording.objects.filter(pk=recording_id).first()
        if recording is None:
            raise Http404
        return FileResponse(recording.audio.open("rb"), content_type="audio/wav")

    def letter_file(self, request, job_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = VoiceTrainingJob.objects.filter(pk=job_id).first()
        if job is None or not job.authorization_letter:
            raise Http404
        return FileResponse(job.authorization_letter.open("rb"), filename=job.authorization_letter.name.rsplit("/")[-1])

    @admin.display(description="authorization letter")
    def letter(self, job):
        if not job.authorization_letter:
            return "-"
        return format_html('<a href="{}" target="_blank">open the letter</a>',
                           reverse("admin:voices_admin_letter", args=[job.pk]))

    @admin.display(description="system audit errors")
    def audit_errors(self, job):
        errors = (job.system_audit or {}).get("errors") or []
        if not errors:
            return "-"
        return format_html_join("", "<div>{}: {}</div>",
                                ((error["audio_name"], error["error_message"]) for error in errors))

    def _each(self, request, queryset, approved: bool) -> None:
        actor = Actor.from_request(request, via="admin")
        reason = request.POST.get("reason", "").strip()
        done = 0
        for job in queryset:
            try:
                actions.review(actor, job, approved=approved, message=reason or ("" if approved else
                                                                                 "material not acceptable"))
                done += 1
            except ServiceError as error:
                self.message_user(request, f"{job.voice_name}: {error.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} job(s) {'approved: training queued' if approved else 'rejected'}.")

    @admin.action(description="Approve the material (starts training)", permissions=["change"])
    def approve(self, request, queryset):
        self._each(request, queryset, True)

    @admin.action(description="Reject the material (give a reason)", permissions=["change"])
    def reject(self, request, queryset):
        self._each(request, queryset, False)


@admin.register(VocabularyGroup)
class VocabularyGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "created_at")
    search_fields = ("name", "account__name")


@admin.register(CustomReading)
class CustomReadingAdmin(admin.ModelAdmin):
    list_display = ("source", "target", "account", "group")
    search_fields = ("source", "target", "account__name")
