"""The one Lua script the Redis limiter runs: every operation on the buckets, atomic."""

from __future__ import annotations

from typing import Final

__all__ = ["BUCKET_SCRIPT"]

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
