"""bench_history still starts and shows its rows, the WAL per page and the targets (a tiny
run: the numbers of 300 visitors say nothing, only that the benchmark works)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (ROOT / "benchmarks").is_dir(), reason="benchmarks/ not shipped here")
def test_a_tiny_history_benchmark_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_history", "--visitors", "300", "--rounds",
         "1", "--latency", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: a target missed
    for row in ("walk", "floor", "fresh", "floor2", "again", "pages/s", "WAL per page (fresh)",
                "fresh / floor at 0 ms", "WAL MB per fresh 100-visitor page"):
        assert row in result.stdout
