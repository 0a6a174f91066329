"""Many workers, one PostgreSQL history: do page commits of different accounts wait?

::

    python -m benchmarks.pg_workers                  # 1 worker vs 4, 4,000 visitors each
    python -m benchmarks.pg_workers --latency 0.02   # the same with 20 ms of service latency

A throwaway PostgreSQL on loopback (``fsync=off``) logs every lock wait longer than 1 ms
(``log_lock_waits = on``, ``deadlock_timeout = 1ms``); the fake service runs in its own
process with one account per worker. Each round syncs into a fresh schema (created before
the workers start, so no worker waits for the schema's creation):

- ``1 worker``: one process syncs one account, every visitor new;
- ``N workers``: N processes, started together, each sync a distinct account.

For each: the wall time from "go" to the last worker's end, visitors/s over all workers, and
the lock waits PostgreSQL logged while they ran (how many, and the milliseconds waited in
all). Medians over the rounds. On a 2-core machine N processes, the fake and the server
share two cores, so the visitors/s of N workers is bounded by CPU; the waits are the point.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.run import server
from connectsafely_async import AsyncConnectSafely
from connectsafely_async.history import open_store

API_KEY = "test-key"  # the fake's default key
_WAITED = re.compile(r"acquired \w+ on .*? after ([0-9.]+) ms")


def account(index: int) -> str:
    return f"{index:024x}"


# -- a worker: its own process ----------------------------------------------------------------


async def work(url: str, dsn: str, account_id: str, count: int) -> None:
    """Open the client and the store, say ready, wait for "go", sync, print the result."""
    async with AsyncConnectSafely(api_key=API_KEY, base_url=url, rate_limits=None) as sdk, \
            open_store(dsn) as store:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        began = time.perf_counter()
        result = await sdk.sync_visitors(store, account_id=account_id, count=count,
                                         time_range="ALL_TIME", collect=False)
        seconds = time.perf_counter() - began
        if result.error is not None:
            raise result.error
        visitors = result.new_count + result.anonymous_count
        print(json.dumps({"seconds": seconds, "visitors": visitors}), flush=True)


# -- the parent ---------------------------------------------------------------------------------


def run_workers(url: str, dsn: str, accounts: list[str], count: int) -> tuple[float, int]:
    """Start one worker per account, release them together; wall seconds and visitors."""
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.pg_workers", "--worker", url, dsn, account_id,
             str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for account_id in accounts
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                msg = "a worker did not start"
                raise RuntimeError(msg)
        began = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        visitors = 0
        for worker in workers:
            assert worker.stdout is not None
            visitors += json.loads(worker.stdout.readline())["visitors"]
        return time.perf_counter() - began, visitors
    finally:
        for worker in workers:
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait(timeout=60)


def lock_waits(log: Path, offset: int) -> tuple[int, float, int]:
    """The waits logged after *offset*: (count, milliseconds in all, the log's new size)."""
    with log.open("rb") as file:
        file.seek(offset)
        text = file.read().decode(errors="replace")
    waited = [float(ms) for ms in _WAITED.findall(text)]
    return len(waited), sum(waited), offset + len(text.encode())


async def configure(dsn: str) -> None:
    asyncpg: Any = importlib.import_module("asyncpg")  # the postgres extra
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("ALTER SYSTEM SET log_lock_waits = on")
        await connection.execute("ALTER SYSTEM SET deadlock_timeout = '1ms'")
        await connection.execute("SELECT pg_reload_conf()")
    finally:
        await connection.close()


async def create_schema(dsn: str) -> None:
    async with open_store(dsn):
        pass


def measure(n: int, count: int, workers: int, rounds: int, latency: float) -> None:
    from tests.servers import PostgresServer, find_postgres_bin

    bin_dir = find_postgres_bin()
    if bin_dir is None:
        sys.exit("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    accounts = [account(index) for index in range(workers)]
    postgres = PostgresServer(bin_dir)
    postgres.start()
    log = postgres.directory / "postgres.log"
    results: dict[str, dict[str, list[float]]] = {}
    try:
        asyncio.run(configure(postgres.dsn))
        config = {"accounts": dict.fromkeys(accounts, n), "latency": latency}
        with server(config) as url:
            offset = log.stat().st_size
            for round_ in range(rounds):
                for label, chosen in (("1 worker", accounts[:1]),
                                      (f"{workers} workers", accounts)):
                    dsn = f"{postgres.dsn}?schema=r{round_}_{len(chosen)}"
                    asyncio.run(create_schema(dsn))
                    _, _, offset = lock_waits(log, offset)
                    seconds, visitors = run_workers(url, dsn, chosen, count)
                    if visitors != n * len(chosen):
                        msg = f"{label}: {visitors} visitors, expected {n * len(chosen)}"
                        raise AssertionError(msg)
                    time.sleep(0.2)  # the server's log catches up
                    waits, waited_ms, offset = lock_waits(log, offset)
                    row = results.setdefault(label, {"seconds": [], "rate": [], "waits": [],
                                                     "waited": []})
                    row["seconds"].append(seconds)
                    row["rate"].append(visitors / seconds)
                    row["waits"].append(waits)
                    row["waited"].append(waited_ms)
    finally:
        postgres.close()
    print(f"{n:,} visitors per account, count {count}, service latency {latency * 1000:g} ms, "
          f"{rounds} rounds (medians; min-max)")
    print("| run | wall | visitors/s | lock waits > 1 ms | ms waited |")
    print("|---|---|---|---|---|")
    base = statistics.median(next(iter(results.values()))["rate"])
    for label, row in results.items():
        rate = statistics.median(row["rate"])
        print(f"| {label} | {statistics.median(row['seconds']) * 1000:.0f} ms "
              f"| {rate:,.0f} ({rate / base:.2f}x) "
              f"| {statistics.median(row['waits']):.0f} ({min(row['waits']):.0f}-"
              f"{max(row['waits']):.0f}) "
              f"| {statistics.median(row['waited']):.0f} ({min(row['waited']):.0f}-"
              f"{max(row['waited']):.0f}) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=4000, help="per account")
    parser.add_argument("--count", type=int, default=100, help="page size")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--worker", nargs=4, metavar=("URL", "DSN", "ACCOUNT", "COUNT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        url, dsn, account_id, count = args.worker
        asyncio.run(work(url, dsn, account_id, int(count)))
        return 0
    measure(args.visitors, args.count, args.workers, args.rounds, args.latency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
