"""Turning a :class:`Reply` or a :class:`Fault` into bytes on the wire (the aiohttp side).

Every function here may find the client gone mid-answer; that is the point of a fault, not
an error, so connection errors are swallowed here and nowhere else.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Mapping
from typing import Final

from aiohttp import web

from ._faults import NORMAL_BODY, Fault
from ._visitors import Reply

__all__ = ["deliver_fault", "dumps", "encode_json", "json_response"]

_DRIP_BYTES: Final = 8
_readable: Final = functools.partial(json.dumps, ensure_ascii=False)


def dumps(body: object) -> str:
    """*body* as JSON text: readable UTF-8, or with ``\\u`` escapes when a string holds
    what UTF-8 cannot carry (a lone surrogate), as a JSON encoder on the service would."""
    text = _readable(body)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(body)
    return text


def encode_json(body: object) -> bytes:
    """Serialise *body* exactly as :func:`json_response` does."""
    return dumps(body).encode()


def json_response(reply: Reply, headers: Mapping[str, str]) -> web.Response:
    """A complete JSON response for *reply*, with *headers* added."""
    return web.json_response(
        reply.body, status=reply.status, headers={**headers, **reply.headers}, dumps=dumps
    )


async def deliver_fault(
    request: web.Request, fault: Fault, normal: Reply, headers: Mapping[str, str]
) -> web.StreamResponse:
    """Answer *request* the way *fault* scripts it.

    Args:
        request: the request being answered.
        fault: the scripted misbehaviour.
        normal: the answer the request would get without a fault.
        headers: headers every answer carries (request id, rate limits).
    """
    headers = {**headers, **normal.headers, **fault.headers}
    if fault.kind == "close_idle":
        return await _close_when_idle(request, fault, normal, headers)
    if fault.kind == "drip":
        return await _drip(request, fault, normal, headers)
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.kind == "reset":
        if request.transport is not None:
            request.transport.abort()
        # Never written: the connection is gone, and aiohttp drops the answer quietly.
        return web.Response(status=500)
    if fault.kind == "truncate":
        return await _truncate(request, normal, headers)

    if fault.serves_normal_body:
        return json_response(normal, headers)
    return _scripted(fault, headers)


async def _close_when_idle(
    request: web.Request, fault: Fault, normal: Reply, headers: dict[str, str]
) -> web.StreamResponse:
    # Send the whole answer first (keep-alive, no "Connection: close"), then cut the idle
    # connection from the server side, as an expiring keep-alive timer would.
    response = json_response(normal, headers)
    await response.prepare(request)
    await response.write_eof()
    transport = request.transport
    if transport is not None:
        asyncio.get_running_loop().call_later(fault.delay, transport.close)
    return response


def _scripted(fault: Fault, headers: dict[str, str]) -> web.Response:
    # A scripted body (text wins over json), or none at all, e.g. for a redirect.
    if fault.text is not None:
        body = fault.text.encode()
        content_type = fault.content_type or "text/plain; charset=utf-8"
    elif fault.json is not NORMAL_BODY:
        body = encode_json(fault.json)
        content_type = fault.content_type or "application/json; charset=utf-8"
    else:
        return web.Response(status=fault.status, headers=headers)
    return web.Response(
        status=fault.status, body=body, headers={**headers, "Content-Type": content_type}
    )


async def _drip(
    request: web.Request, fault: Fault, normal: Reply, headers: dict[str, str]
) -> web.StreamResponse:
    body = encode_json(normal.body)
    response = _json_stream(normal.status, headers, content_length=len(body))
    try:
        await response.prepare(request)
        await response.write(body[:_DRIP_BYTES])
        await asyncio.sleep(fault.delay)
        await response.write(body[_DRIP_BYTES:])
        await response.write_eof()
    except ConnectionError:
        pass  # the client gave up waiting, as a client with a read timeout should
    return response


async def _truncate(
    request: web.Request, normal: Reply, headers: dict[str, str]
) -> web.StreamResponse:
    body = encode_json(normal.body)
    response = _json_stream(normal.status, headers, content_length=len(body) + 64)
    try:
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
    except ConnectionError:
        pass  # already gone: nothing left to cut
    if request.transport is not None:
        # close(), not abort(): flush the half body first, then end the stream early.
        request.transport.close()
    return response


def _json_stream(
    status: int, headers: dict[str, str], *, content_length: int
) -> web.StreamResponse:
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = "application/json"
    response.charset = "utf-8"
    response.content_length = content_length
    return response
