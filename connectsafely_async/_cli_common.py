"""What every ``connectsafely`` command shares: the exit codes, the one-line error report,
and the client a command talks through (the real service, or the embedded fake with
``--demo``). The table itself is in ``_cli``'s docstring, which ``--help`` prints."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from ._cli_output import printable
from ._client import AsyncConnectSafely
from ._client_config import ENV_API_KEY, ENV_BASE_URL
from ._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConnectSafelyError,
    InternalServerError,
    NotFoundError,
    PaginationStalledError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
)
from .history import (
    ENV_HISTORY_URL,
    ForeignDatabaseError,
    SchemaVersionError,
    StoreDependencyError,
    StoreError,
    StoreLockedError,
    StoreUnavailableError,
)

__all__ = [
    "EXIT_CODES", "EXIT_INTERRUPTED", "EXIT_OUTPUT", "EXIT_UNKNOWN_OUTCOME", "EXIT_USAGE",
    "open_client", "report",
]

EXIT_USAGE: Final = 2  # argparse's own code for a usage error
EXIT_OUTPUT: Final = 14
#: ``follow-up``: an action may have gone out and nothing could tell (never resent by it).
EXIT_UNKNOWN_OUTCOME: Final = 15
EXIT_INTERRUPTED: Final = 130  # the shell's convention for "ended by SIGINT"

# One exit code per error class, most specific first, with what to do about it in this
# tool's terms (options and environment variables, never Python arguments); the module
# docstring, --help and the README carry the same table.
EXIT_CODES: tuple[tuple[type[ConnectSafelyError], int, str], ...] = (
    (ConfigurationError, 3, ""),  # each says which setting, and the CLI words its own
    (AuthenticationError, 4, f"the API key was refused: check {ENV_API_KEY}"),
    (PermissionDeniedError, 5, "LinkedIn Premium (or an active subscription) is required"),
    (NotFoundError, 6, "check the account id (--account)"),
    (RateLimitError, 7, "rate limited: try again later"),
    (APIConnectionError, 8, "could not reach the service: check the network and "
                            f"{ENV_BASE_URL}"),
    (InternalServerError, 9, "the service failed: try again later"),
    (ResponseValidationError, 10, "the service answered with something unexpected"),
    (PaginationStalledError, 10, "the service kept sending the same page"),
    (BadRequestError, 11, "the service refused the request: check the options"),
    (APIStatusError, 12, "the service answered with a status this tool does not expect"),
    (StoreLockedError, 13, "another run is using this history: try again when it ends"),
    (SchemaVersionError, 13, "a newer connectsafely-async wrote it: upgrade, or use "
                             "another --db"),
    (StoreDependencyError, 13, "a postgresql:// --db needs the postgres extra"),
    (ForeignDatabaseError, 13, "--db names another program's data: give another file or "
                               "schema"),
    (StoreUnavailableError, 13, f"check --db (or {ENV_HISTORY_URL})"),
    (StoreError, 13, "check --db: a history file of this tool or a postgresql:// URL"),
    (ConnectSafelyError, 1, "unexpected: please report it"),
)
# "ClientConnectorDNSError: cannot connect..." -> "cannot connect...": a library's class
# name means nothing to the person at the shell.
_CLASS_PREFIX = re.compile(r"^(?:[A-Za-z_][\w.]*)?(?:Error|Exception|Timeout)\w*: ")

_DEMO_VISITORS: Final = 45


def report(error: ConnectSafelyError, *, account: str | None = None) -> int:
    """Print one line, what failed and what to do, and return the error's exit code."""
    code, advice = next((code, advice) for cls, code, advice in EXIT_CODES
                        if isinstance(error, cls))  # the root class closes the table
    if isinstance(error, PermissionDeniedError):
        who = f"account {account}" if account else "the default account"
        line = f"LinkedIn Premium (or an active subscription) is required for {who}: {error}"
    else:
        where = f"account {account}: " if account else ""
        line = f"{where}{words(error)}" + (f" ({advice})" if advice else "")
    print(f"connectsafely: {printable(line)}", file=sys.stderr)
    return code


def words(error: ConnectSafelyError) -> str:
    """The error's line in this tool's words: no library class names, no line breaks."""
    if isinstance(error, APIConnectionError):
        return _CLASS_PREFIX.sub("", str(error))
    if isinstance(error, BadRequestError) and error.issues:
        return f"HTTP 400: {'; '.join(str(issue) for issue in error.issues)}"
    return " ".join(str(error).split())


@asynccontextmanager
async def open_client(args: argparse.Namespace) -> AsyncIterator[AsyncConnectSafely]:
    if not args.demo:
        if not os.environ.get(ENV_API_KEY):
            # Said here, in the shell's terms: the client's own message speaks of api_key=.
            msg = f"no API key: set {ENV_API_KEY} (or try --demo, which needs no key)"
            raise ConfigurationError(msg)
        async with AsyncConnectSafely() as client:
            yield client
        return
    from .testing import FakeConnectSafely  # only the demo needs the server side

    # Whatever accounts the demo is asked for exist, so --account works without a key.
    accounts = dict.fromkeys(args.account, _DEMO_VISITORS) or None
    # rate_limits=None: the fake enforces no limits, so the demo need not pace itself.
    async with FakeConnectSafely(accounts=accounts, latency=args.demo_latency) as fake, \
            AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                               rate_limits=None) as client:
        yield client


