"""The private event loop of a sync client: one daemon thread, started lazily, stopped once.

``run()`` hands a coroutine to the loop and waits for it in the caller's thread; its result
or exception comes back as is. Separate from ``_blocking_client`` so that module is only the
derivation of the sync methods.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Coroutine
from typing import TypeVar

from ._errors import ClientClosedError

__all__ = ["LoopThread"]

R = TypeVar("R")

_CLOSE_TIMEOUT = 10.0  # seconds close() waits for the loop's own clean-up
_POLL_SECONDS = 0.1  # how soon a waiting caller notices Ctrl-C


class LoopThread:
    """An event loop running on a daemon thread, started by the first call, until ``close()``.

    Started lazily, like the async client's session: a client that never sends a request
    owns no thread, and needs no closing.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                msg = "the client is closed; create a new ConnectSafely to send requests"
                raise ClientClosedError(msg)
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                # The thread holds the loop only, never the client: a leaked client can
                # still be garbage-collected, and its __del__ then stops this thread.
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="connectsafely-sync", daemon=True
                )
                self._thread.start()
            return self._loop

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.get_ident() == self._thread.ident

    def run(self, awaitable: Awaitable[R]) -> R:
        """Run *awaitable* on the loop and wait for it; its exception is raised here.

        Raises:
            ClientClosedError: the client was closed.
            RuntimeError: called from the loop's own thread (a callback such as
                ``on_complete``), where waiting would deadlock.
        """
        try:
            loop = self._running_loop()
        except ClientClosedError:
            if isinstance(awaitable, Coroutine):
                awaitable.close()  # never awaited, on purpose: no "never awaited" warning
            raise
        if self.in_loop_thread:
            if isinstance(awaitable, Coroutine):
                awaitable.close()
            msg = (
                "a ConnectSafely method was called from one of its own callbacks; "
                "that would wait for itself forever"
            )
            raise RuntimeError(msg)
        future = asyncio.run_coroutine_threadsafe(_awaited(awaitable), loop)
        try:
            while True:
                # A short wait, again and again: Python runs a signal handler (Ctrl-C) only
                # between bytecodes of the main thread, and an untimed wait may never return
                # to them when the signal was delivered to another thread.
                try:
                    return future.result(timeout=_POLL_SECONDS)
                except concurrent.futures.TimeoutError:
                    if future.done():
                        raise  # the call's own APITimeoutError (also a TimeoutError)
        except BaseException:
            # Ctrl-C while waiting: the call must not go on behind the caller's back.
            future.cancel()
            raise

    def close(self) -> None:
        """Finish the loop's async generators and executor, stop it, join the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return  # never started
        if self.in_loop_thread:
            # Garbage collection on the loop's own thread: it cannot wait for itself.
            loop.call_soon(loop.stop)
            return
        try:
            for cleanup in (loop.shutdown_asyncgens, loop.shutdown_default_executor):
                asyncio.run_coroutine_threadsafe(cleanup(), loop).result(_CLOSE_TIMEOUT)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_CLOSE_TIMEOUT)
            if not thread.is_alive():
                loop.close()


async def _awaited(awaitable: Awaitable[R]) -> R:
    # run_coroutine_threadsafe takes coroutines only; __anext__ gives another awaitable.
    return await awaitable
