"""The server-rendered console with Django's test client: sign-in (allauth), every page, IAM forms,
access keys shown once, the task center (export, cancel, download) and tenant isolation of every id."""

import csv
import html
import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from console.context import NAVIGATION
from metastudio import jobs
from metastudio.jobs import Job
from tenancy import actions
from tenancy.audit import Actor
from tenancy.exports import AUDIT_EXPORT
from tenancy.models import AccessKey, AuditLog, Policy, User, UserGroup
from tenancy.secrets import decrypt_secret
from tests.api_helpers import fast_password_hashing  # noqa: F401
from tests.factories import PASSWORD

LOGIN_URL = "/accounts/login/"


def page(response) -> str:
    """The response body as text with HTML entities decoded (messages quote names)."""
    return html.unescape(response.content.decode())


def by_testid(response, name: str) -> str:
    """The text of the element marked data-testid=name."""
    found = re.search(rf'data-testid="{re.escape(name)}"[^>]*>([^<]*)<', response.content.decode())
    assert found, f"no data-testid={name!r} on the page"
    return html.unescape(found.group(1)).strip()


def nav_urls(response) -> list[str]:
    nav = re.search(r'<nav class="sidebar">(.*?)</nav>', response.content.decode(), re.S)
    return re.findall(r'href="([^"]+)"', nav.group(1)) if nav else []


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def has_message(response, text: str) -> bool:
    return any(text in message for message in messages_of(response))


def logged_in(client, user):
    client.force_login(user)
    return client


def submit_export(tenant, user=None, fmt: str = "CSV") -> Job:
    return jobs.submit(Actor(user=user or tenant.owner, account=tenant.account, via="api"), tenant.account,
                       AUDIT_EXPORT.name, {"format": fmt}, project=tenant.project)


def read_only_policy() -> Policy:
    return actions.read_only_policy()


# --- sign-in, sign-out, password reset, sign-up --------------------------------------------------------

def test_login_page_renders(client):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    body = page(response)
    assert 'data-testid="login-form"' in body
    assert 'name="login"' in body and 'name="password"' in body
    assert reverse("account_reset_password") in body


def test_console_requires_login(client):
    response = client.get(reverse("console:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_login_form_lands_on_overview(client, tenant):
    response = client.post(LOGIN_URL, {"login": tenant.owner.username, "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("console:overview")
    assert response.context["user"] == tenant.owner
    assert by_testid(response, "who").startswith(tenant.owner.username)
    assert by_testid(response, "user-count") == "3"
    assert AuditLog.objects.filter(action="auth.login", actor=tenant.owner, via="console").count() == 1


def test_login_with_wrong_password_is_refused(client, tenant):
    response = client.post(LOGIN_URL, {"login": tenant.owner.username, "password": "not-the-password"})
    assert response.status_code == 200
    assert by_testid(response, "login-error")
    assert client.get(reverse("console:overview")).status_code == 302


def test_logout_via_post(client, tenant):
    logged_in(client, tenant.owner)
    # A GET only shows the confirmation; it does not sign out.
    client.get("/accounts/logout/")
    assert client.get(reverse("console:overview")).status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert client.get(reverse("console:overview")).status_code == 302
    assert AuditLog.objects.filter(action="auth.logout", actor=tenant.owner, via="console").exists()


def test_password_reset_sends_email_with_working_link(client, tenant, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = actions.create_iam_user(Actor.system(tenant.account), tenant.account, username="forgetful",
                                   password=PASSWORD, email="forgetful@example.com")
    assert client.get(reverse("account_reset_password")).status_code == 200
    response = client.post(reverse("account_reset_password"), {"email": "forgetful@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["forgetful@example.com"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", message.body)
    assert link, message.body

    # The link leads to a form that sets a new password.
    response = client.get(link.group(1), follow=True)
    assert response.status_code == 200
    set_password_url = response.redirect_chain[-1][0] if response.redirect_chain else link.group(1)
    response = client.post(set_password_url, {"password1": "a-new-long-secret", "password2": "a-new-long-secret"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-new-long-secret")


def test_public_signup_is_closed(client, db):
    users = User.objects.count()
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert "Sign Up Closed" in page(response)
    response = client.post("/accounts/signup/", {"username": "intruder", "email": "intruder@example.com",
                                                 "password1": "a-long-password!", "password2": "a-long-password!"})
    assert "Sign Up Closed" in page(response)
    assert User.objects.count() == users
    assert not User.objects.filter(username="intruder").exists()


# --- every page, real figures ------------------------------------------------------------------------------

def console_pages(tenant) -> dict[str, tuple[str, str]]:
    """name -> (url, text the page must show)."""
    admin_group = tenant.account.groups.get(name=actions.ADMIN_GROUP)
    return {
        "overview": (reverse("console:overview"), "Service overview"),
        "tasks": (reverse("console:tasks"), "Task center"),
        "users": (reverse("console:users"), tenant.member.username),
        "user_detail": (reverse("console:user_detail", args=[tenant.member.pk]), f"IAM user {tenant.member.username}"),
        "groups": (reverse("console:groups"), "Account administrators"),
        "group_detail": (reverse("console:group_detail", args=[admin_group.pk]), "Group admin"),
        "policies": (reverse("console:policies"), "MetaStudio ReadOnlyAccess"),
        "access_keys": (reverse("console:access_keys"), "My access keys"),
        "audit_log": (reverse("console:audit_log"), "iam.user.create"),
    }


PAGES = ["overview", "tasks", "users", "user_detail", "groups", "group_detail", "policies", "access_keys",
         "audit_log"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_owner(client, tenant, name):
    url, expected = console_pages(tenant)[name]
    response = logged_in(client, tenant.owner).get(url)
    assert response.status_code == 200
    assert expected in page(response)


def test_overview_shows_real_figures(client, tenant, other_tenant):
    logged_in(client, tenant.owner)
    response = client.get(reverse("console:overview"))
    assert by_testid(response, "user-count") == "3"
    assert by_testid(response, "jobs-total") == "0"
    assert by_testid(response, f"project-{tenant.project.region}") == tenant.project_id

    actions.create_iam_user(Actor.system(tenant.account), tenant.account, username="fourth", password=PASSWORD)
    submit_export(tenant)
    submit_export(other_tenant)  # another tenant's job is not counted
    response = client.get(reverse("console:overview"))
    assert by_testid(response, "user-count") == "4"
    assert by_testid(response, "jobs-total") == "1"
    assert dict(response.context["job_counts"])["WAITING"] == 1
    assert "Audit log export" in page(response)


def test_lists_show_account_data_only(client, tenant, other_tenant):
    logged_in(client, tenant.owner)
    users = page(client.get(reverse("console:users")))
    for user in (tenant.owner, tenant.member, tenant.nobody):
        assert user.username in users
    assert other_tenant.owner.username not in users
    actions.create_policy(Actor.system(other_tenant.account), other_tenant.account, name="their-secret-policy",
                          document={"Version": "1.1", "Statement": [{"Action": ["metastudio:*:*"],
                                                                     "Effect": "Allow"}]})
    assert "their-secret-policy" not in page(client.get(reverse("console:policies")))
    audit = client.get(reverse("console:audit_log"))
    assert all(log.account_id == tenant.account.pk for log in audit.context["logs"])
    assert audit.context["logs"]
    submit_export(other_tenant)
    assert client.get(reverse("console:tasks")).context["jobs"] == []


def test_task_center_lists_jobs(client, tenant):
    job = submit_export(tenant)
    response = logged_in(client, tenant.owner).get(reverse("console:tasks"))
    initial = json.loads(re.search(r'id="initial-jobs"[^>]*>(.*?)</script>', response.content.decode(), re.S)
                         .group(1))
    assert [entry["job_id"] for entry in initial] == [str(job.pk)]
    assert initial[0]["state"] == "WAITING"
    assert initial[0]["kind_label"] == "Audit log export"


def test_task_center_hides_jobs_older_than_the_history(client, tenant):
    old, recent = submit_export(tenant), submit_export(tenant)
    jobs.Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=jobs.HISTORY_DAYS + 1))
    listed = logged_in(client, tenant.owner).get(reverse("console:tasks")).context["jobs"]
    assert [entry["job_id"] for entry in listed] == [str(recent.pk)]


def test_audit_log_filter(client, tenant):
    logged_in(client, tenant.owner)
    response = client.get(reverse("console:audit_log"), {"action": "account."})
    assert {log.action for log in response.context["logs"]} == {"account.create"}


# --- permissions -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tasks", "users", "user_detail", "groups", "group_detail", "policies",
                                  "audit_log"])
def test_user_without_policy_gets_403_on_iam_pages(client, tenant, name):
    url, _ = console_pages(tenant)[name]
    response = logged_in(client, tenant.nobody).get(url)
    assert response.status_code == 403
    assert 'data-testid="forbidden"' in page(response)


@pytest.mark.parametrize("name", ["overview", "access_keys"])
def test_user_without_policy_opens_overview_and_own_keys(client, tenant, name):
    url, expected = console_pages(tenant)[name]
    response = logged_in(client, tenant.nobody).get(url)
    assert response.status_code == 200
    assert expected in page(response)


def test_back_office_user_without_account_is_refused(client, db):
    staff = User.objects.create_user(username="staffer", password=PASSWORD, is_staff=True)
    response = logged_in(client, staff).get(reverse("console:overview"))
    assert response.status_code == 403
    assert "No tenant account" in page(response)


def test_nav_lists_only_allowed_pages(client, tenant):
    everything = [reverse(name) for _, name, _ in NAVIGATION]
    nobody = nav_urls(logged_in(client, tenant.nobody).get(reverse("console:overview")))
    assert nobody == [reverse("console:overview"), reverse("console:access_keys")]
    owner = nav_urls(logged_in(client, tenant.owner).get(reverse("console:overview")))
    assert owner == everything
    member = nav_urls(logged_in(client, tenant.member).get(reverse("console:overview")))
    # ReadOnly allows every show* action; the TTS playground synthesizes (metastudio:tts:create)
    assert member == [url for url in everything if url != reverse("console:tts")]

    # A custom policy that only shows jobs adds exactly the task center.
    jobs_only = actions.create_policy(Actor.system(tenant.account), tenant.account, name="jobs-viewer", document={
        "Version": "1.1", "Statement": [{"Action": ["metastudio:job:show*"], "Effect": "Allow"}]})
    actions.update_iam_user(Actor.system(tenant.account), tenant.nobody, policies=[jobs_only.pk])
    nobody = nav_urls(logged_in(client, tenant.nobody).get(reverse("console:overview")))
    assert nobody == [reverse("console:overview"), reverse("console:tasks"), reverse("console:access_keys")]


def test_readonly_member_views_users_but_cannot_create(client, tenant):
    logged_in(client, tenant.member)
    response = client.get(reverse("console:users"))
    assert response.status_code == 200
    assert tenant.owner.username in page(response)
    assert 'data-testid="create-user"' not in page(response)
    users, audits = User.objects.count(), AuditLog.objects.count()
    response = client.post(reverse("console:users"), {"name": "sneaky", "password": "a-long-password!"})
    assert response.status_code == 403
    assert "metastudio:iamuser:create" in page(response)
    assert User.objects.count() == users
    assert AuditLog.objects.count() == audits


@pytest.mark.parametrize("url_name, data", [
    ("console:groups", {"name": "sneaky-group"}),
    ("console:policies", {"name": "sneaky-policy", "document": json.dumps(
        {"Version": "1.1", "Statement": [{"Action": ["metastudio:*:*"], "Effect": "Allow"}]})}),
])
def test_readonly_member_cannot_create_groups_or_policies(client, tenant, url_name, data):
    groups, policies = UserGroup.objects.count(), Policy.objects.count()
    response = logged_in(client, tenant.member).post(reverse(url_name), data)
    assert response.status_code == 403
    assert (UserGroup.objects.count(), Policy.objects.count()) == (groups, policies)


def test_readonly_member_cannot_update_or_delete_users(client, tenant):
    logged_in(client, tenant.member)
    url = reverse("console:user_detail", args=[tenant.nobody.pk])
    assert client.post(url, {"op": "update", "description": "hacked"}).status_code == 403
    assert client.post(url, {"op": "delete"}).status_code == 403
    tenant.nobody.refresh_from_db()
    assert tenant.nobody.description == ""


# --- IAM forms -----------------------------------------------------------------------------------------------

def test_owner_creates_user_with_readonly_policy(client, tenant):
    read_only = read_only_policy()
    logged_in(client, tenant.owner)
    response = client.post(reverse("console:users"), {
        "name": "new-analyst", "email": "analyst@example.com", "password": "a-long-password!",
        "description": "reads reports", "policies": [str(read_only.pk)],
    })
    assert response.status_code == 302
    assert response["Location"] == reverse("console:users")
    created = User.objects.get(username="new-analyst")
    assert created.account == tenant.account
    assert created.email == "analyst@example.com"
    assert created.check_password("a-long-password!")
    assert list(created.policies.all()) == [read_only]
    audit = AuditLog.objects.get(action="iam.user.create", target_id=str(created.pk))
    assert audit.via == "console"
    assert audit.actor == tenant.owner
    assert audit.account == tenant.account

    response = client.get(reverse("console:users"))
    assert has_message(response, "User created."), messages_of(response)
    assert "new-analyst" in page(response)
    # The new user can sign in and sees the IAM users page (ReadOnly).
    client.logout()
    assert client.login(username="new-analyst", password="a-long-password!")
    assert client.get(reverse("console:users")).status_code == 200


@pytest.mark.parametrize("override, error", [
    ({"name": "{owner}"}, "is already taken"),
    ({"password": "short"}, "at least 8 characters"),
    ({"name": ""}, "1 to 64 characters"),
    ({"policies": [str(uuid.uuid4())]}, "unknown policy"),
])
def test_create_user_bad_input_shows_error_and_stores_nothing(client, tenant, override, error):
    data = {"name": "fresh-user", "email": "fresh@example.com", "password": "a-long-password!"}
    data.update({key: value.format(owner=tenant.owner.username) if isinstance(value, str) else value
                 for key, value in override.items()})
    logged_in(client, tenant.owner)
    users, audits = User.objects.count(), AuditLog.objects.count()
    response = client.post(reverse("console:users"), data)
    assert response.status_code == 200
    assert has_message(response, error), messages_of(response)
    assert error in page(response)
    assert f'value="{data["email"]}"' in page(response)  # the form keeps what was typed
    assert User.objects.count() == users
    assert AuditLog.objects.count() == audits
    assert not User.objects.filter(username="fresh-user").exists()


def test_owner_creates_custom_policy(client, tenant):
    document = {"Version": "1.1", "Statement": [{"Action": ["metastudio:job:show*"], "Effect": "Allow"}]}
    response = logged_in(client, tenant.owner).post(reverse("console:policies"), {
        "name": "job-viewer", "description": "sees jobs", "document": json.dumps(document)})
    assert response.status_code == 302
    created = Policy.objects.get(name="job-viewer")
    assert created.account == tenant.account and created.type == Policy.Type.CUSTOM
    assert created.document == document
    assert AuditLog.objects.get(action="iam.policy.create", target_id=str(created.pk)).via == "console"


@pytest.mark.parametrize("name, document, error", [
    ("broken-json", '{"Version": "1.1", "Statement": [', "policy: not valid JSON"),
    ("bad-effect", json.dumps({"Version": "1.1", "Statement": [{"Action": ["metastudio:*:*"], "Effect": "Maybe"}]}),
     'Statement[0].Effect: must be "Allow" or "Deny"'),
    ("bad-version", json.dumps({"Version": "2", "Statement": [{"Action": ["metastudio:*:*"], "Effect": "Allow"}]}),
     'Version: must be "1.1"'),
    ("MetaStudio FullAccess", json.dumps({"Version": "1.1", "Statement": [{"Action": ["a:b:c"], "Effect": "Allow"}]}),
     "already exists"),
])
def test_create_policy_bad_input_shows_error_and_stores_nothing(client, tenant, name, document, error):
    logged_in(client, tenant.owner)
    policies, audits = Policy.objects.count(), AuditLog.objects.count()
    response = client.post(reverse("console:policies"), {"name": name, "document": document})
    assert response.status_code == 200
    assert has_message(response, error), messages_of(response)
    assert error in page(response)
    assert html.escape(document) in response.content.decode()  # the textarea keeps the typed document
    assert Policy.objects.count() == policies
    assert AuditLog.objects.count() == audits


def test_create_group_and_duplicate_name(client, tenant):
    logged_in(client, tenant.owner)
    response = client.post(reverse("console:groups"), {"name": "editors", "members": [str(tenant.member.pk)],
                                                       "policies": [str(read_only_policy().pk)]})
    assert response.status_code == 302
    group = UserGroup.objects.get(account=tenant.account, name="editors")
    assert list(group.members.all()) == [tenant.member]
    groups = UserGroup.objects.count()
    response = client.post(reverse("console:groups"), {"name": "Editors"})
    assert response.status_code == 200
    assert has_message(response, "group 'Editors' already exists"), messages_of(response)
    assert UserGroup.objects.count() == groups


def test_owner_updates_user_and_group(client, tenant):
    logged_in(client, tenant.owner)
    url = reverse("console:user_detail", args=[tenant.nobody.pk])
    response = client.post(url, {"op": "update", "description": "now reads", "enabled": "on",
                                 "policies": [str(read_only_policy().pk)]})
    assert response.status_code == 302 and response["Location"] == url
    tenant.nobody.refresh_from_db()
    assert tenant.nobody.description == "now reads"
    assert list(tenant.nobody.policies.all()) == [read_only_policy()]
    assert client.get(url).context["attached"] == {read_only_policy().pk}

    admin_group = tenant.account.groups.get(name=actions.ADMIN_GROUP)
    response = client.post(reverse("console:group_detail", args=[admin_group.pk]), {"op": "delete"}, follow=True)
    assert has_message(response, "the admin group cannot be deleted"), messages_of(response)
    assert UserGroup.objects.filter(pk=admin_group.pk).exists()


def test_owner_cannot_delete_themselves(client, tenant):
    response = logged_in(client, tenant.owner).post(
        reverse("console:user_detail", args=[tenant.owner.pk]), {"op": "delete"}, follow=True)
    assert has_message(response, "you cannot delete yourself"), messages_of(response)
    assert User.objects.filter(pk=tenant.owner.pk).exists()


# --- access keys ---------------------------------------------------------------------------------------------

def test_create_access_key_shows_secret_exactly_once(client, tenant):
    logged_in(client, tenant.nobody)
    response = client.post(reverse("console:create_access_key"), {"description": "laptop"})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:access_keys")
    key = AccessKey.objects.get(user=tenant.nobody)
    assert key.description == "laptop"

    first = client.get(reverse("console:access_keys"))
    assert by_testid(first, "new-ak") == key.access_key_id
    secret = by_testid(first, "new-sk")
    assert secret == decrypt_secret(key.secret_encrypted)
    assert has_message(first, "Copy the secret now")

    second = client.get(reverse("console:access_keys"))
    assert key.access_key_id in page(second)  # still listed ...
    assert secret not in page(second)  # ... but the secret is gone
    assert 'data-testid="new-sk"' not in page(second)
    assert AuditLog.objects.get(action="iam.access_key.create").via == "console"


def test_access_key_limit_shows_error(client, tenant):
    logged_in(client, tenant.nobody)
    for _ in range(2):
        client.post(reverse("console:create_access_key"))
        assert 'data-testid="new-sk"' in page(client.get(reverse("console:access_keys")))
    response = client.post(reverse("console:create_access_key"), follow=True)
    assert has_message(response, "a user has at most 2 access keys"), messages_of(response)
    assert AccessKey.objects.filter(user=tenant.nobody).count() == 2
    assert 'data-testid="new-sk"' not in page(response)


def test_disable_and_delete_own_access_key(client, tenant):
    logged_in(client, tenant.nobody)
    client.post(reverse("console:create_access_key"))
    key = AccessKey.objects.get(user=tenant.nobody)
    change = reverse("console:change_access_key", args=[key.access_key_id])
    assert client.post(change, {"op": "disable"}).status_code == 302
    key.refresh_from_db()
    assert key.is_active is False
    client.post(change, {"op": "delete"})
    assert not AccessKey.objects.filter(pk=key.pk).exists()


def test_owner_creates_key_for_another_user(client, tenant):
    detail = reverse("console:user_detail", args=[tenant.member.pk])
    logged_in(client, tenant.owner)
    response = client.post(reverse("console:create_access_key"), {"user_id": str(tenant.member.pk), "next": detail})
    assert response.status_code == 302
    assert response["Location"] == detail
    key = AccessKey.objects.get()
    assert key.user == tenant.member
    response = client.get(detail)
    assert by_testid(response, "new-ak") == key.access_key_id
    assert by_testid(response, "new-sk") == decrypt_secret(key.secret_encrypted)
    assert 'data-testid="new-sk"' not in page(client.get(detail))
    assert not AccessKey.objects.filter(user=tenant.owner).exists()


def test_readonly_member_cannot_manage_keys_of_others(client, tenant):
    actions.create_access_key(Actor.system(tenant.account), tenant.owner)
    owner_key = AccessKey.objects.get(user=tenant.owner)
    logged_in(client, tenant.member)
    response = client.post(reverse("console:create_access_key"), {"user_id": str(tenant.owner.pk)})
    assert response.status_code == 403
    change = reverse("console:change_access_key", args=[owner_key.access_key_id])
    assert client.post(change, {"op": "disable"}).status_code == 403
    assert client.post(change, {"op": "delete"}).status_code == 403
    owner_key.refresh_from_db()
    assert owner_key.is_active
    assert AccessKey.objects.count() == 1
    # Their own key is fine.
    assert client.post(reverse("console:create_access_key"), {"user_id": str(tenant.member.pk)}).status_code == 302
    assert AccessKey.objects.filter(user=tenant.member).count() == 1


# --- task center: export, cancel, download -------------------------------------------------------------------

def test_export_from_audit_log_starts_job(client, tenant):
    logged_in(client, tenant.owner)
    assert 'data-testid="export-form"' in page(client.get(reverse("console:audit_log")))
    response = client.post(reverse("console:export_audit_log"), {"format": "XLSX", "action": "iam."})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:tasks")
    job = Job.objects.get()
    assert job.kind == AUDIT_EXPORT.name
    assert job.account == tenant.account
    assert job.created_by == tenant.owner
    assert job.state == Job.State.WAITING
    assert job.params == {"format": "XLSX", "action": "iam."}
    assert AuditLog.objects.get(action="job.audit_export.create").via == "console"
    response = client.get(reverse("console:tasks"))
    assert has_message(response, "Export started: follow it here."), messages_of(response)
    assert [entry["job_id"] for entry in response.context["jobs"]] == [str(job.pk)]


def test_export_with_bad_format_shows_error(client, tenant):
    response = logged_in(client, tenant.owner).post(reverse("console:export_audit_log"), {"format": "PDF"},
                                                    follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:audit_log")
    assert has_message(response, "format: must be one of CSV, XLSX")
    assert not Job.objects.exists()


def test_readonly_member_cannot_export(client, tenant):
    logged_in(client, tenant.member)
    assert 'data-testid="export-form"' not in page(client.get(reverse("console:audit_log")))
    assert client.post(reverse("console:export_audit_log"), {"format": "CSV"}).status_code == 403
    assert not Job.objects.exists()


def test_cancel_waiting_job(client, tenant):
    job = submit_export(tenant)
    response = logged_in(client, tenant.owner).post(reverse("console:cancel_task", args=[job.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:tasks")
    assert has_message(response, "Job canceled."), messages_of(response)
    job.refresh_from_db()
    assert job.state == Job.State.CANCELED
    assert AuditLog.objects.filter(action="job.audit_export.cancel", via="console").count() == 1


def test_cancel_finished_job_shows_error(client, tenant):
    job = submit_export(tenant)
    assert jobs.run(str(job.pk)) == "done"
    response = logged_in(client, tenant.owner).post(reverse("console:cancel_task", args=[job.pk]), follow=True)
    assert has_message(response, "only a WAITING job can be canceled; this one is SUCCEED"), messages_of(response)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEED


def test_cancel_needs_post_and_permission(client, tenant):
    job = submit_export(tenant)
    url = reverse("console:cancel_task", args=[job.pk])
    assert logged_in(client, tenant.owner).get(url).status_code == 405
    assert logged_in(client, tenant.member).post(url).status_code == 403
    job.refresh_from_db()
    assert job.state == Job.State.WAITING


def test_download_finished_job(client, tenant, other_tenant):
    actions.create_iam_user(Actor.system(other_tenant.account), other_tenant.account, username="elsewhere",
                            password=PASSWORD)
    job = submit_export(tenant)
    url = reverse("console:download_task", args=[job.pk])
    logged_in(client, tenant.owner)
    assert client.get(url).status_code == 404  # not finished yet
    assert jobs.run(str(job.pk)) == "done"
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEED and job.result_file

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert job.result_file.name.rsplit("/", 1)[-1] in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["time", "account", "actor", "action"]
    assert len(rows) - 1 == job.result["rows"] > 0
    assert {row[1] for row in rows[1:]} == {tenant.account.name}  # this tenant's log only
    assert "iam.user.create" in {row[3] for row in rows[1:]}
    assert logged_in(client, tenant.member).get(url).status_code == 403  # ReadOnly cannot download


# --- tenant isolation: every id-taking URL answers 404 for another tenant's object ------------------------

def test_cross_tenant_ids_answer_404(client, tenant, other_tenant):
    foreign_job = submit_export(other_tenant)
    done_job = submit_export(other_tenant, user=other_tenant.member)
    jobs.run(str(done_job.pk))
    foreign_group = other_tenant.account.groups.get(name=actions.ADMIN_GROUP)
    foreign_policy = actions.create_policy(Actor.system(other_tenant.account), other_tenant.account, name="theirs",
                                           document={"Version": "1.1", "Statement": [
                                               {"Action": ["metastudio:*:*"], "Effect": "Allow"}]})
    foreign_key, _ = actions.create_access_key(Actor.system(other_tenant.account), other_tenant.member)
    logged_in(client, tenant.owner)
    audits = AuditLog.objects.count()

    def status(method, name, *args, data=None):
        return getattr(client, method)(reverse(f"console:{name}", args=args), data or {}).status_code

    assert status("post", "cancel_task", foreign_job.pk) == 404
    assert status("get", "download_task", done_job.pk) == 404
    assert status("get", "download_task", uuid.uuid4()) == 404
    assert status("get", "user_detail", other_tenant.member.pk) == 404
    assert status("post", "user_detail", other_tenant.member.pk, data={"op": "update", "description": "x"}) == 404
    assert status("post", "user_detail", other_tenant.member.pk, data={"op": "delete"}) == 404
    assert status("get", "group_detail", foreign_group.pk) == 404
    assert status("post", "group_detail", foreign_group.pk, data={"op": "update", "description": "x"}) == 404
    assert status("post", "delete_policy", foreign_policy.pk) == 404
    assert status("post", "change_access_key", foreign_key.access_key_id, data={"op": "delete"}) == 404
    assert status("post", "change_access_key", foreign_key.access_key_id, data={"op": "disable"}) == 404
    assert status("post", "create_access_key", data={"user_id": str(other_tenant.member.pk)}) == 404

    foreign_job.refresh_from_db()
    assert foreign_job.state == Job.State.WAITING
    assert User.objects.filter(pk=other_tenant.member.pk, description="").exists()
    assert UserGroup.objects.filter(pk=foreign_group.pk, description="Account administrators").exists()
    assert Policy.objects.filter(pk=foreign_policy.pk).exists()
    assert AccessKey.objects.filter(pk=foreign_key.pk, is_active=True).exists()
    assert AccessKey.objects.filter(user=other_tenant.member).count() == 1
    assert AuditLog.objects.count() == audits


def test_system_policy_cannot_be_deleted(client, tenant):
    read_only = read_only_policy()
    # System policies belong to no account: the console treats them as not found.
    response = logged_in(client, tenant.owner).post(reverse("console:delete_policy", args=[read_only.pk]))
    assert response.status_code == 404
    assert Policy.objects.filter(pk=read_only.pk).exists()
