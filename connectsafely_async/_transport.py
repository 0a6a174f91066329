"""The only core module that touches aiohttp: send bytes, get bytes, map aiohttp's errors.

The session is created lazily inside the running event loop (so a client can be built in a
notebook cell or at import time) and closed only if we created it: a borrowed session belongs
to the caller. aiohttp's exceptions are never chained into ours, because they carry the
request's headers, and so the API key. Their messages may quote the answer's raw bytes (an
answer that is not HTTP, echoing the key): the sender scrubs every error's text, so the
description here is never cut, lest a cut split a key where the scrub cannot see it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Final

import aiohttp

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ConnectSafelyError,
    RequestNotSentError,
)
from ._protocol import HttpRequest, HttpResponse
from ._secrets import SecretHeaders

__all__ = ["AiohttpTransport"]

logger = logging.getLogger("connectsafely_async")

_CHUNK_BYTES: Final = 64 * 1024


class AiohttpTransport:
    """Sends ``HttpRequest``s over one aiohttp session and returns ``HttpResponse``s."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        timeout: float,
        max_response_bytes: int,
        connection_limit: int,
    ) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            msg = f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            raise TypeError(msg)
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_response_bytes = max_response_bytes
        self._connection_limit = connection_limit
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` was called: the client's one closed state."""
        return self._closed

    @property
    def has_open_owned_session(self) -> bool:
        return self._owns_session and self._session is not None and not self._session.closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            msg = "the client is closed; create a new AsyncConnectSafely to send requests"
            raise ClientClosedError(msg)
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._connection_limit)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        elif self._session.closed:
            msg = "the aiohttp session lent to this client is closed"
            raise ClientClosedError(msg)
        return self._session

    async def send(
        self, url: str, request: HttpRequest, headers: SecretHeaders, timeout: float | None = None
    ) -> HttpResponse:
        """Send one request and read its whole body (up to the size cap).

        Args:
            timeout: seconds for this request, connect to last byte (``None``: the
                transport's own).

        Raises:
            APITimeoutError: no complete answer within the timeout.
            APIConnectionError: no HTTP answer, a cut-off body, or a body over the cap.
            ClientClosedError: the client (or the lent session) was closed.
        """
        limit = self._timeout if timeout is None else _client_timeout(timeout)
        outcome = await self._exchange(url, request, headers, limit)
        if isinstance(outcome, ConnectSafelyError):
            # aiohttp's exception carries the request's headers, and so the key: it must not
            # even be the __context__ of ours. Raising outside its except block is not enough
            # everywhere: asyncio's pure-Python Task resumes a coroutine with an exception
            # from inside an except block of its own, so everything that runs in that step
            # sees it as "being handled". One more step of the loop, and it is gone.
            await asyncio.sleep(0)
            raise outcome
        return outcome

    async def _exchange(
        self, url: str, request: HttpRequest, headers: SecretHeaders, timeout: aiohttp.ClientTimeout
    ) -> HttpResponse | ConnectSafelyError:
        """The answer, or the error to raise for aiohttp's exception (returned, not raised)."""
        session = self._get_session()
        try:
            async with session.request(
                request.method,
                url,
                data=request.body,
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                body = await self._read_body(response)
                return HttpResponse(response.status, response.headers, body)
        except asyncio.TimeoutError:
            return APITimeoutError(f"no complete answer within {timeout.total:g}s")
        except aiohttp.ClientConnectorError as exc:
            # No connection was made, so not a byte of the request left: safe to send again
            # even for an action (a message), which nothing else is.
            return RequestNotSentError(_describe(exc))
        except aiohttp.ClientError as exc:
            # In our words: aiohttp's class names mean nothing to the person reading this.
            return APIConnectionError(_describe(exc))
        except RuntimeError as exc:
            if not session.closed:
                raise
            return ClientClosedError(f"the client was closed during the request ({exc})")

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        """The decoded body, streamed, refused as soon as it passes the size cap.

        The cap holds on the bytes we would keep: aiohttp inflates gzip and deflate bodies
        chunk by chunk as they arrive (and, since 3.13.3, never more than a chunk at a time),
        so a small compressed bomb is stopped after about one chunk past the cap, with or
        without a ``Content-Length`` (which counts the compressed bytes, when there are any).
        """
        limit = self._max_response_bytes
        declared = response.content_length
        if declared is not None and declared > limit and "Content-Encoding" not in response.headers:
            response.close()
            msg = f"the answer is {declared} bytes, over the {limit}-byte cap"
            raise APIConnectionError(msg)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                response.close()
                msg = f"the answer passed the {limit}-byte cap (decoded size) and was dropped"
                raise APIConnectionError(msg)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close the session if we created it; never a borrowed one. Idempotent."""
        self._closed = True
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()


@functools.lru_cache(maxsize=32)
def _client_timeout(total: float) -> aiohttp.ClientTimeout:
    # One per distinct timeout, not one per request: a walk sends every page with the same.
    # ClientTimeout is frozen, so sharing it is safe.
    return aiohttp.ClientTimeout(total=total)


def _describe(exc: aiohttp.ClientError) -> str:
    """One line that never includes request headers (the sender scrubs and shortens it)."""
    if isinstance(exc, aiohttp.ClientResponseError):
        # With redirects and raise_for_status off, only the parser raises it: its status is
        # its own 400, not the server's.
        text = f"the answer is not valid HTTP ({exc.message})"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        text = f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc})"
    else:
        text = str(exc) or "connection failed"
    return " ".join(text.split())
