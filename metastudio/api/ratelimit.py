"""Sliding-window rate limiter on the Django cache (LocMem in the embedded default, Redis when scaled).

The last second is kept as ten 100 ms slots per (tenant, API). A request is allowed while the slots of the
last second, this one included, hold at most `limit` requests; a refused request is taken back out, so
refused calls do not starve accepted ones. Any 100 ms-aligned second therefore admits at most `limit`;
a client pacing itself at exactly the limit (one call a second on a 1/s API) is never refused, and two
calls a few milliseconds apart never both pass a 1/s limit, even across a second boundary. Counting uses
atomic incr/decr and one get_many, so it holds across processes when the cache is Redis.
"""

import time

from django.core.cache import cache

WINDOW_SECONDS = 1.0
SLOTS = 10
SLOT_SECONDS = WINDOW_SECONDS / SLOTS
_TTL = 3


def hit(scope: str, limit: int, now: float | None = None) -> tuple[bool, float]:
    """Count one request in `scope`; return (allowed, seconds to wait if not)."""
    now = time.time() if now is None else now
    slot = int(now // SLOT_SECONDS)
    slots = range(slot - SLOTS + 1, slot + 1)
    keys = [f"rl:{scope}:{number}" for number in slots]
    cache.add(keys[-1], 0, timeout=_TTL)
    try:
        current = cache.incr(keys[-1])
    except ValueError:  # expired between add and incr
        cache.set(keys[-1], 1, timeout=_TTL)
        current = 1
    earlier = cache.get_many(keys[:-1])
    if sum(earlier.values()) + current <= limit:
        return True, 0.0
    cache.decr(keys[-1])
    counts = [earlier.get(key, 0) for key in keys[:-1]] + [current - 1]
    oldest = next((number for number, count in zip(slots, counts, strict=True) if count > 0), slot)
    return False, max((oldest + SLOTS) * SLOT_SECONDS - now, 0.001)


def forget(scope: str, now: float) -> None:
    """Take back a request that hit() accepted at `now` (e.g. refused by another limit after all)."""
    cache.decr(f"rl:{scope}:{int(now // SLOT_SECONDS)}")
