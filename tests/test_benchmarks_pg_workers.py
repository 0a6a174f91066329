"""The many-workers PostgreSQL benchmark still runs and checks its own counts (a tiny run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import find_postgres_bin

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(find_postgres_bin() is None, reason="PostgreSQL is not installed")
@pytest.mark.skipif(not (ROOT / "benchmarks").is_dir(), reason="benchmarks/ not shipped here")
def test_the_workers_benchmark_runs_and_reports_its_waits() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.pg_workers", "--visitors", "300", "--workers", "2",
         "--rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("300 visitors per account")
    assert lines[-2].startswith("| 1 worker | ")
    assert lines[-1].startswith("| 2 workers | ")
