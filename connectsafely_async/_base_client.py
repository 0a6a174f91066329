"""``BaseClient``: what every endpoint method of the client stands on.

The configuration (checked once, before any I/O), the one ``Sender`` that every request goes
out through, the lifecycle that owns (or borrows) the aiohttp session, ``with_options``, and
the per-call defaults. ``AsyncConnectSafely`` adds the endpoint methods on top; nothing here
knows an endpoint but the visitors page fetch the walks share.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, TypeVar

import attrs

from ._arguments import (
    check_bool,
    check_non_negative_int,
    check_optional_text,
    check_positive_int,
    check_timeout,
)
from ._client_config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_ACCOUNT_ID,
    ENV_API_KEY,
    ENV_BASE_URL,
    UNSET,
    Unset,
    check_api_key,
    check_base_url,
)
from ._closing import AsyncClosing
from ._limiter import RateLimits
from ._limiter_backend import DEFAULT_RATE_LIMITS, build_limiter, limits_from_environment
from ._limiter_redis_config import RedisRateLimits
from ._many import check_account_ids
from ._pagination import Walk, walk_pages
from ._protocol import Redactor, VisitorsQuery, build_visitors_request, parse_visitors_page
from ._retry import RetryPolicy
from ._secrets import Secret, SecretHeaders
from ._sender import Sender
from ._transport import AiohttpTransport
from ._version import package_version
from ._walk_plan import plan_walk, resumed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import aiohttp

    from ._checkpoint import Checkpoint
    from ._many import AccountVisitors
    from ._models import RateLimit, TimeRange, VisitorsPage
    from ._pagination import Fetch, WalkSpec, WalkStats

__all__ = ["BaseClient"]

Client = TypeVar("Client", bound="BaseClient")
T = TypeVar("T")


class BaseClient(AsyncClosing):
    """The configuration, request path and lifecycle of ``AsyncConnectSafely``.

    See ``AsyncConnectSafely`` for the arguments.
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
        session: aiohttp.ClientSession | None = None,
        user_agent: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        connection_limit: int = 100,
        allow_insecure_http: bool = False,
        rate_limits: RateLimits | RedisRateLimits | None = DEFAULT_RATE_LIMITS,
    ) -> None:
        self._api_key = Secret(api_key or os.environ.get(ENV_API_KEY) or "")
        # The plain key must not outlive this line as a local: a traceback rendered with
        # locals (pytest --showlocals, rich, Sentry) would print it if validation failed.
        del api_key
        check_api_key(self._api_key)
        self._base_url = check_base_url(
            base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL,
            allow_insecure_http=check_bool("allow_insecure_http", allow_insecure_http),
        )
        self._account_id = check_optional_text(
            "account_id", account_id or os.environ.get(ENV_ACCOUNT_ID) or None
        )
        self._max_retries = check_non_negative_int("max_retries", max_retries)
        if retry is not None and not isinstance(retry, RetryPolicy):
            msg = f"retry must be a RetryPolicy, got {type(retry).__name__}"
            raise TypeError(msg)
        self._retry = retry or RetryPolicy()
        headers = SecretHeaders(
            {
                "Authorization": f"Bearer {self._api_key.reveal()}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": check_optional_text("user_agent", user_agent)
                or f"connectsafely-async/{package_version()}",
            }
        )
        self._timeout = check_timeout(timeout)
        transport = AiohttpTransport(
            session=session,
            timeout=self._timeout,
            max_response_bytes=check_positive_int("max_response_bytes", max_response_bytes),
            connection_limit=check_positive_int("connection_limit", connection_limit),
        )
        # One sender per client, shared by its with_options() copies: one session, one
        # limiter (every walk and every account of this client counts against it), and one
        # closed state. Every answer is scrubbed of the key before it is parsed.
        self._sender = Sender(
            base_url=self._base_url,
            headers=headers,
            transport=transport,
            limiter=build_limiter(limits_from_environment(rate_limits), api_key=self._api_key),
            redact=Redactor(self._api_key),
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the client and the session it created (a borrowed one stays open).

        On a ``with_options()`` copy this closes the client it was made from, and so every
        copy: they share one session (and one rate limiter).
        """
        await self._sender.aclose()

    @property
    def closed(self) -> bool:
        return self._sender.closed

    @property
    def timeout(self) -> float:
        """Seconds one request (connect to last byte) may take, unless a call says otherwise."""
        return self._timeout

    def with_options(
        self: Client,
        *,
        account_id: str | Unset | None = UNSET,
        timeout: float | Unset = UNSET,
        max_retries: int | Unset = UNSET,
        retry: RetryPolicy | Unset = UNSET,
    ) -> Client:
        """A copy of this client with other defaults, for a call or a part of a program.

        ``client.with_options(max_retries=0).get_visitors(...)`` changes one call's defaults
        without building a second client. The copy shares everything that is expensive or
        must be counted once: the session and its connection pool, the rate limiter (so
        the copy's requests count against the same limits), the key and the base URL. It
        has its own default account, timeout and retry settings. Closing either closes the
        shared session, so close the original (or any one copy) once, when done with all.

        Args:
            account_id: the default account of the copy (``None``: the workspace's).
            timeout: seconds one request may take (more or less than this client's).
            max_retries: retries of one failed request.
            retry: when and how long to wait between retries.

        Returns:
            A new client of the same class, sharing this one's session and limiter.

        Raises:
            TypeError, ValueError: an argument of the wrong type or value, before any copy.
        """
        clone = copy.copy(self)
        if not isinstance(account_id, Unset):
            clone._account_id = check_optional_text("account_id", account_id)
        if not isinstance(timeout, Unset):
            clone._timeout = self._check_call_timeout(timeout)
        if not isinstance(max_retries, Unset):
            clone._max_retries = check_non_negative_int("max_retries", max_retries)
        if not isinstance(retry, Unset):
            if not isinstance(retry, RetryPolicy):
                msg = f"retry must be a RetryPolicy, got {type(retry).__name__}"
                raise TypeError(msg)
            clone._retry = retry
        return clone

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def account_id(self) -> str | None:
        """The default account of this client (``None``: the workspace's default)."""
        return self._account_id

    def __repr__(self) -> str:
        # getattr: a traceback may render a half-built client (a failed __init__).
        return (
            f"{type(self).__name__}(base_url={getattr(self, '_base_url', None)!r}, "
            f"account_id={getattr(self, '_account_id', None)!r}, "
            f"closed={sender.closed if (sender := getattr(self, '_sender', None)) else False})"
        )

    # -- walks -----------------------------------------------------------------------------

    def _walk(
        self,
        view: Callable[..., Walk[T]],
        *,
        max_visitors: int | None,
        count: int | None,
        start: int,
        time_range: TimeRange | str | None,
        account_id: str | None,
        max_retries: int | None,
        timeout: float | None,
        resume: Checkpoint | None,
        prefetch: int,
    ) -> Walk[T]:
        """One walk (``view``: its pages or its visitors), every argument checked now."""
        spec = plan_walk(
            account=self._resolve_account(account_id), max_visitors=max_visitors, count=count,
            start=start, time_range=time_range, resume=resume, prefetch=prefetch,
        )
        fetch = self._page_fetcher(max_retries, timeout)
        return view(fetch, spec, start=start, resume=resume)

    def _resumable(
        self, spec: WalkSpec, *, keep_count: bool, fetch: Fetch
    ) -> Callable[[Checkpoint | None], Walk[VisitorsPage]]:
        """A sync's walk: ``spec``'s pages, from a stored checkpoint when there is one."""

        def walk_from(resume: Checkpoint | None) -> Walk[VisitorsPage]:
            if resume is None:
                return walk_pages(fetch, spec)
            return walk_pages(fetch, resumed(spec, resume, keep_count=keep_count), resume=resume)

        return walk_from

    def _many(
        self,
        run: Callable[..., T],
        account_ids: Iterable[str],
        *,
        max_visitors: int | None,
        count: int,
        time_range: TimeRange | str | None,
        concurrency: int,
        max_retries: int | None,
        timeout: float | None,
        prefetch: int,
        on_complete: Callable[[AccountVisitors], object] | None,
    ) -> T:
        """Many accounts' walks under ``run`` (the pool or the stream), checked once.

        Planned once, so a bad argument fails the call rather than every account; each
        account's walk is the same frozen spec with its own account (its ids were checked
        by check_account_ids).
        """
        ids = check_account_ids(account_ids)
        spec = plan_walk(account=None, max_visitors=max_visitors, count=count, start=0,
                         time_range=time_range, resume=None, prefetch=prefetch)
        fetch = self._page_fetcher(max_retries, timeout)

        def walk(account_id: str) -> Walk[VisitorsPage]:
            return walk_pages(fetch, attrs.evolve(spec, account_id=account_id))

        return run(walk, ids, concurrency=check_positive_int("concurrency", concurrency),
                   on_complete=on_complete)

    # -- plumbing ----------------------------------------------------------------------------

    async def _fetch_page(
        self,
        query: VisitorsQuery,
        *,
        max_retries: int,
        timeout: float,
        stats: WalkStats | None = None,
    ) -> VisitorsPage:
        # The default account is an account too: its reads count under the key "".
        return await self._sender.send(
            build_visitors_request(query), parse_visitors_page, account=query.account_id or "",
            retry=self._retry, max_retries=max_retries, timeout=timeout, stats=stats,
            rate_limit_of=_page_rate_limit,
        )

    def _page_fetcher(self, max_retries: int | None, timeout: float | None) -> Fetch:
        resolved = self._resolve_retries(max_retries)
        deadline = self._resolve_timeout(timeout)

        async def fetch(query: VisitorsQuery, stats: WalkStats) -> VisitorsPage:
            return await self._fetch_page(query, max_retries=resolved, timeout=deadline,
                                          stats=stats)

        return fetch

    def _resolve_account(self, account_id: str | None) -> str | None:
        return check_optional_text("account_id", account_id) or self._account_id

    def _resolve_timeout(self, timeout: float | None) -> float:
        return self._timeout if timeout is None else self._check_call_timeout(timeout)

    def _check_call_timeout(self, timeout: object) -> float:
        # Each request carries its own timeout to aiohttp, so a call may ask for more than
        # the client's as well as for less.
        return check_timeout(timeout)

    def _resolve_retries(self, max_retries: int | None) -> int:
        if max_retries is None:
            return self._max_retries
        return check_non_negative_int("max_retries", max_retries)


def _page_rate_limit(page: VisitorsPage) -> RateLimit | None:
    return page.rate_limit
