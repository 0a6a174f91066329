"""Celery, for real: two worker processes (two pool processes each) on a redis-server broker
sync 60 accounts into PostgreSQL through the SDK's integration, against the fake service
with its rate limits on; one worker is SIGKILLed mid-run and its tasks come back."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from .jobs_harness import (
    ACCOUNTS,
    fake_service,
    kill_group,
    open_tasks,
    outcomes,
    python,
    read_log,
    served,
    stored,
    wait_for,
    worker_env,
    workers,
)
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
from connectsafely_async.testing import serve_in_thread  # noqa: E402

logger = logging.getLogger(__name__)


def worker_command(name: str) -> list[str]:
    return [
        python(), "-m", "celery", "-A", "tests.jobs_celery_app", "worker",
        "--pool", "prefork", "--concurrency", "2", "--hostname", f"{name}@%h",
        "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]


def broker_state(url: str) -> str:
    with redis.Redis.from_url(url) as conn:
        return (f"queued {conn.llen('celery')}, unacknowledged {conn.hlen('unacked')}, "
                f"sweep lock ttl {conn.pttl('unacked_mutex')} ms")


def broker_is_empty(url: str) -> Callable[[], bool]:
    def empty() -> bool:
        with redis.Redis.from_url(url) as conn:
            return conn.llen("celery") == 0 and conn.hlen("unacked") == 0
    return empty


def test_two_workers_sync_every_account_once_and_finish_a_killed_workers_tasks(
    redis_server: RedisServer, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    history_url = f"{postgres_server.dsn}?schema=jobs_celery"
    with serve_in_thread(fake_service()) as fake:
        def env(name: str) -> dict[str, str]:
            return worker_env(fake_url=fake.url, redis_url=redis_server.url,
                              history_url=history_url, name=name)

        commands = {name: worker_command(name) for name in ("w1", "w2")}
        with workers(commands, env, tmp_path) as started:
            sender = celery.Celery("sender", broker=redis_server.url, set_as_current=False)
            run = enqueue(sender)  # every account of the workspace, as the schedule does

            def w1_is_busy_midway() -> bool:
                log = read_log(redis_server.url)
                return len(outcomes(log)) >= 15 and bool(open_tasks(log, "w1"))

            wait_for(w1_is_busy_midway, timeout=60, what="worker w1 to be busy mid-run")
            kill_group(started["w1"], signal.SIGKILL)
            started["w1"].wait(timeout=10)
            lost = open_tasks(read_log(redis_server.url), "w1")

            def all_synced() -> bool:
                return set(outcomes(read_log(redis_server.url))) == set(ACCOUNTS)

            wait_for(all_synced, timeout=60, what=lambda: (
                f"every account to be synced; w1 lost {sorted(lost)}; "
                f"{broker_state(redis_server.url)}; not synced: "
                f"{sorted(set(ACCOUNTS) - set(outcomes(read_log(redis_server.url))))}"))
            wait_for(broker_is_empty(redis_server.url), timeout=30,
                     what="every message to be acknowledged")
        sent = served(fake)
    log = read_log(redis_server.url)
    kept = asyncio.run(stored(history_url))
    done = outcomes(log)
    logger.info(
        "celery: 2 workers x 2 processes, %d accounts, %d requests, %d x 429; visitors "
        "stored %d of %d named served, %d of %d anonymous; w1 killed with %d task(s) open, "
        "all finished by w2; visitors requests took %.2fs, the key limit allows %.2fs at "
        "best", len(ACCOUNTS), sent.requests, sent.throttled, kept.rows, sent.named,
        kept.anonymous, sent.anonymous, len(lost), sent.seconds, sent.lower_bound)

    assert sent.throttled == 0
    # Every served visitor stored once: one row and one view each, no more, no fewer.
    assert kept.rows == kept.distinct == kept.views == sent.named > 0
    assert kept.anonymous == sent.anonymous > 0
    # Every account synced once in the run: one sync in the store, finished...
    assert kept.syncs == {account: [(True, None)] for account in ACCOUNTS}
    # ... by one task, except where the killed worker died after its sync, before its
    # task ended: the task delivered again found the account done.
    assert lost, "w1 was killed between two tasks: nothing to redeliver"
    assert {a: r for a, r in done.items() if a not in lost} == {
        a: ["synced"] for a in ACCOUNTS if a not in lost}
    for account in lost:
        # The killed worker's tasks came back and were finished by the other one.
        ends = [(e["worker"], e["outcome"]) for e in log
                if e["event"] == "end" and e["account"] == account and e["outcome"]]
        assert ends in ([("w2", "synced")], [("w2", "already synced")]), ends
    # One fan-out, named by its task id, and no task that failed or was retried.
    assert [e["note"] for e in log if e["event"] == "end" and e["task"] == "sync_accounts"] == [
        "int"]
    assert all(e["outcome"] for e in log if e["event"] == "end" and e["task"] == "sync_account")
    assert run


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
