import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metastudio.settings")

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_application = ASGIStaticFilesHandler(get_asgi_application())

from assets import asgi_upload  # noqa: E402
from console.routing import websocket_urlpatterns  # noqa: E402
from voices.routing import websocket_urlpatterns as voice_websockets  # noqa: E402


async def http_application(scope, receive, send):
    """Upload PUTs stream straight to disk; everything else goes through Django."""
    if asgi_upload.handles(scope):
        await asgi_upload.upload_app(scope, receive, send)
    else:
        await django_application(scope, receive, send)


console_websockets = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
# API sockets authenticate with a token and may come from any client; the consumer accepts a console session
# only from an allowed Origin (so another site cannot ride a signed-in browser's cookie).
api_websockets = AuthMiddlewareStack(URLRouter(voice_websockets))


async def websocket_application(scope, receive, send):
    app = api_websockets if scope["path"].startswith("/v1/") else console_websockets
    return await app(scope, receive, send)


application = ProtocolTypeRouter({
    "http": http_application,
    "websocket": websocket_application,
})
