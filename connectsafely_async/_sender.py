"""``Sender``: the one door every request of a client goes out through.

Every endpoint (visitors, accounts, the next one) hands it a built ``HttpRequest`` and its
parser. In one place it waits for the rate limiter, sends through the transport, scrubs the
answer of the key, parses it, lets the limiter learn from it (error or not), and retries what
the policy says is transient. Every error that leaves it is scrubbed of the key as well
(:meth:`Sender.redact_text`): an answer that is not HTTP never reaches the answer scrub, and
the parser that refuses it quotes its raw bytes. A client and its ``with_options()`` copies
share one sender, and so one session, one limiter and one closed state.
"""

from __future__ import annotations

import logging
import time
import warnings
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import APIStatusError, ConnectSafelyError
from ._protocol import parse_rate_limit
from ._protocol.errors import one_line
from ._retry import call_with_retries

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._call_options import CallOptions
    from ._limiter_backend import RateLimitBackend
    from ._models import RateLimit
    from ._protocol import HttpRequest, HttpResponse, Redactor
    from ._secrets import SecretHeaders
    from ._transport import AiohttpTransport
    from ._walk_stats import WalkStats

__all__ = ["Sender"]

logger = logging.getLogger("connectsafely_async")

T = TypeVar("T")

class Sender:
    """Limiter, transport, scrub, parse, learn, retry: the path of every request.

    Args:
        base_url: prefixed to each request's path.
        headers: the headers of every request, the key among them.
        transport: moves the bytes; its state is the client's closed state.
        limiter: the client-side rate limits (``None``: none).
        redact: scrubs each answer, and each error's text, of the key.
    """

    def __init__(
        self,
        *,
        base_url: str,
        headers: SecretHeaders,
        transport: AiohttpTransport,
        limiter: RateLimitBackend | None,
        redact: Redactor,
    ) -> None:
        self._base_url = base_url
        self._headers = headers
        self._transport = transport
        self._limiter = limiter
        self._redact = redact

    @property
    def closed(self) -> bool:
        return self._transport.closed

    def redact_text(self, text: str) -> str:
        """``text`` with every spelling of the key replaced by ``[REDACTED]``.

        Args:
            text: anything built from an error of the transport, a parser or a driver.

        Returns:
            The text, scrubbed (the same object when it holds no spelling of the key).
        """
        return self._redact.redact_text(text)

    async def aclose(self) -> None:
        """Close the limiter and the session the transport created. Idempotent."""
        try:
            if self._limiter is not None:
                await self._limiter.aclose()
        finally:
            await self._transport.aclose()

    async def send(
        self,
        request: HttpRequest,
        parse: Callable[[HttpResponse], T],
        *,
        account: str | None,
        options: CallOptions,
        stats: WalkStats | None = None,
        rate_limit_of: Callable[[T], RateLimit | None] | None = None,
        own_quota: bool = False,
    ) -> T:
        """Send ``request`` until it parses, or until ``options.retry`` gives up.

        Each attempt may take ``options.timeout`` seconds (the transport's limit) and
        ``options.max_retries`` failed attempts are retried when the policy allows. The
        limiter waits for ``account``'s turn (``None``: the key's alone) before each
        attempt. ``rate_limit_of`` reads the limits a parser already read from the headers
        (a page's), so they are not parsed twice. ``stats``, when given, counts requests,
        retries and time spent waiting for the limiter. ``own_quota``: the answers'
        ``X-RateLimit-*`` headers and 429s are the call's own quota (a day's messages, a
        week's invitations), not the key's, so the limiter does not learn from them: a
        spent invitation budget must not pause every read of the key.

        Raises:
            ConnectSafelyError: what the last attempt raised, once retries are spent or
                the error is not one to retry.
        """
        url = self._base_url + request.path

        async def attempt() -> T:
            try:
                return await send_once()
            except ConnectSafelyError as error:
                # Before the retry loop logs it or the caller sees it.
                self._scrub(error)
                raise

        async def send_once() -> T:
            if self._limiter is not None:
                waited = await self._limiter.acquire(account)
                if stats is not None:
                    stats.rate_limit_wait_seconds += waited
            debug = logger.isEnabledFor(logging.DEBUG)  # its arguments cost more than the check
            began = time.perf_counter() if debug else 0.0
            if stats is not None:
                stats.requests += 1
            response = self._redact(
                await self._transport.send(url, request, self._headers, options.timeout)
            )
            if debug:
                logger.debug(
                    "%s %s %s -> %d in %.3fs (request id %s)", request.method, request.path,
                    (request.body or b"").decode(errors="replace"), response.status,
                    time.perf_counter() - began, response.request_id,
                )
            try:
                result = parse(response)
            except APIStatusError as error:
                if not own_quota:
                    self._observe(account, response, error.rate_limit, error)
                raise
            if not own_quota:
                self._observe(account, response, rate_limit_of(result) if rate_limit_of
                              else parse_rate_limit(response.headers, now=response.received_at))
            return result

        def count_retry(_error: ConnectSafelyError, _wait: float) -> None:
            if stats is not None:
                stats.retries += 1

        return await call_with_retries(attempt, options.retry,
                                       max_retries=options.max_retries, on_retry=count_retry)

    def _scrub(self, error: ConnectSafelyError) -> None:
        """Scrub ``error``'s texts of the key, in place, and make its message one short line.

        In place: a new error raised instead would keep this one as its ``__context__``.
        Its texts are its ``args`` (what pickle keeps) and its attributes of text (the
        message, the request id, a validation error's lines); its ``body`` was decoded
        from an answer already scrubbed. Shortened only after the scrub, which must see
        the whole key.
        """
        redact = self.redact_text
        for name, value in list(vars(error).items()):
            if isinstance(value, str):
                setattr(error, name, redact(value))
            elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
                setattr(error, name, tuple(redact(v) for v in value))
        error.message = one_line(error.message)
        error.args = tuple(one_line(redact(a)) if isinstance(a, str) else a for a in error.args)

    def _observe(
        self,
        account: str | None,
        response: HttpResponse,
        rate_limit: RateLimit | None,
        error: APIStatusError | None = None,
    ) -> None:
        # The shared limiter learns from every answer, parsed once, error or not.
        if self._limiter is not None:
            self._limiter.observe(
                account=account, wall=response.received_at, rate_limit=rate_limit, error=error
            )

    def __del__(self, _warn: Any = warnings.warn) -> None:
        # Collected with the last client sharing it; only a session we created can leak.
        # Said the way aiohttp and svcs say it.
        transport = getattr(self, "_transport", None)
        if transport is not None and transport.has_open_owned_session:
            _warn(
                "unclosed AsyncConnectSafely: use 'async with' or await aclose()",
                ResourceWarning,
                stacklevel=1,
                source=self,
            )


