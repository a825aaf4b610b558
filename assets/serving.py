"""Serving a stored file inline to a browser: Range requests are honoured so a video player can seek."""

from __future__ import annotations

import mimetypes
import re

from django.http import FileResponse, StreamingHttpResponse

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 1024 * 1024


def ranged_response(request, stored, content_type: str | None = None):
    """`stored` is a Django FieldFile (any storage). A single `bytes=a-b` range answers 206, an impossible one
    416, anything else the whole file."""
    content_type = content_type or mimetypes.guess_type(stored.name)[0] or "application/octet-stream"
    size = stored.size
    match = RANGE.match(request.headers.get("Range", "").strip())
    if not match or not any(match.groups()):
        response = FileResponse(stored.open("rb"), content_type=content_type)
    else:
        first, last = match.groups()
        start = int(first) if first else max(0, size - int(last))
        end = min(size - 1, int(last)) if first and last else size - 1
        if start >= size or start > end:
            response = StreamingHttpResponse(iter(()), status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(_chunks(stored, start, end - start + 1), status=206,
                                         content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _chunks(stored, start: int, remaining: int):
    handle = stored.open("rb")
    try:
        handle.seek(start)
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()
