"""The Taskiq broker the test workers load (``taskiq worker tests.jobs_taskiq_app:broker``).

It is the SDK's ``create_broker()``, configured from the environment as a deployment would
be, with three test-sized changes: the rate limits scaled to the fake's, an idle timeout of
seconds instead of an hour (so a killed worker's tasks come back within the test), and a
log of each task's start and end for the test to read.
"""

from __future__ import annotations

import os
from typing import Any

from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

from connectsafely_async import AsyncConnectSafely, RedisRateLimits, RetryPolicy
from connectsafely_async.history import open_store
from connectsafely_async.jobs.taskiq import create_broker

from .jobs_harness import client_limits, log_entry

REDIS_URL = os.environ["CONNECTSAFELY_RATE_LIMIT_URL"]
IDLE_TIMEOUT = 5.0


def _name(message: TaskiqMessage) -> str:
    return message.task_name.rpartition(".")[2]


class _Log(TaskiqMiddleware):
    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        log_entry(REDIS_URL, event="start", task=_name(message),
                  account=message.args[0] if message.args else None)
        return message

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        value = result.return_value
        outcome = value.get("outcome") if isinstance(value, dict) else None
        note = repr(result.error) if result.is_err else type(value).__name__
        log_entry(REDIS_URL, event="end", task=_name(message),
                  account=message.args[0] if message.args else None,
                  outcome=outcome, note=None if outcome else note)


broker = create_broker(
    idle_timeout=IDLE_TIMEOUT,
    client=lambda: AsyncConnectSafely(
        rate_limits=RedisRateLimits(limits=client_limits(), timeout=2.0),
        retry=RetryPolicy(initial_delay=0.05, max_delay=0.5),
    ),
    store=lambda: open_store(lock_timeout=2.0),
    timeout=IDLE_TIMEOUT - 2,
    retry_delay=1.0,
).with_middlewares(_Log())
# A worker looks for idle messages between two waits for new ones: wait less than the
# default 2 s, so a killed worker's tasks are taken over soon after the idle timeout.
broker.block = 500
