"""The ledger under SIGKILL and a lossy service: follow-up runs killed at random points
(mid-request, between the send and its record, mid-acknowledgement) over a few days of the
fake's clock, rerun until done, some actions performed by the fake and then answered with a
reset, a 502 or nothing in time. The fake's own log of what it performed is the judge:
nobody contacted twice, the caps never exceeded, every event settled or deferred."""

from __future__ import annotations

import math
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectsafely_async import ConnectSafely, RetryPolicy
from connectsafely_async.history import SQLiteStore
from connectsafely_async.testing import FakeConnectSafely, Fault, serve_in_thread, visitors_at

from . import forked
from .followup_worker import PLAN

ACCOUNT = "696ce9e780e0483585e4e553"
MONDAY = 1_767_571_200.0  # 2026-01-05 00:00 UTC
DAY = 86400.0
ROOT = Path(__file__).resolve().parent.parent
#: SIGKILLs per test run: a dozen in CI; the closing note's measurement sets 40.
KILLS = int(os.environ.get("CONNECTSAFELY_TEST_KILLS", "12"))


@pytest.fixture
def clock() -> list[float]:
    return [MONDAY + 9 * 3600]


@pytest.fixture
def fake(clock: list[float]) -> Iterator[FakeConnectSafely]:
    # A slow service: every request takes 50 ms, so a run is mostly requests in flight.
    server = FakeConnectSafely(accounts={ACCOUNT: 0}, latency=0.03, clock=lambda: clock[0])
    with serve_in_thread(server) as running:
        yield running


def follow_up(db: Path, fake: FakeConnectSafely, now: float,
              kill_after: float | None) -> int | None:
    """One worker run; killed after ``kill_after`` seconds if still running. Its exit code
    (negative: killed), or None when it ended on its own before the kill."""
    # ``python -m tests.followup_worker ...``, forked with the SDK already imported
    # (tests/forked.py): ``kill_after`` counts from the start of the worker's own work.
    process = forked.python("-m", "tests.followup_worker", str(db), fake.url, fake.api_key,
                            ACCOUNT, repr(now), cwd=ROOT, stdout=forked.DEVNULL)
    try:
        process.wait(timeout=kill_after if kill_after is not None else 60)
    except subprocess.TimeoutExpired:
        # (A forked child is reaped by the fork server as it ends, maybe before its status
        # reaches us: send_signal, unlike os.kill, lets a child already gone be.)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.stderr is not None
    err = process.stderr.read().decode()
    process.stderr.close()
    assert "Traceback" not in err, err
    return process.returncode


def test_killed_runs_and_lost_answers_never_contact_anyone_twice(
    fake: FakeConnectSafely, clock: list[float], tmp_path: Path
) -> None:
    rng = random.Random(20261206)
    db = tmp_path / "history.db"
    kills = 0
    whole = 0.5  # seconds a whole run takes, measured after each day's last run
    for day in range(4):
        now = MONDAY + day * DAY + 9 * 3600
        clock[0] = now
        fake.set_visitors(ACCOUNT, visitors_at(now, account_id=ACCOUNT))
        with ConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None,
                           retry=RetryPolicy(initial_delay=0)) as client, \
                SQLiteStore(db) as store:
            client.sync_visitors(store, account_id=ACCOUNT, clock=lambda n=now: n)
        # A lossy service: about 1 action in 10 performed, then its answer lost.
        for _ in range(3):
            fault = rng.choice([Fault(kind="reset"), Fault(status=502), Fault(delay=1.0)])
            fake.inject_action_fault(fault)
        # Kill runs at random points of their work (forked with the SDK imported, a run
        # starts working at once): a point drawn within how long a whole run took last, so
        # a short day is killed too (a run that ended before its kill point was a whole
        # run: the next point is drawn within its time)...
        for _ in range(8 * KILLS):
            if kills >= math.ceil(KILLS * (day + 1) / 4):
                break
            began = time.monotonic()
            if follow_up(db, fake, now, kill_after=rng.uniform(0.01, whole)) == -signal.SIGKILL:
                kills += 1
            else:
                whole = max(0.05, time.monotonic() - began)
        began = time.monotonic()
        assert follow_up(db, fake, now, kill_after=None) == 0  # ...then one that finishes
        whole = max(0.05, time.monotonic() - began)
    assert kills >= KILLS, kills

    performed = fake.actions
    per_person = Counter(a.recipient for a in performed)
    assert per_person, "nothing was sent at all"
    assert max(per_person.values()) == 1, per_person.most_common(3)
    per_day = Counter(math.floor(a.at.timestamp() / DAY) for a in performed
                      if a.kind == "message")
    assert max(per_day.values()) <= 4
    assert Counter(a.kind for a in performed)["invitation"] <= 6  # one week: Monday on

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        states = dict(conn.execute("SELECT state, count(*) FROM actions GROUP BY state"))
        assert "pending" not in states  # every interrupted action resolved
        sent = {row[0] for row in conn.execute(
            "SELECT recipient FROM actions WHERE state = 'sent'")}
        # What the ledger says was sent, the fake performed (a URN or a public id names
        # each person; the fake logs public ids).
        ledgered = conn.execute("SELECT count(*) FROM actions WHERE state IN "
                                "('sent', 'unknown')").fetchone()[0]
        unfollowed = conn.execute("SELECT count(*) FROM events WHERE followed IS NULL"
                                  ).fetchone()[0]
    assert len(sent) <= len(performed) <= ledgered
    # Every event is settled (sent, unknown, failed, skipped) or waits for the budget: what
    # a run would do now is only to defer (the day's messages and the week's invitations
    # are spent).
    with ConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None) as client, \
            SQLiteStore(db) as store:
        preview = client.follow_up(store, PLAN, account_id=ACCOUNT, clock=lambda: clock[0])
    assert len(preview.items) == unfollowed
    assert {item.outcome for item in preview.items} <= {"deferred"}
    print(f"{kills} SIGKILLs; {len(performed)} actions performed, "  # noqa: T201
          f"each to a different person; ledger states {states}; "
          f"{unfollowed} events left for the budget")


def test_two_processes_on_one_account_never_send_twice(
    fake: FakeConnectSafely, clock: list[float], tmp_path: Path
) -> None:
    db = tmp_path / "history.db"
    fake.set_visitors(ACCOUNT, visitors_at(clock[0], account_id=ACCOUNT))
    with ConnectSafely(api_key=fake.api_key, base_url=fake.url, rate_limits=None) as client, \
            SQLiteStore(db) as store:
        client.sync_visitors(store, account_id=ACCOUNT, clock=lambda: clock[0])
    processes = [forked.python("-m", "tests.followup_worker", str(db), fake.url, fake.api_key,
                               ACCOUNT, repr(clock[0]), cwd=ROOT) for _ in range(2)]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()
    per_person = Counter(a.recipient for a in fake.actions)
    assert per_person
    assert max(per_person.values()) == 1
    assert Counter(a.kind for a in fake.actions) <= Counter({"message": 4, "invitation": 6})
