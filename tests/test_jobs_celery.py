"""Celery, for real: two worker processes (two pool processes each) on a redis-server broker
sync 60 accounts into PostgreSQL through the SDK's integration, against the fake service
with its rate limits on; one worker is SIGKILLed mid-run and its tasks come back."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from pathlib import Path

import pytest

from connectsafely_async.testing import serve_in_thread

from .jobs_harness import (
    ACCOUNTS,
    assert_synced_once,
    fake_service,
    outcomes,
    python,
    read_log,
    run_and_kill,
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
    CHECK_RUN,
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


def take_one_account_task(url: str) -> str:
    """Do what a worker killed at the wrong instant does: take the oldest message off the
    queue (kombu's ``BRPOP``) and never record it as unacknowledged. Returns its account."""
    def queued() -> bool:
        with redis.Redis.from_url(url) as conn:
            return bool(conn.llen("celery") >= 3)

    wait_for(queued, timeout=30, what="the run's tasks to be queued")
    with redis.Redis.from_url(url) as conn:
        message = json.loads(conn.rpop("celery"))
    assert message["headers"]["task"] == SYNC_ACCOUNT, message["headers"]
    args, _, _ = json.loads(base64.b64decode(message["body"]))
    return str(args[0])


def test_a_task_the_broker_lost_is_sent_again_by_the_runs_check(
    redis_server: RedisServer, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    accounts = sorted(ACCOUNTS)[:8]
    history_url = f"{postgres_server.dsn}?schema=jobs_celery_lost"
    with serve_in_thread(fake_service()) as fake:
        def env(name: str) -> dict[str, str]:
            return worker_env(fake_url=fake.url, redis_url=redis_server.url,
                              history_url=history_url, name=name)

        with workers({"w1": worker_command("w1")}, env, tmp_path):
            run = enqueue(celery.Celery("sender", broker=redis_server.url,
                                        set_as_current=False), accounts)
            lost = take_one_account_task(redis_server.url)

            def all_done() -> bool:
                return set(outcomes(read_log(redis_server.url))) == set(accounts)

            wait_for(all_done, timeout=60, what=lambda: (
                f"every account to be synced; lost {lost}; "
                f"{broker_state(redis_server.url)}; outcomes "
                f"{outcomes(read_log(redis_server.url))}"))
            # The checks end once every account is done: nothing is left in the broker.
            wait_for(lambda: broker_is_empty(redis_server.url), timeout=30,
                     what=lambda: f"the run's checks to end: {broker_state(redis_server.url)}")
    # Every account synced once, the lost one included; a task sent again for an account
    # still running at a check (a slow machine) finds it done.
    done = outcomes(read_log(redis_server.url))
    assert set(done) == set(accounts)
    for account, results in done.items():
        assert results[0] == "synced", (account, results)
        assert set(results[1:]) <= {"already synced"}, (account, results)
    kept = asyncio.run(stored(history_url))
    assert kept.syncs == {account: [(True, None)] for account in accounts}
    # The lost account's task was sent again by the run's first check (check 0 waits behind
    # the run's tasks), and a later check found the run finished and sent no other.
    resent = re.search(rf"run {run}: \d+ account\(s\) not finished at check 1 of 6, "
                       r"their tasks sent again: (.*)$",
                       (tmp_path / "w1.log").read_text(errors="replace"), re.MULTILINE)
    assert resent, "the run's first check sent nothing again"
    assert lost in resent[1].split(", ")
    checks = [e["account"] for e in read_log(redis_server.url)
              if e["task"] == "check_run" and e["event"] == "start"]
    assert set(checks) == {run}
    assert len(checks) >= 3  # check 0 waited, check 1 sent the task again, check 2 ended


def test_the_app_has_the_settings_that_bring_back_a_lost_task() -> None:
    app = create_app("redis://127.0.0.1:1/0")
    for name, value in CELERY_SETTINGS.items():
        assert app.conf[name] == value
    assert app.conf.task_acks_late
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit < app.conf.broker_transport_options["visibility_timeout"]
    assert {SYNC_ACCOUNT, SYNC_ACCOUNTS, CHECK_RUN} <= set(app.tasks)


@pytest.mark.parametrize(("check_delay", "max_checks", "refused"), [
    *[(bad, 6, "check_delay") for bad in (0, -1.0, float("nan"), float("inf"), True, "600")],
    *[(600.0, bad, "max_checks") for bad in (-1, 1.5, True, "6")],
])
def test_a_runs_check_out_of_range_is_refused(
    check_delay: object, max_checks: object, refused: str
) -> None:
    with pytest.raises(ValueError, match=f"^{refused} must be"):
        create_app("redis://127.0.0.1:1/0", check_delay=check_delay,  # type: ignore[arg-type]
                   max_checks=max_checks)  # type: ignore[arg-type]


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
