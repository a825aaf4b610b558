"""The audit_export job kind end to end, in process: API create, run, detail, file, delete."""

import csv
import io
import os

import pytest
from openpyxl import load_workbook

from metastudio import jobs
from metastudio.jobs import Job
from tenancy.audit import Actor
from tenancy.exports import AUDIT_EXPORT, COLUMNS
from tenancy.models import AuditLog
from tests.api_helpers import assert_error, fast_password_hashing  # noqa: F401


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    """Creating several exports in one test would trip export.create (1/s); rate limits have their own tests."""
    settings.RATE_LIMIT_ENABLED = False


def base(tenant) -> str:
    return f"/v1/{tenant.project_id}/export-jobs"


def create(client, tenant, **body):
    return client.post(base(tenant), body, format="json")


def download(response) -> bytes:
    return b"".join(response.streaming_content)


def export_and_run(client, tenant, fmt: str) -> str:
    response = create(client, tenant, format=fmt)
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "WAITING"
    job_id = response.json()["job_id"]
    assert jobs.run(job_id) == "done"
    return job_id


def tenant_log_count(tenant) -> int:
    return AuditLog.objects.filter(account=tenant.account).count()


def test_csv_export_end_to_end(tenant, other_tenant, api):
    owner = api(tenant.owner)
    api(other_tenant.owner)  # the other tenant has audit entries too (token issued, users created)
    response = create(owner, tenant, format="CSV")
    assert response.status_code == 201
    created = response.json()
    assert created["state"] == "WAITING"
    assert created["kind"] == AUDIT_EXPORT.name
    assert created["params"] == {"format": "CSV"}
    assert created["has_file"] is False
    expected_rows = tenant_log_count(tenant)  # includes the job's own creation entry

    assert jobs.run(created["job_id"]) == "done"

    detail = owner.get(f"{base(tenant)}/{created['job_id']}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["state"] == "SUCCEED"
    assert body["progress"] == 100
    assert body["has_file"] is True
    assert body["result"] == {"rows": expected_rows, "format": "CSV"}
    assert body["end_time"] is not None

    response = owner.get(f"{base(tenant)}/{created['job_id']}/file")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"] and ".csv" in response["Content-Disposition"]
    text = download(response).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == COLUMNS
    data = rows[1:]
    assert len(data) == expected_rows
    account_column = COLUMNS.index("account")
    assert {row[account_column] for row in data} == {tenant.account.name}
    assert other_tenant.account.name not in text
    assert other_tenant.owner.username not in text
    actions = {row[COLUMNS.index("action")] for row in data}
    assert {"account.create", f"job.{AUDIT_EXPORT.name}.create"} <= actions
    times = [row[0] for row in data]
    assert times == sorted(times)


def test_xlsx_export_end_to_end(tenant, other_tenant, api):
    owner = api(tenant.owner)
    api(other_tenant.owner)
    job_id = export_and_run(owner, tenant, "xlsx")  # the format is case-insensitive
    detail = owner.get(f"{base(tenant)}/{job_id}").json()
    assert (detail["state"], detail["progress"], detail["params"]["format"]) == ("SUCCEED", 100, "XLSX")

    response = owner.get(f"{base(tenant)}/{job_id}/file")
    assert response.status_code == 200
    assert ".xlsx" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(download(response)), read_only=True)
    sheet = workbook["audit log"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    assert len(rows) - 1 == detail["result"]["rows"] == tenant_log_count(tenant)
    assert {row[COLUMNS.index("account")] for row in rows[1:]} == {tenant.account.name}
    workbook.close()


def test_export_filters_by_action_and_time(tenant, api):
    owner = api(tenant.owner)
    response = create(owner, tenant, format="CSV", action="auth.token", start_time="2000-01-01T00:00:00Z")
    assert response.status_code == 201
    assert response.json()["params"] == {"format": "CSV", "action": "auth.token",
                                         "start_time": "2000-01-01T00:00:00+00:00"}
    job_id = response.json()["job_id"]
    assert jobs.run(job_id) == "done"
    rows = list(csv.reader(io.StringIO(download(owner.get(f"{base(tenant)}/{job_id}/file")).decode("utf-8-sig"))))
    assert len(rows) - 1 == AuditLog.objects.filter(account=tenant.account, action__startswith="auth.token").count()
    assert {row[COLUMNS.index("action")] for row in rows[1:]} == {"auth.token.create"}

    future = create(owner, tenant, format="CSV", start_time="2999-01-01T00:00:00Z")
    assert jobs.run(future.json()["job_id"]) == "done"
    rows = list(csv.reader(io.StringIO(
        download(owner.get(f"{base(tenant)}/{future.json()['job_id']}/file")).decode("utf-8-sig"))))
    assert rows == [COLUMNS]


def test_bad_format_is_refused(tenant, api):
    response = create(api(tenant.owner), tenant, format="PDF")
    assert_error(response, 400, "MSS.00000003", "format", "CSV", "XLSX")
    assert not Job.objects.filter(account=tenant.account).exists()


@pytest.mark.parametrize("body, field", [
    ({"start_time": "yesterday"}, "start_time"),
    ({"end_time": "2026-13-45"}, "end_time"),
    ({"start_time": "2026-02-01T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"}, "start_time"),
])
def test_bad_time_is_refused(tenant, api, body, field):
    response = create(api(tenant.owner), tenant, format="CSV", **body)
    assert_error(response, 400, "MSS.00000003", field)
    assert not Job.objects.filter(account=tenant.account).exists()


def test_read_only_member_lists_but_cannot_create(tenant, api):
    jobs.submit(Actor.system(tenant.account), tenant.account, AUDIT_EXPORT.name, {"format": "CSV"})
    member = api(tenant.member)
    response = create(member, tenant, format="CSV")
    assert_error(response, 403, "MSS.00000005", "metastudio:export:create")
    listed = member.get(base(tenant))
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["jobs"][0]["kind"] == AUDIT_EXPORT.name
    assert Job.objects.filter(account=tenant.account).count() == 1
    nobody = api(tenant.nobody)
    assert_error(nobody.get(base(tenant)), 403, "MSS.00000005")


def test_list_shows_only_this_tenants_exports(tenant, other_tenant, api):
    mine = jobs.submit(Actor.system(tenant.account), tenant.account, AUDIT_EXPORT.name, {"format": "CSV"})
    jobs.submit(Actor.system(other_tenant.account), other_tenant.account, AUDIT_EXPORT.name, {"format": "CSV"})
    body = api(tenant.owner).get(base(tenant)).json()
    assert body["count"] == 1
    assert [item["job_id"] for item in body["jobs"]] == [str(mine.pk)]


def test_other_tenants_job_is_not_found(tenant, other_tenant, api):
    job_id = export_and_run(api(tenant.owner), tenant, "CSV")
    intruder = api(other_tenant.owner)
    assert_error(intruder.get(f"{base(other_tenant)}/{job_id}/file"), 404, "MSS.00000004")
    assert_error(intruder.get(f"{base(other_tenant)}/{job_id}"), 404, "MSS.00000004")
    assert_error(intruder.delete(f"{base(other_tenant)}/{job_id}"), 404, "MSS.00000004")
    # Nor through the first tenant's project id.
    assert_error(intruder.get(f"{base(tenant)}/{job_id}/file"), 404, "MSS.00000002")
    assert Job.objects.filter(pk=job_id, state=Job.State.SUCCEED).exists()


def test_file_before_success_is_a_conflict(tenant, api):
    owner = api(tenant.owner)
    job_id = create(owner, tenant, format="CSV").json()["job_id"]
    assert_error(owner.get(f"{base(tenant)}/{job_id}/file"), 409, "MSS.00000007", "WAITING")
    jobs._claim(job_id)
    assert_error(owner.get(f"{base(tenant)}/{job_id}/file"), 409, "MSS.00000007", "PROCESSING")


def test_delete_finished_job_removes_row_and_file(tenant, api, django_capture_on_commit_callbacks):
    owner = api(tenant.owner)
    job_id = export_and_run(owner, tenant, "CSV")
    stored = Job.objects.get(pk=job_id).result_file.path
    assert os.path.exists(stored)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.delete(f"{base(tenant)}/{job_id}")
    assert response.status_code == 204
    assert not Job.objects.filter(pk=job_id).exists()
    assert not os.path.exists(stored)
    assert AuditLog.objects.filter(action=f"job.{AUDIT_EXPORT.name}.delete", target_id=job_id).count() == 1
    assert_error(owner.get(f"{base(tenant)}/{job_id}"), 404, "MSS.00000004")


def test_delete_of_waiting_job_is_a_conflict(tenant, api):
    owner = api(tenant.owner)
    job_id = create(owner, tenant, format="CSV").json()["job_id"]
    assert_error(owner.delete(f"{base(tenant)}/{job_id}"), 409, "MSS.00000007", "WAITING")
    assert Job.objects.filter(pk=job_id, state=Job.State.WAITING).exists()
