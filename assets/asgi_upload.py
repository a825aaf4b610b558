"""ASGI fast path for `PUT /uploads/<file_id>`: body chunks go straight from the server to the part file.

Django's ASGI handler would first spool the whole body to a temporary file; here each chunk the
server delivers is written (and hashed) as it arrives, so memory stays flat and the bytes are
written once. Token, state and range checks are the same functions the Django view uses.
"""

import asyncio
import json
import uuid
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from assets import actions, uploads
from metastudio.errors import ServiceError

PREFIX = "/uploads/"
BATCH_BYTES = 1024 * 1024


def handles(scope) -> bool:
    return scope["type"] == "http" and scope["method"] == "PUT" and scope["path"].startswith(PREFIX)


def _prepare(file_id: str, token: str, content_range: str | None):
    close_old_connections()
    file = uploads.signed_file(file_id, token)
    start, length = actions.prepare_upload(file, content_range)
    return file, uploads.PartWriter(file, start, length)


def _record(file, size: int) -> int:
    try:
        return actions.record_received(file, size)
    finally:
        close_old_connections()


async def _respond(send, status: int, body: bytes = b"", headers: list | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


async def _pump(receive, writer) -> bool:
    """Receive the body while the previous batch is written and hashed in a thread (both release the GIL),
    so the socket keeps flowing. False if the client went away."""
    loop = asyncio.get_running_loop()
    pending, batch, batched = None, [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if pending is not None:
                await asyncio.gather(pending, return_exceptions=True)
            writer.abort()
            return False
        if message.get("body"):
            batch.append(message["body"])
            batched += len(message["body"])
        last = not message.get("more_body")
        if batched >= BATCH_BYTES or (last and batch):
            if pending is not None:
                await pending
            pending = loop.run_in_executor(None, writer.write, b"".join(batch))
            batch, batched = [], 0
        if last:
            if pending is not None:
                await pending
            return True


async def upload_app(scope, receive, send) -> None:
    file_id = scope["path"][len(PREFIX):]
    token = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0]
    headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
    request_id = uuid.uuid4().hex
    writer = None
    try:
        file, writer = await sync_to_async(_prepare)(file_id, token, headers.get("content-range"))
        if not await _pump(receive, writer):
            return
        size = await sync_to_async(_record)(file, writer.finish())
    except ServiceError as error:
        if writer is not None:
            writer.abort()
        await _respond(send, error.status, json.dumps(error.body()).encode(),
                       [(b"x-request-id", request_id.encode())])
        return
    await _respond(send, 200, b"", [(b"upload-offset", str(size).encode()), (b"x-request-id", request_id.encode())])
