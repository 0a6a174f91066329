"""Run in a subprocess by test_followup_kill: one follow-up run, killed at random points.

    python -m tests.followup_worker DB FAKE_URL API_KEY ACCOUNT NOW

It follows up ACCOUNT's events in the SQLite history DB against the fake at FAKE_URL, with
the ledger's clock at NOW and small caps, and prints the report's counts as one JSON line.
"""

from __future__ import annotations

import json
import sys

from connectsafely_async import ConnectSafely, RetryPolicy
from connectsafely_async.history import ActionCaps, FollowUpPlan, SQLiteStore

PLAN = FollowUpPlan(message="Hi {first_name}, thanks for stopping by!",
                    note="Hi {first_name}, glad you found my profile.", pace=0,
                    caps=ActionCaps(messages_per_day=4, invitations_per_week=6))


def main(db: str, url: str, key: str, account: str, now: float) -> dict[str, int]:
    with ConnectSafely(api_key=key, base_url=url, rate_limits=None, timeout=0.5,
                       retry=RetryPolicy(initial_delay=0)) as client, \
            SQLiteStore(db, lock_timeout=30) as store:
        report = client.follow_up(store, PLAN, account_id=account, send=True,
                                  clock=lambda: now)
    return report.counts()


if __name__ == "__main__":
    db, url, key, account, now = sys.argv[1:6]
    sys.stdout.write(json.dumps(main(db, url, key, account, float(now))) + "\n")
