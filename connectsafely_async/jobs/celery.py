"""Celery with the Redis broker: "sync these accounts" as one task per account.

::

    # tasks.py: the module the workers and beat load
    from connectsafely_async.jobs.celery import create_app

    app = create_app()  # the broker: $CONNECTSAFELY_BROKER_URL, else the rate limit's Redis

    $ celery -A tasks worker --concurrency 4     # on every machine
    $ celery -A tasks beat                       # once: the daily run at 03:00 UTC

Tasks run the blocking ``ConnectSafely``. Each worker process keeps one client (the key
and the Redis rate limit from the environment) and one open history store
(``$CONNECTSAFELY_HISTORY_URL``), made at its first task and closed when it stops.
``install(app)`` adds the tasks to an app you already have; apply ``CELERY_SETTINGS`` to
it too, since late acknowledgement is what makes a dead worker's task come back.

Late acknowledgement does not cover one instant: kombu's Redis transport takes a message
off the queue (``BRPOP``) before it records it as unacknowledged, so a worker killed
between the two loses that message for good. Each run therefore checks itself
(``connectsafely.check_run``): once the run's tasks have all been taken, it looks every
``check_delay`` seconds for accounts no run has finished since it began (``unfinished``)
and sends their task again, up to ``max_checks`` times. A task sent twice is harmless: it
finds its account done, or held by the other (and is retried), or resumes the same open
sync.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from celery import Celery, signals
from celery.exceptions import SoftTimeLimitExceeded
from celery.schedules import crontab

from .._blocking_client import ConnectSafely
from ..history import BlockingStore, PostgresStore, SQLiteStore, open_store
from ._runs import (
    SYNC_ACCOUNT,
    SYNC_ACCOUNTS,
    AccountSync,
    marker_key,
    resolve_broker_url,
    retry_later,
    settle,
    skipped,
    unfinished,
)

__all__ = [
    "CELERY_SETTINGS",
    "CHECK_RUN",
    "SYNC_ACCOUNT",
    "SYNC_ACCOUNTS",
    "create_app",
    "daily_schedule",
    "enqueue",
    "install",
]

Store = SQLiteStore | PostgresStore

logger = logging.getLogger("connectsafely_async")

#: A run's check: sends again the task of each account no run has finished since it began.
CHECK_RUN: Final = "connectsafely.check_run"

#: The settings that make a lost worker's task come back exactly once (see the README's
#: "Scaling out"): acknowledge after the task, hand each process one task at a time, give
#: a task back when its process dies, stop a task well before Redis hands its message to
#: another worker (the visibility timeout), and stop the tasks whose message Redis will
#: hand out again when the connection to it is lost.
CELERY_SETTINGS: Final[Mapping[str, Any]] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "worker_cancel_long_running_tasks_on_connection_loss": True,
    "task_soft_time_limit": 15 * 60,
    "task_time_limit": 16 * 60,
    "task_ignore_result": True,
    "broker_connection_retry_on_startup": True,
    "broker_transport_options": {
        # Longer than any task may run (task_time_limit) plus a retry's countdown: a
        # message unacknowledged for this long is handed to another worker.
        "visibility_timeout": 60 * 60,
        # How often a worker looks for such messages (kombu's default: every 100 s).
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    },
}


def create_app(
    broker_url: str | None = None,
    *,
    client: Callable[[], ConnectSafely] = ConnectSafely,
    store: Callable[[], Store] = open_store,
    schedule: Mapping[str, Any] | None = None,
    retry_delay: float = 30.0,
    max_retries: int = 20,
    check_delay: float = 600.0,
    max_checks: int = 6,
) -> Celery:
    """A Celery app with ``CELERY_SETTINGS``, the sync tasks and the daily schedule.

    Args:
        broker_url: the Redis broker (``None``: ``$CONNECTSAFELY_BROKER_URL``, else
            ``$CONNECTSAFELY_RATE_LIMIT_URL``).
        client, store, retry_delay, max_retries, check_delay, max_checks: as for
            ``install``.
        schedule: the beat schedule (``None``: ``daily_schedule()``).

    Raises:
        ConfigurationError: no broker URL given or set.
        ValueError: ``check_delay`` or ``max_checks`` out of range.
    """
    app = Celery("connectsafely", broker=resolve_broker_url(broker_url), set_as_current=False)
    app.conf.update(CELERY_SETTINGS)
    app.conf.beat_schedule = dict(daily_schedule() if schedule is None else schedule)
    install(app, client=client, store=store, retry_delay=retry_delay, max_retries=max_retries,
            check_delay=check_delay, max_checks=max_checks)
    return app


def daily_schedule(
    *, hour: int = 3, minute: int = 0, account_ids: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    """A beat schedule that runs ``connectsafely.sync_accounts`` every day at ``hour:minute``
    (the app's timezone, UTC by default), for ``account_ids`` (``None``: every account of
    the workspace, listed at run time)."""
    args = () if account_ids is None else (list(account_ids),)
    return {
        "connectsafely-daily-sync": {
            "task": SYNC_ACCOUNTS, "schedule": crontab(minute=minute, hour=hour), "args": args,
        },
    }


def enqueue(app: Celery, account_ids: Iterable[str] | None = None) -> str:
    """Start a run now (what the schedule does daily); returns the run's name."""
    args = () if account_ids is None else (list(account_ids),)
    result = app.send_task(SYNC_ACCOUNTS, args=args)
    return str(result.id)


def install(
    app: Celery,
    *,
    client: Callable[[], ConnectSafely] = ConnectSafely,
    store: Callable[[], Store] = open_store,
    retry_delay: float = 30.0,
    max_retries: int = 20,
    check_delay: float = 600.0,
    max_checks: int = 6,
) -> None:
    """Add ``connectsafely.sync_accounts``, ``connectsafely.sync_account`` and
    ``connectsafely.check_run`` to ``app``.

    Args:
        app: your Celery app (give it ``CELERY_SETTINGS`` too).
        client: makes a worker process's client (default: ``ConnectSafely()``, configured
            from the environment).
        store: makes its history store, not yet open (default: ``open_store()``, from
            ``$CONNECTSAFELY_HISTORY_URL``).
        retry_delay: seconds before a task that must wait (another worker holds the
            account, the store or the service is away for now) runs again.
        max_retries: how many times before the task fails with that error.
        check_delay: seconds between a run's checks for accounts it has not finished
            (see the module's docstring). Keep it well under the broker's visibility
            timeout: a check waiting for its time is a message held unacknowledged.
        max_checks: how many times a run sends the unfinished accounts' tasks again
            (0: the run does not check itself).

    Raises:
        ValueError: ``check_delay`` is not a positive number of seconds, or
            ``max_checks`` not a whole number from 0.
    """
    _validate_checks(check_delay, max_checks)
    resources = _Resources(client, store)
    signals.worker_process_shutdown.connect(resources.closer, weak=False)
    signals.worker_shutdown.connect(resources.closer, weak=False)

    @app.task(name=SYNC_ACCOUNT, bind=True, max_retries=max_retries, shared=False)  # type: ignore[untyped-decorator]
    def sync_account(task: Any, account_id: str, run: str) -> dict[str, Any]:
        try:
            return _sync_account(resources, account_id, run).to_json()
        except Exception as exc:
            # Out of time (task_soft_time_limit): the sync was cancelled at its last whole
            # page, its lock given back; the retry resumes it.
            if not (retry_later(exc) or isinstance(exc, SoftTimeLimitExceeded)):
                raise
            raise task.retry(exc=exc, countdown=retry_delay) from None

    @app.task(name=SYNC_ACCOUNTS, bind=True, max_retries=max_retries, shared=False)  # type: ignore[untyped-decorator]
    def sync_accounts(task: Any, account_ids: list[str] | None = None) -> int:
        # The run is named by this task's id: the same when Redis hands it out again, so a
        # fan-out redone after its worker died finds the accounts it already finished.
        run = str(task.request.id)
        try:
            ids = (list(account_ids) if account_ids is not None
                   else [account.id for account in resources.client().list_accounts()])
            accounts = list(dict.fromkeys(ids))
            # Each account's mark as the run begins: the run's checks tell by it an account
            # another run synced meanwhile (done) from one no task has finished (sent again).
            marks = _marks(resources.store(), accounts) if max_checks else {}
        except Exception as exc:
            if not retry_later(exc):
                raise
            raise task.retry(exc=exc, countdown=retry_delay) from None
        for account_id in accounts:
            sync_account.apply_async((account_id, run))
        if max_checks:
            # Sent last, it waits behind the accounts' tasks: it starts once all were taken.
            check_run.apply_async((run, marks, 0))
        return len(ids)

    @app.task(name=CHECK_RUN, bind=True, max_retries=max_retries, shared=False)  # type: ignore[untyped-decorator]
    def check_run(task: Any, run: str, marks: dict[str, str | None], check: int) -> int:
        # Check 0 only waits (the run's tasks were just taken, some still run); each later
        # check sends again the task of every account no run has finished since it began.
        try:
            left = unfinished(run, marks, _marks(resources.store(), marks))
        except Exception as exc:
            if not retry_later(exc):
                raise
            raise task.retry(exc=exc, countdown=retry_delay) from None
        if check and left:
            logger.warning("run %s: %d account(s) not finished at check %d of %d, their "
                           "tasks sent again: %s", run, len(left), check, max_checks,
                           ", ".join(left))
            for account_id in left:
                sync_account.apply_async((account_id, run))
        if left and check < max_checks:
            check_run.apply_async((run, marks, check + 1), countdown=check_delay)
        return len(left)


def _marks(store: BlockingStore[Any], accounts: Iterable[str]) -> dict[str, str | None]:
    """Each account's mark: the last run that finished it."""
    return {account: store.meta(marker_key(account)) for account in accounts}


def _validate_checks(check_delay: float, max_checks: int) -> None:
    if isinstance(check_delay, bool) or not isinstance(check_delay, (int, float)) or not (
        math.isfinite(check_delay) and check_delay > 0
    ):
        msg = f"check_delay must be a positive number of seconds, not {check_delay!r}"
        raise ValueError(msg)
    if isinstance(max_checks, bool) or not isinstance(max_checks, int) or max_checks < 0:
        msg = f"max_checks must be a whole number from 0, not {max_checks!r}"
        raise ValueError(msg)


def _sync_account(resources: _Resources, account_id: str, run: str) -> AccountSync:
    store = resources.store()
    if store.meta(marker_key(account_id)) == run:
        return skipped(account_id, run)
    # The run's mark is written with the sync's closing: a worker that dies after it finds
    # the account done when its task comes again, not to be synced again from the top.
    result = resources.client().sync_visitors(store, account_id=account_id, collect=False,
                                              meta={marker_key(account_id): run})
    return settle(result, run)


class _Resources:
    """One worker process's client and open store, made at its first task.

    A pool process forked from a parent that had made them starts afresh (a thread and a
    connection do not survive a fork); a store that failed to open is tried again by the
    next task.
    """

    def __init__(self, client: Callable[[], ConnectSafely], store: Callable[[], Store]) -> None:
        self._make_client = client
        self._make_store = store
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._client: ConnectSafely | None = None
        self._store: BlockingStore[Any] | None = None

    def _forked(self) -> None:
        if self._pid != os.getpid():
            self._pid, self._client, self._store = os.getpid(), None, None

    def client(self) -> ConnectSafely:
        with self._lock:
            self._forked()
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def store(self) -> BlockingStore[Any]:
        """The open store, seen from blocking code (what a plain ``with`` gives)."""
        with self._lock:
            self._forked()
            if self._store is None:
                self._store = self._make_store().__enter__()
            return self._store

    def closer(self, **_: object) -> None:
        """Close both (a signal receiver: Celery passes keyword arguments)."""
        with self._lock:
            self._forked()
            client, store, self._client, self._store = self._client, self._store, None, None
        try:
            if store is not None:
                store.close()
        finally:
            if client is not None:
                client.close()
