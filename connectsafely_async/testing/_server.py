"""The fake ConnectSafely server: an aiohttp application on 127.0.0.1, port 0.

Every request goes through one handler, in this order:

1. it is recorded in :attr:`FakeConnectSafely.requests` and given an ``X-Request-Id``;
2. :attr:`FakeConnectSafely.latency` seconds pass;
3. the bearer key is checked (401 otherwise);
4. the rate limit is checked (429 otherwise);
5. the route is looked up (404 / 405 otherwise);
6. on the visitors endpoint, the next queued :class:`Fault`, if any, takes over; on a
   message or an invitation, the next queued action fault (:meth:`inject_action_fault`),
   after the action is performed unless it says otherwise;
7. the endpoint answers.

Every answer carries ``X-Request-Id`` and the ``X-RateLimit-*`` headers: the key's, or on
the follow-up calls (see ``_followup``) their action's.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Literal

import attrs
from aiohttp import web

from ._data import DEFAULT_ACCOUNT_ID, filter_by_time_range, make_account, make_visitors
from ._delivery import deliver_fault, dumps, json_response
from ._faults import Fault
from ._followup import FollowUps, PerformedAction
from ._ratelimit import FixedWindow, ServerBucket
from ._visitors import MaxVisitorsMode, Reply, paginate, parse_query, visitors_body

__all__ = ["FakeConnectSafely", "RecordedRequest"]

_VISITORS_PATH: Final = "/linkedin/profile/visitors"
_ACTION_PATHS: Final = {"/linkedin/message": "message", "/linkedin/connect": "invitation"}
_ACCOUNT_STATUS: Final = re.compile(r"/linkedin/account/([^/]+)/status")
_RELATIONSHIP: Final = re.compile(r"/linkedin/relationship/([^/]+)(?:/([^/]+))?")
_TRIAL_EXPIRED: Final = "Your trial has expired. Please subscribe to continue using this feature."
_PREMIUM_REQUIRED: Final = "LinkedIn Premium may be required to see who viewed this profile"
# Exactly how _delivery.json_response encodes, so a pre-encoded visitor is the same text.
_encode: Final = dumps
_EMPTY_VISITORS: Final = '"visitors": []'
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

    It implements ``GET /health``, ``GET /linkedin/accounts?q=``,
    ``POST /linkedin/profile/visitors`` and the calls that follow it (account status,
    relationship, message, connection invitation, profile) with the vendor's documented
    shapes, quirks and per-account caps, scripted faults (:meth:`inject`,
    :meth:`inject_action_fault`) and an optional rate limit. Every message and invitation it
    performs is recorded in :attr:`actions`, so a test can count sends.

    The people the follow-up calls know are the named visitors of every account (by public
    identifier or URN; a visitor's ``connectionDegree`` says whether the account may message
    them) and whoever :meth:`add_person` adds.

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
        key_rate: requests per second the key may sustain (a token bucket; replaces
            *rate_limit* when given), or ``None``.
        key_burst: the key bucket's capacity; defaults to one second's worth of *key_rate*.
        account_rate: visitors requests per second one account may sustain, or ``None``.
        account_burst: the account bucket's capacity; defaults to one second's worth.
        clock: seconds since the epoch, for the per-account action caps, their headers and
            :attr:`actions` (default :func:`time.time`): move it to cross a day or a Monday.

    A throttled request gets 429 with ``Retry-After`` (seconds, fractional for the token
    buckets) and the key's ``X-RateLimit-*`` headers: a 429 whose ``Remaining`` is above
    zero was the account's limit, not the key's. :attr:`throttled_count` counts the 429s.

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
        key_rate: float | None = None,
        key_burst: float | None = None,
        account_rate: float | None = None,
        account_burst: float | None = None,
        clock: Callable[[], float] = time.time,
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
        # Speed only, no behaviour: the visitors in each (account, time range) are filtered
        # once, and each served record is JSON-encoded once (keyed by id(): the cached lists
        # keep the records alive). set_visitors() drops both.
        self._in_range: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._encoded: dict[int, str] = {}
        self._rate = FixedWindow(rate_limit, rate_limit_window)
        self._key_bucket = (
            None if key_rate is None
            else ServerBucket(key_rate, key_burst if key_burst is not None else max(1.0, key_rate))
        )
        self._account_rate = account_rate
        self._account_burst = (
            account_burst if account_burst is not None else max(1.0, account_rate or 1.0)
        )
        self._account_buckets: dict[str, ServerBucket] = {}
        if not callable(clock):
            msg = f"clock must be callable, got {type(clock).__name__}"
            raise TypeError(msg)
        self.clock = clock
        #: When true, every /linkedin call answers 403 "Your trial has expired...".
        self.trial_expired = False
        self._followups = FollowUps(
            accounts=lambda: list(self._visitors), default_account_id=default_account_id,
            find_person=self._find_person,
        )
        self._action_faults: collections.deque[
            tuple[Literal["message", "invitation"] | None, Fault, bool]
        ] = collections.deque()
        #: How many requests were answered 429 by the rate limits (faults not counted).
        self.throttled_count = 0
        #: :func:`time.monotonic` of each of those 429 answers.
        self.throttled_at: list[float] = []
        #: The most requests the server was handling at once.
        self.peak_in_flight = 0
        #: The most client connections open at once, seen at the moment a request arrived.
        self.peak_connections = 0
        self._transports: set[Any] = set()
        self._request_count = 0
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._closed = False
        self._routes: Mapping[str, Mapping[str, Callable[[web.Request, Any], Reply]]] = {
            "/health": {"GET": self._health},
            "/linkedin/accounts": {"GET": self._accounts},
            _VISITORS_PATH: {"POST": self._visitors_reply},
            "/linkedin/account/status": {"GET": self._account_status},
            "/linkedin/message": {"POST": self._message},
            "/linkedin/connect": {"POST": self._invitation},
            "/linkedin/profile": {"POST": self._profile},
        }
        self._patterns: Sequence[
            tuple[re.Pattern[str], Mapping[str, Callable[[web.Request, Any], Reply]]]
        ] = (
            (_ACCOUNT_STATUS, {"GET": self._account_status}),
            (_RELATIONSHIP, {"GET": self._relationship}),
        )

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

    async def start(self, *, port: int = 0) -> None:
        """Start serving on 127.0.0.1.

        Args:
            port: the port to listen on (0: a free one, what tests want).

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
        site = web.TCPSite(runner, "127.0.0.1", port)
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
        self._in_range.clear()
        self._encoded.clear()

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
    def open_connections(self) -> int:
        """Client connections open right now (0 once every client has closed its session)."""
        if self._runner is None or self._runner.server is None:
            return 0
        return len(self._runner.server.connections)

    def inject_action_fault(
        self,
        fault: Fault,
        *,
        kind: Literal["message", "invitation"] | None = None,
        performed: bool = True,
        times: int = 1,
    ) -> None:
        """Queue *fault* for the next *times* messages or invitations (*kind*; ``None``: either).

        With *performed* (the default) the request is handled first (the action performed,
        recorded in :attr:`actions` and counted against its cap, when it would have been)
        and then *fault* answers in its place: ``Fault(kind="reset")``, ``Fault(status=502)``
        or ``Fault(delay=...)`` longer than the client's timeout is an action that went out
        while its answer was lost. With ``performed=False`` the fault answers instead of
        the call, and nothing is performed.

        Raises:
            ValueError: *times* is below 1, or *kind* is not one of the two.
        """
        if times < 1:
            msg = f"times must be >= 1, got {times}"
            raise ValueError(msg)
        if kind not in (None, "message", "invitation"):
            msg = f"kind must be 'message', 'invitation' or None, got {kind!r}"
            raise ValueError(msg)
        self._action_faults.extend([(kind, fault, performed)] * times)

    @property
    def actions(self) -> list[PerformedAction]:
        """Every message and invitation the server performed, in order (a copy)."""
        return list(self._followups.actions)

    def add_person(
        self,
        public_id: str,
        *,
        account_id: str | None = None,
        degree: str = "2nd",
        urn: str | None = None,
        name: str = "Test Person",
        headline: str = "Tester at Example",
    ) -> dict[str, Any]:
        """Make a person known to the follow-up calls (besides every named visitor).

        Args:
            public_id: their public identifier.
            account_id: the account whose *degree* this is (``None``: every account).
            degree: ``"1st"`` (a connection: may be messaged), ``"2nd"``, ``"3rd"``...
            urn: their profile URN (default: one made from *public_id*).

        Returns:
            The person's record, as a visitor record would hold them.
        """
        first, _, last = name.partition(" ")
        record = {
            "entityUrn": urn or f"urn:li:fsd_profile:{public_id}",
            "publicIdentifier": public_id,
            "name": name,
            "firstName": first,
            "lastName": last,
            "headline": headline,
        }
        self._followups.add_person(record, account_id=account_id, degree=degree)
        return dict(record)

    def set_account_status(
        self, account_id: str, *, status: str | None = None, premium: bool | None = None
    ) -> None:
        """Change what ``GET /linkedin/account/status`` says of an account.

        Args:
            status: e.g. ``"AVAILABLE"`` (the default), ``"IN_USE"`` or ``"ERROR"``.
            premium: without Premium, the visitors call answers 403 ("LinkedIn Premium
                may be required") and an InMail is refused.

        Raises:
            KeyError: unknown account.
        """
        self._account(account_id)
        state = self._followups.account(account_id)
        if status is not None:
            state.status = status
        if premium is not None:
            state.premium = premium

    def clear_faults(self) -> None:
        """Drop every queued fault: the next requests are answered normally."""
        self._faults.clear()

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
        self.peak_in_flight = max(self.peak_in_flight, len(self._in_flight))
        self._count_connection(request)
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
            headers.update(self._limit_headers(now))
            return json_response(
                Reply(401, {"error": "Unauthorized - Invalid credentials"}), headers
            )
        retry_after = self._check_rate(request.path, body, now, headers)
        if retry_after is not None:
            self.throttled_count += 1
            self.throttled_at.append(now)
            headers["Retry-After"] = retry_after
            return json_response(
                Reply(429, {"success": False, "error": "Rate limit exceeded"}), headers
            )

        if self.trial_expired and request.path.startswith("/linkedin/"):
            return json_response(Reply(403, {"success": False, "error": _TRIAL_EXPIRED}), headers)
        methods = self._routes.get(request.path) or self._route_by_pattern(request.path)
        if methods is None:
            return json_response(Reply(404, {"success": False, "error": "Not found"}), headers)
        endpoint = methods.get(request.method)
        if endpoint is None:
            reply = Reply(405, {"success": False, "error": "Method not allowed"})
            return json_response(reply, headers)
        if request.path == _VISITORS_PATH and raw == b"":
            body = {}  # like Express: no body means an empty object
        action = _ACTION_PATHS.get(request.path)
        scripted = None if action is None else self._next_action_fault(action)
        if scripted is not None:
            fault, performed = scripted
            # Performed first, then the answer is lost: the case no client may send twice.
            normal = endpoint(request, body) if performed else Reply(200, {"success": True})
            return await deliver_fault(request, fault, normal, headers)
        normal = endpoint(request, body)
        if request.path == _VISITORS_PATH and self._faults:
            return await deliver_fault(request, self._faults.popleft(), normal, headers)
        return self._json_response(normal, headers)

    def _route_by_pattern(
        self, path: str
    ) -> Mapping[str, Callable[[web.Request, Any], Reply]] | None:
        for pattern, methods in self._patterns:
            if pattern.fullmatch(path):
                return methods
        return None

    def _next_action_fault(self, action: str) -> tuple[Fault, bool] | None:
        for index, (kind, fault, performed) in enumerate(self._action_faults):
            if kind is None or kind == action:
                del self._action_faults[index]
                return fault, performed
        return None

    def _count_connection(self, request: web.Request) -> None:
        transport = request.transport
        if transport is None:
            return
        self._transports.add(transport)
        self._transports = {t for t in self._transports if not t.is_closing()}
        self.peak_connections = max(self.peak_connections, len(self._transports))

    def _limit_headers(self, now: float, *, throttled: bool = False) -> dict[str, str]:
        if self._key_bucket is not None:
            return self._key_bucket.headers(now, throttled=throttled)
        return self._rate.headers(now, throttled=throttled)

    def _check_rate(
        self, path: str, body: Any, now: float, headers: dict[str, str]
    ) -> str | None:
        """Count one request against the limits; the ``Retry-After`` value if throttled.

        Sets the ``X-RateLimit-*`` headers (the key's) either way.
        """
        if self._key_bucket is None:
            allowed = self._rate.hit(now)
            headers.update(self._rate.headers(now, throttled=not allowed))
            if not allowed:
                return str(max(1, math.ceil(self._rate.seconds_left(now))))
        account = self._account_bucket(path, body)
        key = self._key_bucket
        waits = []
        if key is not None and not key.allows(now):
            waits.append(key.seconds_until_available(now))
        if account is not None and not account.allows(now):
            waits.append(account.seconds_until_available(now))
        if not waits:
            for bucket in (key, account):
                if bucket is not None:
                    bucket.take(now)
            if key is not None:
                headers.update(key.headers(now))
            return None
        if key is not None:
            headers.update(key.headers(now, throttled=True))
        # Milliseconds, rounded up: at scaled-up rates a whole second would be far too long.
        return f"{max(0.001, math.ceil(max(waits) * 1000) / 1000):.3f}"

    def _account_bucket(self, path: str, body: Any) -> ServerBucket | None:
        if self._account_rate is None or path != _VISITORS_PATH:
            return None
        account_id = body.get("accountId") if isinstance(body, dict) else None
        if not isinstance(account_id, str):
            account_id = self.default_account_id
        bucket = self._account_buckets.get(account_id)
        if bucket is None:
            bucket = ServerBucket(self._account_rate, self._account_burst)
            self._account_buckets[account_id] = bucket
        return bucket

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
        if not self._followups.is_premium(account_id):
            return Reply(403, {"success": False, "error": _PREMIUM_REQUIRED})
        items = self._visitors_in_range(account_id, query.time_range)
        page = paginate(items, query, MaxVisitorsMode(self.max_visitors_mode))
        return Reply(
            200,
            visitors_body(
                query,
                account_id=account_id,
                # Not copied: the body is only ever encoded, never changed.
                page=page,
                total=len(items),
                echo_time_range=self.echo_time_range,
            ),
        )

    # -- the follow-up calls (their logic and state: _followup.FollowUps) ----------------------

    def _account_status(self, request: web.Request, _body: Any) -> Reply:
        match = _ACCOUNT_STATUS.fullmatch(request.path)
        return self._followups.account_status(match[1] if match else None, self.clock())

    def _relationship(self, request: web.Request, _body: Any) -> Reply:
        match = _RELATIONSHIP.fullmatch(request.path)
        assert match is not None  # routed by this very pattern
        account, person = (match[1], match[2]) if match[2] else (None, match[1])
        return self._followups.relationship(account, person)

    def _message(self, _request: web.Request, body: Any) -> Reply:
        return self._followups.message(body, self.clock())

    def _invitation(self, _request: web.Request, body: Any) -> Reply:
        return self._followups.invitation(body, self.clock())

    def _profile(self, _request: web.Request, body: Any) -> Reply:
        return self._followups.profile(body, self.clock())

    def _find_person(self, account_id: str, person: str) -> Mapping[str, Any] | None:
        """A named visitor of ``account_id`` (else of any account) by public id or URN."""
        accounts = [account_id, *(other for other in self._visitors if other != account_id)]
        for account in accounts:
            for record in self._visitors.get(account, ()):
                if person and person in (record.get("publicIdentifier"), record.get("entityUrn")):
                    return record
        return None

    def _visitors_in_range(self, account_id: str, time_range: str) -> list[dict[str, Any]]:
        key = (account_id, time_range)
        items = self._in_range.get(key)
        if items is None:
            items = filter_by_time_range(self._visitors[account_id], time_range)
            self._in_range[key] = items
            for item in items:
                self._encoded[id(item)] = _encode(item)
        return items

    def _json_response(self, reply: Reply, headers: Mapping[str, str]) -> web.Response:
        """``json_response(reply, headers)``, byte for byte, reusing the encoded visitors."""
        body = reply.body
        visitors = body.get("visitors") if type(body) is dict else None
        if type(visitors) is not list or not visitors:
            return json_response(reply, headers)
        encoded = self._encoded
        try:
            fragments = [encoded[id(item)] for item in visitors]
        except KeyError:
            return json_response(reply, headers)
        # The first '"visitors": []' is the key itself: inside an encoded string value the
        # closing quote would be escaped.
        head, _, tail = _encode({**body, "visitors": []}).partition(_EMPTY_VISITORS)
        text = f'{head}"visitors": [{", ".join(fragments)}]{tail}'
        return web.json_response(text=text, status=reply.status, headers=headers)
