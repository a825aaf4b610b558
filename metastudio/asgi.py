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


async def http_application(scope, receive, send):
    """Upload PUTs stream straight to disk; everything else goes through Django."""
    if asgi_upload.handles(scope):
        await asgi_upload.upload_app(scope, receive, send)
    else:
        await django_application(scope, receive, send)


application = ProtocolTypeRouter({
    "http": http_application,
    "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
})
