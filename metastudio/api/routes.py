from django.urls import path


def crud_routes(prefix: str, viewset, lookup: str, *, extra: dict[str, dict] | None = None) -> list:
    """Routes `prefix` (list, create) and `prefix/<lookup>` (retrieve, partial_update, destroy) of a viewset,
    plus `prefix/<lookup>/<suffix>` for each extra {suffix: {method: action}}."""
    collection = viewset.as_view({"get": "list", "post": "create"})
    item = viewset.as_view({"get": "retrieve", "put": "partial_update", "patch": "partial_update",
                            "delete": "destroy"})
    routes = [path(prefix, collection), path(f"{prefix}/<str:{lookup}>", item)]
    for suffix, methods in (extra or {}).items():
        routes.append(path(f"{prefix}/<str:{lookup}>/{suffix}", viewset.as_view(methods)))
    return routes
