"""Blocking twins of async objects: one implementation, run on a private event loop.

An object with blocking methods (the ``ConnectSafely`` client, a store opened with a plain
``with``) holds its async original as ``_async`` and a ``LoopThread`` as ``_runner``. Each of
its methods is one line naming the async method it mirrors:

- ``blocking(method)``: the coroutine, run to completion on the loop;
- ``iterating(method)``: the async iterator, as a plain iterator stepped on the loop;
- ``walking(method)``: the same for a ``Walk``, keeping its ``stats`` and ``checkpoint``.

The twin is a plain function with the original's name, docstring and signature (``help()``
and ``inspect.signature`` show them), so the two cannot drift apart.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from ._closing import Closing
from ._loop_thread import LoopThread

if TYPE_CHECKING:
    from ._checkpoint import Checkpoint
    from ._pagination import Walk, WalkStats

__all__ = ["SyncIterator", "SyncWalk", "Twin", "blocking", "iterating", "walking"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
A = TypeVar("A")


class Twin(Protocol):
    """What a blocking twin holds: its async original and the loop that runs it."""

    _async: Any
    _runner: LoopThread


class SyncIterator(Closing, Iterator[T]):
    """A plain iterator over an async iterator, stepped on a private loop.

    Stop early with ``close()``, a ``with`` block, or by dropping it (a ``break`` out of a
    ``for`` loop): the async generator underneath is closed either way.
    """

    def __init__(self, source: AsyncIterator[T], runner: LoopThread) -> None:
        self._source = source
        self._runner = runner
        self._done = False

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            return self._runner.run(self._source.__anext__())
        except StopAsyncIteration:
            self._done = True
            raise StopIteration from None
        except BaseException:
            self._done = True  # an async generator that raised is finished
            raise

    def close(self) -> None:
        """Stop the iteration and close the async generator. Idempotent."""
        if self._done:
            return
        self._done = True
        aclose = getattr(self._source, "aclose", None)
        if aclose is None or self._runner.closed:
            return  # a closed loop already finished every async generator
        if self._runner.in_loop_thread:
            return  # dropped on the loop thread: the loop's own finalizer closes it
        self._runner.run(aclose())

    def __del__(self) -> None:
        # `for v in client.iter_visitors(): break` drops the iterator here.
        if not getattr(self, "_done", True):
            self.close()


class SyncWalk(SyncIterator[T]):
    """The blocking form of a ``Walk``: a plain iterator with ``stats`` and ``checkpoint``."""

    _source: Walk[T]

    @property
    def stats(self) -> WalkStats:
        return self._source.stats

    @property
    def checkpoint(self) -> Checkpoint:
        return self._source.checkpoint

    def __repr__(self) -> str:
        return f"<SyncWalk {self._source.stats!r} at {self._source.checkpoint!r}>"


def blocking(
    method: Callable[Concatenate[A, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Any, P], R]:
    """The coroutine method, run to completion on the twin's loop."""

    @functools.wraps(method)
    def call(self: Twin, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._runner.run(method(self._async, *args, **kwargs))

    return call


def iterating(
    method: Callable[Concatenate[A, P], AsyncIterator[T]],
) -> Callable[Concatenate[Any, P], SyncIterator[T]]:
    """The async-iterator-returning method, as a plain iterator."""

    @functools.wraps(method)
    def call(self: Twin, /, *args: P.args, **kwargs: P.kwargs) -> SyncIterator[T]:
        return SyncIterator(method(self._async, *args, **kwargs), self._runner)

    return call


def walking(
    method: Callable[Concatenate[A, P], Walk[T]],
) -> Callable[Concatenate[Any, P], SyncWalk[T]]:
    """The walk-returning method; its arguments are still checked at the call."""

    @functools.wraps(method)
    def call(self: Twin, /, *args: P.args, **kwargs: P.kwargs) -> SyncWalk[T]:
        return SyncWalk(method(self._async, *args, **kwargs), self._runner)

    return call
