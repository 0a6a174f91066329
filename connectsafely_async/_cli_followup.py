"""``connectsafely follow-up``: act on each new or returning visitor, once, within the caps.

::

    connectsafely follow-up --db FILE|URL [--send] [--demo] [--account ID]
                            [--message TEXT] [--note TEXT] [--no-invite]
                            [--messages-per-day N] [--invitations-per-week N] [--pace S]
                            [--format table|json|ndjson|csv | --json] [--output FILE]

Without ``--send`` it only shows what it would send (nothing is sent, nothing acknowledged).
With ``--send``, a ``normal`` message goes to each 1st-degree visitor and an invitation with
the note to the others, each recorded in the history's ledger before its request and settled
after it: nobody is contacted twice, whatever crashes, and the caps (kept in the history,
shared by every run) are never exceeded; what they do not allow waits for a later run. With
``--demo`` it acts on the embedded fake, on a history that ``watch --demo`` filled. Exit 15
when an action's outcome is unknown (it may have gone out: check before sending again).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Final

from ._cli_args import at_least
from ._cli_common import EXIT_UNKNOWN_OUTCOME
from ._cli_history import demo_client, output_format, store_named
from ._cli_output import Layout, add_output_options, make_writer, printable
from ._cli_sink import open_output
from .history import ENV_HISTORY_URL, ActionCaps, FollowUpItem, FollowUpPlan

__all__ = ["FOLLOW_UP", "add_parser", "follow_up"]

_MESSAGE: Final = "Hi {first_name}, thanks for visiting my profile! Good to connect here."
_NOTE: Final = "Hi {first_name}, thanks for viewing my profile. Happy to connect!"

#: What ``follow-up`` shows of each visitor it looked at.
FOLLOW_UP: Final = Layout(
    columns=(("outcome", "outcome", 10), ("action", "action", 10), ("name", "name", 26),
             ("text", "text / reason", 60)),
    fields=("outcome", "action", "account_id", "name", "public_identifier", "entity_urn",
            "connection_degree", "text", "reason"),
    noun="visitor(s)",
)


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Register ``follow-up`` on the ``connectsafely`` parser."""
    parser = commands.add_parser(
        "follow-up", parents=[common], help="message or invite each new visitor, once",
        description="Message each new or returning 1st-degree visitor and invite the others, "
                    "once each, within the account's caps. Shows what it would send unless "
                    "--send.")
    parser.add_argument("--db", default=None, metavar="FILE|URL",
                        help=f"the history watch fills (default: ${ENV_HISTORY_URL})")
    parser.add_argument("--send", action="store_true",
                        help="send (default: only show what would be sent)")
    parser.add_argument("--message", default=_MESSAGE, metavar="TEXT",
                        help="the message to a connection; may name {first_name}, {name}, "
                             "{headline}, {public_identifier}, {visits}")
    parser.add_argument("--note", default=_NOTE, metavar="TEXT",
                        help="the invitation's note (at most 300 characters once filled in)")
    parser.add_argument("--no-invite", action="store_true",
                        help="message connections only; leave the others for later")
    parser.add_argument("--messages-per-day", type=at_least(0), default=15, metavar="N",
                        help="the account's cap (default 15, the vendor's advice for a new "
                             "account; the service's own cap is 100)")
    parser.add_argument("--invitations-per-week", type=at_least(0), default=30, metavar="N",
                        help="the account's cap per week from Monday 00:00 UTC (default 30; "
                             "the service's own cap is 90)")
    parser.add_argument("--pace", type=float, default=30.0, metavar="SECONDS",
                        help="seconds between two actions (default 30; 0 with --demo)")
    add_output_options(parser)


async def follow_up(args: argparse.Namespace) -> int:
    """Run ``follow-up``; the exit code."""
    plan = FollowUpPlan(
        message=args.message, note=args.note or None, invite=not args.no_invite,
        caps=ActionCaps(messages_per_day=args.messages_per_day,
                        invitations_per_week=args.invitations_per_week),
        pace=0.0 if args.demo else args.pace,
    )
    fmt = output_format(args)
    accounts = list(dict.fromkeys(args.account)) or [None]
    async with store_named(args) as store:
        clock = None
        if args.demo:
            clock = await store.meta("demo_clock")
            if clock is None:
                msg = "nothing to follow up: run 'connectsafely watch --demo --db ...' first"
                raise ValueError(msg)
        moment = None if clock is None else float(clock)
        reports = []
        async with demo_client(args, moment) as client:
            for account in accounts:
                reports.append(await client.follow_up(
                    store, plan, account_id=account, send=args.send,
                    clock=None if moment is None else (lambda: moment)))
    with open_output(args.output) as out:
        writer = make_writer(fmt, out, multi_account=len(accounts) > 1, pretty=out.isatty(),
                             layout=FOLLOW_UP)
        try:
            for report in reports:
                for item in (*report.sent_before_check, *report.items):
                    writer.write(_record(report.account_id, item))
        finally:
            writer.close()
    unknown = 0
    for report in reports:
        counts = report.counts()
        unknown += counts.get("unknown", 0)
        if not args.quiet:
            summary = ", ".join(f"{n} {outcome.replace('_', ' ')}"
                                for outcome, n in sorted(counts.items())) or "nothing to do"
            print(printable(f"{report.account_id}: {summary}"), file=sys.stderr)  # noqa: T201
    return EXIT_UNKNOWN_OUTCOME if unknown else 0


def _record(account_id: str, item: FollowUpItem) -> dict[str, Any]:
    visitor = item.visitor.visitor
    return {
        "outcome": item.outcome, "action": item.action, "account_id": account_id,
        "name": visitor.name, "public_identifier": visitor.public_identifier,
        "entity_urn": visitor.entity_urn, "connection_degree": visitor.connection_degree,
        "text": item.text if item.outcome in ("sent", "would_send") else item.reason,
        "reason": item.reason,
    }
