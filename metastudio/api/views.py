"""Base classes of every `/v1/{project_id}/...` API view: authentication, project, IAM, rate limit, scoping."""

from datetime import UTC, datetime

from rest_framework.generics import GenericAPIView
from rest_framework.viewsets import GenericViewSet

from metastudio.api.pagination import OffsetLimitPagination
from metastudio.api.ratelimit_table import RATE_LIMITS
from metastudio.errors import AuthenticationFailed, InvalidParameter, NotFound, PermissionDenied, is_uuid
from tenancy.actions import project_of
from tenancy.audit import Actor


def json_body(request) -> dict:
    """The request's JSON body, which must be an object."""
    if not isinstance(request.data, dict):
        raise InvalidParameter("the body must be a JSON object", field="body")
    return request.data


def query_time(value: str, field: str) -> datetime:
    """A time from a query parameter (ISO 8601 / RFC 3339; UTC when it names no zone)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter("must be an ISO 8601 time, e.g. 2026-11-01T00:00:00Z", field=field) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ProjectScopedMixin:
    """Declare, per operation (DRF action name or HTTP method in lower case):
    iam_actions = {"list": "metastudio:export:show", ...}
    rate_limits = {"list": "export.list", ...}   # keys of the product document's table; None = unlisted
    """

    iam_actions: dict[str, str] = {}
    rate_limits: dict[str, str | None] = {}
    pagination_class = OffsetLimitPagination
    list_key = "items"
    project = None
    account = None

    def operation(self) -> str:
        return getattr(self, "action", None) or self.request.method.lower()

    def iam_action(self) -> str | None:
        return self.iam_actions.get(self.operation())

    def rate_limit_key(self) -> str | None:
        return self.rate_limits.get(self.operation())

    def initial(self, request, *args, **kwargs):
        self.perform_authentication(request)
        if request.user is None:
            raise AuthenticationFailed(
                "authentication required: send X-Auth-Token, or sign the request (SDK-HMAC-SHA256 with X-Sdk-Date)"
            )
        self.project = self._project(request, kwargs.get("project_id", ""))
        self.account = self.project.account
        key = self.rate_limit_key()
        if key is not None and RATE_LIMITS[key].per_tenant[self.project.region] is None:
            raise NotFound(f"this API is not offered in region {self.project.region}", code="APIGW.0101")
        super().initial(request, *args, **kwargs)

    @staticmethod
    def _project(request, project_id: str):
        if request.user.account_id is None:
            raise NotFound(f"project {project_id} does not exist", code="MSS.00000002")
        token_project = getattr(request, "token_project", None)
        if token_project is not None:
            # A project-scoped token already carries its project: no lookup needed.
            if token_project.project_id != project_id:
                project_of(request.user.account, project_id)  # 404 for a project that is not the account's
                raise PermissionDenied(f"this token is scoped to project {token_project.project_id}")
            token_project.account = request.user.account
            return token_project
        return project_of(request.user.account, project_id)

    def api_base(self) -> str:
        """Absolute URL of this project's API root, for links in answers."""
        return self.request.build_absolute_uri(f"/v1/{self.project.project_id}")

    def actor(self) -> Actor:
        return Actor.from_request(self.request, via="api")


class ProjectApiView(ProjectScopedMixin, GenericAPIView):
    pass


class TenantViewSet(ProjectScopedMixin, GenericViewSet):
    """A viewset over a model with an `account` foreign key: other tenants' rows do not exist here."""

    model = None
    lookup_url_kwarg = "pk"

    def scoped_queryset(self):
        return self.model.objects.filter(account=self.account)

    def get_queryset(self):
        return self.scoped_queryset()

    def get_object(self):
        value = self.kwargs[self.lookup_url_kwarg]
        found = self.get_queryset().filter(pk=value).first() if is_uuid(value) else None
        if found is None:
            raise NotFound(f"{self.lookup_url_kwarg} {value} does not exist")
        return found
