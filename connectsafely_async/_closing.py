"""``with`` and ``async with`` for anything that closes: enter gives it back, exit closes it."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["AsyncClosing", "Closing"]

T = TypeVar("T")


class Closing:
    """``with obj:`` calls ``obj.close()`` at the end, however the block ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class AsyncClosing:
    """``async with obj:`` awaits ``obj.aclose()`` at the end, however the block ends."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
