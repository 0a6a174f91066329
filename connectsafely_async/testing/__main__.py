"""``python -m connectsafely_async.testing``: the fake service, for trying the SDK without a key.

::

    $ python -m connectsafely_async.testing --port 8787
    export CONNECTSAFELY_API_KEY=test-key CONNECTSAFELY_BASE_URL=http://127.0.0.1:8787

It serves until interrupted (Ctrl-C) or terminated (SIGTERM); paste the printed line into
another shell (or a notebook's environment) and every example of the README talks to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from ._server import FakeConnectSafely

_ACCOUNTS = {"696ce9e780e0483585e4e553": 45, "aaaaaaaaaaaaaaaaaaaaaaaa": 12}


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake ConnectSafely on 127.0.0.1 until interrupted.

    Args:
        argv: the arguments (``None``: ``sys.argv[1:]``).

    Returns:
        0 after Ctrl-C.
    """
    parser = argparse.ArgumentParser(
        prog="python -m connectsafely_async.testing",
        description="Serve the fake ConnectSafely service on 127.0.0.1 until interrupted.",
    )
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787; 0: any)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))
    return 0


async def _serve(port: int) -> None:
    fake = FakeConnectSafely(accounts=_ACCOUNTS)
    await fake.start(port=port)
    try:
        sys.stdout.write(
            f"export CONNECTSAFELY_API_KEY={fake.api_key} CONNECTSAFELY_BASE_URL={fake.url}\n"
        )
        sys.stdout.flush()
        stop = asyncio.Event()
        # Ctrl-C cancels this coroutine; SIGTERM (kill, a service manager, or a shell's
        # background job, which ignores SIGINT) ends it as cleanly.
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
    finally:
        await fake.close()


if __name__ == "__main__":
    sys.exit(main())
