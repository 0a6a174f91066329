"""Run in a subprocess by test_hostile_answers: a compression bomb against a capped client.

Prints one JSON line: the error's class and message, and the process's peak RSS growth
(``ru_maxrss`` after the request minus before it), so the test measures what the bomb cost
this process, untouched by whatever the test process did before.

    python -m tests.bomb_child gzip|deflate length|chunked CAP_BYTES BOMB_BYTES
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys

from connectsafely_async import AsyncConnectSafely, ConnectSafelyError

from .hostile import Answer, HostileServer, bomb


async def main(encoding: str, framing: str, cap: int, size: int) -> dict[str, object]:
    payload = bomb(size, encoding=encoding)
    answer = Answer(
        headers={"Content-Encoding": encoding}, body=payload, chunked=framing == "chunked"
    )
    async with HostileServer(answer) as server, AsyncConnectSafely(
        api_key="sk_test_bomb", base_url=server.url, max_response_bytes=cap,
        max_retries=0, rate_limits=None,
    ) as client:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            await client.get_visitors()
        except ConnectSafelyError as error:
            outcome = {"error": type(error).__name__, "message": str(error)}
        else:
            outcome = {"error": None, "message": ""}
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {**outcome, "compressed": len(payload), "rss_growth_kib": after - before}


if __name__ == "__main__":
    encoding, framing, cap, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sys.stdout.write(json.dumps(asyncio.run(main(encoding, framing, cap, size))) + "\n")
