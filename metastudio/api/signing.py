"""SDK-HMAC-SHA256 request signing (the AK/SK scheme of the cloud's API gateway). Pure code.

Canonical request = method, canonical URI (path ending in "/"), sorted query string,
signed headers as "name:value" lines, the signed header names, SHA-256 of the body.
String to sign = "SDK-HMAC-SHA256", X-Sdk-Date, SHA-256 of the canonical request.
Signature = hex HMAC-SHA256(secret key, string to sign).
"""

import hashlib
import hmac
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
AUTH_PATTERN = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=(?P<access>[^,\s]+),\s*SignedHeaders=(?P<headers>[^,\s]+),\s*Signature=(?P<sig>[0-9a-fA-F]+)$"
)


class SignatureFormatError(ValueError):
    pass


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_uri(path: str) -> str:
    encoded = "/".join(_encode(segment) for segment in path.split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(query: str) -> str:
    pairs = sorted((_encode(k), _encode(v)) for k, v in parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{k}={v}" for k, v in pairs)


def body_digest(headers: dict[str, str], body: bytes) -> str:
    """SHA-256 of the body, or the literal UNSIGNED-PAYLOAD when the client opted out (large uploads)."""
    for name, value in headers.items():
        if name.lower() == "x-sdk-content-sha256" and value == UNSIGNED_PAYLOAD:
            return UNSIGNED_PAYLOAD
    return hashlib.sha256(body).hexdigest()


def canonical_request(method: str, path: str, query: str, headers: dict[str, str], signed: list[str],
                      body: bytes) -> str:
    lowered = {name.lower(): value for name, value in headers.items()}
    header_lines = "".join(f"{name}:{lowered.get(name, '').strip()}\n" for name in signed)
    return "\n".join([
        method.upper(),
        canonical_uri(path),
        canonical_query(query),
        header_lines,
        ";".join(signed),
        body_digest(headers, body),
    ])


def string_to_sign(sdk_date: str, canonical: str) -> str:
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def signature(secret: str, to_sign: str) -> str:
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value: str) -> tuple[str, list[str], str]:
    match = AUTH_PATTERN.match(value.strip())
    if not match:
        raise SignatureFormatError(
            "Authorization must be 'SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<h1;h2>, Signature=<hex>'"
        )
    signed = match["headers"].lower().split(";")
    if signed != sorted(signed):
        raise SignatureFormatError("SignedHeaders must be sorted")
    return match["access"], signed, match["sig"].lower()


def parse_sdk_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise SignatureFormatError("X-Sdk-Date must look like 20261125T101500Z (UTC)") from None


def sign_request(access_key: str, secret: str, method: str, url: str, headers: dict[str, str] | None = None,
                 body: bytes = b"", now: datetime | None = None) -> dict[str, str]:
    """Return the headers to send (the given ones plus Host, X-Sdk-Date and Authorization)."""
    parts = urlsplit(url)
    result = dict(headers or {})
    result.setdefault("Host", parts.netloc)
    result["X-Sdk-Date"] = (now or datetime.now(UTC)).strftime(DATE_FORMAT)
    signed = sorted({name.lower() for name in result if name.lower() != "authorization"})
    canonical = canonical_request(method, parts.path or "/", parts.query, result, signed, body)
    sig = signature(secret, string_to_sign(result["X-Sdk-Date"], canonical))
    result["Authorization"] = f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={sig}"
    return result
