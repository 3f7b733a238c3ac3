"""Per-token request limits (`requests_per_minute_per_token`): a token bucket per caller.

Each caller (an API token, or a signed-in user's session) has a bucket holding up to a
minute's worth of requests that fills again at that rate: a burst of up to the limit passes,
then one request per `60 / limit` seconds. A request that finds the bucket empty is refused
with 429 and `Retry-After` (whole seconds) before any work, so it writes nothing.

The buckets live in each API process, not in the database: a shared counter would add a write
to every request, where this check reads nothing at all (the limit itself comes from the
process's copy of the settings, `services.settings.cached_settings`). With several processes
behind a balancer a caller may therefore send up to the limit to each. At most `MOST_TRACKED`
callers are tracked; past that, the one idle longest is forgotten (it comes back with a full
bucket, as it would have after a minute of quiet).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.exceptions import HTTPException

from reroute.domain.access import Principal
from reroute.services.context import Context
from reroute.services.settings import cached_settings

#: Where each process keeps its buckets (`Context.cache`), and how many callers at most.
CACHE_KEY = "rate_limits"
MOST_TRACKED = 10_000
#: The clock of the buckets (tests move it).
monotonic = time.monotonic
#: What floating-point sums of refills may fall short by.
_EPSILON = 1e-6


@dataclass
class _Bucket:
    #: Requests that may still be sent now (a fraction is a request on its way back).
    requests: float
    #: When `requests` was last brought up to date (`monotonic()`).
    at: float


class RateLimiter:
    """The buckets of one process. Safe to share between threads."""

    def __init__(self, most_tracked: int = MOST_TRACKED) -> None:
        self.most_tracked = most_tracked
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, who: str, per_minute: int, now: float) -> float:
        """Take one request from `who`'s bucket: 0 when it may go, else the seconds until
        one will be there."""
        if per_minute <= 0:
            return 0.0
        most = float(per_minute)
        rate = most / 60.0
        with self._lock:
            bucket = self._buckets.get(who)
            if bucket is None:
                bucket = self._buckets[who] = _Bucket(most, now)
                if len(self._buckets) > self.most_tracked:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(who)
                # A lowered limit takes effect at once: never more than the limit in store.
                bucket.requests = min(most, bucket.requests + max(0.0, now - bucket.at) * rate)
                bucket.at = now
            if bucket.requests >= 1.0 - _EPSILON:
                bucket.requests -= 1.0
                return 0.0
            return (1.0 - bucket.requests) / rate


def limiter(ctx: Context) -> RateLimiter:
    found: RateLimiter | None = ctx.cache.get(CACHE_KEY)
    if found is None:
        found = ctx.cache.setdefault(CACHE_KEY, RateLimiter())
    return found


def check(ctx: Context, principal: Principal) -> None:
    """Refuse the request with 429 when its caller has used up its requests for now."""
    per_minute = cached_settings(ctx).requests_per_minute_per_token
    if per_minute <= 0:
        return
    wait = limiter(ctx).take(principal.id, per_minute, monotonic())
    if wait <= 0:
        return
    seconds = max(1, math.ceil(wait - _EPSILON))
    detail = (
        f"More than {per_minute} requests a minute from {principal.id}; "
        f"send again in {seconds} s (Retry-After)."
    )
    raise HTTPException(429, detail, {"Retry-After": str(seconds)})
