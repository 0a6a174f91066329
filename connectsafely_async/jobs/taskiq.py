"""Taskiq with taskiq-redis: "sync these accounts" as one task per account.

::

    # tasks.py: the module the workers and the scheduler load
    from connectsafely_async.jobs.taskiq import create_broker, create_scheduler

    broker = create_broker()  # the broker: $CONNECTSAFELY_BROKER_URL, else the limit's Redis
    scheduler = create_scheduler(broker)

    $ taskiq worker tasks:broker --workers 2 --max-async-tasks 8    # on every machine
    $ taskiq scheduler tasks:scheduler                              # once: daily, 03:00 UTC

Tasks run ``AsyncConnectSafely``. Each worker process keeps one client (the key and the
Redis rate limit from the environment) and one open history store
(``$CONNECTSAFELY_HISTORY_URL``), made at its first task and closed when it stops.

Messages go through a Redis stream and are acknowledged after the task ran (taskiq's
default, ``when_saved``): a worker that dies leaves its messages pending, and another one
claims them once they have been idle ``idle_timeout`` seconds (``ReclaimingStreamBroker``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from redis.asyncio import Redis
from taskiq import (
    AckableMessage,
    Context,
    TaskiqDepends,
    TaskiqEvents,
    TaskiqScheduler,
    TaskiqState,
)
from taskiq.schedule_sources import LabelScheduleSource
from taskiq_redis import RedisStreamBroker

from .._client import AsyncConnectSafely
from ..history import PostgresStore, SQLiteStore, open_store
from ._runs import (
    SYNC_ACCOUNT,
    SYNC_ACCOUNTS,
    AccountSync,
    marker_key,
    resolve_broker_url,
    retry_later,
    settle,
    skipped,
)

__all__ = [
    "DAILY",
    "SYNC_ACCOUNT",
    "SYNC_ACCOUNTS",
    "ReclaimingStreamBroker",
    "create_broker",
    "create_scheduler",
    "install",
]

Store = SQLiteStore | PostgresStore
logger = logging.getLogger("connectsafely_async")

#: The default schedule of ``connectsafely.sync_accounts``: every day at 03:00 UTC.
DAILY: Final[Sequence[Mapping[str, Any]]] = (
    {"cron": "0 3 * * *", "schedule_id": "connectsafely-daily-sync"},
)


class ReclaimingStreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, reading one message at a time and taking back a dead
    worker's messages even when nothing new arrives.

    ``RedisStreamBroker`` reads up to 100 messages at once (all pending on this worker
    until done) and looks for idle messages of other workers only after new ones arrived,
    so the tasks of a worker killed near the end of a run would wait for the next run.
    Here each turn first claims one message idle for ``idle_timeout`` milliseconds
    (``XAUTOCLAIM``: atomic, so two workers never claim the same one), then waits for a new
    one; an acknowledged message is deleted from the stream, which so stays small. A worker
    told to stop stops reading (see ``_stopping``); a message read in that instant stays
    pending, and another worker claims it after ``idle_timeout``.
    """

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        while True:
            async with Redis(connection_pool=self.connection_pool) as conn:
                message = await self._claim_idle(conn) or await self._read_new(conn)
            if _stopping():
                raise asyncio.CancelledError
            if message is not None:
                yield message

    async def _read_new(self, conn: Redis) -> AckableMessage | None:
        """One new message, waiting for it at most ``xread_block`` milliseconds."""
        fetched: Any = await conn.xreadgroup(
            self.consumer_group_name, self.consumer_name, {self.queue_name: ">"},
            block=self.block, count=1, noack=False,
        )
        for _stream, entries in fetched or ():
            for entry_id, fields in entries:
                return self._message(entry_id, fields)
        return None

    async def _claim_idle(self, conn: Redis) -> AckableMessage | None:
        """One message another consumer left idle too long, or ``None``."""
        cursor: bytes | str = "0-0"
        while True:
            cursor, entries, *_deleted = await conn.xautoclaim(
                self.queue_name, self.consumer_group_name, self.consumer_name,
                min_idle_time=self.idle_timeout, start_id=cursor, count=1,
            )
            for entry_id, fields in entries:
                logger.info("taking over task message %s, left unacknowledged by a worker",
                            entry_id)
                return self._message(entry_id, fields)
            if cursor in (b"0-0", "0-0"):
                return None

    def _message(self, entry_id: bytes, fields: Mapping[bytes, bytes]) -> AckableMessage:
        async def ack() -> None:
            async with (
                Redis(connection_pool=self.connection_pool) as conn,
                conn.pipeline(transaction=True) as pipe,
            ):
                pipe.xack(self.queue_name, self.consumer_group_name, entry_id)
                pipe.xdel(self.queue_name, entry_id)
                await pipe.execute()

        return AckableMessage(data=fields[b"data"], ack=ack)


def _stopping() -> bool:
    """Whether the task reading messages was asked to stop.

    redis-py (8.2) can swallow the ``CancelledError`` thrown into a command it is waiting
    for, and a worker told to stop would then read on forever (as taskiq-redis's own
    broker does). Python 3.11+ still knows the task is being cancelled; 3.10 cannot tell.
    """
    cancelling = getattr(asyncio.current_task(), "cancelling", None)
    return bool(cancelling is not None and cancelling())


def create_broker(
    url: str | None = None,
    *,
    idle_timeout: float = 60 * 60,
    client: Callable[[], AsyncConnectSafely] = AsyncConnectSafely,
    store: Callable[[], Store] = open_store,
    schedule: Sequence[Mapping[str, Any]] = DAILY,
    timeout: float = 15 * 60,
    retry_delay: float = 30.0,
    max_retries: int = 20,
) -> ReclaimingStreamBroker:
    """A broker on a Redis stream with the sync tasks registered.

    Args:
        url: the Redis broker (``None``: ``$CONNECTSAFELY_BROKER_URL``, else
            ``$CONNECTSAFELY_RATE_LIMIT_URL``).
        idle_timeout: seconds a message may stay unacknowledged before another worker
            takes it: longer than ``timeout`` plus ``retry_delay``, or a task still running
            is started a second time (it then waits for the account's lock and finds it
            done).
        client, store, schedule, timeout, retry_delay, max_retries: as for ``install``.

    Raises:
        ConfigurationError: no broker URL given or set.
    """
    broker = ReclaimingStreamBroker(
        resolve_broker_url(url), queue_name="connectsafely", consumer_group_name="connectsafely",
        # "0": a group made after the first messages were sent still delivers them.
        consumer_id="0", idle_timeout=round(idle_timeout * 1000),
    )
    install(broker, client=client, store=store, schedule=schedule, timeout=timeout,
            retry_delay=retry_delay, max_retries=max_retries)
    return broker


def create_scheduler(broker: RedisStreamBroker) -> TaskiqScheduler:
    """The scheduler that sends the tasks' ``schedule`` labels (``taskiq scheduler``);
    run exactly one."""
    return TaskiqScheduler(broker, sources=[LabelScheduleSource(broker)])


def install(
    broker: RedisStreamBroker,
    *,
    client: Callable[[], AsyncConnectSafely] = AsyncConnectSafely,
    store: Callable[[], Store] = open_store,
    schedule: Sequence[Mapping[str, Any]] = DAILY,
    timeout: float = 15 * 60,
    retry_delay: float = 30.0,
    max_retries: int = 20,
) -> None:
    """Add ``connectsafely.sync_accounts`` and ``connectsafely.sync_account`` to ``broker``.

    Args:
        broker: a broker that acknowledges after the task (a ``RedisStreamBroker``).
        client: makes a worker process's client (default: ``AsyncConnectSafely()``,
            configured from the environment).
        store: makes its history store, not yet open (default: ``open_store()``, from
            ``$CONNECTSAFELY_HISTORY_URL``).
        schedule: taskiq ``schedule`` labels of the fan-out (``()``: no schedule).
        timeout: seconds one account's sync may run; then it is retried, resuming where
            it stopped.
        retry_delay: seconds before a task that must wait (another worker holds the
            account, the store or the service is away for now) is sent again.
        max_retries: how many times before the task fails with that error.
    """
    resources = _Resources(client, store)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, resources.aclose)

    async def retried(kick: Callable[[], Awaitable[object]], exc: Exception, attempt: int) -> None:
        # A TimeoutError is the task's own time limit: the sync was cancelled after its
        # last whole page and gave its lock back, so the retry resumes it.
        if not (retry_later(exc) or isinstance(exc, TimeoutError)) or attempt >= max_retries:
            raise exc
        logger.info("retrying in %gs: %s", retry_delay, exc)
        # The message stays unacknowledged while we wait: a worker dying now loses nothing.
        await asyncio.sleep(retry_delay)
        await kick()

    @broker.task(task_name=SYNC_ACCOUNT)
    async def sync_account(account_id: str, run: str, attempt: int = 0) -> dict[str, Any] | None:
        try:
            done = await asyncio.wait_for(_sync_account(resources, account_id, run), timeout)
        except Exception as exc:  # retried() re-raises what is not to retry
            await retried(lambda: sync_account.kiq(account_id, run, attempt + 1), exc, attempt)
            return None
        return done.to_json()

    @broker.task(task_name=SYNC_ACCOUNTS, schedule=list(schedule))
    async def sync_accounts(
        account_ids: list[str] | None = None, attempt: int = 0,
        context: Context = TaskiqDepends(),  # noqa: B008 - taskiq's dependency marker
    ) -> int | None:
        # The run is named by this task's id: the same when the message is claimed again, so
        # a fan-out redone after its worker died finds the accounts it already finished.
        run = context.message.task_id
        try:
            ids = (list(account_ids) if account_ids is not None
                   else [a.id for a in await (await resources.client()).list_accounts()])
        except Exception as exc:  # retried() re-raises what is not to retry
            await retried(lambda: sync_accounts.kicker().with_task_id(run).kiq(
                account_ids, attempt + 1), exc, attempt)
            return None
        for account_id in dict.fromkeys(ids):
            await sync_account.kiq(account_id, run)
        return len(ids)


async def _sync_account(resources: _Resources, account_id: str, run: str) -> AccountSync:
    store = await resources.store()
    if await store.meta(marker_key(account_id)) == run:
        return skipped(account_id, run)
    client = await resources.client()
    # The run's mark is written with the sync's closing (see jobs/celery.py).
    result = await client.sync_visitors(store, account_id=account_id, collect=False,
                                        meta={marker_key(account_id): run})
    return settle(result, run)


class _Resources:
    """One worker process's client and open store, made at its first task; a store that
    failed to open is tried again by the next task."""

    def __init__(
        self, client: Callable[[], AsyncConnectSafely], store: Callable[[], Store]
    ) -> None:
        self._make_client = client
        self._make_store = store
        self._lock = asyncio.Lock()
        self._client: AsyncConnectSafely | None = None
        self._store: Store | None = None

    async def client(self) -> AsyncConnectSafely:
        async with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    async def store(self) -> Store:
        async with self._lock:
            if self._store is None:
                opened = self._make_store()
                await opened.open()
                self._store = opened
            return self._store

    async def aclose(self, _state: TaskiqState | None = None) -> None:
        async with self._lock:
            client, store, self._client, self._store = self._client, self._store, None, None
        try:
            if store is not None:
                await store.aclose()
        finally:
            if client is not None:
                await client.aclose()
