"""API authentication: X-Auth-Token (from POST /v3/auth/tokens) or AK/SK SDK-HMAC-SHA256 signing."""

import hmac
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from metastudio import errors
from metastudio.api import signing
from tenancy.models import AccessKey, AuthToken
from tenancy.secrets import decrypt_secret, sha256_hex

REQUIRED_SIGNED_HEADERS = {"host", "x-sdk-date"}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LAST_USED_RESOLUTION_SECONDS = 60


def _fail(code: str, message: str):
    return errors.AuthenticationFailed(message, code=code)


def _note_use(key: AccessKey) -> None:
    # At most one write a minute per key, so signing stays cheap on the hot path.
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        AccessKey.objects.filter(pk=key.pk).update(last_used_at=now)


def live_token(raw: str) -> AuthToken:
    """The unexpired token of an active user whose secret is `raw` (HTTP API and WebSocket API alike)."""
    token = AuthToken.objects.select_related("user__account", "project").filter(token_hash=sha256_hex(raw)).first()
    if token is None or not token.user.is_active:
        raise _fail(errors.AUTH_TOKEN_INVALID, "X-Auth-Token is not valid; get a new one from POST /v3/auth/tokens")
    if token.expires_at <= timezone.now():
        raise _fail(errors.AUTH_TOKEN_EXPIRED, "X-Auth-Token has expired; get a new one from POST /v3/auth/tokens")
    return token


class TokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = request.META.get("HTTP_X_AUTH_TOKEN")
        if not raw:
            return None
        token = live_token(raw)
        request.token_project = token.project
        return token.user, token

    def authenticate_header(self, request):
        return "X-Auth-Token"


class SignatureAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith(signing.ALGORITHM):
            return None
        try:
            access, signed, given = signing.parse_authorization(header)
        except signing.SignatureFormatError as error:
            raise _fail(errors.AUTH_SIGNATURE_INVALID, str(error)) from None
        missing = REQUIRED_SIGNED_HEADERS - set(signed)
        if missing:
            raise _fail(errors.AUTH_SIGNATURE_INVALID, f"SignedHeaders must include {', '.join(sorted(missing))}")
        sdk_date = self._checked_date(request)
        key = AccessKey.objects.select_related("user__account").filter(access_key_id=access).first()
        if key is None or not key.is_active or not key.user.is_active:
            raise _fail(errors.AUTH_SIGNATURE_INVALID, f"access key {access} does not exist or is disabled")
        expected = self._expected_signature(request, key, signed)
        if not hmac.compare_digest(expected, given):
            raise _fail(errors.AUTH_SIGNATURE_INVALID, "signature does not match; check the SK and what was signed")
        if request.method not in SAFE_METHODS:
            self._refuse_replay(given)
        request.token_project = None
        request.signed_at = sdk_date
        _note_use(key)
        return key.user, key

    @staticmethod
    def _refuse_replay(signature: str) -> None:
        # A captured write request must not be accepted twice. Reads are idempotent and are not tracked, so a
        # client may repeat the same GET within one second; to repeat a write, sign a unique X-Sdk-Nonce header.
        window = settings.SIGNATURE_MAX_SKEW_SECONDS
        if not cache.add(f"sig-seen:{signature}", 1, timeout=2 * window + 1):
            raise _fail(errors.AUTH_REPLAYED,
                        "this signed write request was already used (replay); sign each request anew, "
                        "adding a unique X-Sdk-Nonce header to repeat an identical write")

    @staticmethod
    def _checked_date(request) -> datetime:
        raw = request.META.get("HTTP_X_SDK_DATE", "")
        try:
            sdk_date = signing.parse_sdk_date(raw)
        except signing.SignatureFormatError as error:
            raise _fail(errors.AUTH_SIGNATURE_INVALID, str(error)) from None
        skew = abs((datetime.now(UTC) - sdk_date).total_seconds())
        if skew > settings.SIGNATURE_MAX_SKEW_SECONDS:
            raise _fail(
                errors.AUTH_CLOCK_SKEWED,
                f"X-Sdk-Date is {int(skew)} s away from server time (allowed {settings.SIGNATURE_MAX_SKEW_SECONDS} s);"
                " check the client clock",
            )
        return sdk_date

    @staticmethod
    def _expected_signature(request, key: AccessKey, signed: list[str]) -> str:
        django_request = request._request
        headers = {name: django_request.headers.get(name, "") for name in signed}
        canonical = signing.canonical_request(
            django_request.method, django_request.path, django_request.META.get("QUERY_STRING", ""),
            headers, signed, django_request.body,
        )
        to_sign = signing.string_to_sign(headers["x-sdk-date"], canonical)
        return signing.signature(decrypt_secret(key.secret_encrypted), to_sign)

    def authenticate_header(self, request):
        return signing.ALGORITHM
