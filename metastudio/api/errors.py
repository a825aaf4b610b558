"""Every API error is HTTP status + {"error_code", "error_msg"}."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from metastudio.errors import INTERNAL_ERROR, ServiceError

logger = logging.getLogger(__name__)


def _first_validation_message(detail, path: str = "") -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            return _first_validation_message(value, name)
    if isinstance(detail, list) and detail:
        first = detail[0]
        if isinstance(first, (dict, list)):
            index = next((i for i, item in enumerate(detail) if item), 0)
            return _first_validation_message(detail[index], f"{path}[{index}]")
        return f"{path}: {first}" if path else str(first)
    return f"{path}: {detail}" if path else str(detail)


def error_body(status: int, code: str, message: str) -> tuple[int, dict]:
    return status, {"error_code": code, "error_msg": message}


def _translate(exc) -> tuple[int, dict] | None:
    if isinstance(exc, ServiceError):
        return exc.status, exc.body()
    if isinstance(exc, drf.ValidationError):
        return error_body(400, "MSS.00000003", _first_validation_message(exc.detail))
    if isinstance(exc, drf.ParseError):
        return error_body(400, "MSS.00000009", f"malformed request body: {exc.detail}")
    if isinstance(exc, drf.UnsupportedMediaType):
        return error_body(415, "MSS.00000010", str(exc.detail))
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return error_body(401, "APIGW.0301", str(exc.detail))
    if isinstance(exc, (drf.PermissionDenied, DjangoPermissionDenied)):
        return error_body(403, "MSS.00000005", str(getattr(exc, "detail", exc)))
    if isinstance(exc, (drf.NotFound, Http404)):
        return error_body(404, "MSS.00000004", "the resource does not exist")
    if isinstance(exc, drf.MethodNotAllowed):
        return error_body(405, "MSS.00000008", str(exc.detail))
    if isinstance(exc, drf.Throttled):
        return error_body(429, "APIGW.0308", "The throttling threshold has been reached")
    return None


def exception_handler(exc, context):
    translated = _translate(exc)
    if translated is None:
        request = context.get("request")
        logger.exception("unhandled API error (request %s)", getattr(request, "request_id", "-"))
        translated = error_body(500, INTERNAL_ERROR, "internal error; quote the X-Request-Id when reporting it")
    status, body = translated
    response = Response(body, status=status)
    wait = getattr(exc, "wait", None)
    if status == 429 and wait:
        response["Retry-After"] = str(max(1, int(wait + 0.999)))
    return response


def api_not_found(request, exception=None):
    """Unknown routes under /v1/ answer in the API's error format."""
    if request.path.startswith(("/v1/", "/v3/")):
        return JsonResponse({"error_code": "APIGW.0101", "error_msg": "The API does not exist"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
