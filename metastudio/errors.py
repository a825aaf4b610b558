"""Service errors with MetaStudio-style codes. Actions raise them; the API and console render them."""

import uuid


def is_uuid(value) -> bool:
    """Whether a public id from a path or body is a UUID (anything else can only be "not found")."""
    try:
        uuid.UUID(str(value).strip())
    except ValueError:
        return False
    return True


class ServiceError(Exception):
    status = 400
    code = "MSS.00000003"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.detail = message  # without the field, for re-raising under another field name
        self.message = f"{field}: {message}" if field else message
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status

    def body(self) -> dict:
        return {"error_code": self.code, "error_msg": self.message}


class InvalidParameter(ServiceError):
    status, code = 400, "MSS.00000003"


class NotFound(ServiceError):
    status, code = 404, "MSS.00000004"


class PermissionDenied(ServiceError):
    status, code = 403, "MSS.00000005"


class LimitExceeded(ServiceError):
    status, code = 400, "MSS.00000006"


class StateConflict(ServiceError):
    status, code = 409, "MSS.00000007"


class AuthenticationFailed(ServiceError):
    status, code = 401, "APIGW.0301"


class Throttled(ServiceError):
    status, code = 429, "APIGW.0308"


# Codes used for specific authentication failures, each with its own message.
AUTH_MISSING = "APIGW.0301"
AUTH_TOKEN_INVALID = "APIGW.0301"
AUTH_TOKEN_EXPIRED = "APIGW.0307"
AUTH_SIGNATURE_INVALID = "APIGW.0303"
AUTH_CLOCK_SKEWED = "APIGW.0304"
AUTH_REPLAYED = "APIGW.0305"
PROJECT_NOT_FOUND = "MSS.00000002"
INTERNAL_ERROR = "MSS.00000001"
