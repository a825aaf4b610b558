"""Sliding-window rate limiter on the Django cache (LocMem in the embedded default, Redis when scaled).

Two one-second buckets are kept per (tenant, API): a count, and the offsets (seconds into the bucket) of
its first and last accepted request. The estimate is the current bucket plus the part of the previous
one that still lies within the last second, interpolated between those offsets. Knowing the offsets
keeps the estimate right for clients that pace themselves: one call every second on a 1/s API passes,
while two calls a few milliseconds apart across a bucket boundary do not. (Without the offsets, e.g.
after a cache eviction, the previous bucket is assumed evenly spread.) A request over the limit is taken
back out of the count so rejected calls do not starve accepted ones.
"""

import time

from django.core.cache import cache

WINDOW_SECONDS = 1.0
_TTL = 3


def hit(scope: str, limit: int, now: float | None = None) -> tuple[bool, float]:
    """Count one request in `scope`; return (allowed, seconds to wait if not)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    offset = now - window * WINDOW_SECONDS
    current_key, previous_key = f"rl:{scope}:{window}", f"rl:{scope}:{window - 1}"
    cache.add(current_key, 0, timeout=_TTL)
    try:
        current = cache.incr(current_key)
    except ValueError:  # expired between add and incr
        cache.set(current_key, 1, timeout=_TTL)
        current = 1
    stored = cache.get_many([previous_key, f"{previous_key}:first", f"{previous_key}:last"])
    previous = _still_within(stored.get(previous_key) or 0, stored.get(f"{previous_key}:first"),
                             stored.get(f"{previous_key}:last"), offset)
    if previous + current <= limit:
        cache.add(f"{current_key}:first", offset, timeout=_TTL)
        cache.set(f"{current_key}:last", offset, timeout=_TTL)
        return True, 0.0
    cache.decr(current_key)
    if current > limit:  # this bucket alone is full: wait until its first request is a second old
        first = cache.get(f"{current_key}:first")
        return False, WINDOW_SECONDS - offset + (first if first is not None else 0.0)
    last = stored.get(f"{previous_key}:last")  # wait until the previous bucket's requests have slid out
    return False, (last if last is not None else WINDOW_SECONDS) - offset


def _still_within(count: int, first: float | None, last: float | None, offset: float) -> float:
    """How many of the previous bucket's `count` requests lie within the last second, `offset` seconds into
    the current bucket: those made at a later offset of the previous one."""
    if count <= 0:
        return 0.0
    if first is None or last is None:
        return count * (WINDOW_SECONDS - offset) / WINDOW_SECONDS
    if offset < first:
        return float(count)
    if offset >= last:
        return 0.0
    return (count - 1) * (last - offset) / (last - first)
