"""IAM REST API: users, groups, policies, access keys and the audit log, under /v1/{project_id}/."""

import json

import pytest

from tenancy import actions
from tenancy.audit import Actor
from tenancy.models import AccessKey, AuditLog, Policy, User, UserGroup
from tests.api_helpers import assert_error, fast_password_hashing, login_body  # noqa: F401
from tests.factories import PASSWORD

NEW_PASSWORD = "a-quite-long-password"
ALLOW_ALL_BUT_DELETE_USERS = {"Version": "1.1", "Statement": [
    {"Effect": "Allow", "Action": ["metastudio:*:*"]},
    {"Effect": "Deny", "Action": ["metastudio:iamuser:delete"]},
]}


def v1(tenant, path: str) -> str:
    return f"/v1/{tenant.project_id}/{path}"


def create_user(client, tenant, name: str, **fields) -> dict:
    response = client.post(v1(tenant, "iam/users"), {"name": name, "password": NEW_PASSWORD, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- users and policies -----------------------------------------------------------------------------------------------

def test_read_only_user_can_list_but_not_change(tenant, api):
    owner = api(tenant.owner)
    created = create_user(owner, tenant, "reader", policies=[str(actions.read_only_policy().pk)])
    assert created["policies"] == [str(actions.read_only_policy().pk)]
    reader = api(User.objects.get(pk=created["user_id"]))

    listed = reader.get(v1(tenant, "iam/users"))
    assert listed.status_code == 200 and listed.json()["count"] == 4
    assert reader.get(v1(tenant, f"iam/users/{tenant.owner.pk}")).status_code == 200
    assert reader.get(v1(tenant, "iam/policies")).status_code == 200

    refused = [
        reader.post(v1(tenant, "iam/users"), {"name": "x", "password": NEW_PASSWORD}, format="json"),
        reader.put(v1(tenant, f"iam/users/{tenant.member.pk}"), {"description": "x"}, format="json"),
        reader.patch(v1(tenant, f"iam/users/{tenant.member.pk}"), {"description": "x"}, format="json"),
        reader.delete(v1(tenant, f"iam/users/{tenant.member.pk}")),
        reader.post(v1(tenant, "iam/groups"), {"name": "g"}, format="json"),
        reader.post(v1(tenant, "iam/policies"), {"name": "p", "policy": ALLOW_ALL_BUT_DELETE_USERS}, format="json"),
    ]
    for response in refused:
        assert_error(response, 403, "MSS.00000005", "do not allow")
    assert not User.objects.filter(username="x").exists()
    assert User.objects.get(pk=tenant.member.pk).description == ""


def test_custom_policy_with_deny(tenant, api):
    owner = api(tenant.owner)
    response = owner.post(v1(tenant, "iam/policies"), {"name": "no-user-delete", "policy": ALLOW_ALL_BUT_DELETE_USERS},
                          format="json")
    assert response.status_code == 201, response.content
    created_policy = response.json()
    assert created_policy["type"] == "CUSTOM" and created_policy["policy"] == ALLOW_ALL_BUT_DELETE_USERS
    operator = api(User.objects.get(pk=create_user(owner, tenant, "operator",
                                                   policies=[created_policy["policy_id"]])["user_id"]))

    victim = create_user(operator, tenant, "made-by-operator")
    assert_error(operator.delete(v1(tenant, f"iam/users/{victim['user_id']}")), 403, "MSS.00000005",
                 "metastudio:iamuser:delete")
    assert User.objects.filter(pk=victim["user_id"]).exists()
    assert operator.delete(v1(tenant, f"iam/users/{victim['user_id']}")).status_code == 403
    # The owner may; and once the policy changes, so may the operator (the permission cache follows IAM changes).
    allow_all = {"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["metastudio:*:*"]}]}
    assert owner.put(v1(tenant, f"iam/policies/{created_policy['policy_id']}"), {"policy": allow_all},
                     format="json").status_code == 200
    assert operator.delete(v1(tenant, f"iam/users/{victim['user_id']}")).status_code == 204


def test_policy_change_through_a_group_takes_effect(tenant, api):
    owner = api(tenant.owner)
    nobody = api(tenant.nobody)
    assert nobody.get(v1(tenant, "iam/users")).status_code == 403
    response = owner.post(v1(tenant, "iam/groups"), {
        "name": "readers", "members": [str(tenant.nobody.pk)], "policies": [str(actions.read_only_policy().pk)],
    }, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["members"] == [str(tenant.nobody.pk)]
    assert nobody.get(v1(tenant, "iam/users")).status_code == 200
    group_id = response.json()["group_id"]
    assert owner.put(v1(tenant, f"iam/groups/{group_id}"), {"members": []}, format="json").status_code == 200
    assert nobody.get(v1(tenant, "iam/users")).status_code == 403


@pytest.mark.parametrize(("document", "field"), [
    ({"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["metastudio:*:*"]}]}, "policy: Version"),
    ({"Version": "1.1", "Statement": [{"Effect": "Maybe", "Action": ["metastudio:*:*"]}]},
     "policy: Statement[0].Effect"),
    ({"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["metastudio:*:*"]},
                                      {"Effect": "Deny", "Action": ["nonsense"]}]}, "policy: Statement[1].Action[0]"),
    ("not an object", "policy: document"),
])
def test_invalid_policy_document_is_400_naming_the_field(tenant, api, document, field):
    owner = api(tenant.owner)
    response = owner.post(v1(tenant, "iam/policies"), {"name": "bad", "policy": document}, format="json")
    assert_error(response, 400, "MSS.00000003", field)
    assert not Policy.objects.filter(name="bad").exists()
    custom = actions.create_policy(Actor.system(tenant.account), tenant.account, name="good",
                                   document=ALLOW_ALL_BUT_DELETE_USERS)
    response = owner.put(v1(tenant, f"iam/policies/{custom.pk}"), {"policy": document}, format="json")
    assert_error(response, 400, "MSS.00000003", field)
    custom.refresh_from_db()
    assert custom.document == ALLOW_ALL_BUT_DELETE_USERS


@pytest.mark.parametrize(("body", "field"), [
    ({"policy": ALLOW_ALL_BUT_DELETE_USERS}, "name"),
    ({"name": "no-document"}, "policy"),
    ({"name": "x" * 65, "policy": ALLOW_ALL_BUT_DELETE_USERS}, "name"),
    ({"name": "MetaStudio FullAccess", "policy": ALLOW_ALL_BUT_DELETE_USERS}, "name"),
])
def test_policy_create_missing_or_bad_field(tenant, api, body, field):
    assert_error(api(tenant.owner).post(v1(tenant, "iam/policies"), body, format="json"), 400, "MSS.00000003",
                 f"{field}:")


@pytest.mark.parametrize("name", ["MetaStudio FullAccess", "MetaStudio ReadOnlyAccess"])
def test_system_policies_cannot_be_changed_or_deleted(tenant, api, name):
    owner = api(tenant.owner)
    system = actions.ensure_system_policies()[name]
    assert_error(owner.delete(v1(tenant, f"iam/policies/{system.pk}")), 409, "MSS.00000007", "system policies")
    assert_error(owner.put(v1(tenant, f"iam/policies/{system.pk}"), {"description": "mine now"}, format="json"),
                 409, "MSS.00000007", "system policies")
    system.refresh_from_db()
    assert system.description != "mine now"
    listed = owner.get(v1(tenant, "iam/policies"), {"limit": 100}).json()
    assert str(system.pk) in {p["policy_id"] for p in listed["policies"]}


def test_user_without_policy_is_refused(tenant, api):
    nobody = api(tenant.nobody)
    assert_error(nobody.get(v1(tenant, "iam/users")), 403, "MSS.00000005", "metastudio:iamuser:show")
    assert_error(nobody.get(v1(tenant, f"iam/users/{tenant.nobody.pk}")), 403, "MSS.00000005")
    assert_error(nobody.get(v1(tenant, "audit-logs")), 403, "MSS.00000005", "metastudio:auditlog:show")


@pytest.mark.parametrize(("body", "field"), [
    ({"password": NEW_PASSWORD}, "name"),
    ({"name": "no-password"}, "password"),
    ({"name": "weak", "password": "short"}, "password"),
    ({"name": "weak", "password": "password123"}, "password"),
    ({"name": "bad-mail", "password": NEW_PASSWORD, "email": "not-an-email"}, "email"),
    ({"name": "bad-group", "password": NEW_PASSWORD, "groups": ["not-a-uuid"]}, "groups"),
    ({"name": "taken", "password": NEW_PASSWORD, "policies": ["00000000-0000-4000-8000-000000000000"]},
     "policies"),
])
def test_user_create_validation_names_the_field(tenant, api, body, field):
    response = api(tenant.owner).post(v1(tenant, "iam/users"), body, format="json")
    assert_error(response, 400, "MSS.00000003", f"{field}")
    assert response.json()["error_msg"].startswith(field)


def test_user_name_is_unique_across_tenants(tenant, other_tenant, api):
    response = api(tenant.owner).post(v1(tenant, "iam/users"), {"name": other_tenant.owner.username.upper(),
                                                                  "password": NEW_PASSWORD}, format="json")
    assert_error(response, 400, "MSS.00000003", "name:", "already taken")


def test_update_user(tenant, api):
    owner = api(tenant.owner)
    response = owner.put(v1(tenant, f"iam/users/{tenant.member.pk}"),
                         {"description": "desk", "enabled": False, "email": "m@example.com"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["description"] == "desk" and response.json()["enabled"] is False
    member = User.objects.get(pk=tenant.member.pk)
    assert (member.description, member.is_active, member.email) == ("desk", False, "m@example.com")


def test_deleting_or_disabling_yourself_is_409(tenant, api):
    owner = api(tenant.owner)
    assert_error(owner.delete(v1(tenant, f"iam/users/{tenant.owner.pk}")), 409, "MSS.00000007", "yourself")
    assert_error(owner.put(v1(tenant, f"iam/users/{tenant.owner.pk}"), {"enabled": False}, format="json"),
                 409, "MSS.00000007", "yourself")
    assert User.objects.get(pk=tenant.owner.pk).is_active


def test_admin_group_cannot_be_deleted(tenant, api):
    admin = tenant.account.groups.get(name=actions.ADMIN_GROUP)
    assert_error(api(tenant.owner).delete(v1(tenant, f"iam/groups/{admin.pk}")), 409, "MSS.00000007")


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_unknown_ids_are_404(tenant, api, value):
    owner = api(tenant.owner)
    for resource in ("users", "groups", "policies", "access-keys"):
        assert_error(owner.get(v1(tenant, f"iam/{resource}/{value}")), 404, "MSS.00000004")


# --- audit ------------------------------------------------------------------------------------------------------------

def test_every_state_change_is_audited(tenant, api):
    owner = api(tenant.owner)
    steps = []

    def step(action: str, response, status: int):
        assert response.status_code == status, (action, response.content)
        steps.append((action, response["X-Request-Id"]))
        return response.json() if response.content else None

    user = step("iam.user.create", owner.post(v1(tenant, "iam/users"), {"name": "audited", "password": NEW_PASSWORD},
                                              format="json", HTTP_USER_AGENT="pytest-agent"), 201)
    uid = user["user_id"]
    step("iam.user.update", owner.put(v1(tenant, f"iam/users/{uid}"), {"description": "d"}, format="json"), 200)
    group = step("iam.group.create", owner.post(v1(tenant, "iam/groups"), {"name": "audited"}, format="json"), 201)
    gid = group["group_id"]
    step("iam.group.update", owner.put(v1(tenant, f"iam/groups/{gid}"), {"members": [uid]}, format="json"), 200)
    created = step("iam.policy.create", owner.post(v1(tenant, "iam/policies"),
                                                   {"name": "audited", "policy": ALLOW_ALL_BUT_DELETE_USERS},
                                                   format="json"), 201)
    pid = created["policy_id"]
    step("iam.policy.update", owner.put(v1(tenant, f"iam/policies/{pid}"), {"description": "d"}, format="json"), 200)
    key = step("iam.access_key.create", owner.post(v1(tenant, "iam/access-keys"), {"user_id": uid}, format="json"),
               201)
    ak = key["credential"]["access"]
    step("iam.access_key.update", owner.put(v1(tenant, f"iam/access-keys/{ak}"), {"status": "inactive"},
                                            format="json"), 200)
    step("iam.access_key.delete", owner.delete(v1(tenant, f"iam/access-keys/{ak}")), 204)
    step("iam.policy.delete", owner.delete(v1(tenant, f"iam/policies/{pid}")), 204)
    step("iam.group.delete", owner.delete(v1(tenant, f"iam/groups/{gid}")), 204)
    step("iam.user.delete", owner.delete(v1(tenant, f"iam/users/{uid}")), 204)

    for action, request_id in steps:
        log = AuditLog.objects.get(action=action, request_id=request_id)
        assert log.account_id == tenant.account.pk, action
        assert log.actor_id == tenant.owner.pk and log.actor_name == tenant.owner.username, action
        assert log.source_ip == "127.0.0.1" and log.via == "api", action
        assert log.target_id, action
    assert AuditLog.objects.get(action="iam.user.create", target_id=uid).user_agent == "pytest-agent"
    assert AuditLog.objects.get(action="iam.access_key.update").detail == {"access_key_id": ak, "active": False}


def test_refused_or_invalid_requests_change_nothing_and_audit_nothing(tenant, api):
    member, owner = api(tenant.member), api(tenant.owner)  # issuing their tokens is audited (auth.token.create)
    before = AuditLog.objects.count()
    assert member.post(v1(tenant, "iam/groups"), {"name": "nope"}, format="json").status_code == 403
    assert member.delete(v1(tenant, f"iam/users/{tenant.nobody.pk}")).status_code == 403
    assert owner.post(v1(tenant, "iam/groups"), {"name": ""}, format="json").status_code == 400
    assert owner.delete(v1(tenant, f"iam/users/{tenant.owner.pk}")).status_code == 409
    assert AuditLog.objects.count() == before
    assert not UserGroup.objects.filter(name="nope").exists()
    assert User.objects.filter(pk=tenant.nobody.pk).exists()


def test_audit_log_api_lists_own_tenant_only(tenant, other_tenant, api):
    actions.create_group(Actor(user=other_tenant.owner, account=other_tenant.account), other_tenant.account,
                         name="theirs")
    owner = api(tenant.owner)
    assert owner.post(v1(tenant, "iam/groups"), {"name": "ours"}, format="json").status_code == 201
    logs = owner.get(v1(tenant, "audit-logs"), {"limit": 100}).json()
    assert logs["count"] == AuditLog.objects.filter(account=tenant.account).count()
    assert logs["count"] == len(logs["logs"])
    group_logs = [log for log in logs["logs"] if log["action"] == "iam.group.create"]
    assert [log["detail"]["name"] for log in group_logs] == ["ours"]
    assert group_logs[0]["actor_name"] == tenant.owner.username and group_logs[0]["source_ip"] == "127.0.0.1"
    filtered = owner.get(v1(tenant, "audit-logs"), {"action": "iam.group"}).json()
    assert {log["action"] for log in filtered["logs"]} == {"iam.group.create"}
    assert api(tenant.member).get(v1(tenant, "audit-logs")).status_code == 200


# --- access keys ------------------------------------------------------------------------------------------------------

def test_access_key_secret_is_shown_once(tenant, api):
    owner = api(tenant.owner)
    response = owner.post(v1(tenant, "iam/access-keys"), {"description": "ci"}, format="json")
    assert response.status_code == 201, response.content
    credential = response.json()["credential"]
    secret, access = credential["secret"], credential["access"]
    assert len(secret) >= 30 and credential["user_id"] == str(tenant.owner.pk) and credential["status"] == "active"
    key = AccessKey.objects.get(access_key_id=access)
    assert secret.encode() not in bytes(key.secret_encrypted)

    listed = owner.get(v1(tenant, "iam/access-keys"))
    detail = owner.get(v1(tenant, f"iam/access-keys/{access}"))
    logs = owner.get(v1(tenant, "audit-logs"))
    for later in (listed, detail, logs):
        assert later.status_code == 200
        assert secret not in later.content.decode()
        assert '"secret"' not in later.content.decode()
    assert access in {c["access"] for c in listed.json()["credentials"]}
    assert detail.json()["description"] == "ci"
    assert not AuditLog.objects.filter(detail__icontains=secret).exists()
    assert all(secret not in json.dumps(log.detail) for log in AuditLog.objects.all())


def test_at_most_two_access_keys_per_user(tenant, api):
    owner = api(tenant.owner)
    for _ in range(2):
        assert owner.post(v1(tenant, "iam/access-keys"), {}, format="json").status_code == 201
    assert_error(owner.post(v1(tenant, "iam/access-keys"), {}, format="json"), 400, "MSS.00000003", "at most 2")


def test_read_only_user_manages_only_own_access_keys(tenant, api):
    member = api(tenant.member)
    own = member.post(v1(tenant, "iam/access-keys"), {}, format="json")
    assert own.status_code == 201, own.content
    assert own.json()["credential"]["user_id"] == str(tenant.member.pk)
    explicit_self = member.post(v1(tenant, "iam/access-keys"), {"user_id": str(tenant.member.pk)}, format="json")
    assert explicit_self.status_code == 201, explicit_self.content

    assert_error(member.post(v1(tenant, "iam/access-keys"), {"user_id": str(tenant.owner.pk)}, format="json"),
                 403, "MSS.00000005", "metastudio:accesskey:create")
    assert not tenant.owner.access_keys.exists()

    owners_key, _ = actions.create_access_key(Actor.system(tenant.account), tenant.owner)
    assert_error(member.delete(v1(tenant, f"iam/access-keys/{owners_key.access_key_id}")), 403, "MSS.00000005")
    assert_error(member.put(v1(tenant, f"iam/access-keys/{owners_key.access_key_id}"), {"status": "inactive"},
                            format="json"), 403, "MSS.00000005")
    owners_key.refresh_from_db()
    assert owners_key.is_active

    own_access = own.json()["credential"]["access"]
    assert member.put(v1(tenant, f"iam/access-keys/{own_access}"), {"status": "inactive"},
                      format="json").status_code == 200
    assert member.delete(v1(tenant, f"iam/access-keys/{own_access}")).status_code == 204


def test_user_without_policy_manages_own_access_keys_only(tenant, api):
    owners_key, _ = actions.create_access_key(Actor.system(tenant.account), tenant.owner)
    nobody = api(tenant.nobody)
    own = nobody.post(v1(tenant, "iam/access-keys"), {}, format="json")
    assert own.status_code == 201, own.content
    own_access = own.json()["credential"]["access"]
    listed = nobody.get(v1(tenant, "iam/access-keys"))
    assert listed.status_code == 200, listed.content
    assert listed.json()["count"] == 1
    assert [c["access"] for c in listed.json()["credentials"]] == [own_access]
    assert nobody.get(v1(tenant, f"iam/access-keys/{own_access}")).status_code == 200
    assert_error(nobody.get(v1(tenant, f"iam/access-keys/{owners_key.access_key_id}")), 403, "MSS.00000005")
    assert nobody.put(v1(tenant, f"iam/access-keys/{own_access}"), {"status": "inactive"},
                      format="json").status_code == 200
    assert nobody.delete(v1(tenant, f"iam/access-keys/{own_access}")).status_code == 204
    # Still nothing else.
    assert_error(nobody.get(v1(tenant, "iam/users")), 403, "MSS.00000005")


def test_access_key_for_another_tenants_user_is_404(tenant, other_tenant, api):
    response = api(tenant.owner).post(v1(tenant, "iam/access-keys"), {"user_id": str(other_tenant.owner.pk)},
                                      format="json")
    assert_error(response, 404, "MSS.00000004", "user_id")
    assert not other_tenant.owner.access_keys.exists()


def test_access_key_status_must_be_valid(tenant, api):
    key, _ = actions.create_access_key(Actor.system(tenant.account), tenant.member)
    response = api(tenant.owner).put(v1(tenant, f"iam/access-keys/{key.access_key_id}"), {"status": "on"},
                                     format="json")
    assert_error(response, 400, "MSS.00000003", "status:")


# --- cross-tenant isolation -------------------------------------------------------------------------------------------

@pytest.fixture
def theirs(other_tenant):
    """Objects of the other tenant, by resource path: (path, id)."""
    actor = Actor.system(other_tenant.account)
    group = actions.create_group(actor, other_tenant.account, name="their-group")
    policy = actions.create_policy(actor, other_tenant.account, name="their-policy",
                                   document=ALLOW_ALL_BUT_DELETE_USERS)
    key, _ = actions.create_access_key(actor, other_tenant.member)
    return {
        "users": str(other_tenant.member.pk),
        "groups": str(group.pk),
        "policies": str(policy.pk),
        "access-keys": key.access_key_id,
    }


@pytest.mark.parametrize("resource", ["users", "groups", "policies", "access-keys"])
def test_other_tenants_objects_do_not_exist(tenant, other_tenant, theirs, api, resource):
    owner = api(tenant.owner)
    path = v1(tenant, f"iam/{resource}/{theirs[resource]}")
    bodies = {"users": {"description": "pwned"}, "groups": {"description": "pwned"},
              "policies": {"description": "pwned"}, "access-keys": {"status": "inactive"}}
    assert_error(owner.get(path), 404, "MSS.00000004")
    assert_error(owner.put(path, bodies[resource], format="json"), 404, "MSS.00000004")
    assert_error(owner.patch(path, bodies[resource], format="json"), 404, "MSS.00000004")
    assert_error(owner.delete(path), 404, "MSS.00000004")
    # Same answer as for an id that does not exist at all.
    unknown = owner.get(v1(tenant, f"iam/{resource}/00000000-0000-4000-8000-000000000000"))
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "MSS.00000004"

    assert User.objects.filter(pk=other_tenant.member.pk, is_active=True, description="").exists()
    assert UserGroup.objects.filter(pk=theirs["groups"], description="").exists()
    assert Policy.objects.filter(pk=theirs["policies"], description="").exists()
    assert AccessKey.objects.filter(access_key_id=theirs["access-keys"], is_active=True).exists()


@pytest.mark.parametrize(("resource", "key"), [
    ("users", "users"), ("groups", "groups"), ("policies", "policies"), ("access-keys", "credentials"),
])
def test_lists_never_include_other_tenants_rows(tenant, other_tenant, theirs, api, resource, key):
    actions.create_access_key(Actor.system(tenant.account), tenant.owner)
    listed = api(tenant.owner).get(v1(tenant, f"iam/{resource}"), {"limit": 100})
    assert listed.status_code == 200
    body = listed.json()
    ids = {item.get("user_id") if resource == "users" else item.get("group_id") or item.get("policy_id")
           or item.get("access") for item in body[key]}
    assert theirs[resource] not in ids
    assert body["count"] == len(body[key]) > 0
    for item in body[key]:
        text = json.dumps(item)
        assert other_tenant.account.name not in text
        assert str(other_tenant.member.pk) not in text and str(other_tenant.owner.pk) not in text


def test_cannot_attach_other_tenants_policy_group_or_user(tenant, theirs, other_tenant, api):
    owner = api(tenant.owner)
    assert_error(owner.post(v1(tenant, "iam/users"), {"name": "mixer", "password": NEW_PASSWORD,
                                                      "policies": [theirs["policies"]]}, format="json"),
                 400, "MSS.00000003", "policies:")
    assert_error(owner.post(v1(tenant, "iam/users"), {"name": "mixer", "password": NEW_PASSWORD,
                                                      "groups": [theirs["groups"]]}, format="json"),
                 400, "MSS.00000003", "groups:")
    assert_error(owner.post(v1(tenant, "iam/groups"), {"name": "mixer", "members": [theirs["users"]]},
                            format="json"), 400, "MSS.00000003", "members:")
    assert not User.objects.filter(username="mixer").exists()
    assert not UserGroup.objects.filter(name="mixer").exists()


def test_login_password_of_created_user(tenant, api):
    create_user(api(tenant.owner), tenant, "fresh")
    response = api().post("/v3/auth/tokens", login_body("fresh", NEW_PASSWORD, tenant.account.name), format="json")
    assert response.status_code == 201
    wrong = api().post("/v3/auth/tokens", login_body("fresh", PASSWORD, tenant.account.name), format="json")
    assert wrong.status_code == 401
