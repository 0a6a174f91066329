"""A rate limiter shared through Redis: many workers on one API key spend one budget.

Each worker that runs on one key believes, with the in-process limiter, that it owns the
whole budget; four of them make a 429 storm. This backend keeps the same token buckets
(per key, per account, with the same reservation rules as :mod:`._limiter`) in Redis,
updated by one Lua script, so a check and a take are atomic across processes. The time is
Redis's own (``TIME`` inside the script): the workers' clocks never enter the sums.

Redis hands out a turn at most ``_HORIZON`` (0.25 s) ahead; a caller further back sleeps
and asks again. The queue Redis holds stays short, and a Redis restart (which forgets it)
loses little; a new bucket starts from the service's last ``X-RateLimit-Remaining``.

The buckets are named after a digest of the API key, never the key itself:
``<prefix>:{<digest>}:key`` and ``<prefix>:{<digest>}:account:<digest of the account>``
(the braces keep a key's buckets in one Redis Cluster slot). They expire when idle.

When Redis cannot be reached (refused, reset, restarted, slow past ``timeout``), the
limiter warns once with :class:`RateLimiterFallbackWarning` and limits this process with
the in-process limiter, which has seen every answer all along (it is capped by the last
``X-RateLimit-Remaining``): never unlimited, never waiting on Redis longer than the timeout.
Every ``retry_interval`` seconds one request tries Redis again, and the first that gets
through brings every request back to the shared buckets (for one more ``retry_interval``
they also keep to the local limits, while other workers find their way back).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import warnings
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final

from ._errors import ConfigurationError, RateLimiterFallbackWarning, RateLimitError
from ._limiter import RateLimiter, RateLimits, throttle_pause
from ._limiter_redis_script import BUCKET_SCRIPT, COME_BACK, BadReply, read_reply
from ._models import RateLimit
from ._secrets import SecretURL

if TYPE_CHECKING:
    from ._errors import ConnectSafelyError
    from ._limiter_redis_config import RedisRateLimits
    from ._secrets import Secret

__all__ = ["RedisRateLimiter", "key_digest"]

logger = logging.getLogger("connectsafely_async")

_UNLIMITED: Final = 1e9
# Reservations are handed out at most this far ahead (a later caller sleeps and asks again):
# the queue Redis holds stays short, and so does the debt a Redis restart forgets.
_HORIZON: Final = 0.25
# Each script call holds a connection for well under a millisecond.
_MAX_CONNECTIONS: Final = 16
# "Come back later" answers one acquire takes before it counts Redis as failing. Each is a
# real wait for a turn another caller took first: far fewer in any real queue, and enough
# to stop a server that says "come back in a microsecond" forever from spinning the loop.
_MAX_COME_BACKS: Final = 1000


def key_digest(api_key: str) -> str:
    """The name the buckets of one API key go by in Redis: a digest, never the key."""
    return hashlib.sha256(b"connectsafely-async rate limit\x00" + api_key.encode()).hexdigest()[
        :32
    ]


def _account_digest(account: str) -> str:
    return hashlib.sha256(account.encode()).hexdigest()[:16]


def _import_redis() -> Any:
    try:
        # Imported here, not at the top: redis-py is an optional extra.
        import redis.asyncio as redis_asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError
    except ImportError:
        msg = "the Redis rate limiter needs redis-py: pip install 'connectsafely-async[redis]'"
        raise ConfigurationError(msg) from None
    return redis_asyncio, Retry, NoBackoff, RedisError


def _bucket(per_minute: float | None, burst: float) -> tuple[float, float]:
    if per_minute is None:
        return _UNLIMITED, _UNLIMITED
    return per_minute / 60.0, burst


class RedisRateLimiter:
    """Token buckets per key and per account kept in Redis, shared by every worker.

    Args:
        config: the Redis URL, the limits and the fallback.
        api_key: the client's key; only its digest is kept.

    Raises:
        ConfigurationError: no usable Redis URL, or redis-py is not installed.
    """

    def __init__(self, config: RedisRateLimits, *, api_key: Secret) -> None:
        # Revealed only in the call into redis-py: no frame of ours holds the URL, and its
        # password, as a local.
        url = SecretURL(config.resolve_url(), keep_user=False)
        redis_asyncio, retry, no_backoff, redis_error = _import_redis()
        self._config = config
        self._where = url.described
        limits = config.limits
        self._clock = limits.clock
        self._sleep = limits.sleep
        self._max_pause = limits.max_pause
        # Always fed every answer, so that a fallback starts from what the service said.
        self._local = RateLimiter(config.fallback or limits)
        base = f"{config.prefix}:{{{key_digest(api_key.reveal())}}}"
        self._key_name = f"{base}:key"
        self._account_base = f"{base}:account:"
        key_rate, key_capacity = _bucket(limits.per_key_per_minute, limits.key_burst)
        account_rate, account_capacity = _bucket(
            limits.per_account_per_minute, limits.account_burst
        )
        # An idle bucket lives until it would be full again (then it is the same as none).
        idle = max(key_capacity / key_rate, account_capacity / account_rate)
        ttl_ms = math.ceil((idle + 1.0) * 1000)
        # The longest wait a reply can name, but for a fresh key bucket's start below zero
        # (_longest_wait): a pause, one token's refill from the deepest reservation, the
        # horizon (idle is at least that one token's refill: a burst is at least 1).
        self._refill_wait = self._max_pause + idle + _HORIZON
        self._params = [
            key_rate, key_capacity, account_rate, account_capacity, ttl_ms, _HORIZON
        ]
        self._key_rate, self._key_capacity = key_rate, key_capacity
        # The service's last X-RateLimit-Remaining, its Limit (0: not sent), and when it
        # came (this process's clock).
        self._heard: tuple[float, float, float] | None = None
        # A free connection, connect, command, one retry: nothing waits on Redis longer.
        self._deadline = 5 * config.timeout
        # A bounded pool whose callers queue for a free connection: a burst of concurrent
        # requests shares a few connections instead of failing. The queue is ours, not
        # Redis's: a busy event loop makes it slow, and that is no outage, so a caller may
        # wait in it up to the whole deadline (a dead Redis frees the connections at once).
        try:
            pool = redis_asyncio.BlockingConnectionPool.from_url(
                url.reveal(),
                max_connections=_MAX_CONNECTIONS,
                timeout=self._deadline,
                socket_timeout=config.timeout,
                socket_connect_timeout=config.timeout,
                # One immediate retry: after a Redis restart the pooled connection is dead and
                # a fresh one is all it takes; a Redis that is really gone fails fast.
                retry=retry(no_backoff(), 1),
                decode_responses=True,
                health_check_interval=0,
            )
        except ValueError:
            # redis-py's frames hold the URL: its error must not carry them up.
            msg = "the Redis URL has a parameter redis-py refuses (check its query)"
            raise ConfigurationError(msg) from None
        self._redis = redis_asyncio.Redis.from_pool(pool)  # it owns the pool, closes it
        self._script = self._redis.register_script(BUCKET_SCRIPT)
        # UnicodeError: redis-py decodes each reply, and raises it bare for bytes that are
        # not UTF-8.
        self._errors: tuple[type[BaseException], ...] = (
            redis_error, OSError, asyncio.TimeoutError, TimeoutError, BadReply, UnicodeError
        )
        self._degraded = False
        self._retry_at = 0.0
        self._both_until = -math.inf
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def shared(self) -> bool:
        """Whether requests are limited through Redis now (``False``: the local fallback)."""
        return not self._degraded

    @property
    def throttled(self) -> int:
        """429 answers seen by this process."""
        return self._local.throttled

    @property
    def limits(self) -> RateLimits:
        return self._config.limits

    def __repr__(self) -> str:
        # getattr: a traceback may render a half-built limiter (a failed __init__).
        state = "local fallback" if getattr(self, "_degraded", False) else "shared"
        return f"{type(self).__name__}({getattr(self, '_where', None)}, {state})"

    async def acquire(self, account: str | None) -> float:
        """Wait until one request for ``account`` may go; ``None`` counts against the key only.

        Returns:
            The seconds spent waiting.
        """
        began = self._clock()
        if self._try_redis():
            if self._clock() < self._both_until:
                # Just back: other workers may still be on their local limits, so this one
                # keeps to its own too. The local wait comes first and the shared queue
                # after it, so that nothing queued locally goes on top of the shared rate.
                await self._local.acquire(account)
            try:
                await self._acquire_shared(account)
            except self._errors as error:
                self._lost(error)
            else:
                return self._clock() - began
        await self._local.acquire(account)
        if not self._degraded:
            # Redis came back while this request waited in the local queue: the others
            # queue in Redis now, so this one does too.
            try:
                await self._acquire_shared(account)
            except self._errors as error:
                self._lost(error)
        return self._clock() - began

    async def _acquire_shared(self, account: str | None) -> None:
        keys = [self._key_name]
        if account is not None:
            keys.append(self._account_base + _account_digest(account))
        for _ in range(_MAX_COME_BACKS):
            scope, wait = await self._run(keys, "acquire")
            if scope in COME_BACK:  # nothing was taken: come back then
                await self._sleep(wait)
                continue
            if wait <= 0:
                return  # the key's token and the account's, both taken
            await self._sleep(wait)
            if account is None:
                return
            # Another worker may have read the account while we waited for the key; then
            # the key slot is lost (never a request over the limit) and we queue again.
            _, wait = await self._run(keys, "account")
            if wait <= 0:
                return
        msg = f"no turn after {_MAX_COME_BACKS} replies to come back later"
        raise BadReply(msg)

    async def _run(self, keys: list[str], op: str, *extra: float) -> tuple[str, float]:
        args = [op, *self._params, self._fresh_key_tokens(), *extra]
        reply = await asyncio.wait_for(self._script(keys=keys, args=args), self._deadline)
        scope, wait = read_reply(reply, op=op, horizon=_HORIZON, max_wait=self._longest_wait())
        # Back at the first usable answer, not after this request's wait: meanwhile every
        # other request of this process must queue in Redis again, not by the local limits.
        self._back()
        return scope, wait

    def _longest_wait(self) -> float:
        """The longest wait a reply of the script can name under these limits.

        A fresh key bucket starts as far below zero as the service's limit is above our
        burst (``_fresh_key_tokens``): at most the whole limit last heard, to refill.
        """
        limit = self._heard[1] if self._heard is not None else 0.0
        return self._refill_wait + limit / self._key_rate

    def _fresh_key_tokens(self) -> float:
        """What a new key bucket starts with: the service's bucket as last heard, less our
        margin.

        The service's bucket is refilled since at the key's rate. Running at the full rate,
        the service's bucket stays ahead of ours by the margin we keep (its ``Limit`` over
        our burst, e.g. 100 - 90); a bucket that starts level with it instead has no room
        for the network's jitter, and each jitter is a 429. So it starts that much lower.
        """
        if self._heard is None:
            return self._key_capacity
        remaining, limit, at = self._heard
        service = remaining + max(0.0, self._clock() - at) * self._key_rate
        if limit > 0:
            service = min(service, limit)
        margin = max(0.0, limit - self._key_capacity)
        return min(self._key_capacity, service - margin)

    def observe(
        self,
        *,
        account: str | None,
        wall: datetime,
        rate_limit: RateLimit | None,
        error: ConnectSafelyError | None = None,
    ) -> None:
        """Adapt to one parsed answer, in Redis for every worker (and in the fallback).

        The Redis update runs in the background: an answer never waits on the limiter.

        Args:
            account: the account the request was for (``None``: a workspace call).
            wall: when the answer arrived (the reset times it carries are wall-clock).
            rate_limit: the answer's ``X-RateLimit-*`` headers, parsed.
            error: the error the answer became, if it did.
        """
        self._local.observe(account=account, wall=wall, rate_limit=rate_limit, error=error)
        remaining = key_pause = account_pause = -1.0
        throttled = isinstance(error, RateLimitError)
        if rate_limit is not None and rate_limit.remaining is not None:
            remaining = float(max(0, rate_limit.remaining))
            limit = float(rate_limit.limit) if rate_limit.limit else 0.0
            self._heard = (remaining, limit, self._clock())
            # A 429's own Retry-After is more precise than the reset time of the whole quota.
            if not throttled and rate_limit.remaining <= 0 and rate_limit.reset_at is not None:
                seconds = (rate_limit.reset_at - wall).total_seconds()
                key_pause = min(max(0.0, seconds), self._max_pause)
        if isinstance(error, RateLimitError):
            pause = throttle_pause(error, account=account, wall=wall, max_pause=self._max_pause)
            if pause.scope == "account":
                account_pause = pause.seconds
            else:
                key_pause = max(key_pause, pause.seconds)
        if self._degraded or (remaining < 0 and key_pause < 0 and account_pause < 0):
            return
        keys = [self._key_name]
        if account is not None:
            keys.append(self._account_base + _account_digest(account))
        task = asyncio.get_running_loop().create_task(
            self._push(keys, remaining, key_pause, account_pause)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _push(self, keys: list[str], *values: float) -> None:
        try:
            await self._run(keys, "observe", *values)
        except self._errors as error:
            self._lost(error)

    def _try_redis(self) -> bool:
        if not self._degraded:
            return True
        now = self._clock()
        if now < self._retry_at:
            return False
        # This request probes; the others stay local until it has an answer or a retry is due.
        self._retry_at = now + self._config.retry_interval
        return True

    def _lost(self, error: BaseException) -> None:
        if self._degraded:
            # A call begun before the outage, or the probe: the next probe is already
            # scheduled (by _try_redis), and late failures must not keep postponing it.
            logger.debug("the shared rate limiter is still unreachable (%s)", type(error).__name__)
            return
        self._degraded = True
        self._retry_at = self._clock() + self._config.retry_interval
        self._take_share_of_remaining()
        # The error's type only: redis-py's messages may carry the URL, password included
        # (a BadReply's are ours, and never quote the reply).
        what = (f"gave a reply no limiter gives ({error})" if isinstance(error, BadReply)
                else f"is unreachable ({type(error).__name__})")
        msg = (
            f"the shared rate limiter at {self._where} {what}: "
            "limiting this process on its own until it is back"
        )
        # A warning, not also a log line: one message per outage (logging.captureWarnings
        # routes it to the logs).
        warnings.warn(msg, RateLimiterFallbackWarning, stacklevel=3)

    def _take_share_of_remaining(self) -> None:
        # Every worker heard the same Remaining; each may spend only its share of it (the
        # fallback's rate over the shared rate), or together they would overspend it at once.
        fallback = self._config.fallback
        if fallback is None or self._heard is None:
            return
        shared, own = self._config.limits.per_key_per_minute, fallback.per_key_per_minute
        if shared is None or own is None:
            return
        share = min(1.0, own / shared)
        remaining = math.floor(max(0.0, self._fresh_key_tokens()) * share)
        self._local.observe_rate_limit(
            RateLimit(remaining=remaining), now=self._clock(), wall=datetime.now(timezone.utc),
            pause=False,
        )

    def _back(self) -> None:
        if self._degraded:
            self._degraded = False
            # Other workers may still be on their local limiters until their own retry is
            # due: for that long, a request waits for the shared bucket and the local one.
            self._both_until = self._clock() + self._config.retry_interval
            logger.info("the shared rate limiter at %s is back", self._where)

    async def aclose(self) -> None:
        """Finish the pending updates (each bounded by the timeout) and close the connections."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()
