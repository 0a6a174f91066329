"""The visitor history's cost: a sync into SQLite against the same walk without a store.

::

    python -m benchmarks.bench_history            # 20,000 visitors, count 100, 5 rounds
    python -m benchmarks.bench_history --memory   # peak RSS growth over 1,000,000 stored

Rows (medians of the rounds, ratios in the same run, the fake in its own process):

- ``walk``: ``iter_visitor_pages`` over every page, no store (the baseline);
- ``fresh``: ``sync_visitors`` into a new file (every visitor new: visitors, aliases, views,
  events written, the result read back);
- ``again``: a second sync into that file with nothing new;
- ``counts``: ``fresh`` with ``collect=False`` (no result read back), for reference.

Targets: fresh <= 1.25x walk, again <= 1.15x walk, and with ``--memory`` a peak RSS growth of
at most 40 MB while 1,000,000 visitors are synced into a store and while they are synced
again (``collect=False``; a third run shows ``collect=True``, whose result holds the sync's
100,000 anonymous sightings).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import server
from connectsafely_async import AsyncConnectSafely
from connectsafely_async.history import SQLiteStore

ACCOUNT = "0123456789abcdef01234567"
API_KEY = "test-key"  # the fake's default key


def client(url: str) -> AsyncConnectSafely:
    return AsyncConnectSafely(api_key=API_KEY, base_url=url, rate_limits=None)


async def walk(url: str, count: int) -> float:
    async with client(url) as sdk:
        began = time.perf_counter()
        async for _page in sdk.iter_visitor_pages(account_id=ACCOUNT, count=count,
                                                  time_range="ALL_TIME"):
            pass
        return time.perf_counter() - began


async def sync(url: str, path: Path, count: int, *, collect: bool = True) -> tuple[float, Any]:
    async with client(url) as sdk, SQLiteStore(path) as store:
        began = time.perf_counter()
        result = await sdk.sync_visitors(store, account_id=ACCOUNT, count=count,
                                         time_range="ALL_TIME", collect=collect)
        return time.perf_counter() - began, result


async def speed(n: int, count: int, rounds: int, latency: float) -> bool:
    times: dict[str, list[float]] = {"walk": [], "fresh": [], "again": [], "counts": []}
    config = {"accounts": {ACCOUNT: n}, "latency": latency}
    with server(config) as url, tempfile.TemporaryDirectory() as tmp:
        await walk(url, count)  # warm up: the server's caches, imports, the first connection
        for round_ in range(rounds):
            path = Path(tmp) / f"round-{round_}.db"
            times["walk"].append(await walk(url, count))
            seconds, fresh = await sync(url, path, count)
            times["fresh"].append(seconds)
            seconds, again = await sync(url, path, count)
            times["again"].append(seconds)
            seconds, _ = await sync(url, Path(tmp) / f"counts-{round_}.db", count,
                                    collect=False)
            times["counts"].append(seconds)
            if len(fresh.new) + len(fresh.anonymous) != n or again.new or again.returning:
                msg = f"unexpected results: {fresh!r:.200} / {again!r:.200}"
                raise AssertionError(msg)
    base = statistics.median(times["walk"])
    print(f"{n:,} visitors, count {count}, server latency {latency * 1000:g} ms, {rounds} "
          "rounds (medians; min-max)")
    targets = {"walk": None, "fresh": 1.25, "again": 1.15, "counts": None}
    ok = True
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / base
        target = targets[name]
        verdict = "" if target is None else (
            f"  target <= {target:.2f}x: {'ok' if ratio <= target else 'MISSED'}")
        ok = ok and (target is None or ratio <= target)
        print(f"  {name:6} {median * 1000:8.0f} ms  ({min(values) * 1000:.0f}-"
              f"{max(values) * 1000:.0f})  {n / median:9,.0f} visitors/s  {ratio:.2f}x{verdict}")
    return ok


# -- memory ----------------------------------------------------------------------------------


def _kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


async def memory_child(url: str, path: str, count: int, collect: bool) -> None:
    """In a fresh process: one sync; prints seconds and MB of peak RSS growth after page 1."""
    baseline = 0
    pages = 0

    def clock() -> float:
        nonlocal baseline, pages
        pages += 1
        if pages == 2:  # imports, session, the store's thread and schema all warmed up
            _reset_peak()
            baseline = _kb("VmRSS")
        return time.time()

    async with client(url) as sdk, SQLiteStore(path) as store:
        began = time.perf_counter()
        result = await sdk.sync_visitors(store, account_id=ACCOUNT, count=count,
                                         time_range="ALL_TIME", clock=clock, collect=collect)
        seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "growth_mb": (_kb("VmHWM") - baseline) / 1024,
                      "new": result.new_count, "unchanged": result.unchanged,
                      "pages": result.stats.pages}))


def memory(n: int, count: int) -> bool:
    # Distinct visitors: a block repeated would be dropped as repeats by the walk.
    ok = True
    with server({"accounts": {ACCOUNT: n}}) as url, tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "big.db")
        phases = (("fresh, collect=False", False, True), ("again, collect=False", False, True),
                  ("again, collect=True", True, False))
        for label, collect, judged in phases:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_history", "--memory-child", url, path,
                 str(count), "1" if collect else "0"],
                capture_output=True, text=True, check=False,
            )
            if out.returncode:
                raise RuntimeError(out.stderr)
            row = json.loads(out.stdout)
            size = Path(path).stat().st_size / 1e6
            # collect=True holds the sync's anonymous sightings (a tenth of the visitors
            # here): the result's size, not the store's; shown, not judged.
            verdict = ("ok" if row["growth_mb"] <= 40 else "MISSED") if judged else "n/a"
            ok = ok and (row["growth_mb"] <= 40 or not judged)
            print(f"  sync {n:,} ({label}): {row['seconds']:.1f} s, peak RSS growth "
                  f"{row['growth_mb']:.1f} MB (target <= 40 MB: {verdict}); new "
                  f"{row['new']:,}, unchanged {row['unchanged']:,}, {row['pages']:,} pages; "
                  f"file {size:.0f} MB")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the fake waits per request (the real service: ~0.3+)")
    parser.add_argument("--memory", action="store_true", help="the 1,000,000-visitor run")
    parser.add_argument("--memory-visitors", type=int, default=1_000_000)
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        url, path, count, collect = args.memory_child
        asyncio.run(memory_child(url, path, int(count), collect == "1"))
        return 0
    if args.memory:
        return 0 if memory(args.memory_visitors, args.count) else 1
    return 0 if asyncio.run(speed(args.visitors, args.count, args.rounds, args.latency)) else 1


if __name__ == "__main__":
    sys.exit(main())
