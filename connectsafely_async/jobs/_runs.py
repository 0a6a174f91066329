"""What one "sync this account" task decides, whatever engine runs it (pure, no engine).

A *run* is one pass over the accounts (a day's schedule). The fan-out task names it (its
own task id, which stays the same when the engine delivers it again) and hands that name
to every account's task. The three things an engine integration must get right live here
once:

- **once per run**: a task whose account already finished this run does nothing. The store
  keeps the last finished run of each account (``jobs.last_run:<account>`` in its settings
  table), written in the transaction that closes the sync (``sync_visitors(meta=...)``); so
  a task delivered again after its worker died (late acknowledgement) resumes the sync
  where it stopped, or skips it when the sync had closed.
- **retry later, not fail**: another worker holding the account (``StoreLockedError``), a
  store that cannot be reached, or a walk stopped by a transient error (no answer, 5xx,
  429) leaves the sync open and resumable: the engine retries the task after a delay.
- **fail for good**: an answer that would come again (401, 403, 404, a page that does not
  fit) or a store that can never work as configured (a newer schema, another
  application's tables, no driver) is the task's result, not a retry loop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

from .._errors import ConfigurationError, ConnectSafelyError
from .._limiter_redis_config import ENV_RATE_LIMIT_URL
from .._retry import transient
from ..history import (
    ForeignDatabaseError,
    SchemaVersionError,
    StoreDependencyError,
    StoreError,
    SyncResult,
)

__all__ = [
    "ENV_BROKER_URL",
    "SYNC_ACCOUNT",
    "SYNC_ACCOUNTS",
    "AccountSync",
    "SyncInterruptedError",
    "marker_key",
    "resolve_broker_url",
    "retry_later",
    "settle",
    "skipped",
    "unfinished",
]

#: The task that syncs one account for one run.
SYNC_ACCOUNT: Final = "connectsafely.sync_account"
#: The fan-out: one ``SYNC_ACCOUNT`` per account (every account of the workspace by default).
SYNC_ACCOUNTS: Final = "connectsafely.sync_accounts"
#: The broker's Redis; unset, the rate limit's (``$CONNECTSAFELY_RATE_LIMIT_URL``) is used.
ENV_BROKER_URL: Final = "CONNECTSAFELY_BROKER_URL"

_MARKER: Final = "jobs.last_run:"
# Errors of the store's configuration: retrying cannot help, a person must act.
_FOR_GOOD: Final = (SchemaVersionError, ForeignDatabaseError, StoreDependencyError)


class SyncInterruptedError(ConnectSafelyError):
    """The account's sync stopped on something that passes (a transient error); it stays
    open, and the engine should run the task again after a delay."""


@attrs.frozen(kw_only=True)
class AccountSync:
    """What one account's task did in one run: what its result holds.

    Attributes:
        account_id: the account.
        run: the run's name (the fan-out task's id).
        outcome: ``"synced"``; ``"already synced"`` (this run finished it before: a task
            delivered again); ``"failed"`` (an error that would come again, in ``error``).
        new_count, returning_count, anonymous_count: as in ``SyncResult``.
        resumed: the sync continued one interrupted earlier (a worker that died, a retry).
        error: why the account failed.
    """

    account_id: str
    run: str
    outcome: Literal["synced", "already synced", "failed"]
    new_count: int = 0
    returning_count: int = 0
    anonymous_count: int = 0
    resumed: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (what an engine's result backend stores)."""
        return attrs.asdict(self)


def marker_key(account_id: str) -> str:
    """The store setting that holds the last run which finished ``account_id``."""
    return _MARKER + account_id


def unfinished(
    run: str, before: Mapping[str, str | None], now: Mapping[str, str | None]
) -> list[str]:
    """The accounts a run has yet to sync, from their marks (``marker_key``) when the run
    began (``before``) and now.

    An account is done when its mark is the run's, or when it changed since the run began:
    another run (one started by hand during the daily one) closed a sync of it meanwhile.
    A check that sent the task again for such an account would sync it once more, and the
    other run's check would then do the same for its own, and so on.
    """
    return [account for account, mark in before.items()
            if (found := now.get(account)) != run and found == mark]


def skipped(account_id: str, run: str) -> AccountSync:
    return AccountSync(account_id=account_id, run=run, outcome="already synced")


def settle(result: SyncResult, run: str) -> AccountSync:
    """The task's result for a finished ``sync_visitors``.

    Raises:
        SyncInterruptedError: the walk stopped on a transient error; the sync stays open.
    """
    error = result.error
    if error is not None and transient(error):
        msg = f"the sync of account {result.account_id} stopped early: {error}"
        raise SyncInterruptedError(msg) from error
    return AccountSync(
        account_id=result.account_id, run=run,
        outcome="synced" if error is None else "failed",
        new_count=result.new_count, returning_count=result.returning_count,
        anonymous_count=result.anonymous_count, resumed=result.resumed,
        error=None if error is None else str(error),
    )


def retry_later(error: BaseException) -> bool:
    """Whether a task that raised ``error`` should be retried after a delay.

    Yes for ``SyncInterruptedError``, a store another worker holds or that cannot be
    reached right now (``StoreError``), and a transient API error (listing the accounts);
    no for a store that can never work as configured, and for everything else (a bug is
    not retried in a loop).
    """
    if isinstance(error, SyncInterruptedError):
        return True
    if isinstance(error, StoreError):
        return not isinstance(error, _FOR_GOOD)
    return isinstance(error, ConnectSafelyError) and transient(error)


def resolve_broker_url(url: str | None) -> str:
    """The broker's Redis: ``url``, else ``$CONNECTSAFELY_BROKER_URL``, else the rate
    limit's ``$CONNECTSAFELY_RATE_LIMIT_URL`` (one Redis for both is the usual setup).

    Raises:
        ConfigurationError: none of them is set.
    """
    found = url or os.environ.get(ENV_BROKER_URL) or os.environ.get(ENV_RATE_LIMIT_URL)
    if not found:
        msg = (f"no broker: pass broker_url=... or set ${ENV_BROKER_URL} "
               f"(or ${ENV_RATE_LIMIT_URL}, used for both)")
        raise ConfigurationError(msg)
    return found
