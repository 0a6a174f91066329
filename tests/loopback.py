"""A raw TCP server on 127.0.0.1 for the tests that speak a protocol badly on purpose.

Subclasses say what to answer (``serve``); this starts the server on a free port, gives its
address, and stops it, closing every connection it was handed.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

__all__ = ["LoopbackServer"]

Server = TypeVar("Server", bound="LoopbackServer")


class LoopbackServer:
    """``async with`` it: :attr:`port` is where it listens, until the block ends."""

    port = 0

    async def __aenter__(self: Server) -> Server:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self.serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up
        finally:
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one connection."""
        raise NotImplementedError
