"""Sliding-window rate limiter on the Django cache (LocMem in the embedded default, Redis when scaled).

Two one-second buckets are kept per (tenant, API); the estimate is the current bucket plus the
previous one weighted by how much of it still lies within the last second. A request over the
limit is taken back out of the count so rejected calls do not starve accepted ones.
"""

import time

from django.core.cache import cache

WINDOW_SECONDS = 1.0


def hit(scope: str, limit: int, now: float | None = None) -> tuple[bool, float]:
    """Count one request in `scope`; return (allowed, seconds to wait if not)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    elapsed = (now % WINDOW_SECONDS) / WINDOW_SECONDS
    current_key, previous_key = f"rl:{scope}:{window}", f"rl:{scope}:{window - 1}"
    cache.add(current_key, 0, timeout=3)
    try:
        current = cache.incr(current_key)
    except ValueError:  # expired between add and incr
        cache.set(current_key, 1, timeout=3)
        current = 1
    previous = cache.get(previous_key) or 0
    estimate = previous * (1.0 - elapsed) + current
    if estimate <= limit:
        return True, 0.0
    cache.decr(current_key)
    return False, WINDOW_SECONDS * (1.0 - elapsed)
