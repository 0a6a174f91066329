"""Sync many accounts on the job engine a team already runs: one task per account.

Each engine has its own module, imported only by those who ask for it (the core package
never imports an engine):

- ``connectsafely_async.jobs.celery``: Celery with the Redis broker, running the blocking
  ``ConnectSafely`` (``pip install 'connectsafely-async[celery]'``);
- ``connectsafely_async.jobs.taskiq``: Taskiq with taskiq-redis, running
  ``AsyncConnectSafely`` (``pip install 'connectsafely-async[taskiq]'``).

Both register the same two tasks, ``connectsafely.sync_accounts`` (the fan-out: one
``connectsafely.sync_account`` per account, every account of the workspace when none is
named; the daily schedule runs it) and ``connectsafely.sync_account`` (Celery adds the
run's check, ``connectsafely.check_run``: its Redis transport can lose a message a worker
was killed taking), and both wire the shared parts from the settings every worker already
has: ``$CONNECTSAFELY_API_KEY``, the Redis rate limit (``$CONNECTSAFELY_RATE_LIMIT_URL``)
and the history (``$CONNECTSAFELY_HISTORY_URL``). What a task does is the same whatever
runs it (``_runs``).
"""

from ._runs import ENV_BROKER_URL, SYNC_ACCOUNT, SYNC_ACCOUNTS, AccountSync, SyncInterruptedError

__all__ = [
    "ENV_BROKER_URL", "SYNC_ACCOUNT", "SYNC_ACCOUNTS", "AccountSync", "SyncInterruptedError",
]
