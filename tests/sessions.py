"""What a client leaves behind, seen from outside: the aiohttp sessions still open."""

from __future__ import annotations

import gc

import aiohttp


def open_sessions() -> set[aiohttp.ClientSession]:
    """Every aiohttp session of this process that is not closed (after a full collection)."""
    gc.collect()
    return {
        thing for thing in gc.get_objects()
        if isinstance(thing, aiohttp.ClientSession) and not thing.closed
    }
