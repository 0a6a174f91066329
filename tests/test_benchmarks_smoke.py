"""The benchmark harness still starts and its clients still agree (a tiny ``--quick`` run).

The benchmarks themselves stay out of the default test run: they take minutes and need the
``bench`` extra. Without httpx/pydantic the harness leaves the peer out (shown as n/a).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (ROOT / "benchmarks").is_dir(), reason="benchmarks/ not shipped here")
def test_quick_benchmark_run_starts_and_clients_agree() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "all visitors equal across clients: yes" in result.stdout
    for scenario in ("A quick", "B quick", "C quick", "D 100-visitor page", "E stream", "F import"):
        assert scenario in result.stdout


@pytest.mark.skipif(not (ROOT / "benchmarks").is_dir(), reason="benchmarks/ not shipped here")
def test_the_profile_of_a_walk_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.profile_walk", "--visitors", "300", "--top", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("300 visitors")
    assert "ncalls  tottime" in result.stdout
