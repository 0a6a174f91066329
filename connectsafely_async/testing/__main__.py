"""``python -m connectsafely_async.testing``: the fake service, for trying the SDK without a key.

::

    $ python -m connectsafely_async.testing --port 8787
    export CONNECTSAFELY_API_KEY=test-key CONNECTSAFELY_BASE_URL=http://127.0.0.1:8787

It serves until interrupted (Ctrl-C) or terminated (SIGTERM); paste the printed line into
another shell (or a notebook's environment) and every example of the README talks to it.

By default each account holds a fixed list of visitors. ``--clock WHEN`` (an ISO-8601 moment)
serves instead the list as it stands at that moment (``visitors_at(WHEN, account_id=...)``
for each account), and ``--day N`` is the moment N days after the demo's first day,
2026-01-05T09:00Z, the one ``connectsafely watch --demo`` starts from: restart the fake with
the next day and a daily job sees who came since. A port in use is one line on stderr and
exit code 2, like any other usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from ._server import FakeConnectSafely
from ._timeline import visitors_at

_ACCOUNTS = {"696ce9e780e0483585e4e553": 45, "aaaaaaaaaaaaaaaaaaaaaaaa": 12}
#: ``connectsafely watch --demo``'s first day (its ``_DEMO_EPOCH``; a test keeps them equal).
DEMO_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
_PROG = "python -m connectsafely_async.testing"
_EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake ConnectSafely on 127.0.0.1 until interrupted.

    Args:
        argv: the arguments (``None``: ``sys.argv[1:]``).

    Returns:
        0 after Ctrl-C or SIGTERM; 2 when the port cannot be listened on.
    """
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Serve the fake ConnectSafely service on 127.0.0.1 until interrupted.",
        epilog="--clock and --day serve the visitors as they stand at a moment, so a daily "
               "job can be tried day after day: restart the fake with the next --day.",
    )
    parser.add_argument("--port", type=_port, default=8787, help="port (default 8787; 0: any)")
    moments = parser.add_mutually_exclusive_group()
    moments.add_argument("--clock", type=_moment, default=None, metavar="WHEN",
                         help="serve the visitors as of WHEN, an ISO-8601 moment "
                              "(e.g. 2026-01-07T09:00Z; a moment without zone is UTC)")
    moments.add_argument("--day", type=int, default=None, metavar="N",
                         help="serve the visitors as of N days after 2026-01-05T09:00Z, the "
                              "first day of `connectsafely watch --demo`")
    args = parser.parse_args(argv)
    clock = args.clock if args.day is None else DEMO_EPOCH + timedelta(days=args.day)
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(_serve(args.port, clock))
        except OSError as exc:
            # A port in use (or one this user may not open): what to do, not a traceback.
            in_use = exc.errno == errno.EADDRINUSE
            reason = "it is in use" if in_use else (exc.strerror or str(exc)).lower()
            sys.stderr.write(f"{_PROG}: error: cannot listen on 127.0.0.1:{args.port}: "
                             f"{reason} (pick another with --port, or --port 0 for any "
                             "free one)\n")
            return _EXIT_USAGE
    return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        msg = f"expected a port from 0 to 65535, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return port


def _moment(text: str) -> datetime:
    try:
        # fromisoformat reads a trailing "Z" only from Python 3.11 on.
        moment = datetime.fromisoformat(text.strip().removesuffix("Z").removesuffix("z"))
    except ValueError:
        msg = f"not an ISO-8601 moment: {text!r} (e.g. 2026-01-07T09:00Z)"
        raise argparse.ArgumentTypeError(msg) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


async def _serve(port: int, clock: datetime | None) -> None:
    fake = FakeConnectSafely(accounts=_ACCOUNTS)
    if clock is not None:
        for account in _ACCOUNTS:
            fake.set_visitors(account, visitors_at(clock.timestamp(), account_id=account))
    try:
        await fake.start(port=port)
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
