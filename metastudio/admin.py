from django.contrib import admin
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html

from metastudio.jobs import Job, result_file_response


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "account", "state", "progress", "stage", "attempts", "download")
    list_filter = ("kind", "state")
    search_fields = ("id", "account__name")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Job._meta.fields]

    def get_queryset(self, request):
        jobs = super().get_queryset(request).select_related("account")
        return jobs if request.user.is_superuser else jobs.filter(created_by=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<uuid:job_id>/download/", download, name="metastudio_job_download"), *super().get_urls()]

    def download_view(self, request, job_id):
        job = self.get_queryset(request).filter(pk=job_id, state=Job.State.SUCCEED).first()
        if job is None or not job.result_file or not self.has_view_permission(request, job):
            raise Http404
        return result_file_response(job)

    @admin.display(description="File")
    def download(self, job):
        if job.state == Job.State.SUCCEED and job.result_file:
            return format_html('<a href="{}">download</a>', reverse("admin:metastudio_job_download", args=[job.pk]))
        return ""
