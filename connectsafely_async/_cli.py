"""The ``connectsafely`` command line (also ``python -m connectsafely_async``).

::

    connectsafely visitors [--demo] [--max N] [--count N] [--start N] [--time-range R]
                           [--account ID ...] [--format table|json|ndjson|csv | --json]
                           [--output FILE] [--quiet]
    connectsafely check [--demo] [--account ID ...]
    connectsafely watch --db FILE ... / connectsafely history --db FILE ...  (_cli_history)
    connectsafely follow-up --db FILE [--send] ...  (_cli_followup)
    connectsafely --version

``--demo`` starts the in-package fake service on 127.0.0.1 and talks to it through the real
client over HTTP, so everything runs on a fresh machine with no key. Output is a table on a
terminal and NDJSON when piped; nothing reaches stdout before the first visitor (a command
that fails first prints only its error). A progress line goes to stderr only when stderr is
a terminal and the output is not piped (the reader of a pipe, ``head`` or ``jq``, usually
prints to that same terminal); it is erased on every way out. ``rich`` (the ``cli`` extra)
makes the table and progress prettier; without it both are plain text.

Exit codes, one per failure class (``EXIT_CODES``), each error one line on stderr saying
what to do; ``--help`` shows the same table:

====  =========================================================================================
0     success
1     an unexpected failure of the SDK itself (please report it)
2     usage: an unknown option, an invalid value (``--max 0``)
3     configuration: no API key, an unusable base URL, no usable history URL (``--db``)
4     authentication (401): the key was refused
5     permission (403): LinkedIn Premium or an active subscription is required
6     not found (404): e.g. an unknown account id
7     rate limited (429), after the retries
8     connection: no answer (refused, DNS, TLS, timeout), after the retries
9     server error (5xx), after the retries
10    unexpected answer: a body that does not fit, or pages that never end
11    bad request (400): the service refused the arguments (e.g. ``--time-range yesterday``)
12    any other HTTP status (a redirect, 405, 409...)
13    history store (``--db``): not a history, corrupt, locked, unreachable, its extra missing
14    output: stdout or ``--output`` cannot be written (a missing folder, a full disk)
15    follow-up: an action's outcome is unknown (it may have gone out: check before resending)
130   interrupted (Ctrl-C); the records already written are complete
====  =========================================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from ._cli_args import at_least, time_range
from ._cli_common import (
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT,
    EXIT_UNKNOWN_OUTCOME,
    EXIT_USAGE,
    open_client,
    report,
)
from ._cli_followup import add_parser as add_follow_up_parser
from ._cli_followup import follow_up
from ._cli_history import COMMANDS as HISTORY_COMMANDS
from ._cli_history import add_parsers as add_history_parsers
from ._cli_notices import notices
from ._cli_output import (
    DeferredWriter,
    Stats,
    add_output_options,
    format_for_path,
    make_progress,
    make_writer,
    printable,
)
from ._cli_sink import OutputError, StreamOutput, open_output
from ._display import visitor_record
from ._errors import (
    ConnectSafelyError,
)
from ._many import AccountVisitors, iter_many
from ._models import TimeRange
from ._version import package_version

__all__ = [
    "EXIT_CODES", "EXIT_INTERRUPTED", "EXIT_OUTPUT", "EXIT_UNKNOWN_OUTCOME", "EXIT_USAGE", "main",
]

_logger = logging.getLogger("connectsafely_async")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: the arguments after the program name (``None``: ``sys.argv[1:]``).

    Returns:
        The exit code: 0, ``EXIT_USAGE``, ``EXIT_OUTPUT``, ``EXIT_INTERRUPTED`` or one of
        ``EXIT_CODES``.
    """
    args = _parser().parse_args(argv)
    command = {"check": _check, "visitors": _visitors, "follow-up": follow_up,
               **HISTORY_COMMANDS}[args.command]
    # visitors has its own progress line (retries, waits); the others say what slows them.
    speak = args.command != "visitors" and not getattr(args, "quiet", False) \
        and sys.stderr.isatty()

    async def run() -> int:
        async with notices(enabled=speak):
            return await command(args)

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        # What was written is already flushed and complete (the writers' finally blocks).
        print("connectsafely: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `connectsafely visitors | head`: the reader left; that is not an error.
        _silence_stdout()
        return 0
    except OutputError as exc:
        print(f"connectsafely: {printable(str(exc))}", file=sys.stderr)
        if exc.on_stdout:
            _silence_stdout()
        return EXIT_OUTPUT
    except ConnectSafelyError as exc:
        return report(exc)
    except (TypeError, ValueError) as exc:
        # An argument the client refuses before any request that argparse let through.
        print(f"connectsafely: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_USAGE


def _silence_stdout() -> None:
    """Point stdout at devnull, so the interpreter's last flush of what could not be written
    does not complain again on the way out."""
    # No real stdout (closed, or replaced by a test's capture): nothing to flush then.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connectsafely", description="The ConnectSafely LinkedIn API from the shell.",
        epilog=exit_code_help(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version",
                        version=f"connectsafely {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--demo", action="store_true",
                        help="use the embedded fake service (no key needed)")
    common.add_argument("--account", action="append", default=[], metavar="ID",
                        help="a LinkedIn account id; repeat for several accounts at once "
                             "(default: $CONNECTSAFELY_ACCOUNT_ID, else the workspace's default)")
    common.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    # The demo's service answers instantly; a delay makes the progress display visible.
    common.add_argument("--demo-latency", type=float, default=0.0, help=argparse.SUPPRESS)

    visitors = commands.add_parser("visitors", parents=[common], help="who viewed the profile",
                                   description="List the people who viewed the profile.")
    visitors.add_argument("--max", type=at_least(1), default=None, dest="max_visitors",
                          metavar="N", help="stop after N visitors per account (default: all)")
    visitors.add_argument("--count", type=at_least(1), default=20, metavar="N",
                          help="page size (default 20)")
    visitors.add_argument("--start", type=at_least(0), default=0, metavar="N",
                          help="offset to start at (default 0)")
    visitors.add_argument("--time-range", type=time_range, default=None, metavar="RANGE",
                          help=f"one of {', '.join(t.value for t in TimeRange)} "
                               "(default: the service's, past_90_days)")
    add_output_options(visitors)

    commands.add_parser("check", parents=[common], help="verify the key and the accounts",
                        description="Verify the API key and show the accounts it reaches.")
    add_history_parsers(commands, common)
    add_follow_up_parser(commands, common)
    for command in commands.choices.values():  # `connectsafely visitors --help` shows it too
        command.epilog = parser.epilog
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def exit_code_help() -> str:
    """The exit-code table of this module's docstring, as ``--help`` shows it."""
    doc = __doc__ or ""
    rows = doc[doc.index("====  ==="):].split("\n")[1:]
    rows = rows[: rows.index(next(row for row in rows if row.startswith("====")))]
    return "exit codes:\n" + "\n".join(f"  {row.replace('``', '')}" for row in rows)


# -- connectsafely visitors ------------------------------------------------------------------


async def _visitors(args: argparse.Namespace) -> int:
    interactive = args.output is None and sys.stdout.isatty()
    # Piped, the reader (head, jq) usually prints to the same terminal as our stderr: a
    # progress line there would be mixed into its output.
    show_progress = (not args.quiet and sys.stderr.isatty()
                     and (args.output is not None or interactive))
    fmt = args.format or (
        format_for_path(args.output) if args.output else ("table" if interactive else "ndjson")
    )
    named: list[str] = list(dict.fromkeys(args.account))
    accounts = named or [""]  # "": the default account, when none is named
    failures: list[tuple[str | None, ConnectSafelyError]] = []

    def failed(result: AccountVisitors) -> None:
        # A failing account (no Premium, unknown id) ends its own walk; the others go on.
        if result.error is not None:
            failures.append((result.account_id or None, result.error))

    async with open_client(args) as client:
        # Every walk is created (and its arguments checked) before output is opened.
        walks = {
            account: client.iter_visitor_pages(
                max_visitors=args.max_visitors, count=args.count, start=args.start,
                time_range=args.time_range, account_id=account if named else None,
            )
            for account in accounts
        }
        started = Stats()
        with open_output(args.output) as out, \
                make_progress(enabled=show_progress) as progress:
            writer = DeferredWriter(lambda: make_writer(
                fmt, out, multi_account=len(accounts) > 1, pretty=interactive))
            complete = False
            try:
                # Every walk at once, pages as they arrive; a small queue applies
                # backpressure, so no walk runs ahead of the writer.
                pages = iter_many(walks.__getitem__, accounts, concurrency=len(accounts),
                                  on_complete=failed)
                async with contextlib.aclosing(pages):
                    async for account, page in pages:
                        if interactive and page.visitors:
                            progress.clear()  # rows and the progress line share the terminal
                        for visitor in page.visitors:
                            writer.write({"account_id": page.account_id or account or None,
                                          **visitor_record(visitor)})
                        # The walks count their own pages, retries and rate-limit waits.
                        stats = Stats(started=started.started)
                        for walk in walks.values():
                            stats.add(walk.stats)
                        progress.update(stats)
                complete = len(failures) < len(accounts)
            finally:
                # Runs on Ctrl-C and errors too: what was written stays complete and valid,
                # and a command that failed before any visitor prints nothing at all.
                progress.stop()
                writer.close(complete=complete)
    code = 0
    for who, error in failures:
        code = code or report(error, account=who)
    return code


# -- connectsafely check ---------------------------------------------------------------------


async def _check(args: argparse.Namespace) -> int:
    """Verify the key, list the accounts it reaches, and probe the ones asked for.

    ``list_accounts`` proves the key; a one-visitor ``get_visitors`` per ``--account`` (or
    for the default account) proves that account and its Premium access.
    """
    probes: list[str | None] = list(dict.fromkeys(args.account)) or [None]
    out = StreamOutput(sys.stdout)  # names in any script, on any stdout (see Output)

    def say(line: str) -> None:
        out.write(printable(line) + "\n")

    async with open_client(args) as client:
        say(f"service:  {client.base_url}")
        accounts = await client.list_accounts()  # a refused key ends the check here
        say(f"key:      accepted, {len(accounts)} account(s) in the workspace")
        for account in accounts:
            name = " ".join(filter(None, (account.first_name, account.last_name)))
            state = "enabled" if account.enabled is not False else "disabled"
            say(f"          {account.id}  {name or '?'}  ({account.status or '?'}, {state})")
        code = 0
        for probe in probes:
            try:
                page = await client.get_visitors(max_visitors=1, account_id=probe)
            except ConnectSafelyError as error:
                say(f"account:  {probe or '(default)'}  FAILED")
                out.flush()  # before the error line on stderr, on a shared terminal
                code = code or report(error, account=probe)
                continue
            limit = page.rate_limit
            quota = (f", {limit.remaining} of {limit.limit} requests left"
                     if limit is not None and limit.remaining is not None else "")
            more = "visitors available" if page.visitors else "no visitors yet"
            say(f"account:  {page.account_id or probe or '(default)'}  ok ({more}{quota})")
        out.flush()
    return code
