"""What the job-engine tests share: the fake service, the workers' settings, their log.

A test runs real worker processes of an engine (started by ``start_worker``), which load
``tests/jobs_celery_app.py`` or ``tests/jobs_taskiq_app.py``: the SDK's own integration,
with the rate limits scaled to the fake's and a log of every task start and end pushed to
a Redis list. The test reads that log to know which worker ran what, and the PostgreSQL
history and the fake's records to check what was stored against what was served.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import asyncpg
import attrs
import redis

from connectsafely_async import RateLimits
from connectsafely_async.testing import FakeConnectSafely, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "sk_test_jobs"
LOG_KEY = "jobs:test-log"
#: 60 accounts of 20, 35 or 50 visitors: one to three pages of 20 each.
ACCOUNTS = {f"{n:024x}": 20 + 15 * (n % 3) for n in range(1, 61)}
#: The documented limits (60 a minute per key, 30 per account) on a clock sped up 20x,
#: with bursts small enough that the rate, not the burst, sets the pace.
SCALE = 20.0
KEY_RATE = 60 * SCALE / 60
ACCOUNT_RATE = 30 * SCALE / 60
SERVICE_KEY_BURST, SERVICE_ACCOUNT_BURST = 10.0, 5.0


def client_limits() -> RateLimits:
    """The workers' shared limits: the service's, with bursts a little under its own."""
    return RateLimits(
        per_key_per_minute=KEY_RATE * 60, key_burst=SERVICE_KEY_BURST - 2,
        per_account_per_minute=ACCOUNT_RATE * 60, account_burst=SERVICE_ACCOUNT_BURST - 1,
    )


def fake_service() -> FakeConnectSafely:
    return FakeConnectSafely(
        api_key=API_KEY, accounts=ACCOUNTS, key_rate=KEY_RATE, key_burst=SERVICE_KEY_BURST,
        account_rate=ACCOUNT_RATE, account_burst=SERVICE_ACCOUNT_BURST,
    )


def log_entry(redis_url: str, **entry: Any) -> None:
    """Push one line to the test's log (called inside the workers)."""
    with redis.Redis.from_url(redis_url) as conn:
        conn.rpush(LOG_KEY, json.dumps({**entry, "worker": os.environ.get("JOBS_WORKER"),
                                        "pid": os.getpid(), "at": time.time()}))


def read_log(redis_url: str) -> list[dict[str, Any]]:
    with redis.Redis.from_url(redis_url) as conn:
        return [json.loads(line) for line in conn.lrange(LOG_KEY, 0, -1)]


def worker_env(*, fake_url: str, redis_url: str, history_url: str, name: str) -> dict[str, str]:
    """What a deployment sets on every worker, plus the worker's name for the log."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CONNECTSAFELY_API_KEY": API_KEY,
        "CONNECTSAFELY_BASE_URL": fake_url,
        "CONNECTSAFELY_RATE_LIMIT_URL": redis_url,
        "CONNECTSAFELY_HISTORY_URL": history_url,
        "JOBS_WORKER": name,
    }


@contextmanager
def workers(commands: Mapping[str, list[str]], env: Callable[[str], dict[str, str]],
            logs: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Start one process group per named worker; kill what is left of them at the end."""
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            with (logs / f"{name}.log").open("wb") as out:
                started[name] = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
                    command, cwd=ROOT, env=env(name), stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )
        yield started
    finally:
        # Stopped as a container runtime stops them: SIGTERM to the worker's main process,
        # which stops its pool; what is left after the grace period is killed.
        for process in started.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                kill_group(process, signal.SIGKILL)
                process.wait(timeout=10)
            kill_group(process, signal.SIGKILL)  # a pool process its main one left behind


def kill_group(process: subprocess.Popen[bytes], how: signal.Signals) -> None:
    """Signal a worker and every process it started (its pool), as one group."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, how)


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str | Callable[[], str]
) -> None:
    """Poll ``condition`` until true; ``what`` (or what it returns) says what was awaited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            awaited = what if isinstance(what, str) else what()
            msg = f"timed out after {timeout:g}s waiting for {awaited}"
            raise AssertionError(msg)
        time.sleep(0.1)


def open_tasks(log: list[dict[str, Any]], worker: str) -> set[str]:
    """The accounts whose task ``worker`` started and did not end."""
    started: dict[str, int] = {}
    for entry in log:
        if entry["worker"] == worker and entry["task"] == "sync_account":
            step = 1 if entry["event"] == "start" else -1
            started[entry["account"]] = started.get(entry["account"], 0) + step
    return {account for account, count in started.items() if count > 0}


def outcomes(log: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Account -> the outcomes of its finished tasks, in order."""
    found: dict[str, list[str]] = {}
    for entry in log:
        if entry["event"] == "end" and entry["task"] == "sync_account" and entry["outcome"]:
            found.setdefault(entry["account"], []).append(entry["outcome"])
    return found


@attrs.frozen
class Stored:
    rows: int
    distinct: int
    views: int
    anonymous: int
    syncs: dict[str, list[tuple[bool, str | None]]]  # account -> (finished, error) per sync


async def stored(history_url: str) -> Stored:
    """What the shared history holds."""
    dsn, schema = history_url.split("?schema=")
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM visitors) AS rows, "
            "(SELECT count(DISTINCT (account_id, entity_urn)) FROM visitors) AS distinct_urns, "
            "(SELECT count(*) FROM views) AS views, "
            "(SELECT count(*) FROM anonymous) AS anonymous")
        syncs: dict[str, list[tuple[bool, str | None]]] = {}
        for sync in await conn.fetch("SELECT account_id, finished, error FROM syncs ORDER BY id"):
            syncs.setdefault(sync["account_id"], []).append(
                (sync["finished"] is not None, sync["error"]))
        return Stored(row["rows"], row["distinct_urns"], row["views"], row["anonymous"], syncs)
    finally:
        await conn.close()


@attrs.frozen
class Served:
    named: int
    anonymous: int
    requests: int
    throttled: int
    seconds: float  # first to last visitors request

    @property
    def lower_bound(self) -> float:
        """The least time the service's key limit allows for this many requests."""
        return max(0.0, (self.requests - SERVICE_KEY_BURST) / KEY_RATE)


def served(fake: FakeConnectSafely) -> Served:
    visitors = [v for account in ACCOUNTS for v in fake.visitors(account)]
    named = sum(1 for v in visitors if v.get("entityUrn"))
    times = [r.received_at for r in fake.requests if r.path.endswith("/visitors")]
    return Served(named=named, anonymous=len(visitors) - named, requests=len(fake.requests),
                  throttled=fake.throttled_count, seconds=max(times) - min(times))


def python() -> str:
    return sys.executable


@attrs.frozen
class Run:
    """One run with a worker killed mid-way, as the test saw it."""

    log: list[dict[str, Any]]
    lost: set[str]  # the accounts whose task the killed worker had started, never ended
    kept: Stored
    sent: Served
    run: str
    stopped: int | None  # the surviving worker's exit status once told to stop (SIGTERM)
    logs: Path

    def summary(self, engine: str) -> str:
        return (
            f"{engine}: 2 workers, {len(ACCOUNTS)} accounts, {self.sent.requests} requests, "
            f"{self.sent.throttled} x 429; visitors stored {self.kept.rows} of "
            f"{self.sent.named} named served, {self.kept.anonymous} of {self.sent.anonymous} "
            f"anonymous; w1 killed with {len(self.lost)} task(s) open; visitors requests took "
            f"{self.sent.seconds:.2f}s, the key limit allows {self.sent.lower_bound:.2f}s at best"
        )


def run_and_kill(
    *,
    commands: Mapping[str, list[str]],
    kick: Callable[[str], str],
    broker_state: Callable[[str], str],
    broker_is_empty: Callable[[str], bool],
    redis_url: str,
    history_url: str,
    logs: Path,
) -> Run:
    """Start workers ``w1`` and ``w2``, start a run (``kick(broker_url)`` returns its
    name), SIGKILL ``w1`` while it runs a task, and wait until every account is done and
    every message acknowledged."""
    with serve_in_thread(fake_service()) as fake:
        def env(name: str) -> dict[str, str]:
            return worker_env(fake_url=fake.url, redis_url=redis_url, history_url=history_url,
                              name=name)

        with workers(commands, env, logs) as started:
            run = kick(redis_url)

            def w1_is_busy_midway() -> bool:
                log = read_log(redis_url)
                return len(outcomes(log)) >= 15 and bool(open_tasks(log, "w1"))

            wait_for(w1_is_busy_midway, timeout=60, what="worker w1 to be busy mid-run")
            kill_group(started["w1"], signal.SIGKILL)
            started["w1"].wait(timeout=10)
            lost = open_tasks(read_log(redis_url), "w1")

            def all_done() -> bool:
                return set(outcomes(read_log(redis_url))) == set(ACCOUNTS)

            wait_for(all_done, timeout=60, what=lambda: (
                f"every account to be synced; w1 lost {sorted(lost)}; "
                f"{broker_state(redis_url)}; not synced: "
                f"{sorted(set(ACCOUNTS) - set(outcomes(read_log(redis_url))))}"))
            wait_for(lambda: broker_is_empty(redis_url), timeout=30,
                     what=lambda: f"every message to be acknowledged: {broker_state(redis_url)}")
        sent = served(fake)
    return Run(log=read_log(redis_url), lost=lost, kept=asyncio.run(stored(history_url)),
               sent=sent, run=run, stopped=started["w2"].returncode,
               logs=logs)


def assert_synced_once(report: Run) -> None:
    """No 429, every served visitor stored once, every account synced once, and the killed
    worker's tasks finished by the other worker."""
    kept, sent, log, lost = report.kept, report.sent, report.log, report.lost
    assert sent.throttled == 0
    # Every served visitor stored once: one row and one view each, no more, no fewer.
    assert kept.rows == kept.distinct == kept.views == sent.named > 0
    assert kept.anonymous == sent.anonymous > 0
    # Every account synced once in the run: one sync in the store, finished...
    assert kept.syncs == {account: [(True, None)] for account in ACCOUNTS}
    # ... by one task: a task delivered again finds its account done ("already synced").
    # The killed worker may have finished a sync before its task ended: then its
    # redelivered task is the account's only result, and says so.
    assert lost, "w1 was killed between two tasks: nothing to redeliver"
    done = outcomes(log)
    assert set(done) == set(ACCOUNTS)
    for account, results in done.items():
        assert set(results) <= {"synced", "already synced"}, (account, results)
        synced = results.count("synced")
        assert synced == 1 if account not in lost else synced <= 1, (account, results)
    for account in lost:
        # The killed worker's tasks came back and were finished by the other one.
        ends = {e["worker"] for e in log
                if e["event"] == "end" and e["account"] == account and e["outcome"]}
        assert ends == {"w2"}, (account, ends)
    # One fan-out, which returned the number of accounts.
    fan_outs = [e for e in log if e["event"] == "end" and e["task"] == "sync_accounts"]
    assert [e["note"] for e in fan_outs] == ["int"], fan_outs
    assert report.run
    # The surviving worker stopped when told to (SIGTERM), not killed after a grace period.
    tail = (report.logs / "w2.log").read_text(errors="replace")[-3000:]
    assert report.stopped == 0, f"w2 exited with {report.stopped}:\n{tail}"
