"""Synchronous TTS over WebSocket: a text in, audio streamed back sentence by sentence with word timestamps.

Connect to `/v1/{project_id}/ttsc/ws` with `X-Auth-Token` (header, or `?token=` where a browser cannot set
headers; a signed-in console session works too). Send
    {"text": "...", "voice_asset_id": "...", "speed": 100, "pitch": 100, "volume": 140, "sample_rate": 16000}
and receive, per sentence, a JSON `{"type": "chunk", "index", "start_time", "duration", "text", "words": [...]}`
followed by one binary frame of 16-bit little-endian mono PCM; then `{"type": "end", "characters", "duration"}`.
Errors are `{"type": "error", "error_code", "error_msg"}`; the connection stays open for the next text.
"""

import asyncio
import time
import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from billing.metering import record_usage
from metastudio.api import ratelimit
from metastudio.api.auth import live_token
from metastudio.api.throttling import limit_of
from metastudio.errors import AuthenticationFailed, NotFound, PermissionDenied, ServiceError, Throttled
from tenancy.models import Project
from tenancy.permissions import user_can
from voices import speech

RATE_LIMIT_KEY = "tts.websocket"
_DONE = object()


class TtsConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        try:
            self.user, self.project = await self._authenticate()
        except ServiceError as error:
            await self.accept()
            await self._send_error(error)
            await self.close(code=4401 if error.status == 401 else 4403 if error.status == 403 else 4404)
            return
        self.busy = False
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        if not hasattr(self, "project"):
            return
        if self.busy:
            await self._send_error(ServiceError("a synthesis is already running on this connection",
                                                code="MSS.00000007", status=409))
            return
        self.busy = True
        try:
            await self._synthesize(text_data)
        except ServiceError as error:
            await self._send_error(error)
        finally:
            self.busy = False

    async def _synthesize(self, text_data):
        import json

        try:
            body = json.loads(text_data or "")
        except ValueError:
            raise ServiceError("the message must be a JSON object", code="MSS.00000009") from None
        if not isinstance(body, dict):
            raise ServiceError("the message must be a JSON object", code="MSS.00000009")
        await database_sync_to_async(self._throttle)()
        params = await database_sync_to_async(speech.clean_tts_request)(self.project.account, body)
        await self._stream(params)

    async def _stream(self, params: dict):
        import json

        loop = asyncio.get_running_loop()
        chunks = await database_sync_to_async(speech.stream)(self.project.account, params)
        duration, index = 0.0, 0
        while True:
            chunk = await loop.run_in_executor(None, next, chunks, _DONE)
            if chunk is _DONE:
                break
            await self.send(text_data=json.dumps({
                "type": "chunk", "index": index, "start_time": round(chunk.start, 3),
                "duration": round(chunk.duration, 3), "text": chunk.text, "sample_rate": chunk.sample_rate,
                "words": [speech.word_json(word) for word in chunk.words],
            }, ensure_ascii=False))
            await self.send(bytes_data=chunk.pcm.astype("<i2").tobytes())
            duration, index = chunk.start + chunk.duration, index + 1
        await database_sync_to_async(self._meter)(params)
        await self.send(text_data=json.dumps({"type": "end", "chunks": index, "duration": round(duration, 3),
                                              "characters": params["characters"]}))

    def _meter(self, params: dict) -> None:
        record_usage(self.project.account, speech.tts_resource(params["voice_tier"]), params["characters"],
                     "characters", source_key=f"tts-ws:{uuid.uuid4()}")

    def _throttle(self) -> None:
        if not settings.RATE_LIMIT_ENABLED:
            return
        limit, _ = limit_of(RATE_LIMIT_KEY, self.project.region)
        if limit is None:
            raise NotFound(f"this API is not offered in region {self.project.region}", code="APIGW.0101")
        allowed, wait = ratelimit.hit(f"{self.project.account_id}:{self.project.region}:{RATE_LIMIT_KEY}", limit,
                                      time.time())
        if not allowed:
            raise Throttled(f"rate limit reached: at most {limit} requests a second; retry in {wait:.2f} s")

    @database_sync_to_async
    def _authenticate(self):
        project_id = self.scope["url_route"]["kwargs"]["project_id"]
        token = self._token()
        user = token.user if token else self._session_user()
        if user is None or not getattr(user, "is_authenticated", False) or user.account_id is None:
            raise AuthenticationFailed("authentication required: send X-Auth-Token (header or ?token=)")
        project = Project.objects.select_related("account").filter(account_id=user.account_id,
                                                                   project_id=project_id).first()
        if project is None:
            raise NotFound(f"project {project_id} does not exist", code="MSS.00000002")
        if token and token.project_id and token.project_id != project.pk:
            raise PermissionDenied(f"this token is scoped to project {token.project.project_id}")
        if not user_can(user, "metastudio:tts:create"):
            raise PermissionDenied("the user's IAM policies do not allow metastudio:tts:create")
        return user, project

    def _session_user(self):
        """The console's signed-in user, only from a page of this site (an allowed Origin)."""
        from urllib.parse import urlparse

        from django.http.request import validate_host

        origin = dict(self.scope.get("headers") or []).get(b"origin", b"").decode()
        host = urlparse(origin).hostname if origin else None
        if not host or not validate_host(host, settings.ALLOWED_HOSTS):
            return None
        return self.scope.get("user")

    def _token(self):
        """The X-Auth-Token (header, or `?token=` for clients that cannot set headers), or None."""
        headers = dict(self.scope.get("headers") or [])
        raw = headers.get(b"x-auth-token", b"").decode() or parse_qs(
            self.scope.get("query_string", b"").decode()).get("token", [""])[0]
        return live_token(raw) if raw else None

    async def _send_error(self, error: ServiceError):
        import json

        await self.send(text_data=json.dumps({"type": "error", "error_code": error.code,
                                              "error_msg": error.message}))
