from django.urls import path


def _implemented(viewset, methods: dict[str, str]) -> dict[str, str]:
    """Only the actions the viewset has: routing to a missing one fails at request time (500)."""
    return {method: action for method, action in methods.items() if hasattr(viewset, action)}


def crud_routes(prefix: str, viewset, lookup: str, *, extra: dict[str, dict] | None = None) -> list:
    """Routes `prefix` (list, create) and `prefix/<lookup>` (retrieve, partial_update, destroy) of a viewset,
    plus `prefix/<lookup>/<suffix>` for each extra {suffix: {method: action}}. Actions the viewset does not
    implement get no route (the method answers 405)."""
    collection = _implemented(viewset, {"get": "list", "post": "create"})
    item = _implemented(viewset, {"get": "retrieve", "put": "partial_update", "patch": "partial_update",
                                  "delete": "destroy"})
    routes = []
    if collection:
        routes.append(path(prefix, viewset.as_view(collection)))
    if item:
        routes.append(path(f"{prefix}/<str:{lookup}>", viewset.as_view(item)))
    for suffix, methods in (extra or {}).items():
        routes.append(path(f"{prefix}/<str:{lookup}>/{suffix}", viewset.as_view(methods)))
    return routes
