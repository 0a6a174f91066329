"""Many-workers load test: N worker processes on one key, one limit through Redis, one
history on PostgreSQL.

A fake service in this process enforces the documented per-key limit with the clock scaled
(60 requests a minute and bursts of 100 become 60 * SCALE a minute and the same 100); each
worker process syncs its own accounts (``sync_visitors_many``) into one shared
``PostgresStore``, with ``RedisRateLimits`` pointing at a throwaway redis-server. It prints
the 429s served, the achieved rate against the limit, and the visitors stored against those
served (each once). ``--restart`` kills Redis for a second mid-run; ``--history none``
only fetches (``fetch_visitors_many``), for a run without PostgreSQL.

    python benchmarks/bench_shared_limit.py [--workers 4] [--accounts 250] [--scale 40]
        [--restart] [--history postgres|none]

Needs ``redis-server`` on PATH (and PostgreSQL for the history), the ``redis`` and
``postgres`` extras.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from pathlib import Path

from connectsafely_async import AsyncConnectSafely, RateLimits, RedisRateLimits, RetryPolicy
from connectsafely_async.history import open_store
from connectsafely_async.testing import FakeConnectSafely

VISITORS = 10  # per account: two pages of five
PAGE = 5
KEY_PER_MINUTE = 60.0
SERVICE_BURST = 100  # the documented "bursts up to 100 per 10 seconds"
CLIENT_BURST = 90  # the SDK's default: no 10-second window above 100


def limits(scale: float, *, share: float = 1.0) -> RateLimits:
    return RateLimits(
        per_key_per_minute=KEY_PER_MINUTE * scale * share, key_burst=CLIENT_BURST * share,
        per_account_per_minute=None,
    )


async def worker(args: argparse.Namespace) -> None:
    config = RedisRateLimits(
        url=args.redis_url, limits=limits(args.scale),
        fallback=limits(args.scale, share=1 / args.workers), timeout=0.2, retry_interval=0.5,
    )
    async with AsyncConnectSafely(
        api_key="sk_bench_shared", base_url=args.fake_url, rate_limits=config,
        retry=RetryPolicy(initial_delay=0.05, max_delay=1.0),
    ) as client:
        await asyncio.sleep(max(0.0, args.start - time.time()))
        if args.history_url is None:
            fetched = await client.fetch_visitors_many(
                args.ids, count=PAGE, time_range="ALL_TIME", concurrency=50
            )
            count = sum(len(r.visitors) for r in fetched.values())
            failed = sum(not r.ok for r in fetched.values())
        else:
            async with open_store(args.history_url, lock_timeout=60) as store:
                synced = await client.sync_visitors_many(
                    store, args.ids, count=PAGE, time_range="ALL_TIME", concurrency=50,
                    collect=False,
                )
            count = sum(r.new_count + r.anonymous_count for r in synced.values())
            failed = sum(not r.ok for r in synced.values())
    sys.stdout.write(json.dumps({"visitors": count, "failed": failed}) + "\n")


async def stored(history_url: str) -> dict[str, int]:
    """What the shared history holds: visitor rows, distinct ones, views, sightings."""
    import asyncpg

    dsn, schema = history_url.split("?schema=")
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM visitors) AS rows, "
            "(SELECT count(DISTINCT (account_id, entity_urn)) FROM visitors) AS distinct_urns, "
            "(SELECT count(*) FROM views) AS views, "
            "(SELECT count(*) FROM anonymous) AS anonymous, "
            "(SELECT count(*) FROM syncs WHERE finished IS NULL) AS open_syncs")
        return dict(row)
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    # The same throwaway servers as the tests.
    from tests.servers import PostgresServer, RedisServer, find_postgres_bin

    rate = KEY_PER_MINUTE * args.scale / 60.0
    ids = [f"{i:024x}" for i in range(1, args.workers * args.accounts + 1)]
    redis = RedisServer()
    redis.start()
    postgres = None
    history: list[str] = []
    if args.history == "postgres":
        bin_dir = find_postgres_bin()
        if bin_dir is None:
            sys.exit("PostgreSQL is not installed (Debian: apt-get install postgresql); "
                     "or run with --history none")
        postgres = PostgresServer(bin_dir)
        postgres.start()
        history = ["--history-url", f"{postgres.dsn}?schema=bench"]
    try:
        async with FakeConnectSafely(
            api_key="sk_bench_shared", accounts=dict.fromkeys(ids, VISITORS),
            key_rate=rate, key_burst=SERVICE_BURST,
        ) as fake:
            start = time.time() + 2.0
            procs = [
                await asyncio.create_subprocess_exec(
                    sys.executable, __file__, "--worker", "--fake-url", fake.url,
                    "--redis-url", redis.url, "--scale", str(args.scale),
                    "--workers", str(args.workers), "--start", str(start), *history,
                    "--ids", *ids[n * args.accounts:(n + 1) * args.accounts],
                    stdout=asyncio.subprocess.PIPE,
                )
                for n in range(args.workers)
            ]
            stopped = restarted = math.inf
            if args.restart:
                await asyncio.sleep(start - time.time() + 3.0)
                redis.stop()
                stopped = time.monotonic()
                await asyncio.sleep(1.0)
                redis.start()
                restarted = time.monotonic()
            outputs = [json.loads((await p.communicate())[0]) for p in procs]
        accepted = sorted(
            r.received_at for r in fake.requests if r.received_at not in set(fake.throttled_at)
        )
        elapsed = accepted[-1] - accepted[0]
        allowed = SERVICE_BURST + rate * elapsed  # what the service lets through in that time
        steady = (len(accepted) - 1 - CLIENT_BURST) / (accepted[-1] - accepted[CLIENT_BURST])
        expected = len(ids) * VISITORS
        fetched = sum(o["visitors"] for o in outputs)
        print(f"{args.workers} workers x {args.accounts} accounts, limit {rate:g}/s "
              f"(60/min x {args.scale:g}), burst {SERVICE_BURST}"
              f"{', Redis killed for 1 s mid-run' if args.restart else ''}")
        during = sum(stopped <= t < restarted for t in fake.throttled_at)
        after = sum(t >= restarted for t in fake.throttled_at)
        print(f"429 answers: {fake.throttled_count}"
              + (f" ({during} while Redis was down, {after} after it came back)"
                 if args.restart else ""))
        print(f"requests accepted: {len(accepted)} in {elapsed:.2f} s; the service allows "
              f"{allowed:.0f} in that time ({len(accepted) / allowed:.1%})")
        print(f"steady rate after the burst: {steady:.2f}/s of {rate:g}/s ({steady / rate:.1%})")
        failed = sum(o["failed"] for o in outputs)
        if not history:
            print(f"visitors fetched: {fetched} of {expected}; failed accounts: {failed}")
            return
        served = [v for account in ids for v in fake.visitors(account)]
        named = sum(1 for v in served if v.get("entityUrn"))
        kept = await stored(history[1])
        print(f"visitors stored: {kept['rows']} of {named} named served "
              f"({kept['distinct_urns']} distinct, {kept['views']} views), "
              f"{kept['anonymous']} of {len(served) - named} anonymous sightings; "
              f"syncs left open: {kept['open_syncs']}; failed accounts: {failed}")
    finally:
        redis.close()
        if postgres is not None:
            postgres.close()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=250)
    parser.add_argument("--scale", type=float, default=40.0)
    parser.add_argument("--restart", action="store_true")
    parser.add_argument("--history", choices=("postgres", "none"), default="postgres")
    parser.add_argument("--history-url", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--ids", nargs="*", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    asyncio.run(worker(arguments) if arguments.worker else main(arguments))
