"""bench_history still starts and shows its rows, the WAL per page and the targets (a tiny
run: the numbers of 300 visitors say nothing, only that the benchmark works); the count of
instructions a page (history_instructions) brackets the phase it counts."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
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


@pytest.mark.skipif(not (ROOT / "benchmarks").is_dir(), reason="benchmarks/ not shipped here")
@pytest.mark.parametrize("kind", ["store", "floor"])
@pytest.mark.parametrize("counted", ["fresh", "again"])
def test_the_instruction_count_brackets_the_counted_phase_alone(
    kind: str, counted: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without valgrind: the phases run, and the marks (callgrind's zero and dump) fall just
    # before and just after the counted one's writes.
    monkeypatch.chdir(ROOT)  # (the benchmark's fake runs as python -m benchmarks.server)
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks.history_instructions import _walks, run_phases

    fresh, again = asyncio.run(_walks(300, 100))
    path = tmp_path / "h.db"
    seen: list[tuple[str, int, int]] = []

    def mark(command: str) -> None:
        with contextlib.closing(sqlite3.connect(path)) as db:
            visitors, observed = db.execute(
                "SELECT count(*), coalesce(sum(w.observations), 0) FROM visitors v "
                "JOIN views w ON w.id = v.view_id").fetchone()
        seen.append((command, visitors, observed))

    run_phases(kind, (fresh, again), path, counted, mark)
    named = sum(1 for page in fresh for v in page.visitors if v.entity_urn)
    assert len(fresh) == len(again) == 3
    before, after = (0, 0), (named, named)
    if counted == "again":
        before, after = (named, named), (named, 2 * named)
    assert seen == [("-z", *before), ("-d", *after)]
