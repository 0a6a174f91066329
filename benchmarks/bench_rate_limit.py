"""Rate-limit benchmark: 50 accounts at once against a fake service that enforces R req/s.

Runs the same fetch twice, without and with the client's limiter (configured to the fake's
R), and prints the achieved rate of successful requests against R and the 429s the fake
served (in all, and after the first second). Then times prefetch off/on. The fake runs in
this process: this measures rates, not CPU, so sharing the loop does not skew it.

    python benchmarks/bench_rate_limit.py [--rate 50] [--accounts 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from connectsafely_async import AsyncConnectSafely, RateLimits, RetryPolicy
from connectsafely_async.testing import FakeConnectSafely

PAGE = 5
VISITORS = 25  # five pages per account


async def run(*, accounts: int, rate: float, limited: bool) -> dict[str, float]:
    ids = [f"{i:024x}" for i in range(1, accounts + 1)]
    account_rate = max(1.0, 4 * rate / accounts)  # the key is the binding limit
    async with FakeConnectSafely(
        accounts=dict.fromkeys(ids, VISITORS), key_rate=rate, key_burst=rate,
        account_rate=account_rate, account_burst=2,
    ) as fake:
        limits = RateLimits(
            per_key_per_minute=rate * 60, key_burst=max(1, rate / 10),
            per_account_per_minute=account_rate * 60, account_burst=1,
        ) if limited else None
        async with AsyncConnectSafely(
            api_key=fake.api_key, base_url=fake.url, rate_limits=limits,
            retry=RetryPolicy(initial_delay=0.05, max_delay=0.5),
        ) as client:
            began = time.monotonic()
            results = await client.fetch_visitors_many(ids, count=PAGE, concurrency=accounts)
            elapsed = time.monotonic() - began
        ok = len(fake.requests) - fake.throttled_count
        late = [t for t in fake.throttled_at if t - began > 1.0]
        steady = [r.received_at for r in fake.requests if r.received_at - began > 1.0]
        return {
            "elapsed": elapsed,
            "achieved": ok / elapsed,
            "steady": (len(steady) - len(late)) / max(1e-9, elapsed - 1.0),
            "throttled": fake.throttled_count,
            "late": len(late),
            "complete": sum(r.ok for r in results.values()),
        }


async def prefetch_timing(prefetch: int) -> float:
    ids = [f"{i:024x}" for i in range(1, 9)]
    async with (
        FakeConnectSafely(accounts=dict.fromkeys(ids, 100), latency=0.02) as fake,
        AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None) as client,
    ):
        began = time.monotonic()
        await client.fetch_visitors_many(ids, count=10, concurrency=8, prefetch=prefetch)
        return time.monotonic() - began


async def consumer_timing(prefetch: int, *, pages: int = 20, work: float = 0.02) -> float:
    """One walk of ``pages`` pages at 20 ms server latency, the consumer busy ``work`` s/page."""
    account = "696ce9e780e0483585e4e553"
    async with (
        FakeConnectSafely(accounts={account: 10 * pages}, latency=0.02) as fake,
        AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None) as client,
    ):
        began = time.monotonic()
        async for _page in client.iter_visitor_pages(
            count=10, time_range="ALL_TIME", prefetch=prefetch
        ):
            await asyncio.sleep(work)  # the consumer's own I/O for this page
        return time.monotonic() - began


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="the fake's R, requests/s")
    parser.add_argument("--accounts", type=int, default=50)
    args = parser.parse_args()
    print(
        f"{'limiter':<8} {'accounts':>8} {'R/s':>6} {'achieved/s':>10} {'% of R':>7} "
        f"{'steady/s':>9} {'429s':>6} {'429s>1s':>8} {'complete':>9} {'time s':>7}"
    )
    for limited in (False, True):
        r = await run(accounts=args.accounts, rate=args.rate, limited=limited)
        print(
            f"{'on' if limited else 'off':<8} {args.accounts:>8} {args.rate:>6.0f} "
            f"{r['achieved']:>10.1f} {100 * r['achieved'] / args.rate:>6.0f}% "
            f"{r['steady']:>9.1f} {r['throttled']:>6.0f} {r['late']:>8.0f} "
            f"{r['complete']:>5.0f}/{args.accounts:<3} {r['elapsed']:>7.2f}"
        )
    print()
    print("prefetch (8 accounts x 100 visitors, pages of 10, 20 ms latency, no limiter)")
    for prefetch in (0, 1, 2):
        print(f"  prefetch={prefetch}: {await prefetch_timing(prefetch):.2f} s")
    print()
    print("prefetch with a busy consumer (1 account, 20 pages, 20 ms latency, 20 ms work/page;"
          " median of 5)")
    medians = {}
    for prefetch in (0, 1):
        runs = [await consumer_timing(prefetch) for _ in range(5)]
        medians[prefetch] = statistics.median(runs)
        print(f"  prefetch={prefetch}: {medians[prefetch]:.3f} s")
    print(f"  ratio prefetch=1 / prefetch=0: {medians[1] / medians[0]:.2f} (target <= 0.6)")


if __name__ == "__main__":
    asyncio.run(main())
