"""A hostile HTTP server on 127.0.0.1: it answers every request with scripted raw bytes.

The fake service (``connectsafely_async.testing``) behaves like the real one and misbehaves
on cue, but always speaks correct HTTP through aiohttp. This one writes the bytes itself, so
a test can send what no well-behaved server would: a compression bomb, a body nested ten
thousand levels deep, headers trickled one byte at a time.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Callable, Mapping
from typing import Final

import attrs

__all__ = ["Answer", "HostileServer", "bomb", "page_body"]

_REASONS: Final = {200: "OK", 301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect"}


@attrs.frozen(kw_only=True)
class Answer:
    """What to send back, byte for byte.

    Args:
        status: the status code.
        headers: headers as sent (no Content-Length is added when ``chunked``).
        body: the raw body (already compressed, when ``Content-Encoding`` says so).
        chunked: send the body with ``Transfer-Encoding: chunked`` and no length.
        trickle: seconds to wait between bytes of the status line and headers.
        raw: bytes to send instead of a response built from the fields above.
    """

    status: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    chunked: bool = False
    trickle: float = 0.0
    raw: bytes | None = None

    def head(self) -> bytes:
        lines = [f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Status')}"]
        headers = {"Content-Type": "application/json", "Connection": "close", **self.headers}
        if self.chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers.setdefault("Content-Length", str(len(self.body)))
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def framed_body(self) -> bytes:
        if not self.chunked:
            return self.body
        size = 64 * 1024
        parts = [
            b"%x\r\n%s\r\n" % (len(self.body[i : i + size]), self.body[i : i + size])
            for i in range(0, len(self.body), size)
        ]
        return b"".join(parts) + b"0\r\n\r\n"


class HostileServer:
    """Answers each request with ``answer(request_body)``; counts requests and their heads."""

    def __init__(self, answer: Answer | Callable[[bytes], Answer]) -> None:
        self._answer = answer
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> HostileServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")),
                0,
            )
            body = await reader.readexactly(length)
            self.requests.append(head + body)
            answer = self._answer(body) if callable(self._answer) else self._answer
            if answer.raw is not None:
                writer.write(answer.raw)
            elif answer.trickle:
                for byte in answer.head():
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(answer.trickle)
            else:
                writer.write(answer.head())
            if answer.raw is None:
                writer.write(answer.framed_body())
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: what a client that refuses an answer does
        finally:
            writer.close()


def bomb(size: int, *, encoding: str = "gzip") -> bytes:
    """``size`` zero bytes, compressed as ``encoding`` ("gzip" or "deflate"): about 1/1000."""
    wbits = 31 if encoding == "gzip" else 15  # gzip framing, or zlib (HTTP's "deflate")
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def page_body(visitors: int = 1, **extra: object) -> bytes:
    """A well-formed visitors answer with ``visitors`` named visitors."""
    body = {
        "success": True,
        "visitors": [
            {"entityUrn": f"urn:li:fsd_profile:A{i}", "name": f"Visitor {i}",
             "viewedAt": "Viewed 1h ago"}
            for i in range(visitors)
        ],
        "hasMore": False,
        **extra,
    }
    return json.dumps(body).encode()
