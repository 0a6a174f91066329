"""Many workers on one key, in miniature: worker processes sharing one rate limit through a
real Redis and one history on a real PostgreSQL, against the fake service enforcing the
key's limit (benchmarks/bench_shared_limit.py, the full-size run, at a smaller size)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .servers import RedisServer, find_postgres_bin

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_shared_limit.py"
STORED = re.compile(
    r"visitors stored: (\d+) of (\d+) named served \((\d+) distinct, (\d+) views\), "
    r"(\d+) of (\d+) anonymous sightings; syncs left open: (\d+); failed accounts: (\d+)"
)


@pytest.mark.skipif(not SCRIPT.is_file(), reason="benchmarks/ not shipped here")
def test_three_workers_on_one_key_meet_no_429_and_store_every_visitor_once() -> None:
    if RedisServer.binary is None or find_postgres_bin() is None:
        pytest.skip("needs redis-server and PostgreSQL (Debian: redis-server, postgresql)")
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(SCRIPT), "--workers", "3", "--accounts", "40", "--scale", "40"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "429 answers: 0\n" in result.stdout, result.stdout
    found = STORED.search(result.stdout)
    assert found is not None, result.stdout
    rows, named, distinct, views, anonymous, served_anonymous, still_open, failed = map(
        int, found.groups())
    assert rows == named == distinct == views > 0  # every named visitor, each once
    assert anonymous == served_anonymous > 0
    assert (still_open, failed) == (0, 0)
