"""Every route under /v1/{project_id}/, every HTTP method it answers: tenant isolation, IAM and declarations.

The routes are read from the URL configuration, so a new route is covered (and held to these rules) the moment it
is added. Path parameters are filled with a real object of tenant A where OBJECT_IDS knows how to make one, else
with a random uuid4; add an entry there when you add a route with a new path parameter.

(a) an outsider (owner of tenant B) using tenant A's project_id gets 404 MSS.00000002;
(b) on routes with object ids, B's owner using B's project and A's object ids gets 404;
(c) A's ReadOnly member gets 403 for every operation whose IAM action is not a show* action (every write);
(d) every view declares an IAM action and a rate-limit entry for each operation it routes;
(e) control: A's owner reaches every route (no 401/403/404-project/404-route/405/5xx), so (a)-(c) are not
    passing because a route is broken.
"""

import re
import uuid
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from assets import actions as asset_actions
from avatars import actions as avatar_actions
from avatars import cards as card_actions
from metastudio import jobs
from metastudio.api.auth import SignatureAuthentication, TokenAuthentication
from metastudio.api.permissions import IamActionPermission
from metastudio.api.ratelimit_table import RATE_LIMITS
from metastudio.api.throttling import TenantApiThrottle
from metastudio.api.views import ProjectScopedMixin
from tenancy import actions
from tenancy.audit import Actor
from tenancy.exports import AUDIT_EXPORT
from tenancy.models import AuditLog
from tenancy.policy import ACTION_PATTERN, READ_ONLY, is_allowed
from tests.api_helpers import fast_password_hashing, send_json  # noqa: F401
from videos import actions as photo_actions
from videos import scripts as video_scripts
from videos import video_jobs
from videos.ppt_import import PPT_IMPORT
from videos.subtitle_files import SUBTITLE_FILE
from voices import actions as voice_actions

V1_PREFIX = "v1/<str:project_id>/"
IGNORED_METHODS = {"options", "head", "trace"}
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
CONCRETE_ACTION = re.compile(r"^metastudio:[a-z][a-z0-9]*:[a-z][A-Za-z0-9]*$")
# Routes under /v1/{project_id}/ that are deliberately not IAM-checked API views (e.g. a pre-signed upload URL),
# each with the reason. Everything not listed here is held to every rule of this file.
EXEMPT_ROUTES: dict[str, str] = {}
# Non-GET operations that only read and are declared with a show* IAM action, as "METHOD /route" (see (c)).
READ_ONLY_NON_GET: set[str] = {"POST /v1/<str:project_id>/digital-assets/summarys"}


def _policy_document():
    return {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["metastudio:asset:show"]}]}


# Path parameter -> function(tenant) returning the id of a real object of that tenant. The user, key and so on
# belong to the owner or to the no-policy user, never to the ReadOnly member, so the member's writes are never
# self-service (access keys) and must be refused.
OBJECT_IDS = {
    "user_id": lambda t: str(t.nobody.pk),
    "group_id": lambda t: str(actions.create_group(Actor.system(t.account), t.account, name="matrix-group").pk),
    "policy_id": lambda t: str(actions.create_policy(Actor.system(t.account), t.account, name="matrix-policy",
                                                     document=_policy_document()).pk),
    "access_key": lambda t: actions.create_access_key(Actor.system(t.account), t.owner)[0].access_key_id,
    "job_id": lambda t: str(jobs.submit(Actor.system(t.account), t.account, AUDIT_EXPORT.name, {"format": "CSV"},
                                        project=t.project).pk),
    "asset_id": lambda t: str(_matrix_asset(t, "matrix-asset").pk),
    "training_job_id": lambda t: str(voice_actions.create_training_job(
        Actor.system(t.account), t.account, tier="BASIC", voice_name="matrix-voice", language="en",
        project=t.project).pk),
    "index": lambda t: "1",
    "tts_job_id": lambda t: str(jobs.submit(Actor.system(t.account), t.account, "tts_async", _tts_params(),
                                            project=t.project).pk),
    "audition_job_id": lambda t: str(jobs.submit(Actor.system(t.account), t.account, "tts_audition", _tts_params(),
                                                 project=t.project).pk),
    "reading_id": lambda t: str(voice_actions.set_reading(Actor.system(t.account), t.account, source="AI",
                                                          target="A I").pk),
    "vocab_group_id": lambda t: str(voice_actions.create_group(Actor.system(t.account), t.account, "matrix").pk),
    "avatar_job_id": lambda t: str(avatar_actions.create_training_job(
        Actor.system(t.account), t.account, name="matrix-avatar", project=t.project).pk),
    "detection_job_id": lambda t: str(photo_actions.create_photo_detection(
        Actor.system(t.account), t.account, b"not a photo", project=t.project).pk),
    "photo_video_job_id": lambda t: str(photo_actions.create_photo_video(
        Actor.system(t.account), t.account, preset_id="preset-photo-eileen",
        voice_config={"voice_asset_id": "espeak-en-us-f"}, shoot_scripts=[{"text_config": {"text": "matrix"}}],
        project=t.project).pk),
    "business_card_id": lambda t: str(card_actions.create_business_card(
        Actor.system(t.account), t.account, text_config={"name": "Matrix"}, preset_id="preset-photo-eileen",
        voice_asset_id="espeak-en-us-f", project=t.project).pk),
    "kind": lambda t: "photo",
    "script_id": lambda t: str(video_scripts.create_script(Actor.system(t.account), t.account, _script_body(),
                                                           project=t.project).pk),
    "video_job_id": lambda t: str(video_jobs.create_video_job(Actor.system(t.account), t.account, _script_body(),
                                                              project=t.project).pk),
    "subtitle_job_id": lambda t: str(jobs.submit(Actor.system(t.account), t.account, SUBTITLE_FILE.name, {
        "video_job_id": str(uuid.uuid4()), "script_id": None, "sequence_no": 0, "format": "SRT",
        "callback_config": None}, project=t.project).pk),
    "ppt_import_job_id": lambda t: str(jobs.submit(Actor.system(t.account), t.account, PPT_IMPORT.name,
                                                   {"ppt_asset_id": str(uuid.uuid4())}, project=t.project).pk),
    "file_id": lambda t: str(asset_actions.create_file(
        Actor.system(t.account), t.account, asset_id=_matrix_asset(t, "matrix-file-asset").pk,
        file_name="matrix.png", file_size=1024, base_url="http://testserver/")[0].pk),
}


def _tts_params() -> dict:
    return {"text": "matrix", "voice_asset_id": "espeak-en-us-f", "voice_tier": "PRESET", "ssml": False,
            "speed": 100, "pitch": 100, "volume": 140, "audio_format": "WAV", "sample_rate": 16000,
            "need_timestamp": False, "callback_url": "", "characters": 6}


def _script_body() -> dict:
    return {"script_name": "matrix", "model_asset_id": "preset-photo-eileen",
            "voice_config": {"voice_asset_id": "espeak-en-us-f"},
            "shoot_scripts": [{"script_type": "TEXT", "text_config": {"text": "matrix"}}]}


def _matrix_asset(t, name: str):
    return asset_actions.create_asset(Actor.system(t.account), t.account, name=name, asset_type="IMAGE",
                                      project=t.project)


# --- the routes -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    route: str  # e.g. "v1/<str:project_id>/iam/users/<str:user_id>"
    callback: object
    problem: str = ""  # set when the pattern cannot be analysed (e.g. a regex pattern)

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None)

    @property
    def operations(self) -> dict[str, str]:
        """HTTP method -> operation name (the DRF action of a viewset, else the method in lower case)."""
        mapping = getattr(self.callback, "actions", None)
        if mapping:
            return {method: action for method, action in mapping.items() if method not in IGNORED_METHODS}
        cls = self.view_class
        if cls is None:
            return {}
        return {m: m for m in cls.http_method_names if m not in IGNORED_METHODS and hasattr(cls, m)}

    @property
    def parameters(self) -> list[tuple[str, str]]:
        """(converter, name) of each path parameter after the project_id."""
        found = [(m["converter"] or "str", m["name"]) for m in PARAMETER.finditer(self.route)]
        return [item for item in found if item[1] != "project_id"]

    def path(self, project_id: str, ids: dict[str, str]) -> str:
        def fill(match):
            if match["name"] == "project_id":
                return project_id
            return ids.get(match["name"]) or ("987654321" if match["converter"] == "int" else str(uuid.uuid4()))

        return "/" + PARAMETER.sub(fill, self.route)


def _walk(patterns, prefix: str) -> list[Route]:
    found = []
    for pattern in patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            found.append(Route(prefix + str(pattern.pattern), getattr(pattern, "callback", None),
                               problem="not a path() route; the matrix cannot fill it"))
        elif isinstance(pattern, URLResolver):
            found.extend(_walk(pattern.url_patterns, prefix + str(pattern.pattern)))
        elif isinstance(pattern, URLPattern):
            found.append(Route(prefix + str(pattern.pattern), pattern.callback))
    return found


def collect_routes() -> list[Route]:
    resolvers = [p for p in get_resolver().url_patterns
                 if isinstance(p, URLResolver) and str(p.pattern) == V1_PREFIX]
    assert len(resolvers) == 1, f"expected one {V1_PREFIX!r} include in the root URLconf"
    return [route for route in _walk(resolvers[0].url_patterns, V1_PREFIX) if route.route not in EXEMPT_ROUTES]


ROUTES = collect_routes()
CASES = [(route, method) for route in ROUTES for method in route.operations]
ITEM_CASES = [(route, method) for route, method in CASES if route.parameters]


def case_id(case) -> str:
    route, method = case
    return f"{method.upper()} /{route.route}"


def route_id(route) -> str:
    return "/" + route.route


# --- fixtures ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def ids_a(tenant):
    """A real object of tenant A for every path parameter OBJECT_IDS knows."""
    names = {name for route in ROUTES for _, name in route.parameters}
    return {name: OBJECT_IDS[name](tenant) for name in sorted(names) if name in OBJECT_IDS}


# Body of every non-GET request: names A's owner as the target user, so that a ReadOnly member's access-key create
# is not self-service. Views that ignore the field are unaffected: the IAM check comes before the body is read.
def write_body(tenant) -> dict:
    return {"user_id": str(tenant.owner.pk)}


def call(client, route: Route, method: str, project_id: str, ids: dict, tenant):
    return send_json(client, method, route.path(project_id, ids), None if method == "get" else write_body(tenant))


def error_code(response) -> str | None:
    if response.streaming or not response.content or "json" not in response.get("Content-Type", ""):
        return None
    body = response.json()
    return body.get("error_code") if isinstance(body, dict) else None


def describe(response) -> str:
    return f"{response.status_code} {response.content[:300]!r}"


def iam_action_of(route: Route, method: str) -> str:
    action = getattr(route.view_class, "iam_actions", {}).get(route.operations[method])
    if not action:
        pytest.fail(f"{method.upper()} /{route.route} declares no IAM action (see test_route_declares_...)")
    return action


# --- (a) another tenant's project -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("route", "method"), CASES, ids=[case_id(c) for c in CASES])
def test_outsider_gets_404_on_another_tenants_project(route, method, tenant, other_tenant, ids_a, api):
    client = api(other_tenant.owner)
    before = AuditLog.objects.count()
    response = call(client, route, method, tenant.project_id, ids_a, other_tenant)
    assert response.status_code == 404, describe(response)
    assert error_code(response) == "MSS.00000002", describe(response)
    assert response["X-Request-Id"]
    assert AuditLog.objects.count() == before


# --- (b) another tenant's objects through one's own project -----------------------------------------------------------

@pytest.mark.parametrize(("route", "method"), ITEM_CASES, ids=[case_id(c) for c in ITEM_CASES])
def test_other_tenants_object_ids_are_404(route, method, tenant, other_tenant, ids_a, api):
    client = api(other_tenant.owner)
    before = AuditLog.objects.count()
    response = call(client, route, method, other_tenant.project_id, ids_a, other_tenant)
    assert response.status_code == 404, describe(response)
    assert error_code(response) not in ("MSS.00000002", "APIGW.0101"), describe(response)
    assert AuditLog.objects.count() == before


# --- (c) the ReadOnly member ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("route", "method"), CASES, ids=[case_id(c) for c in CASES])
def test_read_only_member_cannot_write(route, method, tenant, ids_a, api):
    action = iam_action_of(route, method)
    client = api(tenant.member)
    before = AuditLog.objects.count()
    response = call(client, route, method, tenant.project_id, ids_a, tenant)
    if is_allowed(READ_ONLY["Statement"], action):
        # A show* operation (any GET; a POST only if it is declared as a query, e.g. a summary).
        assert response.status_code != 403 and response.status_code < 500, describe(response)
        assert AuditLog.objects.count() == before, "a read wrote to the audit log"
    else:
        assert response.status_code == 403, describe(response)
        assert error_code(response) == "MSS.00000005", describe(response)
        assert action in response.json()["error_msg"]
        assert AuditLog.objects.count() == before


def test_every_non_get_operation_is_a_write():
    """(c) lets ReadOnly through only on show* actions. A non-GET operation declared as show* (a POST that only
    reads, e.g. a summary query) must be listed in READ_ONLY_NON_GET on purpose, so that a write can never slip
    into ReadOnly through a careless action name."""
    declared_reads = set()
    for route, method in CASES:
        actions_of_view = getattr(route.view_class, "iam_actions", {})
        if method != "get" and is_allowed(READ_ONLY["Statement"], actions_of_view.get(route.operations[method], "")):
            declared_reads.add(case_id((route, method)))
    assert declared_reads == READ_ONLY_NON_GET


# --- (d) declarations -------------------------------------------------------------------------------------------------

def declaration_problems(route: Route) -> list[str]:
    if route.problem:
        return [route.problem]
    cls = route.view_class
    if cls is None:
        return ["not a DRF view (no IAM, no rate limit, no project check)"]
    problems = []
    if not issubclass(cls, ProjectScopedMixin):
        problems.append(f"{cls.__name__} does not derive from ProjectScopedMixin (no project check)")
    if IamActionPermission not in getattr(cls, "permission_classes", ()):
        problems.append(f"{cls.__name__}.permission_classes lacks IamActionPermission")
    if TenantApiThrottle not in getattr(cls, "throttle_classes", ()):
        problems.append(f"{cls.__name__}.throttle_classes lacks TenantApiThrottle")
    for required in (TokenAuthentication, SignatureAuthentication):
        if required not in getattr(cls, "authentication_classes", ()):
            problems.append(f"{cls.__name__}.authentication_classes lacks {required.__name__}")
    if not route.operations:
        problems.append("routes no HTTP method")
    iam_actions = getattr(cls, "iam_actions", None) or {}
    rate_limits = getattr(cls, "rate_limits", None) or {}
    for method, operation in route.operations.items():
        where = f"{method.upper()} -> {cls.__name__}.{operation}"
        if not callable(getattr(cls, operation, None)):
            problems.append(f"{where}: the view has no such method")
        action = iam_actions.get(operation)
        if not action:
            problems.append(f"{where}: no IAM action in iam_actions")
        elif not (ACTION_PATTERN.match(action) and CONCRETE_ACTION.match(action)):
            problems.append(f"{where}: IAM action {action!r} is not a concrete metastudio:resource:operation")
        if operation not in rate_limits:
            problems.append(f"{where}: no entry in rate_limits (a key of RATE_LIMITS, or None for unlisted)")
        elif rate_limits[operation] is not None and rate_limits[operation] not in RATE_LIMITS:
            problems.append(f"{where}: rate-limit key {rate_limits[operation]!r} is not in RATE_LIMITS")
    return problems


@pytest.mark.parametrize("route", ROUTES, ids=[route_id(r) for r in ROUTES])
def test_route_declares_iam_action_and_rate_limit(route):
    assert declaration_problems(route) == []


def test_matrix_sees_the_routes():
    routes = {route.route for route in ROUTES}
    assert {"v1/<str:project_id>/iam/users", "v1/<str:project_id>/iam/users/<str:user_id>",
            "v1/<str:project_id>/audit-logs"} <= routes
    assert len(CASES) >= len(ROUTES) > 5
    assert all(route.route.startswith(V1_PREFIX) for route in ROUTES)


def test_declaration_check_catches_omissions():
    """The checker itself: a view that forgets a declaration is reported."""
    from rest_framework.response import Response

    from metastudio.api.views import TenantViewSet

    class Careless(TenantViewSet):
        iam_actions = {"list": "metastudio:thing:show", "create": "metastudio:thing:*"}
        rate_limits = {"list": "no.such.key"}

        def list(self, request, project_id):
            return Response({})

        def create(self, request, project_id):
            return Response({})

        def destroy(self, request, project_id):
            return Response({})

    careless = Route(V1_PREFIX + "things", Careless.as_view({"get": "list", "post": "create", "delete": "destroy",
                                                              "put": "partial_update"}))
    problems = "\n".join(declaration_problems(careless))
    assert "rate-limit key 'no.such.key'" in problems
    assert "POST -> Careless.create: IAM action 'metastudio:thing:*' is not a concrete" in problems
    assert "POST -> Careless.create: no entry in rate_limits" in problems
    assert "DELETE -> Careless.destroy: no IAM action" in problems
    assert "PUT -> Careless.partial_update: the view has no such method" in problems

    class Open(Careless):
        permission_classes: list = []
        throttle_classes: list = []

    opened = "\n".join(declaration_problems(Route(V1_PREFIX + "open", Open.as_view({"get": "list"}))))
    assert "lacks IamActionPermission" in opened and "lacks TenantApiThrottle" in opened

    def plain_view(request, project_id):
        return None

    assert declaration_problems(Route(V1_PREFIX + "plain", plain_view)) == [
        "not a DRF view (no IAM, no rate limit, no project check)"]


# --- (e) control: the owner reaches every route -----------------------------------------------------------------------

@pytest.mark.parametrize(("route", "method"), CASES, ids=[case_id(c) for c in CASES])
def test_owner_reaches_every_route(route, method, tenant, ids_a, api):
    response = call(api(tenant.owner), route, method, tenant.project_id, ids_a, tenant)
    assert response.status_code not in (401, 403, 405) and response.status_code < 500, describe(response)
    assert error_code(response) not in ("MSS.00000002", "APIGW.0101"), describe(response)
    if route.parameters and all(name in OBJECT_IDS for _, name in route.parameters):
        assert response.status_code != 404, f"A's own object is not found: {describe(response)}"
