"""``AsyncConnectSafely``: the client users hold.

Its settings (checked once, before any I/O), its lifecycle (the one ``Sender`` it and its
``with_options()`` copies share), and one method per thing it does. Each method checks its
arguments and resolves the call's settings into one ``CallOptions`` before any I/O, then
either sends one request through the sender or opens a walk (``_pagination``), which sends
its pages through the same sender and never calls back here. Many-account runs are
``_many``'s, syncs and follow-ups ``history``'s: the methods here only wire them.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._arguments import (
    check_bool,
    check_clock,
    check_meta,
    check_non_negative_int,
    check_optional_text,
    check_positive_int,
    check_window,
)
from ._call_options import CallOptions
from ._checkpoint import RESUME_WITHIN, Checkpoint
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
from ._errors import ActionOutcomeUnknownError, AttemptedAction, ConnectSafelyError
from ._limiter_backend import DEFAULT_RATE_LIMITS, build_limiter, limits_from_environment
from ._many import check_account_ids, fetch_many, iter_many_visitors
from ._models import TimeRange, Visitor, VisitorsPage
from ._pagination import (
    Walk,
    account_walks,
    fetch_page,
    page_fetch,
    plan_walk,
    resumable_walk,
    walk_pages,
    walk_visitors,
)
from ._protocol import HttpRequest, HttpResponse, Redactor, check_account_id, check_person, is_urn
from ._protocol.account_status import (
    AccountStatus,
    build_account_status_request,
    parse_account_status,
)
from ._protocol.accounts import Account, build_accounts_request, parse_accounts
from ._protocol.invitation import (
    SentInvitation,
    build_invitation_request,
    check_note,
    parse_sent_invitation,
)
from ._protocol.message import (
    MessageType,
    SentMessage,
    build_message_request,
    check_message,
    parse_sent_message,
)
from ._protocol.profile import Profile, ProfileIncludes, build_profile_request, parse_profile
from ._protocol.relationship import Relationship, build_relationship_request, parse_relationship
from ._protocol.visitors import VisitorsQuery
from ._retry import ActionRetryPolicy, RetryPolicy, may_have_acted
from ._secrets import Secret, SecretHeaders
from ._sender import Sender
from ._transport import AiohttpTransport
from ._version import package_version

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Iterable, Mapping

    import aiohttp

    from ._limiter import RateLimits
    from ._limiter_redis_config import RedisRateLimits
    from ._many import AccountVisitor, AccountVisitors, PageWalk
    from .history import (
        BlockingStore,
        FollowUpPlan,
        FollowUpReport,
        SyncResult,
        VisitorStore,
    )

__all__ = ["AsyncConnectSafely"]

Client = TypeVar("Client", bound="AsyncConnectSafely")
T = TypeVar("T")


class AsyncConnectSafely(AsyncClosing):
    """The async client for the ConnectSafely LinkedIn API.

    Use it as an async context manager, or call ``aclose()`` when done::

        async with AsyncConnectSafely() as client:
            async for visitor in client.iter_visitors(max_visitors=100):
                print(visitor.name)

    Args:
        api_key: the workspace API key; defaults to ``$CONNECTSAFELY_API_KEY``.
        base_url: defaults to ``$CONNECTSAFELY_BASE_URL``, else the production service.
        account_id: the LinkedIn account used when a call names none; defaults to
            ``$CONNECTSAFELY_ACCOUNT_ID``, else the workspace's default account.
        timeout: seconds one request (connect to last byte) may take.
        max_retries: retries of one failed request; each call may override it.
        retry: when and how long to wait between retries.
        session: an aiohttp session to borrow; it is never closed by the client.
        user_agent: sent as ``User-Agent``; defaults to ``connectsafely-async/<version>``.
        max_response_bytes: larger answers are refused rather than held in memory.
        connection_limit: the connection pool size of the session the client creates.
        allow_insecure_http: allow ``http://`` to a host that is not loopback.
        rate_limits: the client-side rate limits shared by every request of this client:
            the documented limits by default (shared through the Redis named by
            ``$CONNECTSAFELY_RATE_LIMIT_URL`` when it is set), a ``RedisRateLimits`` to share
            them between processes, ``None`` for none (e.g. against a fake).

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
        # The defaults of every call; a call or a with_options() copy overrides them.
        self._options = CallOptions(timeout=timeout, max_retries=max_retries,
                                    retry=RetryPolicy() if retry is None else retry)
        headers = SecretHeaders(
            {
                "Authorization": f"Bearer {self._api_key.reveal()}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": check_optional_text("user_agent", user_agent)
                or f"connectsafely-async/{package_version()}",
            }
        )
        transport = AiohttpTransport(
            session=session,
            timeout=self._options.timeout,
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
        return self._options.timeout

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
        changes = {name: value for name, value in (
            ("timeout", timeout), ("max_retries", max_retries), ("retry", retry),
        ) if not isinstance(value, Unset)}
        clone._options = attrs.evolve(self._options, **changes)
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

    # -- visitors ----------------------------------------------------------------------------

    async def get_visitors(
        self,
        *,
        max_visitors: int = 20,
        count: int | None = None,
        start: int = 0,
        time_range: TimeRange | str | None = None,
        account_id: str | None = None,
        fetch_all: bool = False,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> VisitorsPage:
        """Fetch one page of profile visitors: one request.

        The page holds the visitors from ``start`` on, at most ``count`` (``None``:
        ``max_visitors``) and at most ``max_visitors`` of them, whichever way the service
        reads its ``maxVisitors`` (the request is planned as the walks plan theirs), and
        ``page.checkpoint`` resumes a walk right after it. With ``fetch_all=True`` the
        service pages by itself and the arguments are sent as given.

        Args:
            max_visitors: the most visitors of the page (``fetchAll``: the service's
                ``maxVisitors``).
            count: the page size (``None``: ``max_visitors``; ``fetchAll``: the service's
                default, 20).
            start: the 0-based offset.
            time_range: a ``TimeRange`` or any string the service accepts.
            account_id: the LinkedIn account (``None``: the client's default).
            fetch_all: let the service page by itself up to ``max_visitors``.
            max_retries: retries for this call (``None``: the client's).
            timeout: seconds each request of this call may take (``None``: the client's
                ``timeout``; a call may ask for more or less).

        Raises:
            APIStatusError: a subclass by status, after retries of the transient ones.
            APIConnectionError: no answer, after retries.
            ResponseValidationError: an answer that does not fit the model.
        """
        max_visitors = check_positive_int("max_visitors", max_visitors)
        if not check_bool("fetch_all", fetch_all):
            # One page of a walk: planned right under every reading of maxVisitors,
            # deduplicated, and carrying the checkpoint that continues after it.
            size = max_visitors if count is None else min(
                check_positive_int("count", count), max_visitors
            )
            walk = self.iter_visitor_pages(
                max_visitors=size, count=size, start=start, time_range=time_range,
                account_id=account_id, max_retries=max_retries, timeout=timeout,
            )
            try:
                return await anext(walk)
            finally:
                await walk.aclose()
        query = VisitorsQuery(
            account_id=self._account(account_id),
            time_range=check_optional_text("time_range", time_range),
            count=None if count is None else check_positive_int("count", count),
            start=check_non_negative_int("start", start),
            fetch_all=True,
            max_visitors=max_visitors,
        )
        options = self._options.override(max_retries=max_retries, timeout=timeout)
        return await fetch_page(self._sender, options, query)

    def iter_visitor_pages(
        self,
        *,
        max_visitors: int | None = None,
        count: int | None = None,
        start: int = 0,
        time_range: TimeRange | str | None = None,
        account_id: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        resume: Checkpoint | None = None,
        prefetch: int = 0,
    ) -> Walk[VisitorsPage]:
        """Page through the visitors, one ``VisitorsPage`` at a time.

        Pages follow each other from ``start`` until the service's ``hasMore`` is false, a
        page comes back empty, or ``max_visitors`` visitors were yielded (``None``: all). The
        last request asks only for what is still needed. Each page request is retried on its
        own, at the same offset, so a retry never loses or repeats a visitor; a visitor
        repeated by offset drift (a new view arriving mid-walk) is dropped and counted in
        ``walk.stats.duplicates_dropped``.

        Args:
            max_visitors: the most visitors the whole walk yields (``None``: all of them).
            count: the page size (``None``: 20, or the checkpoint's when resuming).
            start: the offset to begin at.
            time_range: a ``TimeRange`` or any string the service accepts.
            account_id: the LinkedIn account (``None``: the client's default).
            max_retries: retries per page request (``None``: the client's).
            timeout: seconds each page request may take (``None``: the client's).
            resume: a ``Checkpoint`` (from a page, a walk or an error) to continue from.
            prefetch: pages to request ahead while the consumer works on the current one.
                Off by default: every request costs LinkedIn-side activity on the account
                and rate-limit budget, and a walk that stops early wastes what it fetched
                ahead. The order of pages never changes.

        Returns:
            A ``Walk``: an async generator with ``stats`` and a ``checkpoint``.

        Raises:
            TypeError, ValueError: at the call, before any request, for a bad argument or a
                checkpoint made for other filters.
        """
        options = self._options.override(max_retries=max_retries, timeout=timeout)
        spec = plan_walk(account=self._account(account_id), max_visitors=max_visitors,
                         count=count, start=start, time_range=time_range, resume=resume,
                         prefetch=prefetch)
        return walk_pages(page_fetch(self._sender, options), spec, start=start, resume=resume)

    def iter_visitors(
        self,
        *,
        max_visitors: int | None = None,
        count: int | None = None,
        start: int = 0,
        time_range: TimeRange | str | None = None,
        account_id: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        resume: Checkpoint | None = None,
        prefetch: int = 0,
    ) -> Walk[Visitor]:
        """Iterate over profile visitors, newest first, fetching pages as needed.

        The same walk as ``iter_visitor_pages`` (see it for the arguments), one visitor at a
        time; ``walk.checkpoint`` moves with every visitor, so a walk stopped mid-page
        resumes with the next visitor. Arguments are checked here, before any request.
        """
        options = self._options.override(max_retries=max_retries, timeout=timeout)
        spec = plan_walk(account=self._account(account_id), max_visitors=max_visitors,
                         count=count, start=start, time_range=time_range, resume=resume,
                         prefetch=prefetch)
        return walk_visitors(page_fetch(self._sender, options), spec, start=start, resume=resume)

    # -- many accounts -----------------------------------------------------------------------

    async def fetch_visitors_many(
        self,
        account_ids: Iterable[str],
        *,
        max_visitors: int | None = None,
        count: int = 20,
        time_range: TimeRange | str | None = None,
        concurrency: int = 8,
        max_retries: int | None = None,
        timeout: float | None = None,
        prefetch: int = 0,
        on_complete: Callable[[AccountVisitors], object] | None = None,
    ) -> dict[str, AccountVisitors]:
        """Fetch the visitors of many accounts concurrently, on this client.

        At most ``concurrency`` accounts are walked at once, each by the same walk as
        ``iter_visitor_pages``, and every request goes through the client's rate limiter,
        so the whole run stays within the service's limits. One account's failure (401,
        403, 404, retries exhausted...) is recorded in its result and never stops or
        corrupts the others.

        Args:
            account_ids: the accounts, e.g. ``[a.id for a in await client.list_accounts()]``;
                duplicates are walked once.
            max_visitors: the most visitors per account (``None``: all of them).
            count: the page size.
            time_range: a ``TimeRange`` or any string the service accepts.
            concurrency: how many accounts are walked at once.
            max_retries: retries per page request (``None``: the client's).
            timeout: seconds each page request may take (``None``: the client's).
            prefetch: pages each walk requests ahead (see ``iter_visitor_pages``).
            on_complete: called with each account's result as soon as its walk ends
                (progress reporting).

        Returns:
            Account id -> ``AccountVisitors`` (visitors, error, stats), in input order.

        Raises:
            TypeError, ValueError: at the call, before any request, for a bad argument.
        """
        ids = check_account_ids(account_ids)
        walk = self._account_walks(max_visitors=max_visitors, count=count, time_range=time_range,
                                   max_retries=max_retries, timeout=timeout, prefetch=prefetch)
        return await fetch_many(
            walk, ids, concurrency=check_positive_int("concurrency", concurrency),
            on_complete=on_complete,
        )

    def iter_visitors_many(
        self,
        account_ids: Iterable[str],
        *,
        max_visitors: int | None = None,
        count: int = 20,
        time_range: TimeRange | str | None = None,
        concurrency: int = 8,
        max_retries: int | None = None,
        timeout: float | None = None,
        prefetch: int = 0,
        on_complete: Callable[[AccountVisitors], object] | None = None,
    ) -> AsyncGenerator[AccountVisitor, None]:
        """Stream ``AccountVisitor(account_id, visitor)`` pairs as pages arrive.

        The streaming form of ``fetch_visitors_many`` (same arguments): visitors of one
        account keep their order, accounts interleave. A failed account ends its own walk
        only; learn about it through ``on_complete``, which receives each account's
        ``AccountVisitors`` (error and stats; its ``visitors`` is empty, they were streamed).
        Stopping early cancels every walk: close the generator (``aclose()``, or ``break``
        inside ``async with contextlib.aclosing(...)``).

        Raises:
            TypeError, ValueError: at the call, before any request, for a bad argument.
        """
        ids = check_account_ids(account_ids)
        walk = self._account_walks(max_visitors=max_visitors, count=count, time_range=time_range,
                                   max_retries=max_retries, timeout=timeout, prefetch=prefetch)
        return iter_many_visitors(walk, ids,
                                  concurrency=check_positive_int("concurrency", concurrency),
                                  on_complete=on_complete)

    async def sync_visitors(
        self,
        store: VisitorStore | BlockingStore[Any],
        *,
        account_id: str | None = None,
        time_range: TimeRange | str | None = None,
        max_visitors: int | None = None,
        count: int | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        clock: Callable[[], float] | None = None,
        collect: bool = True,
        resume_within: float | None = RESUME_WITHIN,
        meta: Mapping[str, str] | None = None,
    ) -> SyncResult:
        """Walk the visitors into ``store`` and report who is new since the last sync.

        Each page is recorded with the walk's checkpoint in one transaction; a sync that
        dies resumes at its last recorded page the next time it runs with the same account
        and time range. See ``connectsafely_async.history`` for identity and view times.

        Args:
            store: a ``VisitorStore``, e.g. an open ``history.SQLiteStore`` (or what a
                plain ``with`` gives for one, its ``BlockingStore``).
            account_id: the account (``None``: the client's default).
            time_range, max_visitors, count, max_retries, timeout: as for
                ``iter_visitor_pages``.
            clock: seconds since the epoch a page counts as received (``None``: when it
                was received); for replaying a fake with a moving clock. It must give finite
                numbers: NaN or an infinity raises ``ValueError``, no number ``TypeError``
                (its first reading is taken before any request).
            collect: put the new/returning/anonymous visitors in the result
                (``False``: counts only, for very large syncs).
            resume_within: seconds after its last recorded page (by ``clock``) during which
                an interrupted sync of the same account and time range is resumed; an older
                one starts over from the top, where the newest visitors are (``None``: resume
                however old). The default is ``history.RESUME_WITHIN``, 30 minutes.
            meta: settings (``store.meta(key)`` reads them) written in the transaction
                that closes the sync, when it completes or stops for good: a job's "this
                account is done for today" mark, say, which a crash can then never separate
                from the sync it marks.

        Returns:
            A ``SyncResult``: new, returning, unchanged and anonymous visitors; a walk
            failure is in its ``error`` (what was recorded stays). A transient failure (no
            answer, 5xx, 429) leaves the sync to be resumed; an answer that would come again
            (a page that does not fit, a 4xx) closes it with its reason, and the next sync
            starts from the top.

        Raises:
            TypeError, ValueError: at the call, before any request, for a bad argument.
            StoreError: the store failed (``StoreLockedError``: another process syncs it).
        """
        from .history._sync import check_store, sync_account

        store = check_store(store)
        check_clock(clock)
        settings = check_meta(meta)
        spec = plan_walk(account=self._account(account_id), max_visitors=max_visitors,
                         count=count, start=0, time_range=time_range, resume=None, prefetch=0)
        fetch = page_fetch(self._sender,
                           self._options.override(max_retries=max_retries, timeout=timeout))
        walk_from = resumable_walk(fetch, spec, keep_count=count is not None)
        return await sync_account(walk_from, store, account_id=spec.account_id or "",
                                  filters=spec.fingerprint, clock=clock,
                                  collect=check_bool("collect", collect),
                                  resume_within=check_window(resume_within),
                                  redact=self._sender.redact_text, meta=settings)

    async def sync_visitors_many(
        self,
        store: VisitorStore | BlockingStore[Any],
        account_ids: Iterable[str],
        *,
        time_range: TimeRange | str | None = None,
        max_visitors: int | None = None,
        count: int | None = None,
        concurrency: int = 8,
        max_retries: int | None = None,
        timeout: float | None = None,
        clock: Callable[[], float] | None = None,
        collect: bool = True,
        resume_within: float | None = RESUME_WITHIN,
    ) -> dict[str, SyncResult]:
        """``sync_visitors`` for many accounts into one store, ``concurrency`` at once.

        Every request goes through the client's shared rate limiter. Nothing raised inside
        one account's sync (its walk, its store writes, anything unexpected) stops the
        others: it is that account's ``SyncResult.error``.

        Returns:
            Account id -> ``SyncResult``, in input order.

        Raises:
            TypeError, ValueError: at the call, before any request, for a bad argument.
            StoreError: the store failed.
        """
        from .history._sync import check_store, sync_accounts

        store = check_store(store)
        check_clock(clock)
        ids = check_account_ids(account_ids)
        spec = plan_walk(account=None, max_visitors=max_visitors, count=count, start=0,
                         time_range=time_range, resume=None, prefetch=0)
        fetch = page_fetch(self._sender,
                           self._options.override(max_retries=max_retries, timeout=timeout))
        specs = {account: attrs.evolve(spec, account_id=account) for account in ids}
        return await sync_accounts(
            lambda account: resumable_walk(fetch, specs[account], keep_count=count is not None),
            store, [(account, specs[account].fingerprint) for account in ids],
            concurrency=check_positive_int("concurrency", concurrency), clock=clock,
            collect=check_bool("collect", collect), resume_within=check_window(resume_within),
            redact=self._sender.redact_text,
        )

    async def list_accounts(
        self,
        query: str | None = None,
        *,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> tuple[Account, ...]:
        """The LinkedIn accounts of the workspace (``GET /linkedin/accounts``).

        Args:
            query: the service's ``q`` filter (a name or public id fragment); ``None``: all.
            max_retries: retries for this call (``None``: the client's).
            timeout: seconds each request of this call may take (``None``: the client's
                ``timeout``; a call may ask for more or less).

        Raises:
            APIStatusError: a subclass by status, after retries of the transient ones.
            APIConnectionError: no answer, after retries.
            ResponseValidationError: an answer that is not an array of accounts.
        """
        request = build_accounts_request(check_optional_text("query", query))
        # A workspace call: it counts against the key's limit only (account None).
        return await self._sender.send(
            request, parse_accounts, account=None,
            options=self._options.override(max_retries=max_retries, timeout=timeout),
        )

    # -- follow-up calls -------------------------------------------------------------------

    async def get_account_status(
        self,
        account_id: str | None = None,
        *,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> AccountStatus:
        """The health and plan of one LinkedIn account (``GET /linkedin/account/status``).

        ``status.visitors_allowed`` is ``False`` when the account has no Premium: the
        visitors call would be refused with a 403, so check it before a walk.

        Args:
            account_id: the account (``None``: the client's default, else the account the
                service used last).
            max_retries: retries for this call (``None``: the client's).
            timeout: seconds each request of this call may take (``None``: the client's).

        Raises:
            ValueError: an account id that is not 24 hexadecimal digits, before any request.
            NotFoundError: no such account.
            APIStatusError: another subclass by status, after retries of the transient ones.
            APIConnectionError: no answer, after retries.
            ResponseValidationError: an answer that is not an account status.
        """
        account = self._followup_account(account_id)
        return await self._sender.send(
            build_account_status_request(account), parse_account_status, account=account or "",
            options=self._options.override(max_retries=max_retries, timeout=timeout),
        )

    async def get_relationship(
        self,
        profile_id: str,
        *,
        account_id: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> Relationship:
        """How the account and one person are connected (``GET /linkedin/relationship``):
        message them (``connected``), or invite them first.

        Args:
            profile_id: the person's public identifier (``linkedin.com/in/<profile_id>``).
            account_id: the account (``None``: the client's default).
            max_retries: retries for this call (``None``: the client's).
            timeout: seconds each request of this call may take (``None``: the client's).

        Raises:
            TypeError, ValueError: a bad profile id (a URN is not one) or account id, before
                any request.
            NotFoundError: no such person ("LinkedIn profile not found").
            APIStatusError: another subclass by status, after retries of the transient ones.
            APIConnectionError: no answer, after retries.
            ResponseValidationError: an answer that is not a relationship.
        """
        profile_id = _public_id("profile_id", profile_id)
        account = self._followup_account(account_id)
        options = self._options.override(max_retries=max_retries, timeout=timeout)
        return await self._relationship(profile_id, account, options)

    async def fetch_profile(
        self,
        profile_id: str,
        *,
        account_id: str | None = None,
        include_geo_location: bool = False,
        include_contact: bool = False,
        include_experience: bool = False,
        include_education: bool = False,
        include_skills: bool = False,
        force_refresh: bool = False,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> Profile:
        """One person's profile (``POST /linkedin/profile``), to enrich a visitor.

        Each fetch of a new person costs one of the account's 120 unique profiles a day;
        the service's 6-hour cache answers repeats for free, unless ``force_refresh``.

        Args:
            profile_id: the person's public identifier.
            account_id: the account (``None``: the client's default).
            include_geo_location, include_contact, include_experience, include_education,
                include_skills: ask for these parts of the profile too.
            force_refresh: skip the service's cache (the fetch counts against the limit).
            max_retries: retries for this call (``None``: the client's).
            timeout: seconds each request of this call may take (``None``: the client's).

        Raises:
            TypeError, ValueError: a bad argument, before any request.
            RateLimitError: the day's 120 profiles are spent ("Maximum 120 unique profiles
                per day"), or the key is throttled (after retries).
            APIStatusError: another subclass by status, after retries of the transient ones.
            APIConnectionError: no answer, after retries.
            ResponseValidationError: an answer without a profile that fits the model.
        """
        profile_id = _public_id("profile_id", profile_id)
        includes = ProfileIncludes(
            geo_location=check_bool("include_geo_location", include_geo_location),
            contact=check_bool("include_contact", include_contact),
            experience=check_bool("include_experience", include_experience),
            education=check_bool("include_education", include_education),
            skills=check_bool("include_skills", include_skills),
            force_refresh=check_bool("force_refresh", force_refresh),
        )
        account = self._followup_account(account_id)
        return await self._sender.send(
            build_profile_request(profile_id, includes=includes, account_id=account),
            parse_profile, account=account or "",
            options=self._options.override(max_retries=max_retries, timeout=timeout),
            own_quota=True,
        )

    async def send_message(
        self,
        recipient: str,
        message: str,
        *,
        message_type: MessageType = "normal",
        subject: str | None = None,
        account_id: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> SentMessage:
        """Send a direct message (``POST /linkedin/message``); never twice.

        The service knows no idempotency key, so the message is sent again only when the
        request provably never left (no connection could be made) or was throttled (a 429
        without ``holdUntil``). Any failure the service may have acted on first (a timeout
        after sending, a reset, a 5xx) raises ``ActionOutcomeUnknownError``, and nothing
        can check a message: call again only once you know it did not go out. So a return
        means sent, ``ActionOutcomeUnknownError`` means unknown, any other error means not
        sent.

        Args:
            recipient: the person's profile URN (``urn:li:fsd_profile:...``, preferred when
                known) or public identifier.
            message: the text, not empty.
            message_type: ``"normal"`` for a 1st-degree connection, ``"inmail"`` for anyone
                else (needs Premium InMail credits and a ``subject``).
            subject: the InMail's subject.
            account_id: the account it is sent from (``None``: the client's default).
            max_retries: retries of what may be retried (``None``: the client's).
            timeout: seconds the request may take (``None``: the client's).

        Returns:
            The service's ``SentMessage``; its ``rate_limit`` tells what is left of the day's.

        Raises:
            TypeError, ValueError: an empty message, an InMail without a subject, a bad
                recipient or account id, before any request.
            ActionOutcomeUnknownError: the message may or may not have gone out.
            RateLimitError: the day's messages are spent (not retried past ``max_wait``).
            BadRequestError: the service refused it (e.g. not a connection: use an InMail).
            APIStatusError, APIConnectionError: not sent, for another reason.
        """
        recipient = check_person("recipient", recipient)
        text, kind, subject = check_message(message, message_type=message_type, subject=subject)
        account = self._followup_account(account_id)
        options = self._options.override(max_retries=max_retries, timeout=timeout)
        request = build_message_request(
            recipient, text, message_type=kind, subject=subject, account_id=account
        )
        try:
            return await self._send_action(request, parse_sent_message, options)
        except ConnectSafelyError as error:
            if not may_have_acted(error):
                raise
            action = AttemptedAction("message", recipient, text, account, kind, subject)
            msg = (f"the message to {recipient} may have been sent ({type(error).__name__})"
                   ": not sent again")
            raise ActionOutcomeUnknownError(msg, action=action, cause=error) from error

    async def send_invitation(
        self,
        profile: str,
        *,
        note: str | None = None,
        public_id: str | None = None,
        account_id: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
    ) -> SentInvitation:
        """Invite a person to connect (``POST /linkedin/connect``), with an optional note;
        never twice.

        Sent again only when the request provably never left or was throttled without
        ``holdUntil``. When the service may have acted on a request that failed (a timeout
        after sending, a reset, a 5xx), the relationship call tells whether it went through
        (``invitationSent`` or ``connected``): then the invitation is returned with
        ``confirmed_by_relationship``; when it shows none, the request's own error is
        raised; when the check cannot tell, ``ActionOutcomeUnknownError``. So a return
        means sent, ``ActionOutcomeUnknownError`` means unknown, any other error means not
        sent.

        Args:
            profile: the person's profile URN (preferred when known) or public identifier.
            note: the invitation's note, at most 300 characters (``None`` or ``""``: none).
            public_id: the person's public identifier, to check an unclear outcome by when
                ``profile`` is a URN (the relationship call takes no URN); without it, an
                unclear outcome for a URN is reported unknown.
            account_id: the account it is sent from (``None``: the client's default).
            max_retries: retries of what may be retried, and of the check
                (``None``: the client's).
            timeout: seconds each request may take (``None``: the client's).

        Returns:
            The service's ``SentInvitation``; its ``rate_limit`` tells what is left of the
            week's.

        Raises:
            TypeError, ValueError: a note over 300 characters, a bad profile, public id or
                account id, before any request.
            ActionOutcomeUnknownError: the invitation may or may not have gone out.
            RateLimitError: invitations are held (``hold_until`` says until when: do not
                try before it, trying extends it) or throttled.
            BadRequestError: the service refused it (e.g. already connected).
            APIStatusError, APIConnectionError: not sent, for another reason.
        """
        profile = check_person("profile", profile)
        text = check_note(note)
        check_id = None if public_id is None else _public_id("public_id", public_id)
        if check_id is None and not is_urn(profile):
            check_id = profile
        account = self._followup_account(account_id)
        options = self._options.override(max_retries=max_retries, timeout=timeout)
        request = build_invitation_request(profile, note=text, account_id=account)
        try:
            return await self._send_action(request, parse_sent_invitation, options)
        except ConnectSafelyError as error:
            if not may_have_acted(error):
                raise
            action = AttemptedAction("invitation", profile, text, account)
            if check_id is None:
                msg = (f"the invitation to {profile} may have been sent ({type(error).__name__})"
                       ": no public id to check it by")
                raise ActionOutcomeUnknownError(msg, action=action, cause=error) from error
            try:
                relationship = await self._relationship(check_id, account, options)
            except ConnectSafelyError as check_error:
                msg = (f"the invitation to {profile} may have been sent ({type(error).__name__})"
                       f": the check failed ({type(check_error).__name__})")
                raise ActionOutcomeUnknownError(
                    msg, action=action, cause=error, check_error=check_error
                ) from error
            if relationship.invited_or_connected:
                return SentInvitation(success=True, confirmed_by_relationship=True)
            raise

    async def follow_up(
        self,
        store: VisitorStore | BlockingStore[Any],
        plan: FollowUpPlan,
        *,
        account_id: str | None = None,
        send: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> FollowUpReport:
        """Act once on each new or returning visitor in ``store``: a preview unless ``send``.

        For each pending visitor event of the account, a ``normal`` message to a 1st-degree
        connection and an invitation with the plan's note to anyone else; each event is
        acknowledged only once its action's outcome is recorded in the store's ledger. A
        person is never messaged or invited twice by the ledger, whatever crashes; an action
        a killed run left unsettled is resolved first (an invitation checked through the
        relationship call, a message reported unknown); the plan's caps (the account's
        budget, kept in the store for every run and process) are never exceeded, and what
        they do not allow stays pending for a later run. See ``history.FollowUpPlan``.

        Args:
            store: the history the visitors were synced into.
            plan: the texts, the caps and the pace.
            account_id: the account (``None``: the client's default, else the account the
                store last learned the workspace's default to be).
            send: send; ``False`` (the default) only reports what would be sent.
            clock: seconds since the epoch for the budget's windows (``None``: the wall
                clock); for replaying a fake with a moving clock.

        Returns:
            A ``FollowUpReport``: sent, would-send, skipped and why, deferred, unknown.

        Raises:
            TypeError, ValueError: a bad argument, or no account named and none known,
                before any request.
            NotFoundError: the account does not exist (before any action).
            StoreLockedError: another run follows up this account.
        """
        from .history import FollowUpPlan, ThreadedStore
        from .history._followup import follow_up
        from .history._sync import check_store

        checked = check_store(store)
        if not isinstance(checked, ThreadedStore):
            msg = f"store must be an SQLiteStore or a PostgresStore, got {type(store).__name__}"
            raise TypeError(msg)
        if not isinstance(plan, FollowUpPlan):
            msg = f"plan must be a FollowUpPlan, got {type(plan).__name__}"
            raise TypeError(msg)
        check_clock(clock)
        account = self._followup_account(account_id) or await checked.account_for("")
        if not account:
            msg = ("no account named, and the store has not learned the workspace's default: "
                   "pass account_id=, or sync the default account once first")
            raise ValueError(msg)
        return await follow_up(self, checked, plan, account_id=account,
                               send=check_bool("send", send), clock=clock)

    async def _send_action(
        self, request: HttpRequest, parse: Callable[[HttpResponse], T], options: CallOptions
    ) -> T:
        # Only what the service cannot have performed is retried (see ActionRetryPolicy).
        # An action counts against the key's requests, not the account's reads (its own
        # caps are the action's: own_quota).
        return await self._sender.send(
            request, parse, account=None,
            options=attrs.evolve(options, retry=ActionRetryPolicy.of(options.retry)),
            own_quota=True,
        )

    async def _relationship(
        self, profile_id: str, account: str | None, options: CallOptions
    ) -> Relationship:
        # Also the check of an invitation whose outcome is unclear, with its call's options.
        return await self._sender.send(
            build_relationship_request(profile_id, account), parse_relationship,
            account=account or "", options=options,
        )

    def _account_walks(
        self,
        *,
        max_visitors: int | None,
        count: int | None,
        time_range: TimeRange | str | None,
        max_retries: int | None,
        timeout: float | None,
        prefetch: int,
    ) -> PageWalk:
        # One plan and one set of options for every account of a many-account run.
        return account_walks(
            self._sender, self._options.override(max_retries=max_retries, timeout=timeout),
            max_visitors=max_visitors, count=count, time_range=time_range, prefetch=prefetch,
        )

    def _account(self, account_id: str | None) -> str | None:
        return check_optional_text("account_id", account_id) or self._account_id

    def _followup_account(self, account_id: str | None) -> str | None:
        # The id may land in a URL path: only 24 hex digits, the client's default included.
        return check_account_id(account_id) or check_account_id(self._account_id)


def _public_id(name: str, value: object) -> str:
    person = check_person(name, value)
    if is_urn(person):
        msg = f"{name} must be a public identifier, not a URN"
        raise ValueError(msg)
    return person
