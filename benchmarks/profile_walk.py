"""Where scenario A's time goes: ``python -m benchmarks.profile_walk [--visitors N] [--top K]``.

Runs one SDK walk (``iter_visitors``, the speed extra when installed) against the benchmark
server in its own process, under cProfile, and prints the functions with the most time of
their own. cProfile inflates small, frequent calls (a visitor's constructor, a generator
step), so read it for where to look; the ratios in ``python -m benchmarks`` are the measure.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats

from benchmarks.run import HAS_ORJSON, account, collect, json_backend, sdk_client, server


async def walk(url: str, visitors: int) -> int:
    async with sdk_client(url) as client:
        got = await collect(client.iter_visitors(
            max_visitors=visitors, count=100, time_range="ALL_TIME", account_id=account(0)
        ))
    return len(got)


async def profile(visitors: int, top: int) -> None:
    with server({"accounts": {account(0): visitors}}) as url, json_backend(HAS_ORJSON):
        await walk(url, visitors)  # warm up: imports, the server's caches, the converter
        profiler = cProfile.Profile()
        profiler.enable()
        got = await walk(url, visitors)
        profiler.disable()
    print(f"{got} visitors, orjson {'yes' if HAS_ORJSON else 'no'}")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_walk", description=__doc__)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(profile(args.visitors, args.top))


if __name__ == "__main__":
    main()
