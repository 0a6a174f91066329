"""``ConnectSafely``: the blocking client, derived from ``AsyncConnectSafely``.

A ``ConnectSafely`` owns one private event loop, run by a daemon thread it starts and
stops, and one ``AsyncConnectSafely`` that lives on that loop. Every method is the async
client's own method, handed to the loop and waited for; nothing of the client is written
twice. Each sync method below is one line that names its async original (``_twins``):

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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

from ._client import AsyncConnectSafely
from ._client_config import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from ._closing import Closing
from ._limiter_backend import DEFAULT_RATE_LIMITS
from ._loop_thread import LoopThread
from ._twins import SyncIterator, SyncWalk, blocking, iterating, walking

if TYPE_CHECKING:
    from ._limiter import RateLimits
    from ._limiter_redis_config import RedisRateLimits
    from ._retry import RetryPolicy

__all__ = ["ConnectSafely", "SyncIterator", "SyncWalk"]

P = ParamSpec("P")


def _copying(
    method: Callable[Concatenate[AsyncConnectSafely, P], AsyncConnectSafely],
) -> Callable[Concatenate[ConnectSafely, P], ConnectSafely]:
    """A method that returns another async client (``with_options``), on the same loop."""

    @functools.wraps(method)
    def call(self: ConnectSafely, /, *args: P.args, **kwargs: P.kwargs) -> ConnectSafely:
        return ConnectSafely._view(method(self._async, *args, **kwargs), self)

    return call


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
        self._async = AsyncConnectSafely(
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
        view._async = client
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
                self._runner.run(self._async.aclose())
        finally:
            self._runner.close()

    @property
    def closed(self) -> bool:
        return self._runner.closed or self._async.closed

    @property
    def base_url(self) -> str:
        return self._async.base_url

    @property
    def account_id(self) -> str | None:
        """The default account of this client (``None``: the workspace's default)."""
        return self._async.account_id

    @property
    def timeout(self) -> float:
        """Seconds one request may take, unless a call says otherwise."""
        return self._async.timeout

    def __repr__(self) -> str:
        client = getattr(self, "_async", None)
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

    get_visitors = blocking(AsyncConnectSafely.get_visitors)
    iter_visitor_pages = walking(AsyncConnectSafely.iter_visitor_pages)
    iter_visitors = walking(AsyncConnectSafely.iter_visitors)
    fetch_visitors_many = blocking(AsyncConnectSafely.fetch_visitors_many)
    iter_visitors_many = iterating(AsyncConnectSafely.iter_visitors_many)
    list_accounts = blocking(AsyncConnectSafely.list_accounts)
    get_account_status = blocking(AsyncConnectSafely.get_account_status)
    get_relationship = blocking(AsyncConnectSafely.get_relationship)
    fetch_profile = blocking(AsyncConnectSafely.fetch_profile)
    send_message = blocking(AsyncConnectSafely.send_message)
    send_invitation = blocking(AsyncConnectSafely.send_invitation)
    sync_visitors = blocking(AsyncConnectSafely.sync_visitors)
    sync_visitors_many = blocking(AsyncConnectSafely.sync_visitors_many)
    follow_up = blocking(AsyncConnectSafely.follow_up)
    with_options = _copying(AsyncConnectSafely.with_options)


#: Async client methods whose sync twin has another name (the lifecycle's).
SYNC_NAMES = {"aclose": "close"}
