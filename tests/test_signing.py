"""AK/SK request signing: the pure SDK-HMAC-SHA256 code, then signed requests against the API."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from metastudio.api import signing
from tenancy import actions
from tenancy.audit import Actor
from tenancy.models import AuditLog, User
from tests.api_helpers import assert_error, fast_password_hashing, meta_headers, signed  # noqa: F401

NOW = datetime(2026, 11, 25, 10, 15, 0, tzinfo=UTC)


# --- pure signing code ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("/v1/p/iam/users", "/v1/p/iam/users/"),
    ("/v1/p/iam/users/", "/v1/p/iam/users/"),
    ("/", "/"),
    ("/a b/c", "/a%20b/c/"),
    ("/files/é", "/files/%C3%A9/"),
    ("/a~b-c_d.e", "/a~b-c_d.e/"),
    ("/a+b=c", "/a%2Bb%3Dc/"),
])
def test_canonical_uri(path, expected):
    assert signing.canonical_uri(path) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("", ""),
    ("limit=5", "limit=5"),
    ("offset=0&limit=5", "limit=5&offset=0"),
    ("b=2&a=1&a=0", "a=0&a=1&b=2"),
    ("name=a b", "name=a%20b"),
    ("name=a+b", "name=a%20b"),  # form encoding: + is a space
    ("name=a%2Bb", "name=a%2Bb"),
    ("flag", "flag="),
    ("k=%E4%B8%AD", "k=%E4%B8%AD"),
])
def test_canonical_query(query, expected):
    assert signing.canonical_query(query) == expected


def test_canonical_request_layout():
    body = b'{"a": 1}'
    canonical = signing.canonical_request(
        "post", "/v1/p/x", "b=2&a=1", {"Host": "example.com", "X-Sdk-Date": "20261125T101500Z"},
        ["host", "x-sdk-date"], body,
    )
    assert canonical == "\n".join([
        "POST", "/v1/p/x/", "a=1&b=2", "host:example.com\nx-sdk-date:20261125T101500Z\n", "host;x-sdk-date",
        hashlib.sha256(body).hexdigest(),
    ])


def test_unsigned_payload_opt_out():
    headers = {"X-Sdk-Content-Sha256": signing.UNSIGNED_PAYLOAD}
    assert signing.body_digest(headers, b"anything") == signing.UNSIGNED_PAYLOAD
    assert signing.body_digest({}, b"") == hashlib.sha256(b"").hexdigest()


def test_sign_request_round_trip():
    url = "https://example.com/v1/p/iam/users?offset=0&limit=5"
    headers = signing.sign_request("AK123", "s3cret", "GET", url, headers={"X-Project-Id": "p"}, now=NOW)
    assert headers["Host"] == "example.com"
    assert headers["X-Sdk-Date"] == "20261125T101500Z"
    assert headers["X-Project-Id"] == "p"
    access, signed_names, given = signing.parse_authorization(headers["Authorization"])
    assert access == "AK123"
    assert signed_names == ["host", "x-project-id", "x-sdk-date"]
    assert signing.parse_sdk_date(headers["X-Sdk-Date"]) == NOW
    # The server recomputes the same signature from what it received (headers arrive in any case).
    received = {name.lower(): value for name, value in headers.items()}
    canonical = signing.canonical_request("GET", "/v1/p/iam/users", "limit=5&offset=0", received, signed_names, b"")
    to_sign = signing.string_to_sign(received["x-sdk-date"], canonical)
    assert to_sign.startswith("SDK-HMAC-SHA256\n20261125T101500Z\n")
    assert signing.signature("s3cret", to_sign) == given
    assert given == hmac.new(b"s3cret", to_sign.encode(), hashlib.sha256).hexdigest()
    # ...and a different one for another secret, method, query or body.
    assert signing.signature("other", to_sign) != given
    for method, query, body in (("POST", "limit=5&offset=0", b""), ("GET", "limit=6&offset=0", b""),
                                ("GET", "limit=5&offset=0", b"x")):
        changed = signing.canonical_request(method, "/v1/p/iam/users", query, received, signed_names, body)
        assert signing.signature("s3cret", signing.string_to_sign(received["x-sdk-date"], changed)) != given


def test_sign_request_is_deterministic_and_time_dependent():
    url = "http://testserver/v1/p/iam/users"
    first = signing.sign_request("AK", "sk", "GET", url, now=NOW)
    assert first == signing.sign_request("AK", "sk", "GET", url, now=NOW)
    assert first["Authorization"] != signing.sign_request("AK", "sk", "GET", url, now=NOW + timedelta(seconds=1))[
        "Authorization"]


@pytest.mark.parametrize("value", [
    "",
    "SDK-HMAC-SHA256",
    "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date",
    "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=not-hex",
    "SDK-HMAC-SHA256 Access=AK SignedHeaders=host;x-sdk-date Signature=abc",
    "AWS4-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=abc",
    "SDK-HMAC-SHA256 SignedHeaders=host;x-sdk-date, Access=AK, Signature=abc",
])
def test_parse_authorization_rejects_malformed_headers(value):
    with pytest.raises(signing.SignatureFormatError, match="Authorization must be"):
        signing.parse_authorization(value)


def test_parse_authorization_requires_sorted_signed_headers():
    with pytest.raises(signing.SignatureFormatError, match="sorted"):
        signing.parse_authorization("SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;host, Signature=ab")


def test_parse_authorization_normalises_case():
    access, names, sig = signing.parse_authorization(
        "  SDK-HMAC-SHA256 Access=AK9, SignedHeaders=Host;X-Sdk-Date, Signature=ABCdef  "
    )
    assert (access, names, sig) == ("AK9", ["host", "x-sdk-date"], "abcdef")


@pytest.mark.parametrize("value", ["", "2026-11-25T10:15:00Z", "20261125T101500", "20261325T101500Z", None])
def test_parse_sdk_date_rejects_other_formats(value):
    with pytest.raises(signing.SignatureFormatError, match="X-Sdk-Date"):
        signing.parse_sdk_date(value)


# --- signed requests against the API ----------------------------------------------------------------------------------

@pytest.fixture
def key(tenant):
    """(access key id, secret) of tenant A's owner."""
    access_key, secret = actions.create_access_key(Actor.system(tenant.account), tenant.owner)
    return access_key.access_key_id, secret


def users_url(tenant, query="limit=5") -> str:
    return f"http://testserver/v1/{tenant.project_id}/iam/users" + (f"?{query}" if query else "")


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_signed_request_is_accepted(tenant, key):
    url = users_url(tenant)
    response = Client().get(path_of(url), **signed(*key, "GET", url))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3
    assert {user["name"] for user in body["users"]} == {tenant.owner.username, tenant.member.username,
                                                        tenant.nobody.username}


def test_signed_request_without_query(tenant, key):
    url = users_url(tenant, query="")
    response = Client().get(path_of(url), **signed(*key, "GET", url))
    assert response.status_code == 200, response.content


def test_query_parameter_order_does_not_matter(tenant, key):
    url = users_url(tenant, "offset=0&limit=5")
    headers = signed(*key, "GET", url)
    response = Client().get(path_of(users_url(tenant, "limit=5&offset=0")), **headers)
    assert response.status_code == 200, response.content


def test_wrong_secret(tenant, key):
    url = users_url(tenant)
    response = Client().get(path_of(url), **signed(key[0], key[1] + "x", "GET", url))
    assert_error(response, 401, "APIGW.0303", "signature")


def test_tampered_query(tenant, key):
    headers = signed(*key, "GET", users_url(tenant, "limit=5"))
    response = Client().get(path_of(users_url(tenant, "limit=6")), **headers)
    assert_error(response, 401, "APIGW.0303", "signature does not match")


def test_tampered_path(tenant, key):
    headers = signed(*key, "GET", users_url(tenant))
    response = Client().get(f"/v1/{tenant.project_id}/iam/groups?limit=5", **headers)
    assert_error(response, 401, "APIGW.0303", "signature does not match")


def test_tampered_host(tenant, key):
    url = users_url(tenant)
    headers = signed(*key, "GET", url)
    headers["HTTP_HOST"] = "localhost"
    assert_error(Client().get(path_of(url), **headers), 401, "APIGW.0303", "signature does not match")


def test_unknown_access_key(tenant, key):
    url = users_url(tenant)
    response = Client().get(path_of(url), **signed("NOSUCHKEY0000000000X", key[1], "GET", url))
    assert_error(response, 401, "APIGW.0303", "NOSUCHKEY0000000000X", "does not exist")


def test_disabled_key(tenant, key):
    access_key = tenant.owner.access_keys.get(access_key_id=key[0])
    actions.set_access_key_active(Actor.system(tenant.account), access_key, False)
    url = users_url(tenant)
    assert_error(Client().get(path_of(url), **signed(*key, "GET", url)), 401, "APIGW.0303", "disabled")


def test_disabled_user(tenant, key):
    User.objects.filter(pk=tenant.owner.pk).update(is_active=False)
    url = users_url(tenant)
    assert_error(Client().get(path_of(url), **signed(*key, "GET", url)), 401, "APIGW.0303", "disabled")


@pytest.mark.parametrize("minutes", [20, -20])
def test_skewed_clock(tenant, key, minutes):
    url = users_url(tenant)
    headers = signed(*key, "GET", url, now=datetime.now(UTC) - timedelta(minutes=minutes))
    assert_error(Client().get(path_of(url), **headers), 401, "APIGW.0304", "X-Sdk-Date", "clock")


def test_small_skew_is_accepted(tenant, key):
    url = users_url(tenant)
    headers = signed(*key, "GET", url, now=datetime.now(UTC) - timedelta(minutes=10))
    assert Client().get(path_of(url), **headers).status_code == 200


def signed_key_post(tenant, key, now, extra_headers=None) -> tuple[str, bytes, dict]:
    """A signed POST that creates an access key for the member: the same body may legitimately be sent twice."""
    url = f"http://testserver/v1/{tenant.project_id}/iam/access-keys"
    body = json.dumps({"user_id": str(tenant.member.pk)}).encode()
    headers = signed(*key, "POST", url, body=body, now=now,
                     headers={"Content-Type": "application/json", **(extra_headers or {})})
    return path_of(url), body, headers


def test_replayed_write_request(tenant, key):
    path, body, headers = signed_key_post(tenant, key, datetime.now(UTC))
    assert Client().post(path, body, content_type="application/json", **headers).status_code == 201
    response = Client().post(path, body, content_type="application/json", **headers)
    assert_error(response, 401, "APIGW.0305", "replay")
    assert tenant.member.access_keys.count() == 1


def test_identical_writes_with_distinct_nonces_are_not_replays(tenant, key):
    now = datetime.now(UTC)
    for nonce in ("n1", "n2"):
        path, body, headers = signed_key_post(tenant, key, now, {"X-Sdk-Nonce": nonce})
        assert Client().post(path, body, content_type="application/json", **headers).status_code == 201
    assert tenant.member.access_keys.count() == 2


def test_repeated_read_is_not_a_replay(tenant, key):
    # Replay protection covers writes (auth.py); an identical GET within the same second is idempotent.
    url = users_url(tenant)
    headers = signed(*key, "GET", url)
    assert Client().get(path_of(url), **headers).status_code == 200
    assert Client().get(path_of(url), **headers).status_code == 200


def test_sdk_date_must_be_signed(tenant, key):
    url = users_url(tenant)
    raw = signing.sign_request(*key, "GET", url)
    # Sign only the host header; send X-Sdk-Date along, unsigned.
    canonical = signing.canonical_request("GET", path_of(url).split("?")[0], "limit=5", raw, ["host"], b"")
    sig = signing.signature(key[1], signing.string_to_sign(raw["X-Sdk-Date"], canonical))
    raw["Authorization"] = f"SDK-HMAC-SHA256 Access={key[0]}, SignedHeaders=host, Signature={sig}"
    response = Client().get(path_of(url), **meta_headers(raw))
    assert_error(response, 401, "APIGW.0303", "SignedHeaders must include x-sdk-date")


def test_missing_sdk_date_header(tenant, key):
    url = users_url(tenant)
    headers = signed(*key, "GET", url)
    del headers["HTTP_X_SDK_DATE"]
    assert_error(Client().get(path_of(url), **headers), 401, "APIGW.0303", "X-Sdk-Date must look like")


def test_malformed_authorization_header(tenant):
    response = Client().get(path_of(users_url(tenant)), HTTP_AUTHORIZATION="SDK-HMAC-SHA256 garbage")
    assert_error(response, 401, "APIGW.0303", "Authorization must be")


def test_signed_post_body(tenant, key):
    url = f"http://testserver/v1/{tenant.project_id}/iam/users"
    body = json.dumps({"name": "signed-user", "password": "another-long-password"}).encode()
    headers = signed(*key, "POST", url, body=body, headers={"Content-Type": "application/json"})
    response = Client().post(path_of(url), body, content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "signed-user"
    log = AuditLog.objects.get(action="iam.user.create", target_id=response.json()["user_id"])
    assert log.actor == tenant.owner and log.source_ip == "127.0.0.1"


def test_tampered_post_body(tenant, key):
    url = f"http://testserver/v1/{tenant.project_id}/iam/users"
    body = json.dumps({"name": "signed-user", "password": "another-long-password"}).encode()
    headers = signed(*key, "POST", url, body=body, headers={"Content-Type": "application/json"})
    tampered = body.replace(b"signed-user", b"evil-user")
    response = Client().post(path_of(url), tampered, content_type="application/json", **headers)
    assert_error(response, 401, "APIGW.0303", "signature does not match")
    assert not User.objects.filter(username__in=["evil-user", "signed-user"]).exists()


def test_signed_request_respects_iam(tenant):
    access_key, secret = actions.create_access_key(Actor.system(tenant.account), tenant.member)
    url = f"http://testserver/v1/{tenant.project_id}/iam/users"
    body = json.dumps({"name": "not-allowed", "password": "another-long-password"}).encode()
    headers = signed(access_key.access_key_id, secret, "POST", url, body=body,
                     headers={"Content-Type": "application/json"})
    response = Client().post(path_of(url), body, content_type="application/json", **headers)
    assert_error(response, 403, "MSS.00000005", "metastudio:iamuser:create")


def test_signed_request_of_another_tenant_project(tenant, key, other_tenant):
    url = users_url(other_tenant)
    response = Client().get(path_of(url), **signed(*key, "GET", url))
    assert_error(response, 404, "MSS.00000002")
