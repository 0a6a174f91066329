"""Run in a subprocess by test_limiter_redis: one worker of several sharing one API key.

It waits for a common start time (so the workers overlap despite their import times),
fetches every visitor of its accounts through a client limited via Redis, and prints one
JSON line: visitors per account and the 429s this worker saw.

    python -m tests.limiter_worker FAKE_URL REDIS_URL API_KEY RATE BURST START ACCOUNT...
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from connectsafely_async import AsyncConnectSafely, RateLimits, RedisRateLimits, RetryPolicy


async def main(
    fake_url: str, redis_url: str, api_key: str, rate: float, burst: float, start: float,
    accounts: list[str],
) -> dict[str, object]:
    limits = RedisRateLimits(
        url=redis_url,
        limits=RateLimits(per_key_per_minute=rate * 60, key_burst=burst,
                          per_account_per_minute=None),
    )
    async with AsyncConnectSafely(
        api_key=api_key, base_url=fake_url, rate_limits=limits,
        retry=RetryPolicy(initial_delay=0.05, max_delay=0.5),
    ) as client:
        await asyncio.sleep(max(0.0, start - time.time()))
        results = await client.fetch_visitors_many(
            accounts, count=5, time_range="ALL_TIME", concurrency=len(accounts)
        )
    return {
        "visitors": {
            account: [v.entity_urn for v in result.visitors] if result.ok else None
            for account, result in results.items()
        },
        "retries": sum(r.stats.retries for r in results.values()),
    }


if __name__ == "__main__":
    url, redis_url, key, rate, burst, start, *ids = sys.argv[1:]
    report = asyncio.run(main(url, redis_url, key, float(rate), float(burst), float(start), ids))
    sys.stdout.write(json.dumps(report) + "\n")
