"""The Celery app the test workers load (``celery -A tests.jobs_celery_app worker``).

It is the SDK's ``create_app()``, configured from the environment as a deployment would be,
with four test-sized changes: the rate limits scaled to the fake's, a visibility timeout of
seconds instead of an hour (so a killed worker's tasks come back within the test), a run's
checks seconds apart instead of minutes, and a log of each task's start and end for the
test to read.
"""

from __future__ import annotations

import os
from typing import Any

from celery import signals

from connectsafely_async import ConnectSafely, RedisRateLimits, RetryPolicy
from connectsafely_async.history import open_store
from connectsafely_async.jobs.celery import create_app

from .jobs_harness import client_limits, log_entry

REDIS_URL = os.environ["CONNECTSAFELY_RATE_LIMIT_URL"]
VISIBILITY_TIMEOUT = 5.0

app = create_app(
    client=lambda: ConnectSafely(
        rate_limits=RedisRateLimits(limits=client_limits(), timeout=2.0),
        retry=RetryPolicy(initial_delay=0.05, max_delay=0.5),
    ),
    store=lambda: open_store(lock_timeout=2.0),
    retry_delay=1.0,
    check_delay=2.0,
)
app.conf.broker_transport_options = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    # A worker killed during its sweep for lost messages holds the sweep's lock until it
    # expires (5 minutes by default).
    "unacked_mutex_expire": 2,
}


def _name(task: Any) -> str:
    return str(task.name).rpartition(".")[2]


@signals.task_prerun.connect
def _started(task: Any, args: tuple[Any, ...], **_: Any) -> None:
    log_entry(REDIS_URL, event="start", task=_name(task), account=args[0] if args else None)


@signals.task_postrun.connect
def _ended(task: Any, args: tuple[Any, ...], retval: Any, **_: Any) -> None:
    outcome = retval.get("outcome") if isinstance(retval, dict) else None
    log_entry(REDIS_URL, event="end", task=_name(task), account=args[0] if args else None,
              outcome=outcome, note=None if outcome else type(retval).__name__)
