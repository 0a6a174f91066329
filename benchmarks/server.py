"""The benchmark's fake service: ``FakeConnectSafely`` in its own process.

Started by ``run.py`` as ``python -m benchmarks.server '<json config>'``; prints its URL on one
line, serves until its standard input closes. A separate process keeps the server's CPU off
the client's core (the machine has two).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from connectsafely_async.testing import FakeConnectSafely, make_visitors


async def serve(config: dict[str, Any]) -> None:
    fake = FakeConnectSafely(accounts=config["accounts"], latency=config.get("latency", 0.0))
    big = config.get("big")
    if big:
        # A million distinct records take ~10 s to generate; repeating a block is as good
        # for a streaming test and starts in a few seconds.
        block = make_visitors(big["block"], account_id=big["account_id"])
        fake.set_visitors(big["account_id"], block * big["times"])
    async with fake:
        print(fake.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
