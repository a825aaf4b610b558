"""POST /v3/auth/tokens, X-Auth-Token authentication, project resolution, X-Request-Id, pagination, API docs."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenancy.models import AuditLog, AuthToken
from tenancy.secrets import sha256_hex
from tests.api_helpers import assert_error, fast_password_hashing, login_body  # noqa: F401
from tests.factories import PASSWORD

TOKENS = "/v3/auth/tokens"


def login(body, **extra):
    return APIClient().post(TOKENS, body, format="json", **extra)


def users_path(project_id: str) -> str:
    return f"/v1/{project_id}/iam/users"


# --- POST /v3/auth/tokens ---------------------------------------------------------------------------------------------

def test_login_returns_a_scoped_token(tenant):
    response = login(login_body(tenant.owner.username, PASSWORD, tenant.account.name, tenant.project_id))
    assert response.status_code == 201, response.content
    raw = response["X-Subject-Token"]
    assert raw and response["X-Request-Id"]
    token = AuthToken.objects.get(token_hash=sha256_hex(raw))
    assert token.user == tenant.owner and token.project == tenant.project
    assert raw not in response.content.decode()  # only in the header
    body = response.json()["token"]
    assert body["user"]["name"] == tenant.owner.username
    assert body["user"]["domain"]["name"] == tenant.account.name
    assert body["project"]["id"] == tenant.project_id
    assert {p["id"] for p in body["projects"]} == set(tenant.account.projects.values_list("project_id", flat=True))
    assert AuditLog.objects.filter(action="auth.token.create", actor=tenant.owner, source_ip="127.0.0.1").exists()


def test_login_token_works_as_x_auth_token(tenant):
    raw = login(login_body(tenant.owner.username, PASSWORD, tenant.account.name, tenant.project_id))[
        "X-Subject-Token"]
    response = APIClient().get(users_path(tenant.project_id), HTTP_X_AUTH_TOKEN=raw)
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 3


def test_unscoped_login_works_on_every_project_of_the_account(tenant):
    response = login(login_body(tenant.member.username, PASSWORD, tenant.account.name))
    assert response.status_code == 201, response.content
    assert response.json()["token"]["project"] is None
    client = APIClient(HTTP_X_AUTH_TOKEN=response["X-Subject-Token"])
    for project in tenant.account.projects.all():
        assert client.get(users_path(project.project_id)).status_code == 200


@pytest.mark.parametrize(("name", "password", "domain"), [
    ("owner", "wrong-password-123", "account"),
    ("owner", PASSWORD, "other-account"),
    ("nobody-by-that-name", PASSWORD, "account"),
])
def test_login_failures_are_401_and_alike(tenant, other_tenant, name, password, domain):
    name = tenant.owner.username if name == "owner" else name
    domain = {"account": tenant.account.name, "other-account": other_tenant.account.name}[domain]
    response = login(login_body(name, password, domain))
    body = assert_error(response, 401, "APIGW.0301", "wrong account, user name or password")
    assert "X-Subject-Token" not in response
    assert body["error_msg"] == "wrong account, user name or password"


def test_disabled_user_cannot_log_in(tenant):
    tenant.member.is_active = False
    tenant.member.save()
    assert_error(login(login_body(tenant.member.username, PASSWORD, tenant.account.name)), 401, "APIGW.0301")


def test_login_with_another_tenants_project_is_404(tenant, other_tenant):
    response = login(login_body(tenant.owner.username, PASSWORD, tenant.account.name, other_tenant.project_id))
    assert_error(response, 404, "MSS.00000002")


def test_login_scoped_by_region_name(tenant):
    body = login_body(tenant.owner.username, PASSWORD, tenant.account.name)
    body["auth"]["scope"] = {"project": {"name": "cn-east-3"}}
    response = login(body)
    assert response.status_code == 201, response.content
    assert response.json()["token"]["project"] == {
        "id": tenant.account.projects.get(region="cn-east-3").project_id, "name": "cn-east-3",
    }


def _without(body: dict, *path: str) -> dict:
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


@pytest.mark.parametrize(("path", "field"), [
    (("auth",), "auth"),
    (("auth", "identity"), "auth.identity"),
    (("auth", "identity", "methods"), "auth.identity.methods"),
    (("auth", "identity", "password"), "auth.identity.password"),
    (("auth", "identity", "password", "user"), "auth.identity.password.user"),
    (("auth", "identity", "password", "user", "name"), "auth.identity.password.user.name"),
    (("auth", "identity", "password", "user", "password"), "auth.identity.password.user.password"),
    (("auth", "identity", "password", "user", "domain"), "auth.identity.password.user.domain.name"),
])
def test_login_missing_field_is_400_naming_it(tenant, path, field):
    body = _without(login_body(tenant.owner.username, PASSWORD, tenant.account.name), *path)
    assert_error(login(body), 400, "MSS.00000003", f"{field}:")


def test_login_wrong_method_is_400(tenant):
    body = login_body(tenant.owner.username, PASSWORD, tenant.account.name)
    body["auth"]["identity"]["methods"] = ["token"]
    assert_error(login(body), 400, "MSS.00000003", "auth.identity.methods:")


def test_login_body_not_json(db):
    response = APIClient().post(TOKENS, "{not json", content_type="application/json")
    assert_error(response, 400, "MSS.00000009")


def test_login_body_is_a_list(db):
    assert_error(login([1, 2]), 400, "MSS.00000003", "auth:")


# --- X-Auth-Token -----------------------------------------------------------------------------------------------------

def test_expired_token(tenant, api):
    client = api(tenant.owner)
    AuthToken.objects.filter(user=tenant.owner).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(client.get(users_path(tenant.project_id)), 401, "APIGW.0307", "expired")


def test_garbage_token(tenant):
    response = APIClient().get(users_path(tenant.project_id), HTTP_X_AUTH_TOKEN="garbage")
    assert_error(response, 401, "APIGW.0301", "X-Auth-Token is not valid")


def test_token_of_disabled_user(tenant, api):
    client = api(tenant.member)
    tenant.member.is_active = False
    tenant.member.save()
    assert_error(client.get(users_path(tenant.project_id)), 401, "APIGW.0301")


def test_no_credentials(tenant):
    response = APIClient().get(users_path(tenant.project_id))
    assert_error(response, 401, "APIGW.0301", "authentication required")


def test_token_scoped_to_another_project_of_the_account(tenant):
    raw = login(login_body(tenant.owner.username, PASSWORD, tenant.account.name, tenant.project_id))[
        "X-Subject-Token"]
    other_project = tenant.account.projects.exclude(pk=tenant.project.pk).first()
    response = APIClient().get(users_path(other_project.project_id), HTTP_X_AUTH_TOKEN=raw)
    assert_error(response, 403, "MSS.00000005", tenant.project_id)


def test_unknown_project(tenant, api):
    unknown = uuid.uuid4().hex
    assert_error(api(tenant.owner).get(users_path(unknown)), 404, "MSS.00000002", unknown)


def test_another_tenants_project_looks_unknown(tenant, other_tenant, api):
    client = api(tenant.owner)
    unknown = uuid.uuid4().hex
    theirs = client.get(users_path(other_tenant.project_id))
    missing = client.get(users_path(unknown))
    body = assert_error(theirs, 404, "MSS.00000002")
    assert body["error_msg"].replace(other_tenant.project_id, "X") == missing.json()["error_msg"].replace(unknown, "X")
    assert theirs.status_code == missing.status_code


# --- X-Request-Id -----------------------------------------------------------------------------------------------------

def test_every_response_has_a_request_id(tenant, api):
    client = api(tenant.owner)
    responses = [
        client.get(users_path(tenant.project_id)),  # 200
        client.get(users_path(uuid.uuid4().hex)),  # 404 project
        APIClient().get(users_path(tenant.project_id)),  # 401
        api(tenant.nobody).get(users_path(tenant.project_id)),  # 403
        client.get(users_path(tenant.project_id) + "?limit=0"),  # 400
        login({"auth": {}}),  # 400 on /v3
        client.get(f"/v1/{tenant.project_id}/no-such-api"),  # unknown route
        client.get("/v3/no-such-api"),
    ]
    ids = [response["X-Request-Id"] for response in responses]
    assert all(ids) and len(set(ids)) == len(ids)
    assert [r.status_code for r in responses] == [200, 404, 401, 403, 400, 400, 404, 404]


@pytest.mark.parametrize("path", ["/v1/{pid}/no-such-api", "/v1/{pid}/iam/users/x/y/z", "/v3/auth/other"])
def test_unknown_api_route(tenant, api, path):
    response = api(tenant.owner).get(path.format(pid=tenant.project_id))
    assert_error(response, 404, "APIGW.0101", "does not exist")


def test_incoming_request_id_is_echoed(tenant, api):
    incoming = "req-" + uuid.uuid4().hex
    response = api(tenant.owner).get(users_path(tenant.project_id), HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-Id"] == incoming
    error = APIClient().get(users_path(tenant.project_id), HTTP_X_REQUEST_ID=incoming)
    assert error.status_code == 401 and error["X-Request-Id"] == incoming


@pytest.mark.parametrize("incoming", ["short", "has spaces in it", "x" * 65, "bad<script>chars"])
def test_malformed_request_id_is_replaced(tenant, api, incoming):
    response = api(tenant.owner).get(users_path(tenant.project_id), HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-Id"] != incoming
    assert len(response["X-Request-Id"]) == 32


def test_request_id_lands_in_the_audit_log(tenant, api):
    incoming = "trace-" + uuid.uuid4().hex
    response = api(tenant.owner).post(f"/v1/{tenant.project_id}/iam/groups", {"name": "traced"}, format="json",
                                      HTTP_X_REQUEST_ID=incoming)
    assert response.status_code == 201
    assert AuditLog.objects.get(action="iam.group.create", target_id=response.json()["group_id"]).request_id == \
        incoming


# --- pagination -------------------------------------------------------------------------------------------------------

def test_offset_and_limit(tenant, api):
    client = api(tenant.owner)
    names = sorted([tenant.owner.username, tenant.member.username, tenant.nobody.username])
    full = client.get(users_path(tenant.project_id)).json()
    assert full["count"] == 3 and [u["name"] for u in full["users"]] == names
    page = client.get(users_path(tenant.project_id), {"offset": 1, "limit": 1}).json()
    assert page["count"] == 3 and [u["name"] for u in page["users"]] == names[1:2]
    tail = client.get(users_path(tenant.project_id), {"offset": 2, "limit": 100}).json()
    assert tail["count"] == 3 and [u["name"] for u in tail["users"]] == names[2:]
    beyond = client.get(users_path(tenant.project_id), {"offset": 10}).json()
    assert beyond == {"count": 3, "users": []}


def test_default_limit_is_10(tenant, api):
    client = api(tenant.owner)
    for number in range(12):
        assert client.post(f"/v1/{tenant.project_id}/iam/groups", {"name": f"g{number:02}"},
                           format="json").status_code == 201
    page = client.get(f"/v1/{tenant.project_id}/iam/groups").json()
    assert page["count"] == 13 and len(page["groups"]) == 10


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"),
    ("limit=101", "limit"),
    ("limit=-5", "limit"),
    ("limit=abc", "limit"),
    ("limit=1.5", "limit"),
    ("offset=-1", "offset"),
    ("offset=x", "offset"),
])
def test_bad_pagination_parameter_is_400_naming_it(tenant, api, query, field):
    response = api(tenant.owner).get(f"{users_path(tenant.project_id)}?{query}")
    assert_error(response, 400, "MSS.00000003", f"{field}:")


# --- API documentation ------------------------------------------------------------------------------------------------

def test_openapi_schema(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/v1/{project_id}/iam/users" in schema["paths"]
    assert "/v3/auth/tokens" in schema["paths"]


def test_swagger_ui_uses_local_assets(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "/api/schema/" in html
