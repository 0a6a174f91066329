"""``connectsafely watch`` and ``connectsafely history``: the visitor history from the shell.

::

    connectsafely watch --db FILE|URL [--demo] [--account ID ...] [--time-range R] [--max N]
                        [--count N] [--format table|json|ndjson|csv | --json] [--output FILE]
    connectsafely history --db FILE|URL [--account ID ...] [--since DATE] [--until DATE]
                          [--no-anonymous] [--format ...] [--output FILE]

``watch`` syncs each account into the store and prints the visitors that are new since the
last run: every "new visitor" event not yet acknowledged, so a run that crashed before
printing them shows them again. They are acknowledged only after the output was written
completely. A summary per account goes to stderr (not with ``--quiet``). With ``--demo``
the embedded fake serves visitors that move on with a clock kept in the store: each run is
one day later, so two runs show something new (``--demo-clock`` sets the moment instead).
``--db`` is a file (SQLite) or a ``postgresql://`` URL; without it, ``$CONNECTSAFELY_HISTORY_URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, Final

from ._cli_args import at_least, moment, until
from ._cli_common import open_client, report
from ._cli_output import (
    Layout,
    add_output_options,
    format_for_path,
    make_writer,
    printable,
)
from ._cli_sink import open_output
from ._client import AsyncConnectSafely
from ._display import RECORD_FIELDS, visitor_record
from ._errors import ConfigurationError
from .history import (
    ENV_HISTORY_URL,
    HISTORY_FIELDS,
    PostgresStore,
    SQLiteStore,
    StoreUnavailableError,
    SyncResult,
    VisitorEvent,
    open_store,
)

__all__ = [
    "COMMANDS", "EVENTS", "HISTORY", "add_parsers", "demo_client", "output_format",
    "store_named",
]

#: What ``watch`` shows of each event: new or returning, who, and when (an estimate).
EVENTS: Final = Layout(
    columns=(("event", "event", 9), ("name", "name", 28), ("headline", "headline", 36),
             ("connection_degree", "degree", 6),
             ("estimated_viewed_at", "viewed (UTC, est.)", 18), ("visits", "visits", 6)),
    fields=("event", "visits", "account_id", *RECORD_FIELDS, "viewed_after", "viewed_before",
            "first_seen_at", "event_id"),
)
#: What ``history`` shows of each view: whose account, who, when (an estimate), how often.
HISTORY: Final = Layout(
    columns=(("name", "name", 26), ("headline", "headline", 32),
             ("estimated_viewed_at", "viewed (UTC, est.)", 18), ("visits", "visits", 6)),
    fields=HISTORY_FIELDS,
    noun="view(s)",
)

_Store = SQLiteStore | PostgresStore

_DEMO_META: Final = "demo_clock"
# The demo's first day: a fixed moment, so the first run always shows the same list.
_DEMO_EPOCH: Final = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc).timestamp()
_DAY: Final = 86400.0
_DEMO_ACCOUNT: Final = "696ce9e780e0483585e4e553"


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``watch`` and ``history`` on the ``connectsafely`` parser."""
    watch = commands.add_parser(
        "watch", parents=[common], help="who is new since the last run",
        description="Sync the visitors into a history file and show who is new since the "
                    "last run (each new visitor once, after it was shown in full).")
    watch.add_argument("--db", default=None, metavar="FILE|URL",
                       help="the history: an SQLite file (created on first use) or a "
                            f"postgresql:// URL (default: ${ENV_HISTORY_URL})")
    watch.add_argument("--time-range", default=None, metavar="RANGE",
                       help="the service's time range (default past_90_days)")
    watch.add_argument("--max", type=at_least(1), default=None, dest="max_visitors",
                       metavar="N", help="stop after N visitors per account (default: all)")
    watch.add_argument("--count", type=at_least(1), default=None, metavar="N",
                       help="page size (default 20)")
    watch.add_argument("--demo-clock", type=moment, default=None, metavar="WHEN",
                       help="with --demo: the fake's moment (ISO-8601); default: one day "
                            "after the previous demo run on this file")
    add_output_options(watch)

    history = commands.add_parser(
        "history", help="the stored visitor history",
        description="Print every view recorded in a history file, newest first. View times "
                    "are estimates read from the service's 'Viewed 2d ago' text.")
    history.add_argument("--db", default=None, metavar="FILE|URL",
                         help="the history file or postgresql:// URL "
                              f"(default: ${ENV_HISTORY_URL})")
    history.add_argument("--account", action="append", default=[], metavar="ID",
                         help="only this account (repeatable)")
    history.add_argument("--since", type=moment, default=None, metavar="DATE",
                         help="views estimated at or after DATE (YYYY-MM-DD or ISO-8601, UTC)")
    history.add_argument("--until", type=until, default=None, metavar="DATE",
                         help="views estimated before the end of DATE (or before an "
                              "ISO-8601 moment)")
    history.add_argument("--no-anonymous", action="store_true",
                         help="leave out the anonymous sightings")
    add_output_options(history)


# -- connectsafely watch ---------------------------------------------------------------------


async def _watch(args: argparse.Namespace) -> int:

    fmt = output_format(args)
    accounts: list[str | None] = list(dict.fromkeys(args.account)) or [None]
    async with store_named(args) as store:
        clock = await _demo_clock(args, store) if args.demo else None
        async with demo_client(args, clock) as client:
            results = await _sync(client, store, accounts, args, clock)
            # The account each sync recorded under: named, else the client's default (from
            # $CONNECTSAFELY_ACCOUNT_ID), else the workspace's, which the store resolves.
            names = [account or client.account_id or "" for account in accounts]
        code = 0
        for account, result in results.items():
            if not args.quiet:
                print(printable(_summary(account, result)), file=sys.stderr)  # noqa: T201
            if result.error is not None:
                code = code or report(result.error, account=account or None)
        events = await _all_pending(store, names)
        with open_output(args.output) as out:
            writer = make_writer(fmt, out, multi_account=len(accounts) > 1,
                                 pretty=out.isatty(), layout=EVENTS)
            try:
                for event in events:
                    writer.write(_event_record(event))
            finally:
                writer.close()
        # Only now, with every record written and flushed: a crash before this line shows
        # the same visitors again next time (at least once), never loses them.
        await store.ack(*(event.id for event in events))
    return code


async def _sync(
    client: AsyncConnectSafely,
    store: _Store,
    accounts: Sequence[str | None],
    args: argparse.Namespace,
    clock: float | None,
) -> dict[str | None, SyncResult]:
    options: dict[str, Any] = {
        "time_range": args.time_range, "max_visitors": args.max_visitors, "count": args.count,
        "clock": None if clock is None else (lambda: clock),
    }
    if len(accounts) == 1:
        return {accounts[0]: await client.sync_visitors(store, account_id=accounts[0],
                                                        **options)}
    many = await client.sync_visitors_many(store, [a for a in accounts if a], **options)
    return dict(many.items())


async def _all_pending(store: _Store, accounts: Sequence[str]) -> list[VisitorEvent]:
    events: list[VisitorEvent] = []
    for account in accounts:
        after = 0
        while chunk := await store.pending_events(account_id=account, after=after, limit=500):
            events.extend(chunk)
            after = chunk[-1].id
    return events


def _event_record(event: VisitorEvent) -> dict[str, Any]:
    seen = event.visitor
    record: dict[str, Any] = {"event": "returning" if event.is_returning else "new",
                              "visits": event.visits, "account_id": seen.account_id or None,
                              **visitor_record(seen.visitor)}
    record.update(
        estimated_viewed_at=_iso(seen.estimated_viewed_at),
        viewed_after=_iso(seen.viewed_after),
        viewed_before=_iso(seen.viewed_before),
        first_seen_at=_iso(seen.first_seen_at),
        event_id=event.id,
    )
    return record


def _summary(account: str | None, result: SyncResult) -> str:
    # The id the store recorded under (learned from the service for the default account).
    who = account or result.account_id or "default account"
    state = "resumed, " if result.resumed else ""
    failed = f", stopped early: {result.error}" if result.error is not None else ""
    return (f"{who}: {state}{len(result.new)} new, {len(result.returning)} returning, "
            f"{result.unchanged} unchanged, {len(result.anonymous)} anonymous{failed}")


async def _demo_clock(args: argparse.Namespace, store: _Store) -> float:
    """The demo's moment: ``--demo-clock``, else one day after the last demo run's."""
    if args.demo_clock is not None:
        moment = float(args.demo_clock.timestamp())
    else:
        previous = await store.meta(_DEMO_META)
        moment = _DEMO_EPOCH if previous is None else float(previous) + _DAY
    await store.set_meta(_DEMO_META, repr(moment))
    return moment


@asynccontextmanager
async def demo_client(
    args: argparse.Namespace, clock: float | None
) -> AsyncIterator[AsyncConnectSafely]:
    """The real client, or with ``--demo`` one on a fake serving the visitors of ``clock``."""

    if clock is None:
        async with open_client(args) as client:
            yield client
        return
    from .testing import FakeConnectSafely, visitors_at

    accounts = dict.fromkeys(args.account or [_DEMO_ACCOUNT], 0)
    async with FakeConnectSafely(accounts=accounts, latency=args.demo_latency) as fake, \
            AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                               rate_limits=None) as client:
        for account in accounts:
            fake.set_visitors(account, visitors_at(clock, account_id=account))
        yield client


# -- connectsafely history -------------------------------------------------------------------


async def _history(args: argparse.Namespace) -> int:
    store = store_named(args)
    if isinstance(store, SQLiteStore) and not store.path.exists():
        msg = f"{store.path} does not exist (connectsafely watch --db {store.path} creates it)"
        raise StoreUnavailableError(msg)
    fmt = output_format(args)
    async with store:
        accounts: list[str | None] = list(dict.fromkeys(args.account)) or [None]
        records: list[dict[str, Any]] = []
        for account in accounts:
            records += await store.history(account_id=account, since=args.since,
                                           until=args.until,
                                           include_anonymous=not args.no_anonymous)
    if len(accounts) > 1:  # each account's views came newest first: so do all of them
        records.sort(key=lambda r: r["estimated_viewed_at"] or "", reverse=True)
    with open_output(args.output) as out:
        writer = make_writer(fmt, out, multi_account=True, pretty=out.isatty(), layout=HISTORY)
        try:
            for record in records:
                writer.write(record)
        finally:
            writer.close()
    return 0


def store_named(args: argparse.Namespace) -> _Store:
    """The store ``--db`` (or ``$CONNECTSAFELY_HISTORY_URL``) names, not yet opened.

    Raises:
        ConfigurationError: neither names one, or what it names is no store's URL (said in
            options, not ``open_store``'s terms).
    """
    if args.db is None and not os.environ.get(ENV_HISTORY_URL):
        msg = f"no history named: pass --db FILE|URL or set {ENV_HISTORY_URL}"
        raise ConfigurationError(msg)
    try:
        return open_store(args.db)
    except ValueError as exc:  # a URL no store reads (ConfigurationError is one too)
        msg = f"--db is not usable: {exc}"
        raise ConfigurationError(msg) from None


def output_format(args: argparse.Namespace) -> str:
    interactive = args.output is None and sys.stdout.isatty()
    return str(args.format or (
        format_for_path(args.output) if args.output else ("table" if interactive else "ndjson")
    ))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


#: Subcommand name -> its coroutine, for ``_cli.main``.
COMMANDS: Final[dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]]] = {
    "watch": _watch,
    "history": _history,
}
