"""A rate limiter shared through Redis: many workers on one API key spend one budget.

Each worker that runs on one key believes, with the in-process limiter, that it owns the
whole budget; four of them make a 429 storm. This backend keeps the same token buckets
(per key, per account, with the same reservation rules as :mod:`._limiter`) in Redis,
updated by one Lua script, so a check and a take are atomic across processes. The time is
Redis's own (``TIME`` inside the script): the workers' clocks never enter the sums.

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
import os
import warnings
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import attrs

from ._errors import ConfigurationError, RateLimiterFallbackWarning, RateLimitError
from ._limiter import RateLimiter, RateLimits, throttle_pause
from ._models import RateLimit

if TYPE_CHECKING:
    from ._errors import ConnectSafelyError
    from ._secrets import Secret

__all__ = ["ENV_RATE_LIMIT_URL", "RedisRateLimiter", "RedisRateLimits", "key_digest"]

logger = logging.getLogger("connectsafely_async")

ENV_RATE_LIMIT_URL: Final = "CONNECTSAFELY_RATE_LIMIT_URL"
_SCHEMES: Final = ("redis", "rediss", "unix")
# "No limit" as a bucket Lua can still do sums with (and pause): it never runs dry.
_UNLIMITED: Final = 1e9
# Reservations are handed out at most this far ahead (a later caller sleeps and asks again):
# the queue Redis holds stays short, and so does the debt a Redis restart forgets.
_HORIZON: Final = 0.25


def _check_url(_: object, __: object, value: str | None) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        msg = f"url must be a string or None, got {type(value).__name__}"
        raise TypeError(msg)
    _check_url_text(value)


def _check_url_text(url: str) -> None:
    # Never echo the URL: it may carry the Redis password.
    if any(c.isspace() or not c.isprintable() for c in url):
        msg = "the Redis URL contains whitespace or control characters; check how it was set"
        raise ConfigurationError(msg)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it validates it)
    except ValueError:
        msg = "the Redis URL is not a valid URL (check the host and port)"
        raise ConfigurationError(msg) from None
    if parts.scheme not in _SCHEMES or (parts.scheme != "unix" and not parts.hostname):
        scheme = parts.scheme if parts.scheme.isalnum() else "?"
        msg = f"the Redis URL must be redis://, rediss:// or unix:// (got scheme {scheme!r})"
        raise ConfigurationError(msg)


def describe_url(url: str | None) -> str:
    """Where a Redis URL points, without its credentials or query."""
    if url is None:
        return f"${ENV_RATE_LIMIT_URL}"
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _positive(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        msg = f"{attribute.name} must be a positive number, got {value!r}"
        raise ValueError(msg)


def _check_prefix(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not value or not value.isprintable() or "{" in value:
        msg = "prefix must be a non-empty printable string without '{'"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RedisRateLimits:
    """Rate limits shared by every client (in every process) that uses the same Redis and key.

    Pass it as ``AsyncConnectSafely(rate_limits=RedisRateLimits(url=...))``. Every worker
    must configure the same ``limits``: they describe the one budget they share.

    Args:
        url: ``redis://[:password@]host:port/db``, ``rediss://...`` or ``unix:///path``;
            ``None`` reads ``$CONNECTSAFELY_RATE_LIMIT_URL`` when the client is built.
        limits: the service's limits for the key and its accounts (the documented ones by
            default); its ``sleep`` and ``clock`` are used for waiting.
        fallback: the limits one process keeps while Redis is unreachable (``None``: the
            same ``limits``). With ``n`` workers, ``limits`` divided by ``n`` keeps even
            the outage free of 429s; the default only leans on the service's headers.
        prefix: the start of every Redis key the limiter writes.
        timeout: seconds a Redis connect or command may take before the limiter falls
            back (a slow Redis must not stall requests).
        retry_interval: seconds between attempts to get back to Redis after a failure.
    """

    url: str | None = attrs.field(default=None, validator=_check_url, repr=describe_url)
    limits: RateLimits = attrs.field(
        factory=RateLimits, validator=attrs.validators.instance_of(RateLimits)
    )
    fallback: RateLimits | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(RateLimits))
    )
    prefix: str = attrs.field(default="connectsafely", validator=_check_prefix)
    timeout: float = attrs.field(default=0.5, validator=_positive)
    retry_interval: float = attrs.field(default=5.0, validator=_positive)

    def resolve_url(self) -> str:
        """The URL to use: ``url``, else the environment's.

        Raises:
            ConfigurationError: neither names a usable Redis URL.
        """
        url = self.url or os.environ.get(ENV_RATE_LIMIT_URL) or ""
        if not url:
            msg = f"no Redis URL: pass RedisRateLimits(url=...) or set ${ENV_RATE_LIMIT_URL}"
            raise ConfigurationError(msg)
        _check_url_text(url)
        return url


def key_digest(api_key: str) -> str:
    """The name the buckets of one API key go by in Redis: a digest, never the key."""
    return hashlib.sha256(b"connectsafely-async rate limit\x00" + api_key.encode()).hexdigest()[
        :32
    ]


def _account_digest(account: str) -> str:
    return hashlib.sha256(account.encode()).hexdigest()[:16]


# One script, every operation on the buckets, atomic. KEYS[1] is the key's bucket, KEYS[2]
# (optional) an account's. Each bucket is a hash {tokens, updated}; a missing one is full.
# Buckets hand out reservations exactly like _limiter.TokenBucket: tokens may go below zero
# and the caller sleeps until the refill pays its token back; a pause empties the bucket and
# moves the start of the refill to the pause's end. Numbers travel as strings: Redis would
# truncate a Lua number returned as a reply to an integer.
_SCRIPT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local op = ARGV[1]
local ttl = tonumber(ARGV[6])
-- A key bucket Redis does not hold (first use, expired, or Redis restarted empty) starts
-- from what the caller last heard from the service, not full: after a restart the service's
-- own bucket may be nearly empty, and a full one here would be a burst of 429s.
local fresh_key_tokens = tonumber(ARGV[8])
-- The furthest ahead a reservation is handed out; a later caller is told to come back.
-- A short queue in Redis is a small debt to lose when Redis restarts empty.
local horizon = tonumber(ARGV[7])

local function fmt(x) return string.format('%.6f', x) end

local function load(name, rate, capacity, fresh)
  local state = redis.call('HMGET', name, 'tokens', 'updated')
  local b = {name = name, rate = rate, capacity = capacity,
             tokens = tonumber(state[1]) or fresh, updated = tonumber(state[2]) or now}
  if now > b.updated then
    b.tokens = math.min(capacity, b.tokens + (now - b.updated) * rate)
    b.updated = now
  end
  return b
end

local function save(b)
  redis.call('HSET', b.name, 'tokens', fmt(b.tokens), 'updated', fmt(b.updated))
  -- Kept while reservations are outstanding (a debt to pay back), then until it is full.
  local debt = math.max(0, b.updated + math.max(0, -b.tokens) / b.rate - now)
  redis.call('PEXPIRE', b.name, ttl + math.ceil(debt * 1000))
end

-- Seconds until the refill, starting at `updated`, has brought the bucket back to `tokens`.
local function ready_in(b, tokens)
  return math.max(0, b.updated + math.max(0, -tokens) / b.rate - now)
end

local function pause(b, seconds)
  b.tokens = math.min(b.tokens, 0)
  b.updated = math.max(b.updated, now + seconds)
end

local function key()
  return load(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), fresh_key_tokens)
end
local function account()
  return load(KEYS[2], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[5]))
end

if op == 'acquire' then
  -- The account first, without taking its token: a key reservation held while an account
  -- cools down would waste key capacity every other account could use.
  local a = nil
  if KEYS[2] then
    a = account()
    local wait = ready_in(a, a.tokens - 1)
    if wait > 0 then return {'account', fmt(wait)} end
  end
  local k = key()
  local wait = ready_in(k, k.tokens - 1)
  if wait > horizon then return {'later', fmt(wait - horizon)} end
  k.tokens = k.tokens - 1
  save(k)
  if wait <= 0 and a then
    a.tokens = a.tokens - 1
    save(a)
  end
  return {'key', fmt(wait)}
elseif op == 'account' then
  -- After waiting for a key reservation: the account's token, if it is still free.
  local a = account()
  local wait = ready_in(a, a.tokens - 1)
  if wait <= 0 then
    a.tokens = a.tokens - 1
    save(a)
  end
  return {'account', fmt(wait)}
elseif op == 'observe' then
  local remaining, key_pause = tonumber(ARGV[9]), tonumber(ARGV[10])
  local account_pause = tonumber(ARGV[11])
  local k = key()
  if remaining >= 0 then k.tokens = math.min(k.tokens, remaining) end
  if key_pause >= 0 then pause(k, key_pause) end
  save(k)
  if account_pause >= 0 and KEYS[2] then
    local a = account()
    pause(a, account_pause)
    save(a)
  end
  return {'observe', fmt(0)}
end
return redis.error_reply('unknown operation')
"""


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
        url = config.resolve_url()
        redis_asyncio, retry, no_backoff, redis_error = _import_redis()
        self._config = config
        self._where = describe_url(url)
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
        self._params = [
            key_rate, key_capacity, account_rate, account_capacity, ttl_ms, _HORIZON
        ]
        self._key_rate, self._key_capacity = key_rate, key_capacity
        # The service's last X-RateLimit-Remaining, its Limit (0: not sent), and when it
        # came (this process's clock).
        self._heard: tuple[float, float, float] | None = None
        self._redis = redis_asyncio.Redis.from_url(
            url,
            socket_timeout=config.timeout,
            socket_connect_timeout=config.timeout,
            # One immediate retry: after a Redis restart the pooled connection is dead and
            # a fresh one is all it takes; a Redis that is really gone fails fast.
            retry=retry(no_backoff(), 1),
            decode_responses=True,
            health_check_interval=0,
        )
        self._script = self._redis.register_script(_SCRIPT)
        self._errors: tuple[type[BaseException], ...] = (
            redis_error, OSError, asyncio.TimeoutError, TimeoutError
        )
        # Connect, command, one retry: nothing the limiter sends to Redis waits longer.
        self._deadline = 4 * config.timeout
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
        state = "shared" if self.shared else "local fallback"
        return f"{type(self).__name__}({self._where}, {state})"

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
        while True:
            scope, wait = await self._run(keys, "acquire")
            if scope in ("account", "later"):  # nothing was taken: come back then
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

    async def _run(self, keys: list[str], op: str, *extra: float) -> tuple[str, float]:
        args = [op, *self._params, self._fresh_key_tokens(), *extra]
        reply = await asyncio.wait_for(self._script(keys=keys, args=args), self._deadline)
        # Back at the first answer, not after this request's wait: meanwhile every other
        # request of this process must queue in Redis again, not go by the local limits.
        self._back()
        return str(reply[0]), float(reply[1])

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
        # The error's type only: redis-py's messages may carry the URL, password included.
        msg = (
            f"the shared rate limiter at {self._where} is unreachable "
            f"({type(error).__name__}): limiting this process on its own until it is back"
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
