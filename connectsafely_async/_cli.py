"""The ``connectsafely`` command line: ``connectsafely visitors [--demo] [--json]``.

``--demo`` starts the in-package fake service on 127.0.0.1 and fetches from it through the
real client over HTTP, so the main job runs on a fresh machine with no key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TextIO

from ._client import AsyncConnectSafely
from ._converters import converter
from ._errors import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    ConnectSafelyError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
)
from ._models import TimeRange, Visitor

__all__ = ["EXIT_CODES", "main"]

# One exit code per error class, most specific first; 2 is argparse's usage error.
EXIT_CODES: tuple[tuple[type[ConnectSafelyError], int, str], ...] = (
    (ConfigurationError, 3, "check CONNECTSAFELY_API_KEY and CONNECTSAFELY_BASE_URL"),
    (AuthenticationError, 4, "the API key was refused: check CONNECTSAFELY_API_KEY"),
    (PermissionDeniedError, 5, "LinkedIn Premium (or an active subscription) is required"),
    (NotFoundError, 6, "check the account id (--account)"),
    (RateLimitError, 7, "rate limited: try again later"),
    (APIConnectionError, 8, "could not reach the service: check the network"),
    (InternalServerError, 9, "the service failed: try again later"),
    (ResponseValidationError, 10, "the service answered with something unexpected"),
    (ConnectSafelyError, 1, ""),
)
_TABLE_COLUMNS = (("name", 28), ("headline", 44), ("connection_degree", 6), ("viewed_at", 16))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connectsafely", description="The ConnectSafely LinkedIn API from the shell."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    visitors = commands.add_parser("visitors", help="who viewed the profile")
    visitors.add_argument("--demo", action="store_true",
                          help="use the embedded fake service (no key needed)")
    visitors.add_argument("--json", action="store_true", help="one JSON object per line")
    visitors.add_argument("--max", type=int, default=None, dest="max_visitors",
                          help="stop after this many visitors (default: all)")
    visitors.add_argument("--count", type=int, default=20, help="page size (default 20)")
    visitors.add_argument("--start", type=int, default=0, help="offset to start at")
    visitors.add_argument("--time-range", default=None,
                          help=f"one of {', '.join(t.value for t in TimeRange)} (or any string)")
    visitors.add_argument("--account", default=None, help="the LinkedIn account id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(_visitors(args, sys.stdout))
    except KeyboardInterrupt:
        return 130
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConnectSafelyError):
            return _report(exc)
        print(f"connectsafely: error: {exc}", file=sys.stderr)
        return 2
    except ConnectSafelyError as exc:
        return _report(exc)


def _report(error: ConnectSafelyError) -> int:
    for cls, code, advice in EXIT_CODES:
        if isinstance(error, cls):
            hint = f" ({advice})" if advice else ""
            print(f"connectsafely: {error}{hint}", file=sys.stderr)
            return code
    raise AssertionError  # EXIT_CODES ends with the root class


@asynccontextmanager
async def _client(demo: bool) -> AsyncIterator[AsyncConnectSafely]:
    if not demo:
        async with AsyncConnectSafely() as client:
            yield client
        return
    from .testing import FakeConnectSafely  # only the demo needs the server side

    async with FakeConnectSafely() as fake, AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url
    ) as client:
        yield client


async def _visitors(args: argparse.Namespace, out: TextIO) -> int:
    async with _client(args.demo) as client:
        visitors = client.iter_visitors(
            max_visitors=args.max_visitors,
            count=args.count,
            start=args.start,
            time_range=args.time_range,
            account_id=args.account,
        )
        if args.json:
            async for visitor in visitors:
                out.write(json.dumps(_record(visitor), ensure_ascii=False) + "\n")
        else:
            rows = [visitor async for visitor in visitors]
            out.write(_table(rows))
    out.flush()
    return 0


def _record(visitor: Visitor) -> dict[str, object]:
    record: dict[str, object] = converter.unstructure(visitor)
    record["isAnonymous"] = visitor.is_anonymous
    return record


def _table(visitors: Sequence[Visitor]) -> str:
    def cell(text: str | None, width: int) -> str:
        text = " ".join((text or "").split())
        return text if len(text) <= width else text[: width - 1] + "…"

    header = "  ".join(name.replace("connection_degree", "degree").ljust(width)
                       for name, width in _TABLE_COLUMNS)
    lines = [header.rstrip(), "-" * len(header)]
    for visitor in visitors:
        values = [cell(getattr(visitor, name), width).ljust(width)
                  for name, width in _TABLE_COLUMNS]
        if visitor.is_anonymous:
            values[0] = cell(f"{visitor.name or 'LinkedIn Member'} (anonymous)", 28).ljust(28)
        lines.append("  ".join(values).rstrip())
    lines.append(f"{len(visitors)} visitor(s)")
    return "\n".join(lines) + "\n"
