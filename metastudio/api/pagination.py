from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from metastudio.errors import InvalidParameter

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def int_param(request, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"must be an integer, got {raw!r}", field=name) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidParameter(f"must be {bound}", field=name)
    return value


class OffsetLimitPagination(BasePagination):
    """`offset` and `limit` query parameters; the answer is {"count": n, "<items key>": [...]}."""

    def paginate_queryset(self, queryset, request, view=None):
        self.offset = int_param(request, "offset", 0, 0)
        self.limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        self.items_key = getattr(view, "list_key", "items")
        page = list(queryset[self.offset:self.offset + self.limit])
        # A short, non-empty page (or a first page) tells the total without a COUNT query.
        if len(page) < self.limit and (page or self.offset == 0):
            self.count = self.offset + len(page)
        else:
            self.count = queryset.count()
        return page

    def get_paginated_response(self, data):
        return Response({"count": self.count, self.items_key: data})

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "properties": {"count": {"type": "integer"}, "items": schema}}

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
        ]
