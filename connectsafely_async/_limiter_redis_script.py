"""The one Lua script the Redis limiter runs (every operation on the buckets, atomic), and
the one reading of its replies.

Whatever answers in Redis's place (a proxy, a Redis-compatible server, a script of another
version) may reply anything: an integer, nil, an empty array, ``nan``. ``read_reply``
accepts only what this script returns, or raises ``BadReply``, which the limiter counts as
the shared limiter failing (it falls back to the local one), never as a bare exception.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["BUCKET_SCRIPT", "COME_BACK", "BadReply", "read_reply"]

# What each operation may answer. "account" and "later" (to acquire) mean nothing was
# taken: come back after the wait, which the script makes at least a microsecond.
_SCOPES: Final = {
    "acquire": frozenset({"key", "account", "later"}),
    "account": frozenset({"account"}),
    "observe": frozenset({"observe"}),
}
COME_BACK: Final = frozenset({"account", "later"})
# What fmt() writes: digits, a point, six more. Never a sign, an exponent, nan or inf.
_WAIT: Final = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")


class BadReply(Exception):  # noqa: N818 (never leaves the limiter: it falls back on it)
    """A reply this script never gives: the shared limiter is not working."""


def read_reply(reply: object, *, op: str, horizon: float, max_wait: float) -> tuple[str, float]:
    """The scope and the seconds to wait of a reply to ``op``, checked.

    Args:
        reply: what redis-py returned for the script.
        op: the operation the script was run for (``acquire``, ``account``, ``observe``).
        horizon: how far ahead the script hands out a turn: a ``key`` turn waits no longer.
        max_wait: the longest wait the limits allow (a pause, then a refill from the
            deepest debt): one past it is never slept.

    Returns:
        The scope word and the wait, finite, non-negative and at most ``max_wait``.

    Raises:
        BadReply: anything else (the message never quotes the reply).
    """
    if not isinstance(reply, (list, tuple)) or len(reply) != 2:
        msg = f"a {type(reply).__name__} instead of a scope and a wait"
        raise BadReply(msg)
    scope, text = reply
    if not isinstance(scope, str) or scope not in _SCOPES[op]:
        msg = f"an unknown scope in reply to {op!r}"
        raise BadReply(msg)
    if not isinstance(text, str) or not _WAIT.fullmatch(text):
        msg = "a wait that is not a non-negative decimal number"
        raise BadReply(msg)
    wait = float(text)
    if op == "acquire" and scope in COME_BACK and wait <= 0:
        # The script never says "come back now": obeying it forever is a busy loop.
        msg = "a come-back without a wait"
        raise BadReply(msg)
    if op == "acquire" and scope == "key" and wait > horizon:
        # A turn further ahead is never handed out: going early would overspend the key.
        msg = "a turn past the horizon"
        raise BadReply(msg)
    if wait > max_wait:
        msg = f"a wait past the longest the limits allow ({max_wait:g}s)"
        raise BadReply(msg)
    return scope, wait

# One script, every operation on the buckets, atomic. KEYS[1] is the key's bucket, KEYS[2]
# (optional) an account's. Each bucket is a hash {tokens, updated}; a missing account bucket
# is full, a missing key bucket starts from the caller's hint (ARGV[8]).
# Buckets hand out reservations exactly like _limiter.TokenBucket: tokens may go below zero
# and the caller sleeps until the refill pays its token back; a pause empties the bucket and
# moves the start of the refill to the pause's end. Numbers travel as strings: Redis would
# truncate a Lua number returned as a reply to an integer.
BUCKET_SCRIPT: Final = """
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
-- "Come back later" always names a wait: 0.000000 would read as "now", again and again.
local function come_back(scope, wait) return {scope, fmt(math.max(wait, 0.000001))} end

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
    if wait > 0 then return come_back('account', wait) end
  end
  local k = key()
  local wait = ready_in(k, k.tokens - 1)
  if wait > horizon then return come_back('later', wait - horizon) end
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
