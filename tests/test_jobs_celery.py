"""Celery, for real: two worker processes (two pool processes each) on a redis-server broker
sync 60 accounts into PostgreSQL through the SDK's integration, against the fake service
with its rate limits on; one worker is SIGKILLed mid-run and its tasks come back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from .jobs_harness import assert_synced_once, python, run_and_kill
from .servers import PostgresServer, RedisServer

celery = pytest.importorskip("celery")
redis = pytest.importorskip("redis")

from connectsafely_async.jobs import SYNC_ACCOUNT, SYNC_ACCOUNTS  # noqa: E402
from connectsafely_async.jobs.celery import (  # noqa: E402
    CELERY_SETTINGS,
    create_app,
    daily_schedule,
    enqueue,
)

logger = logging.getLogger(__name__)


def worker_command(name: str) -> list[str]:
    return [
        python(), "-m", "celery", "-A", "tests.jobs_celery_app", "worker",
        "--pool", "prefork", "--concurrency", "2", "--hostname", f"{name}@%h",
        "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]


def kick(url: str) -> str:
    # Every account of the workspace, as the schedule does; from a client-only app.
    return enqueue(celery.Celery("sender", broker=url, set_as_current=False))


def broker_state(url: str) -> str:
    with redis.Redis.from_url(url) as conn:
        return (f"queued {conn.llen('celery')}, unacknowledged {conn.hlen('unacked')}, "
                f"sweep lock ttl {conn.pttl('unacked_mutex')} ms")


def broker_is_empty(url: str) -> bool:
    with redis.Redis.from_url(url) as conn:
        return conn.llen("celery") == 0 and conn.hlen("unacked") == 0


def test_two_workers_sync_every_account_once_and_finish_a_killed_workers_tasks(
    redis_server: RedisServer, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    report = run_and_kill(
        commands={name: worker_command(name) for name in ("w1", "w2")}, kick=kick,
        broker_state=broker_state, broker_is_empty=broker_is_empty,
        redis_url=redis_server.url, history_url=f"{postgres_server.dsn}?schema=jobs_celery",
        logs=tmp_path,
    )
    logger.info("%s", report.summary("celery (2 pool processes each)"))
    assert_synced_once(report)


def test_the_app_has_the_settings_that_bring_back_a_lost_task() -> None:
    app = create_app("redis://127.0.0.1:1/0")
    for name, value in CELERY_SETTINGS.items():
        assert app.conf[name] == value
    assert app.conf.task_acks_late
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit < app.conf.broker_transport_options["visibility_timeout"]
    assert {SYNC_ACCOUNT, SYNC_ACCOUNTS} <= set(app.tasks)


def test_the_daily_schedule_names_the_fan_out_task() -> None:
    app = create_app("redis://127.0.0.1:1/0")
    (entry,) = app.conf.beat_schedule.values()
    assert entry["task"] == SYNC_ACCOUNTS in app.tasks
    assert entry["args"] == ()
    schedule = entry["schedule"]
    assert isinstance(schedule, celery.schedules.crontab)
    assert (schedule.hour, schedule.minute) == ({3}, {0})
    # Beat reads it as it would at start-up: a due time within the next day.
    assert 0 < schedule.remaining_estimate(schedule.now()).total_seconds() <= 24 * 3600

    (chosen,) = daily_schedule(hour=6, minute=30, account_ids=["a" * 24]).values()
    assert chosen["args"] == (["a" * 24],)
    assert (chosen["schedule"].hour, chosen["schedule"].minute) == ({6}, {30})
