"""What a command says on a terminal while it waits: a retry, a rate-limit pause, a slow
service. Never silence for a minute and a half, never a line in a pipe.

The SDK already says when it retries or pauses (INFO records of the ``connectsafely_async``
logger, with the attempt and the wait); on a terminal (stderr a TTY, no ``--quiet``) they are
shown as one ``connectsafely:`` line each, and a command still waiting after
``QUIET_SECONDS`` with nothing said says so, every ``QUIET_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from typing import Final, TextIO

from ._cli_output import printable

__all__ = ["QUIET_SECONDS", "notices"]

#: Seconds without a word after which a waiting command says it is still waiting.
QUIET_SECONDS: Final = 10.0


class _Notices(logging.Handler):
    """The SDK's INFO records, as ``connectsafely:`` lines on the terminal."""

    def __init__(self, err: TextIO) -> None:
        super().__init__(logging.INFO)
        self._err = err
        self.last = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        self.say(record.getMessage())

    def say(self, text: str) -> None:
        self._err.write(f"connectsafely: {printable(text)}\n")
        self._err.flush()
        self.last = time.monotonic()


@contextlib.asynccontextmanager
async def notices(*, enabled: bool, err: TextIO | None = None) -> AsyncIterator[None]:
    """Show retries, pauses and long waits on ``err`` (stderr) for the ``async with`` block.

    Args:
        enabled: ``False`` (not a terminal, or ``--quiet``): nothing is shown.
        err: where to write (``None``: ``sys.stderr``).
    """
    if not enabled:
        yield
        return
    logger = logging.getLogger("connectsafely_async")
    handler = _Notices(err or sys.stderr)
    began = time.monotonic()
    previous = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(1.0)
            if time.monotonic() - handler.last >= QUIET_SECONDS:
                handler.say(f"still waiting for the service "
                            f"({time.monotonic() - began:.0f}s so far)")

    beat = asyncio.create_task(heartbeat())
    try:
        yield
    finally:
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        logger.removeHandler(handler)
        logger.setLevel(previous)
