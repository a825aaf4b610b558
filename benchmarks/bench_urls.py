"""The product's URLs plus /bench/bare: a plain Django view that returns fixed JSON bytes, no auth, no DB.

The bytes are those of the authenticated list call being compared: set in-process through BARE_BODY, or,
in a server process, read once from the file named by METASTUDIO_BENCH_BARE_BODY_FILE.
"""

import os

from django.http import HttpResponse
from django.urls import path

from metastudio.urls import handler404  # noqa: F401
from metastudio.urls import urlpatterns as product_urlpatterns

BARE_BODY: dict[str, bytes] = {}


def bare(request):
    body = BARE_BODY.get("body")
    if body is None:
        with open(os.environ["METASTUDIO_BENCH_BARE_BODY_FILE"], "rb") as handle:
            body = BARE_BODY["body"] = handle.read()
    return HttpResponse(body, content_type="application/json")


urlpatterns = [path("bench/bare", bare), *product_urlpatterns]
