"""An account another worker is syncing: the task waits its turn (a retry), never fails.

The test holds the account's lock in PostgreSQL, as a sync running elsewhere does, and runs
each engine's task in this process (Celery eagerly, Taskiq on its in-memory broker): every
attempt meets ``StoreLockedError`` and is retried, sending nothing to the service; once the
lock is given back, the next attempt syncs the account and notes the run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from connectsafely_async import AsyncConnectSafely, ConnectSafely
from connectsafely_async.history import PostgresStore
from connectsafely_async.jobs import SYNC_ACCOUNT
from connectsafely_async.testing import FakeConnectSafely, serve_in_thread

from .servers import PostgresServer

ACCOUNT = "696ce9e780e0483585e4e553"
LOCK_TIMEOUT = 0.2  # each attempt waits this long for the lock
HELD = 1.0  # seconds the test holds the account


@pytest.fixture
def history(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    engine = request.node.name.split("_")[1]  # a schema of its own for each test
    return f"{postgres_server.dsn}?schema=jobs_lock_{engine}"


def hold_account(history: str) -> Iterator[threading.Timer]:
    """Hold the account's sync lock for ``HELD`` seconds, as another worker's sync would."""
    with PostgresStore(history) as holder:  # a plain with: its methods need no await
        start = holder.begin_sync(ACCOUNT, "another worker's sync")
        release = threading.Timer(HELD, lambda: holder.finish_sync(start.sync_id))
        release.start()
        try:
            yield release
        finally:
            release.join()


def visitors_requests(fake: FakeConnectSafely) -> int:
    return sum(r.path.endswith("/visitors") for r in fake.requests)


def test_celery_retries_a_locked_account_until_its_turn(history: str) -> None:
    celery = pytest.importorskip("celery")
    from connectsafely_async.jobs.celery import create_app

    with serve_in_thread(FakeConnectSafely(accounts={ACCOUNT: 45})) as fake:
        app = create_app(
            "redis://127.0.0.1:1/0", retry_delay=0.0, max_retries=100,
            client=lambda: ConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                         rate_limits=None),
            store=lambda: PostgresStore(history, lock_timeout=LOCK_TIMEOUT),
        )
        attempts: list[int] = []
        celery.signals.task_prerun.connect(
            lambda task, **_: attempts.append(visitors_requests(fake)), weak=False)
        try:
            for _ in hold_account(history):
                result = app.tasks[SYNC_ACCOUNT].apply(args=(ACCOUNT, "run-1"))
        finally:
            celery.signals.worker_shutdown.send(sender=None)  # closes the client and store
    assert result.state == "SUCCESS", result.result
    assert result.result["outcome"] == "synced"
    assert result.result["new_count"] > 0
    # Tried while the account was held (nothing sent to the service), then synced.
    assert len(attempts) >= HELD / LOCK_TIMEOUT / 2
    assert attempts[:-1] == [0] * (len(attempts) - 1)


async def test_taskiq_retries_a_locked_account_until_its_turn(history: str) -> None:
    taskiq = pytest.importorskip("taskiq")
    from connectsafely_async.jobs.taskiq import install

    async with FakeConnectSafely(accounts={ACCOUNT: 45}) as fake:
        broker = taskiq.InMemoryBroker(await_inplace=True)
        install(
            broker, retry_delay=0.0, max_retries=100,  # type: ignore[arg-type]
            client=lambda: AsyncConnectSafely(api_key=fake.api_key, base_url=fake.url,
                                              rate_limits=None),
            store=lambda: PostgresStore(history, lock_timeout=LOCK_TIMEOUT),
        )
        attempts: list[int] = []

        class Count(taskiq.TaskiqMiddleware):
            def pre_execute(self, message: taskiq.TaskiqMessage) -> taskiq.TaskiqMessage:
                attempts.append(visitors_requests(fake))
                return message

        broker.add_middlewares(Count())
        await broker.startup()
        try:
            holding = hold_account(history)
            await asyncio.to_thread(next, holding)
            await broker.find_task(SYNC_ACCOUNT).kiq(ACCOUNT, "run-1")  # type: ignore[union-attr]
            await asyncio.to_thread(next, holding, None)
            async with PostgresStore(history) as store:
                assert await store.meta(f"jobs.last_run:{ACCOUNT}") == "run-1"
                records = await store.history(account_id=ACCOUNT)
        finally:
            await broker.shutdown()  # closes the client and store (WORKER_SHUTDOWN)
    assert len(records) == 45
    assert len(attempts) >= HELD / LOCK_TIMEOUT / 2
    assert attempts[:-1] == [0] * (len(attempts) - 1)
