from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from metastudio import jobs
from metastudio.api import ratelimit
from metastudio.api.views import TenantViewSet
from metastudio.errors import AuthenticationFailed, InvalidParameter, NotFound, StateConflict, Throttled
from tenancy import actions
from tenancy.api import serializers as s
from tenancy.audit import Actor, client_ip
from tenancy.exports import AUDIT_EXPORT, export_params
from tenancy.models import AccessKey, AuditLog, Policy, Project, User, UserGroup
from tenancy.permissions import user_can

LOGIN_ATTEMPTS_PER_SECOND = 5


def _crud(resource: str) -> tuple[dict, dict]:
    """IAM actions of a CRUD resource; the product's rate-limit table does not list IAM APIs."""
    ops = {"list": "show", "retrieve": "show", "create": "create", "partial_update": "update", "destroy": "delete"}
    return {op: f"metastudio:{resource}:{verb}" for op, verb in ops.items()}, dict.fromkeys(ops)


def _validated(serializer_class, data, partial=False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AuthTokenView(APIView):
    """POST /v3/auth/tokens: password login in the cloud IAM body format; the token is in X-Subject-Token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(request=None, responses={201: None}, summary="Get a token (X-Subject-Token)")
    def post(self, request):
        if not ratelimit.hit(f"login:{client_ip(request)}", LOGIN_ATTEMPTS_PER_SECOND)[0]:
            raise Throttled("The throttling threshold has been reached")
        identity = _dig(request.data, "auth", "identity")
        if "password" not in (identity.get("methods") or []):
            raise InvalidParameter('must contain "password"', field="auth.identity.methods")
        user_data = _dig(request.data, "auth", "identity", "password", "user")
        name, password = user_data.get("name"), user_data.get("password")
        domain = (user_data.get("domain") or {}).get("name")
        for field, value in (("name", name), ("password", password), ("domain.name", domain)):
            if not value:
                raise InvalidParameter("is required", field=f"auth.identity.password.user.{field}")
        user = authenticate(request._request, username=name, password=password)
        if user is None or user.account is None or user.account.name != domain:
            raise AuthenticationFailed("wrong account, user name or password")
        project = self._scope(request.data, user)
        token, raw = actions.issue_token(Actor(user=user, account=user.account, via="api", ip=client_ip(request),
                                               request_id=request.request_id), user, project)
        body = {"token": {
            "methods": ["password"],
            "issued_at": token.created_at.isoformat(),
            "expires_at": token.expires_at.isoformat(),
            "user": {"id": str(user.pk), "name": user.username,
                     "domain": {"id": str(user.account.pk), "name": user.account.name}},
            "project": {"id": project.project_id, "name": project.region} if project else None,
            "projects": [{"id": p.project_id, "name": p.region} for p in user.account.projects.all()],
        }}
        return Response(body, status=status.HTTP_201_CREATED, headers={"X-Subject-Token": raw})

    @staticmethod
    def _scope(data, user) -> Project | None:
        scope = _dig(data, "auth").get("scope") or {}
        project = scope.get("project") if isinstance(scope, dict) else None
        if not project:
            return None
        found = user.account.projects.filter(project_id=project.get("id", "")).first() if project.get("id") else \
            user.account.projects.filter(region=project.get("name", "")).first()
        if found is None:
            raise NotFound("the scoped project does not exist in this account", code="MSS.00000002")
        return found


def _dig(data, *keys) -> dict:
    current = data
    path = []
    for key in keys:
        path.append(key)
        current = current.get(key) if isinstance(current, dict) else None
        if not isinstance(current, dict):
            raise InvalidParameter("is required and must be an object", field=".".join(path))
    return current


class IamUserViewSet(TenantViewSet):
    model = User
    serializer_class = s.IamUserSerializer
    list_key = "users"
    lookup_url_kwarg = "user_id"
    iam_actions, rate_limits = _crud("iamuser")

    def get_queryset(self):
        return super().get_queryset().prefetch_related("iam_groups", "policies").order_by("username")

    def list(self, request, project_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, project_id, user_id):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=s.IamUserCreateSerializer)
    def create(self, request, project_id):
        data = _validated(s.IamUserCreateSerializer, request.data)
        user = actions.create_iam_user(self.actor(), self.account, username=data["name"], password=data["password"],
                                       email=data["email"], description=data["description"], groups=data["groups"],
                                       policies=data["policies"])
        return Response(self.get_serializer(user).data, status=201)

    @extend_schema(request=s.IamUserUpdateSerializer)
    def partial_update(self, request, project_id, user_id):
        user = self.get_object()
        data = _validated(s.IamUserUpdateSerializer, request.data)
        actions.update_iam_user(self.actor(), user, description=data.get("description"), email=data.get("email"),
                                is_active=data.get("enabled"), groups=data.get("groups"),
                                policies=data.get("policies"), password=data.get("password"))
        return Response(self.get_serializer(user).data)

    def destroy(self, request, project_id, user_id):
        actions.delete_iam_user(self.actor(), self.get_object())
        return Response(status=204)


class GroupViewSet(TenantViewSet):
    model = UserGroup
    serializer_class = s.GroupSerializer
    list_key = "groups"
    lookup_url_kwarg = "group_id"
    iam_actions, rate_limits = _crud("iamgroup")

    def get_queryset(self):
        return super().get_queryset().prefetch_related("members", "policies")

    def list(self, request, project_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, project_id, group_id):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=s.GroupWriteSerializer)
    def create(self, request, project_id):
        data = _validated(s.GroupWriteSerializer, request.data)
        if not data.get("name"):
            raise InvalidParameter("is required", field="name")
        group = actions.create_group(self.actor(), self.account, name=data["name"],
                                     description=data.get("description", ""), members=data.get("members", []),
                                     policies=data.get("policies", []))
        return Response(self.get_serializer(group).data, status=201)

    @extend_schema(request=s.GroupWriteSerializer)
    def partial_update(self, request, project_id, group_id):
        group = self.get_object()
        data = _validated(s.GroupWriteSerializer, request.data)
        actions.update_group(self.actor(), group, description=data.get("description"), members=data.get("members"),
                             policies=data.get("policies"))
        return Response(self.get_serializer(group).data)

    def destroy(self, request, project_id, group_id):
        actions.delete_group(self.actor(), self.get_object())
        return Response(status=204)


class PolicyViewSet(TenantViewSet):
    model = Policy
    serializer_class = s.PolicySerializer
    list_key = "policies"
    lookup_url_kwarg = "policy_id"
    iam_actions, rate_limits = _crud("iampolicy")

    def scoped_queryset(self):
        return Policy.visible_to(self.account)

    def list(self, request, project_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, project_id, policy_id):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=s.PolicyWriteSerializer)
    def create(self, request, project_id):
        data = _validated(s.PolicyWriteSerializer, request.data)
        if not data.get("name"):
            raise InvalidParameter("is required", field="name")
        if "policy" not in data:
            raise InvalidParameter("is required", field="policy")
        created = actions.create_policy(self.actor(), self.account, name=data["name"], document=data["policy"],
                                        description=data.get("description", ""))
        return Response(self.get_serializer(created).data, status=201)

    @extend_schema(request=s.PolicyWriteSerializer)
    def partial_update(self, request, project_id, policy_id):
        target = self.get_object()
        data = _validated(s.PolicyWriteSerializer, request.data)
        actions.update_policy(self.actor(), target, document=data.get("policy"),
                              description=data.get("description"))
        return Response(self.get_serializer(target).data)

    def destroy(self, request, project_id, policy_id):
        actions.delete_policy(self.actor(), self.get_object())
        return Response(status=204)


class AccessKeyViewSet(TenantViewSet):
    """Access keys of the account's users. Anyone may manage their own keys; others' need IAM rights."""

    model = AccessKey
    serializer_class = s.AccessKeySerializer
    list_key = "credentials"
    lookup_url_kwarg = "access_key"
    iam_actions, rate_limits = _crud("accesskey")

    def iam_action(self):
        operation = self.operation()
        if operation in ("create", "retrieve", "destroy", "partial_update") and self._targets_self():
            return "self:accesskey:manage"
        if operation == "list" and not user_can(self.request.user, "metastudio:accesskey:show"):
            return "self:accesskey:manage"  # scoped_queryset lists only the caller's own keys
        return super().iam_action()

    def check_permissions(self, request):
        if self.iam_action() == "self:accesskey:manage":
            return
        super().check_permissions(request)

    def _targets_self(self) -> bool:
        if self.operation() == "create":
            user_id = self.request.data.get("user_id") if isinstance(self.request.data, dict) else None
            return not user_id or str(user_id) == str(self.request.user.pk)
        key = AccessKey.objects.filter(access_key_id=self.kwargs.get(self.lookup_url_kwarg)).first()
        return key is not None and key.user_id == self.request.user.pk

    def scoped_queryset(self):
        keys = AccessKey.objects.filter(user__account=self.account).select_related("user")
        if not user_can(self.request.user, "metastudio:accesskey:show"):
            keys = keys.filter(user=self.request.user)
        return keys

    def get_object(self):
        found = self.get_queryset().filter(access_key_id=self.kwargs[self.lookup_url_kwarg]).first()
        if found is None:
            raise NotFound(f"access key {self.kwargs[self.lookup_url_kwarg]} does not exist")
        return found

    def list(self, request, project_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, project_id, access_key):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=s.AccessKeyCreateSerializer)
    def create(self, request, project_id):
        data = _validated(s.AccessKeyCreateSerializer, request.data)
        owner = request.user
        if data.get("user_id"):
            owner = User.objects.filter(account=self.account, pk=data["user_id"]).first()
            if owner is None:
                raise NotFound("user does not exist", field="user_id")
        key, secret = actions.create_access_key(self.actor(), owner, description=data["description"])
        body = {"credential": {**self.get_serializer(key).data, "secret": secret}}
        return Response(body, status=201)

    def partial_update(self, request, project_id, access_key):
        key = self.get_object()
        state = request.data.get("status") if isinstance(request.data, dict) else None
        if state not in ("active", "inactive"):
            raise InvalidParameter('must be "active" or "inactive"', field="status")
        actions.set_access_key_active(self.actor(), key, state == "active")
        return Response(self.get_serializer(key).data)

    def destroy(self, request, project_id, access_key):
        actions.delete_access_key(self.actor(), self.get_object())
        return Response(status=204)


class AuditLogViewSet(TenantViewSet):
    model = AuditLog
    serializer_class = s.AuditLogSerializer
    list_key = "logs"
    iam_actions = {"list": "metastudio:auditlog:show"}
    rate_limits = {"list": None}

    def list(self, request, project_id):
        logs = self.get_queryset()
        action = request.query_params.get("action")
        if action:
            logs = logs.filter(action__startswith=action)
        page = self.paginate_queryset(logs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ExportJobViewSet(TenantViewSet):
    """Export jobs (import/export management). The first kind: the account's audit log as CSV or XLSX."""

    model = jobs.Job
    serializer_class = s.ExportJobSerializer
    list_key = "jobs"
    lookup_url_kwarg = "job_id"
    iam_actions = {"list": "metastudio:export:show", "retrieve": "metastudio:export:show",
                   "create": "metastudio:export:create", "destroy": "metastudio:export:delete",
                   "cancel": "metastudio:export:cancel", "file": "metastudio:export:download"}
    rate_limits = {"list": "export.list", "retrieve": "export.show", "create": "export.create",
                   "destroy": "export.delete", "cancel": "export.delete", "file": "export.download"}

    def scoped_queryset(self):
        return jobs.Job.objects.filter(account=self.account, kind=AUDIT_EXPORT.name)

    def list(self, request, project_id):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, project_id, job_id):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=s.ExportJobCreateSerializer)
    def create(self, request, project_id):
        data = _validated(s.ExportJobCreateSerializer, request.data)
        job = jobs.submit(self.actor(), self.account, AUDIT_EXPORT.name, export_params(data), project=self.project)
        return Response(self.get_serializer(job).data, status=201)

    def cancel(self, request, project_id, job_id):
        job = jobs.cancel(self.actor(), self.get_object())
        return Response(self.get_serializer(job).data)

    def destroy(self, request, project_id, job_id):
        job = self.get_object()
        jobs.delete(self.actor(), job)
        return Response(status=204)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def file(self, request, project_id, job_id):
        job = self.get_object()
        if job.state != jobs.Job.State.SUCCEED or not job.result_file:
            raise StateConflict(f"the job has no file yet (state {job.state})", field="job_id")
        return jobs.result_file_response(job)
