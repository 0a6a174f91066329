"""``ConnectSafely``: the blocking client, derived from ``AsyncConnectSafely``.

A ``ConnectSafely`` owns one private event loop, run by a daemon thread it starts and
stops, and one ``AsyncConnectSafely`` that lives on that loop. Every method is the async
client's own method, handed to the loop and waited for; nothing of the client is written
twice. Each sync method below is one line that names its async original:

- a coroutine method (``get_visitors``) becomes a call that returns its result;
- a method returning an async iterator (``iter_visitors``) becomes one returning a plain
  iterator; stopping early (``break``, ``close()``, garbage collection) closes the async
  generator on the loop, so its clean-up (cancelling a look-ahead) runs.

Arguments, results and errors are the async client's, unchanged. The caller's thread only
waits, so a ``ConnectSafely`` works where another loop already runs (a notebook, an async
application), and from several threads at once (their calls run concurrently on its loop).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from ._client import AsyncConnectSafely
from ._client_config import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._closing import Closing
from ._limiter_backend import DEFAULT_RATE_LIMITS
from ._loop_thread import LoopThread

if TYPE_CHECKING:

    from ._checkpoint import Checkpoint
    from ._limiter import RateLimits
    from ._limiter_redis_config import RedisRateLimits
    from ._pagination import Walk, WalkStats
    from ._retry import RetryPolicy

__all__ = ["ConnectSafely", "SyncIterator", "SyncWalk"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class SyncIterator(Closing, Iterator[T]):
    """A plain iterator over an async iterator of the async client, stepped on its loop.

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
            return  # a closed client's loop already finished every async generator
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


# -- deriving the methods --------------------------------------------------------------------


class _Derived(Generic[P, R]):
    """A descriptor making a sync method out of an async client's method.

    *wrap* turns what the async method returns, on the sync client's loop, into what the
    sync method returns. The result keeps the original's name, signature and docstring.
    """

    def __init__(
        self,
        method: Callable[Concatenate[AsyncConnectSafely, P], Any],
        wrap: Callable[[ConnectSafely, Any], R],
    ) -> None:
        self._method = method
        self._wrap = wrap
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _Derived[P, R]: ...
    @overload
    def __get__(self, instance: ConnectSafely, owner: type[Any]) -> Callable[P, R]: ...

    def __get__(
        self, instance: ConnectSafely | None, owner: type[Any]
    ) -> _Derived[P, R] | Callable[P, R]:
        if instance is None:
            return self
        method, wrap = self._method, self._wrap

        @functools.wraps(method)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            return wrap(instance, method(instance._client, *args, **kwargs))

        return call


def _blocking(
    method: Callable[Concatenate[AsyncConnectSafely, P], Coroutine[Any, Any, R]],
) -> _Derived[P, R]:
    """The coroutine method, run to completion on the client's loop."""
    return _Derived(method, lambda client, coroutine: client._runner.run(coroutine))


def _walking(
    method: Callable[Concatenate[AsyncConnectSafely, P], Walk[T]],
) -> _Derived[P, SyncWalk[T]]:
    """The walk-returning method; its arguments are still checked at the call."""
    return _Derived(method, lambda client, walk: SyncWalk(walk, client._runner))


def _iterating(
    method: Callable[Concatenate[AsyncConnectSafely, P], AsyncIterator[T]],
) -> _Derived[P, SyncIterator[T]]:
    """The async-iterator-returning method, as a plain iterator."""
    return _Derived(method, lambda client, stream: SyncIterator(stream, client._runner))


def _copying(
    method: Callable[Concatenate[AsyncConnectSafely, P], AsyncConnectSafely],
) -> _Derived[P, ConnectSafely]:
    """A method that returns another async client (``with_options``), on the same loop."""
    return _Derived(method, lambda client, copy: ConnectSafely._view(copy, client))


class ConnectSafely(Closing):
    """The blocking client for the ConnectSafely LinkedIn API, for scripts, cron jobs, web
    views and notebooks that do not ``await``.

    The same methods, arguments, results and errors as ``AsyncConnectSafely`` (it is that
    client, run on a private event loop in a background thread); async iterators become
    plain iterators. Use it as a context manager, or call ``close()`` when done::

        with ConnectSafely() as client:  # the key from $CONNECTSAFELY_API_KEY
            for visitor in client.iter_visitors(max_visitors=100):
                print(visitor.name)

    Callbacks (``on_complete``) run on the client's own thread; they must not call the
    client. The arguments are ``AsyncConnectSafely``'s, without ``session``: the client's
    session lives on its private loop, so it always makes its own.

    Raises:
        ConfigurationError: no API key, or an unusable base URL.
        TypeError, ValueError: an argument of the wrong type or value.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        account_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        connection_limit: int = 100,
        allow_insecure_http: bool = False,
        rate_limits: RateLimits | RedisRateLimits | None = DEFAULT_RATE_LIMITS,
    ) -> None:
        # Built here, in the caller's thread: a bad argument fails before a thread starts.
        # The session is created lazily, on the private loop, by the first request.
        self._client = AsyncConnectSafely(
            api_key, base_url=base_url, account_id=account_id, timeout=timeout,
            max_retries=max_retries, retry=retry, user_agent=user_agent,
            max_response_bytes=max_response_bytes, connection_limit=connection_limit,
            allow_insecure_http=allow_insecure_http, rate_limits=rate_limits,
        )
        del api_key  # as in AsyncConnectSafely: no plain key in a traceback's locals
        self._runner = LoopThread()
        self._owner = True

    @classmethod
    def _view(cls, client: AsyncConnectSafely, parent: ConnectSafely) -> ConnectSafely:
        """A sync client over a ``with_options()`` copy, on the parent's loop."""
        view = cls.__new__(cls)
        view._client = client
        view._runner = parent._runner
        view._owner = False
        return view

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the session, then stop and join the client's thread. Idempotent.

        On a ``with_options()`` copy this closes the client it was made from too: they
        share one session and one thread.
        """
        if self._runner.closed:
            return
        try:
            if self._runner.started:  # else there is no session to close, nor a thread
                self._runner.run(self._client.aclose())
        finally:
            self._runner.close()

    @property
    def closed(self) -> bool:
        return self._runner.closed or self._client.closed

    @property
    def base_url(self) -> str:
        return self._client.base_url

    @property
    def account_id(self) -> str | None:
        """The default account of this client (``None``: the workspace's default)."""
        return self._client.account_id

    @property
    def timeout(self) -> float:
        """Seconds one request may take, unless a call says less."""
        return self._client.timeout

    def __repr__(self) -> str:
        client = getattr(self, "_client", None)
        return (
            f"{type(self).__name__}(base_url={getattr(client, 'base_url', None)!r}, "
            f"account_id={getattr(client, 'account_id', None)!r}, "
            f"closed={self.closed if client is not None else False})"
        )

    def __del__(self, _warn: Any = warnings.warn) -> None:
        runner = getattr(self, "_runner", None)
        if runner is None or runner.closed or not runner.started:
            return
        if not getattr(self, "_owner", False):
            return  # a with_options() view: the client it came from owns the thread
        _warn(
            f"unclosed {type(self).__name__}: use 'with' or call close()",
            ResourceWarning,
            stacklevel=1,
            source=self,
        )
        # Then clean up anyway: a leaked client must not leak a thread and a session too.
        if runner.in_loop_thread:
            runner.close()
        else:
            self.close()

    # -- the async client's methods, derived -------------------------------------------------

    get_visitors = _blocking(AsyncConnectSafely.get_visitors)
    iter_visitor_pages = _walking(AsyncConnectSafely.iter_visitor_pages)
    iter_visitors = _walking(AsyncConnectSafely.iter_visitors)
    fetch_visitors_many = _blocking(AsyncConnectSafely.fetch_visitors_many)
    iter_visitors_many = _iterating(AsyncConnectSafely.iter_visitors_many)
    list_accounts = _blocking(AsyncConnectSafely.list_accounts)
    get_account_status = _blocking(AsyncConnectSafely.get_account_status)
    get_relationship = _blocking(AsyncConnectSafely.get_relationship)
    fetch_profile = _blocking(AsyncConnectSafely.fetch_profile)
    send_message = _blocking(AsyncConnectSafely.send_message)
    send_invitation = _blocking(AsyncConnectSafely.send_invitation)
    sync_visitors = _blocking(AsyncConnectSafely.sync_visitors)
    sync_visitors_many = _blocking(AsyncConnectSafely.sync_visitors_many)
    with_options = _copying(AsyncConnectSafely.with_options)


#: Async client methods whose sync twin has another name (the lifecycle's).
SYNC_NAMES = {"aclose": "close"}
