"""What one hostile page costs the client: peak RSS growth and the longest event-loop block.

    python -m benchmarks.hostile_page                    # every case at the default cap
    python -m benchmarks.hostile_page --cases '{}' '[]'  # some of them
    python -m benchmarks.hostile_page --cap 4194304      # another max_response_bytes

Each case runs in two fresh processes: a small aiohttp server on 127.0.0.1 that answers
every request with the case's body (built up to the cap), and a client that walks it with
``AsyncConnectSafely.iter_visitors(max_visitors=10)``. The client warms up first (imports,
the converter, a small page of the same shape through the parser), then resets the kernel's
peak-RSS mark (``/proc/self/clear_refs``) and reads its RSS; the figure is ``VmHWM`` after
the walk minus that baseline. The client's address space is limited (``--limit-mb``): a
case that would need more dies of ``MemoryError`` instead of taking the machine. A ticker
task sleeping 5 ms at a time records how late it wakes: the longest lateness is the longest
time the page kept the event loop blocked.

The shapes are the worst found for their kind: visitors that are each the smallest value
of a JSON type, many short keys, arrays nested to the depth limit, strings of 10 MB and
strings made of escapes; and the legitimate extremes (thousands of real visitors, a 10 MB
name) which must still parse.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Final

from benchmarks.proc import status_kb

DEFAULT_CAP: Final = 16 * 1024 * 1024
_HEAD: Final = b'{"success":true,"hasMore":false,"visitors":['
_TAIL: Final = b"]}"
_TICK: Final = 0.005


def _repeat(item: bytes, cap: int) -> bytes:
    """A visitors answer whose array holds ``item`` as many times as fit in ``cap`` bytes."""
    room = cap - len(_HEAD) - len(_TAIL)
    times = max(1, (room + 1) // (len(item) + 1))
    return _HEAD + b",".join([item] * times) + _TAIL


def _one_visitor(fields: bytes) -> bytes:
    return _HEAD + b"{" + fields + b"}" + _TAIL


def _string_of(unit: bytes, cap: int, *, prefix: bytes = b"") -> bytes:
    """One visitor whose name is ``unit`` repeated to fill the cap (escapes stay escapes)."""
    room = cap - len(_one_visitor(b'"name":""')) - len(prefix)
    return _one_visitor(b'"name":"' + prefix + unit * (room // len(unit)) + b'"')


def _short_keys(cap: int, *, most: int | None = None) -> bytes:
    # Distinct keys: a decoder cannot share one string object between them.
    room, parts, size, index = cap - 64, [], 0, 0
    while size < room and (most is None or index < most):
        part = b'"%x":0' % index
        parts.append(part)
        size += len(part) + 1
        index += 1
    return _one_visitor(b",".join(parts[:-1]))


def _nested(cap: int) -> bytes:
    # 62 levels in each item: with the answer object and the visitors array, 64 in all.
    return _repeat(b"[" * 62 + b"]" * 62, cap)


def _real_visitors(cap: int) -> bytes:
    from connectsafely_async.testing import make_visitors

    records = make_visitors(1000)
    one = len(json.dumps(records).encode()) / 1000
    n = min(int((cap - 200) / one), 50_000)
    body = json.dumps(
        {"success": True, "hasMore": False, "visitors": make_visitors(n)}, separators=(",", ":")
    ).encode()
    while len(body) > cap:
        n = int(n * 0.98)
        body = json.dumps(
            {"success": True, "hasMore": False, "visitors": make_visitors(n)},
            separators=(",", ":"),
        ).encode()
    return body


def _at_bound(item: bytes, last: bytes = b"") -> Callable[[int], bytes]:
    """As many ``item`` as the bound on values lets through (then ``last``), whatever the cap.

    Each item costs its ``,``, ``:`` and brackets (weighted as the bound weighs them); the
    old code has no bound, and gets the same body.
    """
    import connectsafely_async._json as decoding

    bound: int = getattr(decoding, "MAX_VALUES", 1_000_000)
    weight: int = getattr(decoding, "CONTAINER_WEIGHT", 8)
    per_item = 1 + item.count(b":") + item.count(b",")
    per_item += weight * (item.count(b"{") + item.count(b"["))

    def build(cap: int) -> bytes:
        items = [item] * ((bound - 40) // per_item - 1)
        if last:
            items.append(last)
        body = _HEAD + b",".join(items) + _TAIL
        assert len(body) <= cap, "the cap is smaller than the bound's worst page"
        return body

    return build


CASES: Final[dict[str, Callable[[int], bytes]]] = {
    "{}": lambda cap: _repeat(b"{}", cap),
    "[]": lambda cap: _repeat(b"[]", cap),
    "0": lambda cap: _repeat(b"0", cap),
    "1.5": lambda cap: _repeat(b"1.5", cap),
    '""': lambda cap: _repeat(b'""', cap),
    "null": lambda cap: _repeat(b"null", cap),
    '{"a":0}': lambda cap: _repeat(b'{"a":0}', cap),
    "short keys": _short_keys,
    "nested 64": _nested,
    "escapes \\u00e9": lambda cap: _string_of(b"\\u00e9", cap),
    "escapes \\n": lambda cap: _string_of(b"\\n", cap),
    # ASCII spelled as escapes: what the key's scrub must look through.
    "escapes \\u0073": lambda cap: _string_of(b"\\u0073", cap),
    "surrogate pairs": lambda cap: _string_of(b"\\ud83d\\ude00", cap),
    "10 MB name": lambda cap: _string_of(b"x", min(cap, 10_000_000 + 100)),
    "cap-size name, wide": lambda cap: _string_of(b"x", cap, prefix="😀".encode()),
    "commas in a name": lambda cap: _string_of(b",", cap),
    "real visitors": _real_visitors,
    # Under the bound: the most work a page that is let through can cause.
    "bound: {}": _at_bound(b"{}"),
    "bound: []": _at_bound(b"[]"),
    'bound: {"a":0}': _at_bound(b'{"a":0}'),
    "bound: {} then 0": _at_bound(b"{}", b"0"),
    "bound: 1.5": _at_bound(b"1.5"),
    'bound: "ab"': _at_bound(b'"ab"'),
    "bound: short keys": lambda cap: _short_keys(cap, most=(1_000_000 - 40) // 2),
    "bound: {} then \\ud800": _at_bound(b"{}", b'{"name":"\\ud800"}'),
}


# -- the server -------------------------------------------------------------------------------


async def _serve(case: str, cap: int) -> None:
    from aiohttp import web

    body = CASES[case](cap)
    assert len(body) <= cap, (case, len(body))

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/linkedin/profile/visitors", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"http://127.0.0.1:{port} {len(body)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


# -- the client -------------------------------------------------------------------------------


def _warm_up() -> None:
    # The first parse of each kind imports orjson, cattrs and builds the converter: not
    # the page's cost. Small pages take each path once: the fast one, the detailed one
    # for an odd page, and the detailed error.
    from connectsafely_async import ConnectSafelyError
    from connectsafely_async._protocol import HttpResponse
    from connectsafely_async._protocol.visitors import parse_visitors_page

    for item in (b"{}", b'{"name":"\\ud800"}', b"0"):
        response = HttpResponse(200, {"Content-Type": "application/json"}, _repeat(item, 4096))
        with contextlib.suppress(ConnectSafelyError):
            parse_visitors_page(response)


async def _walk(url: str, cap: int) -> dict[str, Any]:
    from connectsafely_async import AsyncConnectSafely, ConnectSafelyError

    longest = 0.0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal longest
        loop = asyncio.get_running_loop()
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(_TICK)
            longest = max(longest, loop.time() - before - _TICK)

    outcome = ""
    async with AsyncConnectSafely(
        api_key="sk_bench", base_url=url, rate_limits=None, max_retries=0,
        max_response_bytes=cap, timeout=600,
    ) as client:
        ticker = asyncio.create_task(tick())
        await asyncio.sleep(_TICK * 2)
        began = time.perf_counter()
        try:
            count = sum([1 async for _ in client.iter_visitors(max_visitors=10)])
            outcome = f"{count} visitors"
        except ConnectSafelyError as error:
            outcome = f"{type(error).__name__}: {str(error)[:60]}"
        seconds = time.perf_counter() - began
        done.set()
        await ticker
    return {"outcome": outcome, "seconds": seconds, "blocked": longest}


def _client(case: str, url: str, cap: int, limit_mb: int) -> None:
    # A shared machine: a case that would take gigabytes stops at the limit (MemoryError).
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb * 2**20, resource.RLIM_INFINITY))
    _warm_up()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the peak-RSS mark starts again from here
    baseline = status_kb("VmRSS")
    result = asyncio.run(_walk(url, cap))
    result["rss_mb"] = (status_kb("VmHWM") - baseline) / 1024
    print(json.dumps(result), flush=True)


# -- the parent -------------------------------------------------------------------------------


def run_case(case: str, cap: int, *, limit_mb: int, timeout: float) -> dict[str, Any]:
    """Serve ``case`` and walk it, each in a fresh process; the client's figures."""
    me = [sys.executable, "-m", "benchmarks.hostile_page"]
    with subprocess.Popen(
        [*me, "--serve", case, "--cap", str(cap)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as server:
        assert server.stdout is not None
        assert server.stdin is not None
        url, size = server.stdout.readline().split()
        try:
            done = subprocess.run(
                [*me, "--client", case, "--url", url, "--cap", str(cap),
                 "--limit-mb", str(limit_mb)],
                capture_output=True, text=True, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired:
            return {"outcome": f"no answer within {timeout:.0f} s", "bytes": int(size),
                    "rss_mb": float("nan"), "blocked": float("nan"), "seconds": float("nan")}
        finally:
            server.stdin.close()
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"outcome": f"client died: {last[:70]}",
                "bytes": int(size), "rss_mb": float("nan"), "blocked": float("nan"),
                "seconds": float("nan")}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["bytes"] = int(size)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cap", type=int, default=DEFAULT_CAP)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--limit-mb", type=int, default=4096,
                        help="the client's address-space limit (default 4096)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds a case may take (default 300)")
    parser.add_argument("--serve", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(args.serve, args.cap))
        return 0
    if args.client:
        _client(args.client, args.url, args.cap, args.limit_mb)
        return 0
    limit = 8 * args.cap / 2**20 + 50
    print(f"cap {args.cap} bytes; targets: RSS growth <= {limit:.0f} MB, loop blocked <= 1 s")
    print(f"| {'case':<20} | {'body bytes':>10} | {'RSS growth':>10} | {'blocked':>8} "
          f"| {'wall':>7} | outcome")
    print(f"|{'-' * 22}|{'-' * 12}|{'-' * 12}|{'-' * 10}|{'-' * 9}|---------")
    for case in args.cases:
        r = run_case(case, args.cap, limit_mb=args.limit_mb, timeout=args.timeout)
        print(f"| {case:<20} | {r['bytes']:>10} | {r['rss_mb']:>7.0f} MB | "
              f"{r['blocked']:>6.2f} s | {r['seconds']:>5.2f} s | {r['outcome']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
