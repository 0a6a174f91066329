"""E: stream visitors in a fresh process; print "<count> <seconds> <peak RSS growth MB>".

The baseline is taken after the first page (imports, session and hooks warmed up), and the
kernel's peak-RSS mark is reset there (``/proc/self/clear_refs``), so the number is what the
rest of the stream added at its worst moment.
"""

from __future__ import annotations

import asyncio
import sys
import time

from benchmarks.proc import status_kb
from benchmarks.run import sdk_client


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pass  # the mark then includes the start-up, which only overstates the growth


async def main(url: str, account_id: str, n: int, count: int) -> None:
    streamed = 0
    baseline = 0
    async with sdk_client(url) as client:
        began = time.perf_counter()
        async for _visitor in client.iter_visitors(
            max_visitors=n, count=count, time_range="ALL_TIME", account_id=account_id
        ):
            streamed += 1
            if streamed == count:
                _reset_peak()
                baseline = status_kb("VmRSS")
        seconds = time.perf_counter() - began
    growth_mb = (status_kb("VmHWM") - baseline) / 1024
    print(streamed, seconds, growth_mb)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
