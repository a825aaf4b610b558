"""Helpers shared by the API test modules: fast password hashing, error assertions, AK/SK signing, login bodies.

Import the autouse fixture into a test module to use it there:
    from tests.api_helpers import fast_password_hashing  # noqa: F401
"""

import json
from datetime import datetime

import pytest

from metastudio.api import signing

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs ~0.3 s per user; tests create many users. Autouse, so it runs before `tenant`."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


def assert_error(response, status: int, code: str, *fragments: str) -> dict:
    """Assert an API error answer: status, {"error_code", "error_msg"} and words the message must contain."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error_code", "error_msg"}, body
    assert body["error_code"] == code, body
    for fragment in fragments:
        assert fragment.lower() in body["error_msg"].lower(), (fragment, body)
    assert response["X-Request-Id"]
    return body


def meta_headers(headers: dict[str, str]) -> dict[str, str]:
    """HTTP headers as Django test-client keyword arguments (Host -> HTTP_HOST, Content-Type -> CONTENT_TYPE)."""
    result = {}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        result[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return result


def signed(access_key: str, secret: str, method: str, url: str, *, body: bytes = b"", headers=None,
           now: datetime | None = None) -> dict[str, str]:
    """sign_request's headers, ready to pass to the test client as **extra."""
    return meta_headers(signing.sign_request(access_key, secret, method, url, headers=headers, body=body, now=now))


def login_body(name: str, password: str, domain: str | None, project_id: str | None = None) -> dict:
    user = {"name": name, "password": password}
    if domain is not None:
        user["domain"] = {"name": domain}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}}}}
    if project_id is not None:
        body["auth"]["scope"] = {"project": {"id": project_id}}
    return body


def send_json(client, method: str, path: str, body=None, **extra):
    """Any HTTP method with an optional JSON body (GET carries no body)."""
    if method.upper() == "GET":
        return client.get(path, **extra)
    payload = "" if body is None else json.dumps(body)
    return client.generic(method.upper(), path, payload, content_type="application/json", **extra)
