"""The back office (Django admin): the auditor and reviewer groups, the read-only audit log, its export
job for auditors, and the job list that shows staff only their own jobs."""

import csv
import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.urls import reverse

from metastudio import jobs
from metastudio.jobs import Job
from tenancy.audit import Actor
from tenancy.exports import AUDIT_EXPORT
from tenancy.models import AuditLog, User
from tenancy.setup import BACK_OFFICE_GROUPS, ensure_platform_records
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.factories import PASSWORD

AUDITLOG_LIST = "/admin/tenancy/auditlog/"
JOB_LIST = "/admin/metastudio/job/"


def staff(name: str, *groups: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username=name, password=PASSWORD, is_staff=True, is_superuser=superuser)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def auditor(db):
    return staff("audrey", "auditor")


@pytest.fixture
def reviewer(db):
    return staff("rev", "reviewer")


def codes(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def export_via_admin(client, fmt: str = "csv"):
    some_row = AuditLog.objects.first()
    return client.post(AUDITLOG_LIST, {"action": f"export_{fmt}", ACTION_CHECKBOX_NAME: [str(some_row.pk)]},
                       follow=True)


def admin_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- groups made by migrate ---------------------------------------------------------------------------------

def test_back_office_groups_exist_after_migrate(db):
    assert codes(Group.objects.get(name="auditor")) == {
        "tenancy.view_auditlog", "tenancy.export_auditlog", "metastudio.view_job"}
    assert codes(Group.objects.get(name="reviewer")) == {
        "tenancy.view_account", "tenancy.view_user", "metastudio.view_job", "assets.view_asset",
        "assets.change_asset", "voices.view_voicetrainingjob", "voices.change_voicetrainingjob",
        "avatars.view_avatartrainingjob", "avatars.change_avatartrainingjob", "avatars.view_avatarupload"}
    assert set(BACK_OFFICE_GROUPS) == {"auditor", "reviewer"}


def test_platform_records_are_idempotent(db):
    ensure_platform_records()
    ensure_platform_records()
    assert Group.objects.filter(name__in=["auditor", "reviewer"]).count() == 2
    assert codes(Group.objects.get(name="auditor")) == set(BACK_OFFICE_GROUPS["auditor"])


# --- the audit log in the admin --------------------------------------------------------------------------------

def test_auditor_reads_audit_log_of_all_tenants(client, auditor, tenant, other_tenant):
    client.force_login(auditor)
    response = client.get(AUDITLOG_LIST)
    assert response.status_code == 200
    shown = {row.account_id for row in response.context["cl"].result_list}
    assert {tenant.account.pk, other_tenant.account.pk} <= shown
    entry = AuditLog.objects.filter(account=tenant.account).first()
    detail = client.get(reverse("admin:tenancy_auditlog_change", args=[entry.pk]))
    assert detail.status_code == 200  # a read-only view
    assert entry.action in detail.content.decode()


def test_auditor_cannot_add_change_or_delete_entries(client, auditor, tenant):
    client.force_login(auditor)
    entry = AuditLog.objects.filter(account=tenant.account).first()
    before = (AuditLog.objects.count(), entry.action, entry.actor_name)

    assert client.get(reverse("admin:tenancy_auditlog_add")).status_code == 403
    assert client.post(reverse("admin:tenancy_auditlog_add"), {"action": "forged"}).status_code == 403
    change = client.post(reverse("admin:tenancy_auditlog_change", args=[entry.pk]),
                         {"action": "forged", "actor_name": "nobody"})
    assert change.status_code == 403
    assert client.get(reverse("admin:tenancy_auditlog_delete", args=[entry.pk])).status_code == 403
    assert client.post(reverse("admin:tenancy_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    offered = [name for name, _ in client.get(AUDITLOG_LIST).context["action_form"].fields["action"].choices]
    assert "delete_selected" not in offered
    assert {"export_csv", "export_xlsx"} <= set(offered)
    client.post(AUDITLOG_LIST, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [str(entry.pk)], "post": "yes"})

    entry.refresh_from_db()
    assert (AuditLog.objects.count(), entry.action, entry.actor_name) == before


def test_superuser_cannot_edit_audit_log_either(client, tenant):
    boss = staff("boss", superuser=True)
    client.force_login(boss)
    entry = AuditLog.objects.filter(account=tenant.account).first()
    assert client.get(reverse("admin:tenancy_auditlog_add")).status_code == 403
    assert client.post(reverse("admin:tenancy_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_reviewer_cannot_open_audit_log(client, reviewer, tenant):
    client.force_login(reviewer)
    assert client.get(AUDITLOG_LIST).status_code == 403
    entry = AuditLog.objects.filter(account=tenant.account).first()
    assert client.get(reverse("admin:tenancy_auditlog_change", args=[entry.pk])).status_code == 403
    assert client.get("/admin/tenancy/account/").status_code == 200  # what the reviewer group is for


def test_tenant_user_cannot_open_admin(client, tenant):
    client.force_login(tenant.owner)
    response = client.get(AUDITLOG_LIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# --- export job ---------------------------------------------------------------------------------------------------

def test_auditor_export_action_creates_platform_job(client, auditor, tenant):
    client.force_login(auditor)
    response = export_via_admin(client)
    assert response.status_code == 200
    job = Job.objects.get()
    assert job.kind == AUDIT_EXPORT.name
    assert job.account is None
    assert job.created_by == auditor
    assert job.state == Job.State.WAITING
    assert job.params == {"format": "CSV"}
    assert any(str(job.pk) in message for message in admin_messages(response))
    audit = AuditLog.objects.get(action="job.audit_export.create")
    assert audit.via == "admin" and audit.actor == auditor and audit.account is None


def test_export_needs_export_permission(client, tenant):
    viewer = staff("viewer")
    viewer.user_permissions.add(*Group.objects.get(name="auditor").permissions.exclude(codename="export_auditlog"))
    client.force_login(viewer)
    assert client.get(AUDITLOG_LIST).status_code == 200
    response = export_via_admin(client)
    assert "You may not export the audit log." in admin_messages(response)
    assert not Job.objects.exists()


def test_auditor_downloads_export_with_rows_of_all_tenants(client, auditor, tenant, other_tenant):
    client.force_login(auditor)
    export_via_admin(client)
    job = Job.objects.get()
    download = reverse("admin:metastudio_job_download", args=[job.pk])
    assert client.get(download).status_code == 404  # not finished yet

    assert jobs.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEED
    listing = client.get(JOB_LIST)
    assert download in listing.content.decode()

    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == job.result["rows"]
    accounts = {row["account"] for row in rows}
    assert {tenant.account.name, other_tenant.account.name} <= accounts
    assert any(row["action"] == "job.audit_export.create" and row["actor"] == auditor.username for row in rows)


def test_xlsx_export(client, auditor, tenant):
    client.force_login(auditor)
    export_via_admin(client, "xlsx")
    job = Job.objects.get()
    assert job.params == {"format": "XLSX"}
    assert jobs.run(str(job.pk)) == "done"
    response = client.get(reverse("admin:metastudio_job_download", args=[job.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"  # a zip container


# --- job list -------------------------------------------------------------------------------------------------------

def test_staff_sees_only_own_jobs(client, auditor, reviewer, tenant):
    tenant_job = jobs.submit(Actor(user=tenant.owner, account=tenant.account, via="api"), tenant.account,
                             AUDIT_EXPORT.name, {"format": "CSV"})
    jobs.run(str(tenant_job.pk))
    client.force_login(auditor)
    export_via_admin(client)
    own = Job.objects.get(created_by=auditor)

    response = client.get(JOB_LIST)
    assert response.status_code == 200
    assert [job.pk for job in response.context["cl"].result_list] == [own.pk]
    assert client.get(reverse("admin:metastudio_job_change", args=[tenant_job.pk])).status_code == 302
    assert client.get(reverse("admin:metastudio_job_download", args=[tenant_job.pk])).status_code == 404

    client.force_login(reviewer)
    assert list(client.get(JOB_LIST).context["cl"].result_list) == []

    client.force_login(staff("root", superuser=True))
    shown = {job.pk for job in client.get(JOB_LIST).context["cl"].result_list}
    assert shown == {own.pk, tenant_job.pk}
    response = client.get(reverse("admin:metastudio_job_download", args=[tenant_job.pk]))
    assert response.status_code == 200


def test_jobs_cannot_be_added_or_changed(client, auditor, tenant):
    client.force_login(auditor)
    export_via_admin(client)
    job = Job.objects.get()
    assert client.get(reverse("admin:metastudio_job_add")).status_code == 403
    assert client.post(reverse("admin:metastudio_job_change", args=[job.pk]), {"state": "SUCCEED"}).status_code == 403
    job.refresh_from_db()
    assert job.state == Job.State.WAITING


def test_admin_login_form(client, db):
    staff("backoffice", "auditor")
    response = client.post("/admin/login/?next=/admin/", {"username": "backoffice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(AUDITLOG_LIST).status_code == 200
