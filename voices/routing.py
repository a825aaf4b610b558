from django.urls import path

from voices.consumers import TtsConsumer

websocket_urlpatterns = [path("v1/<str:project_id>/ttsc/ws", TtsConsumer.as_asgi())]
