"""The fake ConnectSafely server: an aiohttp application on 127.0.0.1, port 0.

Every request goes through one handler, in this order:

1. it is recorded in :attr:`FakeConnectSafely.requests` and given an ``X-Request-Id``;
2. :attr:`FakeConnectSafely.latency` seconds pass;
3. the bearer key is checked (401 otherwise);
4. the rate limit is checked (429 otherwise);
5. the route is looked up (404 / 405 otherwise);
6. on the visitors endpoint, the next queued :class:`Fault`, if any, takes over;
7. the endpoint answers.

Every answer carries ``X-Request-Id`` and the ``X-RateLimit-*`` headers.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final

import attrs
from aiohttp import web

from ._data import DEFAULT_ACCOUNT_ID, filter_by_time_range, make_account, make_visitors
from ._delivery import deliver_fault, json_response
from ._faults import Fault
from ._ratelimit import FixedWindow
from ._visitors import MaxVisitorsMode, Reply, paginate, parse_query, visitors_body

__all__ = ["FakeConnectSafely", "RecordedRequest"]

_VISITORS_PATH: Final = "/linkedin/profile/visitors"
# How long close() lets in-flight handlers finish; ours are cancelled before that anyway.
_SHUTDOWN_TIMEOUT: Final = 0.1


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request as the fake server received it.

    Attributes:
        method: HTTP method, e.g. ``"POST"``.
        path: URL path, e.g. ``"/linkedin/profile/visitors"``.
        query: query-string parameters (last value wins).
        headers: request headers as sent, ``Authorization`` included.
        json: the decoded JSON body, or ``None`` when empty or not JSON.
        received_at: :func:`time.monotonic` when the request arrived.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    received_at: float


class FakeConnectSafely:
    """An in-process fake of the ConnectSafely API, served over real HTTP on 127.0.0.1.

    Use it as an async context manager (or call :meth:`start` and :meth:`close`) and point
    a client at :attr:`url`::

        async with FakeConnectSafely(accounts={"696ce9e780e0483585e4e553": 57}) as fake:
            ...  # talk to fake.url with "Authorization: Bearer test-key"
            assert len(fake.requests) == 1

    It implements ``GET /health``, ``GET /linkedin/accounts?q=`` and
    ``POST /linkedin/profile/visitors`` with the vendor's documented shapes and quirks,
    scripted faults (:meth:`inject`) and an optional rate limit.

    Args:
        api_key: the one bearer key the server accepts.
        accounts: account id -> number of synthetic visitors (see :func:`make_visitors`).
            Defaults to one account, ``696ce9e780e0483585e4e553``, with 45 visitors.
        default_account_id: the account used when a request names none; defaults to the
            first of *accounts*.
        max_visitors_mode: how ``maxVisitors`` is read (see :class:`MaxVisitorsMode`).
        latency: seconds added before answering every request.
        seed: seed of the synthetic visitors.
        rate_limit: at most this many requests per *rate_limit_window* seconds (a fixed
            window opened by the first request), or ``None`` for no limit. The
            ``X-RateLimit-*`` headers are sent either way (limit 60 when ``None``).
        rate_limit_window: length of the rate-limit window in seconds.
        echo_time_range: put the applied time range in the top-level ``timeRange`` instead
            of the vendor's ``null``.

    Raises:
        ValueError: *default_account_id* is not one of *accounts*, or *accounts* is empty.
    """

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        accounts: Mapping[str, int] | None = None,
        default_account_id: str | None = None,
        max_visitors_mode: MaxVisitorsMode | str = MaxVisitorsMode.PER_REQUEST,
        latency: float = 0.0,
        seed: int = 0,
        rate_limit: int | None = None,
        rate_limit_window: float = 60.0,
        echo_time_range: bool = False,
    ) -> None:
        if accounts is None:
            accounts = {DEFAULT_ACCOUNT_ID: 45}
        if not accounts:
            msg = "a FakeConnectSafely needs at least one account"
            raise ValueError(msg)
        if default_account_id is None:
            default_account_id = next(iter(accounts))
        elif default_account_id not in accounts:
            msg = f"default_account_id {default_account_id!r} is not one of the accounts"
            raise ValueError(msg)
        self.api_key = api_key
        self.default_account_id = default_account_id
        self.max_visitors_mode = MaxVisitorsMode(max_visitors_mode)
        self.latency = latency
        self.echo_time_range = echo_time_range
        #: Every request received, in order, failed and faulted ones included.
        self.requests: list[RecordedRequest] = []
        self._visitors = {
            account_id: make_visitors(n, seed=seed, account_id=account_id)
            for account_id, n in accounts.items()
        }
        self._faults: collections.deque[Fault] = collections.deque()
        self._rate = FixedWindow(rate_limit, rate_limit_window)
        self._request_count = 0
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._closed = False
        self._routes: Mapping[str, Mapping[str, Callable[[web.Request, Any], Reply]]] = {
            "/health": {"GET": self._health},
            "/linkedin/accounts": {"GET": self._accounts},
            _VISITORS_PATH: {"POST": self._visitors_reply},
        }

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:<port>`` without a trailing slash.

        Raises:
            RuntimeError: the server is not running.
        """
        if self._url is None:
            msg = "the fake server is not running: call start() or use `async with`"
            raise RuntimeError(msg)
        return self._url

    async def start(self) -> None:
        """Start serving on a free port of 127.0.0.1.

        Raises:
            RuntimeError: already started, or closed (a fake server cannot be reopened).
        """
        if self._runner is not None or self._closed:
            msg = "a FakeConnectSafely can be started only once"
            raise RuntimeError(msg)
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        # handler_cancellation: a client that hangs up cancels its handler (e.g. a drip).
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self._url = f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop serving and cancel in-flight requests. Safe to call more than once."""
        self._closed = True
        runner, self._runner, self._url = self._runner, None, None
        in_flight = list(self._in_flight)
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeConnectSafely:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- scripting -------------------------------------------------------------------------

    def visitors(
        self, account_id: str | None = None, time_range: str = "past_90_days"
    ) -> list[dict[str, Any]]:
        """The visitors the server holds for an account and time range, newest first.

        These are copies of the exact JSON objects the server serves: the ground truth a
        test compares a client's results with.

        Raises:
            KeyError: unknown account.
            ValueError: unknown time range.
        """
        return copy.deepcopy(filter_by_time_range(self._account(account_id), time_range))

    def set_visitors(self, account_id: str, visitors: Sequence[Mapping[str, Any]]) -> None:
        """Replace an account's visitors (newest first); an unknown id adds an account.

        Callable between requests, e.g. to simulate a new view arriving at the head.
        Records without a readable ``viewedAt`` belong to every time range.
        """
        self._visitors[account_id] = [copy.deepcopy(dict(v)) for v in visitors]

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        """Queue *fault* for the next *times* requests to the visitors endpoint.

        Faults are consumed first-in, first-out, one per request that passed the key and
        rate-limit checks.
        """
        if times < 1:
            msg = f"times must be >= 1, got {times}"
            raise ValueError(msg)
        self._faults.extend([fault] * times)

    @property
    def pending_faults(self) -> tuple[Fault, ...]:
        """Faults queued and not yet consumed, next first."""
        return tuple(self._faults)

    @property
    def account_ids(self) -> list[str]:
        """The ids of the accounts the server holds."""
        return list(self._visitors)

    # -- serving ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        # Tracked so close() can cancel a handler stuck in a delay or a drip.
        task = asyncio.current_task()
        assert task is not None  # aiohttp runs every handler in a task
        self._in_flight.add(task)
        try:
            return await self._answer(request)
        finally:
            self._in_flight.discard(task)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
            recorded = body
        except ValueError:
            body, recorded = raw.decode(errors="replace"), None
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                json=recorded,
                received_at=time.monotonic(),
            )
        )
        self._request_count += 1
        headers = {"X-Request-Id": f"req_{self._request_count:06d}"}
        if self.latency:
            await asyncio.sleep(self.latency)

        now = time.monotonic()
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            headers.update(self._rate.headers(now))
            return json_response(
                Reply(401, {"error": "Unauthorized - Invalid credentials"}), headers
            )
        allowed = self._rate.hit(now)
        headers.update(self._rate.headers(now, throttled=not allowed))
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self._rate.seconds_left(now))))
            return json_response(
                Reply(429, {"success": False, "error": "Rate limit exceeded"}), headers
            )

        methods = self._routes.get(request.path)
        if methods is None:
            return json_response(Reply(404, {"success": False, "error": "Not found"}), headers)
        endpoint = methods.get(request.method)
        if endpoint is None:
            reply = Reply(405, {"success": False, "error": "Method not allowed"})
            return json_response(reply, headers)
        if request.path == _VISITORS_PATH and raw == b"":
            body = {}  # like Express: no body means an empty object
        normal = endpoint(request, body)
        if request.path == _VISITORS_PATH and self._faults:
            return await deliver_fault(request, self._faults.popleft(), normal, headers)
        return json_response(normal, headers)

    def _account(self, account_id: str | None) -> list[dict[str, Any]]:
        account_id = self.default_account_id if account_id is None else account_id
        try:
            return self._visitors[account_id]
        except KeyError:
            msg = f"unknown account {account_id!r}"
            raise KeyError(msg) from None

    def _health(self, _request: web.Request, _body: Any) -> Reply:
        return Reply(200, {"status": "ok"})

    def _accounts(self, request: web.Request, _body: Any) -> Reply:
        needle = request.query.get("q", "").casefold()
        accounts = [make_account(account_id) for account_id in self._visitors]
        return Reply(
            200,
            [
                account
                for account in accounts
                if needle in f"{account['firstName']} {account['lastName']}".casefold()
                or needle in account["publicId"].casefold()
            ],
        )

    def _visitors_reply(self, _request: web.Request, body: Any) -> Reply:
        query = parse_query(body)
        if isinstance(query, Reply):
            return query
        account_id = query.account_id or self.default_account_id
        if account_id not in self._visitors:
            return Reply(404, {"success": False, "error": "Account not found"})
        items = filter_by_time_range(self._visitors[account_id], query.time_range)
        page = paginate(items, query, MaxVisitorsMode(self.max_visitors_mode))
        return Reply(
            200,
            visitors_body(
                query,
                account_id=account_id,
                page=copy.deepcopy(page),
                total=len(items),
                echo_time_range=self.echo_time_range,
            ),
        )
