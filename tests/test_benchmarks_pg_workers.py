"""The many-workers PostgreSQL benchmark still runs and checks its own counts (a tiny run)."""

from __future__ import annotations

import re
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
    assert lines[-4] == "| run | wall | visitors/s | lock waits > 1 ms | ms waited |"
    for line, label in ((lines[-2], "1 worker"), (lines[-1], "2 workers")):
        run, wall, rate, waits, waited = (cell.strip() for cell in line.strip("|").split("|"))
        assert run == label
        assert re.fullmatch(r"\d+ ms", wall), line
        assert re.fullmatch(r"[\d,]+ \(\d+\.\d\dx\)", rate), line
        assert re.fullmatch(r"\d+ \(\d+-\d+\)", waits), line
        assert re.fullmatch(r"\d+ \(\d+-\d+\)", waited), line
    # One worker has nobody to wait for.
    assert lines[-2].split("|")[4].strip() == "0 (0-0)"
