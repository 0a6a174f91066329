"""Taskiq, for real: two worker processes on a redis-server stream sync 60 accounts into
PostgreSQL through the SDK's integration, against the fake service with its rate limits on;
one worker is SIGKILLed mid-run and the other takes its tasks over."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from .jobs_harness import assert_synced_once, python, run_and_kill
from .servers import PostgresServer, RedisServer

taskiq = pytest.importorskip("taskiq")
redis = pytest.importorskip("redis")

from taskiq.schedule_sources import LabelScheduleSource  # noqa: E402

from connectsafely_async.jobs import SYNC_ACCOUNT, SYNC_ACCOUNTS  # noqa: E402
from connectsafely_async.jobs.taskiq import (  # noqa: E402
    ReclaimingStreamBroker,
    create_broker,
    create_scheduler,
)

logger = logging.getLogger(__name__)
STREAM = "connectsafely"


def worker_command(_name: str) -> list[str]:
    return [
        python(), "-m", "taskiq", "worker", "tests.jobs_taskiq_app:broker",
        "--workers", "1", "--max-async-tasks", "2", "--log-level", "INFO",
        "--shutdown-timeout", "2",
    ]


def kick(url: str) -> str:
    async def send() -> str:
        broker = create_broker(url, schedule=())
        await broker.startup()
        try:
            # Every account of the workspace, as the schedule does.
            task = await broker.find_task(SYNC_ACCOUNTS).kiq()  # type: ignore[union-attr]
            return task.task_id
        finally:
            await broker.shutdown()

    return asyncio.run(send())


def broker_state(url: str) -> str:
    with redis.Redis.from_url(url) as conn:
        pending = conn.xpending(STREAM, STREAM)
        return f"in the stream {conn.xlen(STREAM)}, unacknowledged {pending['pending']}"


def broker_is_empty(url: str) -> bool:
    with redis.Redis.from_url(url) as conn:
        # An acknowledged message is deleted: an empty stream means every one was done.
        return conn.xlen(STREAM) == 0 and conn.xpending(STREAM, STREAM)["pending"] == 0


def test_two_workers_sync_every_account_once_and_take_over_a_killed_workers_tasks(
    redis_server: RedisServer, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    report = run_and_kill(
        commands={name: worker_command(name) for name in ("w1", "w2")}, kick=kick,
        broker_state=broker_state, broker_is_empty=broker_is_empty,
        redis_url=redis_server.url, history_url=f"{postgres_server.dsn}?schema=jobs_taskiq",
        logs=tmp_path,
    )
    logger.info("%s", report.summary("taskiq (2 tasks at once each)"))
    assert_synced_once(report)


def test_the_broker_acknowledges_late_one_message_at_a_time() -> None:
    broker = create_broker("redis://127.0.0.1:1/0", idle_timeout=120)
    assert isinstance(broker, ReclaimingStreamBroker)
    assert broker.idle_timeout == 120_000  # milliseconds, as Redis counts them
    assert {SYNC_ACCOUNT, SYNC_ACCOUNTS} <= set(broker.get_all_tasks())


async def test_the_daily_schedule_names_the_fan_out_task() -> None:
    broker = create_broker("redis://127.0.0.1:1/0")
    scheduler = create_scheduler(broker)
    (source,) = scheduler.sources
    assert isinstance(source, LabelScheduleSource)
    await source.startup()  # reads the tasks' labels: no Redis needed
    (schedule,) = await source.get_schedules()
    assert schedule.task_name == SYNC_ACCOUNTS
    assert broker.find_task(schedule.task_name) is not None
    assert schedule.cron == "0 3 * * *"
    assert (schedule.args, schedule.kwargs) == ([], {})

    unscheduled = create_broker("redis://127.0.0.1:1/0", schedule=())
    source = LabelScheduleSource(unscheduled)
    await source.startup()
    assert await source.get_schedules() == []
