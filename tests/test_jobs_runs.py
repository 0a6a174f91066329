"""What every job-engine task decides, engine aside (``connectsafely_async.jobs._runs``), and
that the engines stay optional: the core imports without them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connectsafely_async import (
    APIConnectionError,
    AsyncConnectSafely,
    ConfigurationError,
    ConnectSafely,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from connectsafely_async.history import (
    SchemaVersionError,
    SQLiteStore,
    StoreDependencyError,
    StoreLockedError,
    StoreUnavailableError,
    SyncResult,
)
from connectsafely_async.jobs import AccountSync, SyncInterruptedError
from connectsafely_async.jobs._runs import (
    marker_key,
    resolve_broker_url,
    retry_later,
    settle,
    skipped,
    unfinished,
)
from connectsafely_async.testing import FakeConnectSafely, serve_in_thread

ACCOUNT = "696ce9e780e0483585e4e553"


def test_a_finished_sync_is_the_tasks_result() -> None:
    result = SyncResult(account_id=ACCOUNT, new_count=3, returning_count=1, anonymous_count=2,
                        resumed=True)
    assert settle(result, "run-1") == AccountSync(
        account_id=ACCOUNT, run="run-1", outcome="synced", new_count=3, returning_count=1,
        anonymous_count=2, resumed=True)
    assert settle(result, "run-1").to_json()["outcome"] == "synced"


def test_a_runs_check_sends_again_only_the_accounts_no_run_finished_since_it_began() -> None:
    before = {"a": None, "b": None, "c": "run-0", "d": "run-0", "e": None, "f": "run-1"}
    now = {
        "a": None,  # no run finished it: its task was lost, or still runs
        "b": "run-1",  # this run finished it
        "c": "run-0",  # a run finished it before this one began, none since
        "d": "run-2",  # a run started by hand finished it meanwhile: done, not sent again
        "e": "run-2",
        "f": "run-1",  # the fan-out delivered again, after it had finished the account
    }
    assert unfinished("run-1", before, now) == ["a", "c"]
    assert unfinished("run-1", {}, now) == []


@pytest.mark.parametrize("error", [
    APIConnectionError("refused"),
    RateLimitError("slow down", status_code=429),
    InternalServerError("oops", status_code=503),
])
def test_a_sync_stopped_by_what_passes_is_retried(error: Exception) -> None:
    result = SyncResult(account_id=ACCOUNT, error=error)  # type: ignore[arg-type]
    with pytest.raises(SyncInterruptedError, match=ACCOUNT) as caught:
        settle(result, "run-1")
    assert caught.value.__cause__ is error
    assert retry_later(caught.value)


def test_a_sync_stopped_by_what_comes_again_fails_the_account() -> None:
    error = NotFoundError("no such account", status_code=404)
    done = settle(SyncResult(account_id=ACCOUNT, error=error), "run-1")
    assert (done.outcome, done.error) == ("failed", "HTTP 404: no such account")
    assert not retry_later(error)


@pytest.mark.parametrize(("error", "again"), [
    (StoreLockedError("another worker syncs it"), True),
    (StoreUnavailableError("cannot connect"), True),
    (SchemaVersionError("newer tables"), False),
    (StoreDependencyError("no asyncpg"), False),
    (APIConnectionError("refused"), True),
    (ValueError("a bug"), False),
])
def test_what_is_retried_later(error: Exception, again: bool) -> None:
    assert retry_later(error) is again


def test_a_task_delivered_again_in_the_same_run_is_skipped() -> None:
    assert skipped(ACCOUNT, "run-1").outcome == "already synced"
    assert marker_key(ACCOUNT) == f"jobs.last_run:{ACCOUNT}"


def test_the_broker_url_falls_back_to_the_rate_limits_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONNECTSAFELY_BROKER_URL", raising=False)
    monkeypatch.delenv("CONNECTSAFELY_RATE_LIMIT_URL", raising=False)
    with pytest.raises(ConfigurationError, match="CONNECTSAFELY_BROKER_URL"):
        resolve_broker_url(None)
    monkeypatch.setenv("CONNECTSAFELY_RATE_LIMIT_URL", "redis://limit/0")
    assert resolve_broker_url(None) == "redis://limit/0"
    monkeypatch.setenv("CONNECTSAFELY_BROKER_URL", "redis://broker/1")
    assert resolve_broker_url(None) == "redis://broker/1"
    assert resolve_broker_url("redis://given/2") == "redis://given/2"


def test_the_core_imports_without_the_engines() -> None:
    # None in sys.modules makes an import fail, as on an install without the extras.
    code = (
        "import sys\n"
        "for name in ('celery', 'kombu', 'taskiq', 'taskiq_redis'):\n"
        "    sys.modules[name] = None\n"
        "import connectsafely_async, connectsafely_async.history, connectsafely_async.jobs\n"
        "for name in ('celery', 'taskiq'):\n"
        "    try:\n"
        "        __import__(f'connectsafely_async.jobs.{name}')\n"
        "    except ImportError:\n"
        "        print(name, 'needs its extra')\n"
    )
    result = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", code], capture_output=True, text=True,
        timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["celery needs its extra", "taskiq needs its extra"]


class _Died(BaseException):
    """The worker process ends here (as a SIGKILL would end it)."""


def _die(*_args: object) -> AccountSync:
    raise _Died


def test_a_task_delivered_again_after_its_worker_died_past_the_sync_finds_it_done(
    tmp_path: Path,
) -> None:
    # The worker dies right after the sync closed, before its task could return: the task
    # comes again (late acknowledgement) and finds the run's mark, written with the sync's
    # closing. Synced again from the top, every anonymous sighting would be recorded twice.
    from connectsafely_async.jobs import celery as celery_jobs  # (Celery: the test extra)

    with serve_in_thread(FakeConnectSafely(accounts={ACCOUNT: 40})) as fake:
        resources = celery_jobs._Resources(
            client=lambda: ConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                         rate_limits=None),
            store=lambda: SQLiteStore(tmp_path / "history.db"))
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(celery_jobs, "settle", _die)
                with pytest.raises(_Died):
                    celery_jobs._sync_account(resources, ACCOUNT, "run-1")
            walked = len(fake.requests)
            again = celery_jobs._sync_account(resources, ACCOUNT, "run-1")
            assert again.outcome == "already synced"
            assert len(fake.requests) == walked  # not walked again
            assert resources.store().meta(marker_key(ACCOUNT)) == "run-1"
            tomorrow = celery_jobs._sync_account(resources, ACCOUNT, "run-2")
            assert tomorrow.outcome == "synced"
        finally:
            resources.closer()


async def test_on_taskiq_too_a_task_delivered_again_past_the_sync_finds_it_done(
    tmp_path: Path,
) -> None:
    # As on Celery above: the same steps through the async client and store.
    from connectsafely_async.jobs import taskiq as taskiq_jobs  # (Taskiq: the test extra)

    with serve_in_thread(FakeConnectSafely(accounts={ACCOUNT: 40})) as fake:
        resources = taskiq_jobs._Resources(
            client=lambda: AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                              rate_limits=None),
            store=lambda: SQLiteStore(tmp_path / "history.db"))
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(taskiq_jobs, "settle", _die)
                with pytest.raises(_Died):
                    await taskiq_jobs._sync_account(resources, ACCOUNT, "run-1")
            walked = len(fake.requests)
            again = await taskiq_jobs._sync_account(resources, ACCOUNT, "run-1")
            assert again.outcome == "already synced"
            assert len(fake.requests) == walked  # not walked again
            assert await (await resources.store()).meta(marker_key(ACCOUNT)) == "run-1"
            tomorrow = await taskiq_jobs._sync_account(resources, ACCOUNT, "run-2")
            assert tomorrow.outcome == "synced"
        finally:
            await resources.aclose()
