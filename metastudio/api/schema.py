"""OpenAPI security schemes of the two authentication methods (shown in Swagger UI's Authorize dialog)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "metastudio.api.auth.TokenAuthentication"
    name = "XAuthToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-Auth-Token",
                "description": "The X-Subject-Token answered by POST /v3/auth/tokens."}


class SignatureScheme(OpenApiAuthenticationExtension):
    target_class = "metastudio.api.auth.SignatureAuthentication"
    name = "AkSkSignature"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=host;x-sdk-date, Signature=<hex>, "
                               "with the X-Sdk-Date header (see the README)."}
