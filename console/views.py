"""Server-rendered console pages. Views parse input, call actions and render; no business logic here."""

import json
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from assets import quota
from assets.models import Asset
from billing.metering import usage_this_month
from metastudio import jobs
from metastudio.errors import ServiceError
from tenancy import actions
from tenancy.audit import Actor
from tenancy.exports import AUDIT_EXPORT, export_params
from tenancy.models import AccessKey, AuditLog, Policy, User, UserGroup
from tenancy.permissions import user_can


def console_page(action: str | None = None):
    """Login required, a tenant user, and (if given) the IAM action allowed; else 403."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.user.account_id is None:
                return render(request, "console/no_account.html", status=403)
            if action and not user_can(request.user, action):
                return _forbidden(request, action)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _forbidden(request, action: str):
    return render(request, "console/forbidden.html", {"action": action}, status=403)


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def json_forbidden(action: str) -> JsonResponse:
    return JsonResponse({"error_code": "MSS.00000005", "error_msg": f"your IAM policies do not allow {action}"},
                        status=403)


def refuse(request, action: str):
    """The IAM refusal a page's script (JSON) or a browser (HTML) expects."""
    return json_forbidden(action) if wants_json(request) else _forbidden(request, action)


def json_action(page_action: str, action: str):
    """A console JSON endpoint: signed in with `page_action`; `action` missing answers a JSON 403."""

    def decorate(view):
        @console_page(page_action)
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not user_can(request.user, action):
                return json_forbidden(action)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _actor(request) -> Actor:
    return Actor.from_request(request, via="console")


def _attempt(request, work, success: str) -> bool:
    """Run an action; show its error as a message instead of failing the page."""
    try:
        work()
    except ServiceError as error:
        messages.error(request, error.message)
        return False
    messages.success(request, success)
    return True


def _ids(request, name: str) -> list[str]:
    return request.POST.getlist(name)


@console_page()
def overview(request):
    account = request.user.account
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    job_counts = dict(
        jobs.Job.objects.filter(account=account, created_at__gte=month_start)
        .values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    return render(request, "console/overview.html", {
        "account": account,
        "projects": account.projects.all(),
        "job_counts": [(state, job_counts.get(state, 0)) for state in jobs.Job.State.values],
        "jobs_total": sum(job_counts.values()),
        "user_count": account.users.count(),
        "usage": usage_this_month(account),
        "recent_jobs": jobs.Job.objects.filter(account=account)[:5],
        "storage": quota.usage(account),
        "asset_counts": Asset.objects.filter(account=account).exclude(state=Asset.State.DELETED)
        .values_list("type").annotate(n=Count("id")).order_by("type"),
        "can_see_assets": user_can(request.user, "metastudio:asset:show"),
    })


@console_page("metastudio:job:show")
def tasks(request):
    account_jobs = (jobs.Job.objects.filter(account=request.user.account).in_history()
                    .select_related("created_by")[:100])
    payloads = [jobs.job_payload(job) for job in account_jobs]
    return render(request, "console/tasks.html", {"jobs": payloads, "jobs_json": json.dumps(payloads)})


def _account_job(request, job_id):
    job = jobs.Job.objects.filter(account=request.user.account, pk=job_id).first()
    if job is None:
        raise Http404
    return job


@require_POST
@console_page("metastudio:job:cancel")
def cancel_task(request, job_id):
    job = _account_job(request, job_id)
    _attempt(request, lambda: jobs.cancel(_actor(request), job), "Job canceled.")
    return redirect("console:tasks")


@console_page("metastudio:job:download")
def download_task(request, job_id):
    job = _account_job(request, job_id)
    if job.state != jobs.Job.State.SUCCEED or not job.result_file:
        raise Http404
    return jobs.result_file_response(job)


@console_page("metastudio:iamuser:show")
def users(request):
    account = request.user.account
    if request.method == "POST":
        if not user_can(request.user, "metastudio:iamuser:create"):
            return _forbidden(request, "metastudio:iamuser:create")
        ok = _attempt(request, lambda: actions.create_iam_user(
            _actor(request), account, username=request.POST.get("name", "").strip(),
            password=request.POST.get("password", ""), email=request.POST.get("email", "").strip(),
            description=request.POST.get("description", ""), groups=_ids(request, "groups"),
            policies=_ids(request, "policies"),
        ), "User created.")
        if ok:
            return redirect("console:users")
    return render(request, "console/users.html", {
        "users": account.users.prefetch_related("iam_groups", "policies").order_by("username"),
        "groups": account.groups.all(),
        "policies": Policy.visible_to(account),
        "can_create": user_can(request.user, "metastudio:iamuser:create"),
        "form": request.POST if request.method == "POST" else {},
    })


def _account_object(model, request, pk):
    found = model.objects.filter(account=request.user.account, pk=pk).first()
    if found is None:
        raise Http404
    return found


@console_page("metastudio:iamuser:show")
def user_detail(request, user_id):
    target = _account_object(User, request, user_id)
    if request.method == "POST":
        op = request.POST.get("op")
        needed = "metastudio:iamuser:delete" if op == "delete" else "metastudio:iamuser:update"
        if not user_can(request.user, needed):
            return _forbidden(request, needed)
        if op == "delete":
            if _attempt(request, lambda: actions.delete_iam_user(_actor(request), target), "User deleted."):
                return redirect("console:users")
        else:
            _attempt(request, lambda: actions.update_iam_user(
                _actor(request), target, description=request.POST.get("description", ""),
                is_active=request.POST.get("enabled") == "on", groups=_ids(request, "groups"),
                policies=_ids(request, "policies"), password=request.POST.get("password") or None,
            ), "User updated.")
        return redirect("console:user_detail", user_id=target.pk)
    return render(request, "console/user_detail.html", {
        "target": target,
        "groups": request.user.account.groups.all(),
        "policies": Policy.visible_to(request.user.account),
        "member_of": set(target.iam_groups.values_list("pk", flat=True)),
        "attached": set(target.policies.values_list("pk", flat=True)),
        "keys": target.access_keys.all(),
        "can_update": user_can(request.user, "metastudio:iamuser:update"),
        "can_delete": user_can(request.user, "metastudio:iamuser:delete"),
        "new_secret": request.session.pop("new_secret", None),
    })


@console_page("metastudio:iamgroup:show")
def groups(request):
    account = request.user.account
    if request.method == "POST":
        if not user_can(request.user, "metastudio:iamgroup:create"):
            return _forbidden(request, "metastudio:iamgroup:create")
        if _attempt(request, lambda: actions.create_group(
            _actor(request), account, name=request.POST.get("name", "").strip(),
            description=request.POST.get("description", ""), members=_ids(request, "members"),
            policies=_ids(request, "policies"),
        ), "Group created."):
            return redirect("console:groups")
    return render(request, "console/groups.html", {
        "groups": account.groups.prefetch_related("members", "policies"),
        "users": account.users.order_by("username"),
        "policies": Policy.visible_to(account),
        "can_create": user_can(request.user, "metastudio:iamgroup:create"),
    })


@console_page("metastudio:iamgroup:show")
def group_detail(request, group_id):
    group = _account_object(UserGroup, request, group_id)
    if request.method == "POST":
        op = request.POST.get("op")
        needed = "metastudio:iamgroup:delete" if op == "delete" else "metastudio:iamgroup:update"
        if not user_can(request.user, needed):
            return _forbidden(request, needed)
        if op == "delete":
            if _attempt(request, lambda: actions.delete_group(_actor(request), group), "Group deleted."):
                return redirect("console:groups")
        else:
            _attempt(request, lambda: actions.update_group(
                _actor(request), group, description=request.POST.get("description", ""),
                members=_ids(request, "members"), policies=_ids(request, "policies"),
            ), "Group updated.")
        return redirect("console:group_detail", group_id=group.pk)
    return render(request, "console/group_detail.html", {
        "group": group,
        "users": request.user.account.users.order_by("username"),
        "policies": Policy.visible_to(request.user.account),
        "members": set(group.members.values_list("pk", flat=True)),
        "attached": set(group.policies.values_list("pk", flat=True)),
        "can_update": user_can(request.user, "metastudio:iamgroup:update"),
    })


@console_page("metastudio:iampolicy:show")
def policies(request):
    account = request.user.account
    document_text = json.dumps({"Version": "1.1", "Statement": [
        {"Action": ["metastudio:*:show*"], "Effect": "Allow"}]}, indent=2)
    if request.method == "POST":
        if not user_can(request.user, "metastudio:iampolicy:create"):
            return _forbidden(request, "metastudio:iampolicy:create")
        document_text = request.POST.get("document", "")
        try:
            document = json.loads(document_text)
        except json.JSONDecodeError as error:
            messages.error(request, f"policy: not valid JSON (line {error.lineno}, column {error.colno})")
        else:
            if _attempt(request, lambda: actions.create_policy(
                _actor(request), account, name=request.POST.get("name", "").strip(), document=document,
                description=request.POST.get("description", ""),
            ), "Policy created."):
                return redirect("console:policies")
    return render(request, "console/policies.html", {
        "policies": [(p, json.dumps(p.document, indent=2)) for p in Policy.visible_to(account)],
        "can_create": user_can(request.user, "metastudio:iampolicy:create"),
        "can_delete": user_can(request.user, "metastudio:iampolicy:delete"),
        "document_text": document_text,
    })


@require_POST
@console_page("metastudio:iampolicy:delete")
def delete_policy(request, policy_id):
    target = _account_object(Policy, request, policy_id)
    _attempt(request, lambda: actions.delete_policy(_actor(request), target), "Policy deleted.")
    return redirect("console:policies")


@console_page()
def access_keys(request):
    """Everyone manages their own keys; users with accesskey rights also create keys for others."""
    keys = AccessKey.objects.filter(user=request.user)
    return render(request, "console/access_keys.html", {
        "keys": keys, "new_secret": request.session.pop("new_secret", None),
    })


@require_POST
@console_page()
def create_access_key(request):
    owner = request.user
    target_id = request.POST.get("user_id")
    if target_id and target_id != str(request.user.pk):
        if not user_can(request.user, "metastudio:accesskey:create"):
            return _forbidden(request, "metastudio:accesskey:create")
        owner = _account_object(User, request, target_id)

    def create():
        key, secret = actions.create_access_key(_actor(request), owner,
                                                description=request.POST.get("description", ""))
        request.session["new_secret"] = {"access": key.access_key_id, "secret": secret}

    _attempt(request, create, "Access key created. Copy the secret now: it is shown only once.")
    return redirect(request.POST.get("next") or "console:access_keys")


@require_POST
@console_page()
def change_access_key(request, access_key):
    key = AccessKey.objects.filter(access_key_id=access_key, user__account=request.user.account).first()
    if key is None:
        raise Http404
    if key.user_id != request.user.pk:
        needed = "metastudio:accesskey:delete" if request.POST.get("op") == "delete" else "metastudio:accesskey:update"
        if not user_can(request.user, needed):
            return _forbidden(request, needed)
    op = request.POST.get("op")
    if op == "delete":
        _attempt(request, lambda: actions.delete_access_key(_actor(request), key), "Access key deleted.")
    else:
        _attempt(request, lambda: actions.set_access_key_active(_actor(request), key, op == "enable"),
                 "Access key updated.")
    return redirect(request.POST.get("next") or "console:access_keys")


@console_page("metastudio:auditlog:show")
def audit_log(request):
    logs = AuditLog.objects.filter(account=request.user.account).select_related("actor")
    action = request.GET.get("action", "").strip()
    if action:
        logs = logs.filter(action__startswith=action)
    return render(request, "console/audit_log.html", {
        "logs": logs[:200], "action": action,
        "can_export": user_can(request.user, "metastudio:export:create"),
    })


@require_POST
@console_page("metastudio:export:create")
def export_audit_log(request):
    account = request.user.account
    project = account.projects.first()
    if _attempt(request, lambda: jobs.submit(
        _actor(request), account, AUDIT_EXPORT.name, export_params(request.POST), project=project,
    ), "Export started: follow it here."):
        return redirect("console:tasks")
    return redirect("console:audit_log")
