"""Where scenario A's time goes: ``python -m benchmarks.profile_walk [--cpu] [--visitors N]``.

Without ``--cpu``: one SDK walk (``iter_visitors``, the speed extra when installed) against
the benchmark server in its own process, under cProfile; prints the time of its own spent
in each part (the SDK's modules one by one, aiohttp, asyncio, the socket calls...), then the
functions with the most time of their own. cProfile inflates small, frequent calls (a
generator step, a method call), so read it for where to look.

With ``--cpu``: the client process's CPU time per page (``time.process_time``; the server
runs in another process), median of interleaved rounds, for the raw loops, the floors and
the SDK, sequential and with one page of look-ahead. The SDK's own work per page is its
figure minus the floor's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp

from benchmarks.floors import raw_loads, raw_pages
from benchmarks.run import (
    HAS_MSGSPEC,
    HAS_ORJSON,
    Runner,
    account,
    collect,
    json_backend,
    measure,
    scenario_clients,
    sdk_client,
    server,
)
from connectsafely_async._protocol.visitors import build_visitors_request


async def walk(url: str, visitors: int, prefetch: int) -> int:
    async with sdk_client(url) as client:
        got = await collect(client.iter_visitors(
            max_visitors=visitors, count=100, time_range="ALL_TIME", account_id=account(0),
            prefetch=prefetch,
        ))
    return len(got)


def part(filename: str, function: str) -> str:
    """The part of the stack a profiled function belongs to."""
    if "connectsafely_async" in filename:
        return "SDK " + filename.rsplit("/", 1)[-1]
    for name in ("aiohttp", "multidict", "yarl", "asyncio", "benchmarks"):
        if f"/{name}/" in filename:
            return name
    if filename == "~":  # a builtin
        if "socket" in function or "epoll" in function:
            return "socket and epoll"
        for library in ("msgspec", "orjson"):
            if library in function:
                return f"builtins ({library})"
        return "builtins (other)"
    return "other python"


async def profile(visitors: int, top: int, prefetch: int) -> None:
    with server({"accounts": {account(0): visitors}}) as url, json_backend(True):
        await walk(url, visitors, prefetch)  # warm up: imports, the server's caches
        profiler = cProfile.Profile()
        profiler.enable()
        got = await walk(url, visitors, prefetch)
        profiler.disable()
    print(f"{got} visitors, msgspec {'yes' if HAS_MSGSPEC else 'no'}, "
          f"orjson {'yes' if HAS_ORJSON else 'no'}, prefetch={prefetch}")
    stats = pstats.Stats(profiler)
    pages = max(1, got // 100)
    totals: dict[str, float] = defaultdict(float)
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        totals[part(filename, function)] += row[2]  # tottime
    print("\ntime of its own per page (µs), by part:")
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {name:40s} {seconds / pages * 1e6:7.1f}")
    print(f"  {'total':40s} {sum(totals.values()) / pages * 1e6:7.1f}\n")
    stats.sort_stats("tottime").print_stats(top)


async def cpu(visitors: int, rounds: int) -> None:
    with server({"accounts": {account(0): visitors}}) as url:
        clients = scenario_clients(url, [account(0)], visitors, 100, sequential_only=True,
                                   floor=True)
        clients.pop("peer httpx+pydantic", None)
        results = await measure(clients, rounds, clock=time.process_time)
    pages = visitors / 100
    print(f"client CPU per 100-visitor page (µs), median of {rounds} interleaved rounds, "
          f"{visitors} visitors:")
    for name, seconds in results.items():
        if seconds is not None:
            print(f"  {name:50s} {seconds / pages * 1e6:7.0f}")


async def steps(visitors: int, rounds: int, clock: Callable[[], float]) -> None:
    """CPU per page of the SDK's path built up one step at a time, each step's cost the
    difference to the one before: what each layer adds to the raw request."""
    from connectsafely_async._pagination import WalkStats, page_fetch
    from connectsafely_async._protocol.visitors import VisitorsQuery, parse_visitors_page

    pages = visitors // 100
    queries = [VisitorsQuery(account_id=account(0), time_range="ALL_TIME", count=100,
                             start=100 * i, max_visitors=100 * i + 101) for i in range(pages)]

    def ladder(url: str) -> dict[str, tuple[Runner, Callable[[], Any]] | None]:
        async def raw_pages_only() -> list[Any]:
            async with aiohttp.ClientSession() as session:
                return [v async for page in raw_pages(session, url, account(0), visitors, 100)
                        for v in page]

        async def transport(parse: bool) -> list[Any]:
            async with sdk_client(url) as client:
                out: list[Any] = []
                for query in queries:
                    request = build_visitors_request(query)
                    sender = client._sender  # the transport alone, below the one door
                    response = await sender._transport.send(
                        sender._base_url + request.path, request, sender._headers)
                    if parse:
                        out.extend(parse_visitors_page(response).visitors)
                    else:
                        out.extend(raw_loads()(response.body)["visitors"])
                return out

        async def fetch_page() -> list[Any]:
            async with sdk_client(url) as client:
                out: list[Any] = []
                stats = WalkStats()
                options = client._options.override(max_retries=2, timeout=30)
                fetch = page_fetch(client._sender, options)
                for query in queries:
                    page = await fetch(query, stats)
                    out.extend(page.visitors)
                return out

        async def pages_view() -> list[Any]:
            async with sdk_client(url) as client:
                walk = client.iter_visitor_pages(
                    max_visitors=visitors, count=100, time_range="ALL_TIME",
                    account_id=account(0))
                return [v async for page in walk for v in page.visitors]

        async def visitors_view() -> list[Any]:
            async with sdk_client(url) as client:
                return await collect(client.iter_visitors(
                    max_visitors=visitors, count=100, time_range="ALL_TIME",
                    account_id=account(0)))

        speed = lambda: json_backend(True)  # noqa: E731
        return {
            "raw session.post + loads, pages of dicts": (raw_pages_only, contextlib.nullcontext),
            "+ the SDK transport (its headers, HttpResponse)": (lambda: transport(False), speed),
            "+ parse_visitors_page (typed, checked)": (lambda: transport(True), speed),
            "+ _fetch_page (retry loop, limiter off, stats)": (fetch_page, speed),
            "+ the walk, pages view (plan, dedupe, settle)": (pages_view, speed),
            "+ the visitors view (one async step per visitor)": (visitors_view, speed),
        }

    with server({"accounts": {account(0): visitors}}) as url:
        results = await measure(ladder(url), rounds, clock=clock)
    what = "client CPU" if clock is time.process_time else "wall time"
    print(f"{what} per 100-visitor page (µs), median of {rounds} interleaved rounds:")
    previous = None
    for name, seconds in results.items():
        assert seconds is not None
        step = "" if previous is None else f"  (+{(seconds - previous) / pages * 1e6:.0f})"
        print(f"  {name:52s} {seconds / pages * 1e6:6.0f}{step}")
        previous = seconds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_walk", description=__doc__)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--prefetch", type=int, default=0, help="the profiled walk's prefetch")
    parser.add_argument("--cpu", action="store_true", help="CPU per page of every client")
    parser.add_argument("--steps", action="store_true",
                        help="CPU per page of the SDK's path, one layer at a time")
    parser.add_argument("--wall", action="store_true", help="--steps in wall time, not CPU")
    parser.add_argument("--rounds", type=int, default=15, help="rounds of --cpu and --steps")
    args = parser.parse_args()
    if args.steps:
        clock = time.perf_counter if args.wall else time.process_time
        asyncio.run(steps(args.visitors, args.rounds, clock))
    elif args.cpu:
        asyncio.run(cpu(args.visitors, args.rounds))
    else:
        asyncio.run(profile(args.visitors, args.top, args.prefetch))


if __name__ == "__main__":
    main()
