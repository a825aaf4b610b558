"""Per-tenant, per-API rate limits of the product document's table, for the region of the project."""

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from metastudio.api import ratelimit
from metastudio.api.ratelimit_table import RATE_LIMITS


def limit_of(key: str | None, region: str) -> tuple[int | None, int | None]:
    """(per-tenant limit, system-wide limit) per second; per-tenant None when the API is not in this region."""
    if key is None:
        return settings.RATE_LIMIT_UNLISTED_PER_SECOND, None
    row = RATE_LIMITS[key]
    return row.per_tenant[region], row.system


class TenantApiThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        self.wait_seconds = None
        project = getattr(view, "project", None)
        if not settings.RATE_LIMIT_ENABLED or project is None:
            return True
        key = view.rate_limit_key()
        tenant_limit, system_limit = limit_of(key, project.region)
        if tenant_limit is None:
            return True  # not offered in this region: the view itself refuses it
        name = key or f"unlisted:{view.__class__.__name__}.{getattr(view, 'action', '')}"
        now = time.time()
        tenant_scope = f"{project.account_id}:{project.region}:{name}"
        allowed, wait = ratelimit.hit(tenant_scope, tenant_limit, now)
        if allowed and system_limit is not None:
            allowed, wait = ratelimit.hit(f"system:{project.region}:{name}", system_limit, now)
            if not allowed:
                ratelimit.forget(tenant_scope, now)  # refused calls do not use up the tenant's own limit
        if not allowed:
            self.wait_seconds = wait
        return allowed

    def wait(self):
        return self.wait_seconds
