"""The instructions a history page costs, counted by callgrind: the same count on every run,
where the wall times of ``bench_history`` move with the machine's other tenants and its disk.

::

    python -m benchmarks.history_instructions             # 20 pages of 100 (valgrind)
    python -m benchmarks.history_instructions --pages 5

The benchmark's visitors (``bench_history``'s 20,000) are walked twice from the fake and
kept in a file. Then, for the store and for the floor, a child process under callgrind
writes the first pages of the first walk into a new store (``fresh``) and the same pages
of the second walk into it again (``again``), on one thread, with no walk beside it: the
store by ``write_page``, as a sync does on its thread; the floor by
``bench_history._floor_write``. Callgrind's counters are zeroed before the phase that child
counts and dumped after it, so start-up, imports and the other phase are left out.

Printed: millions of instructions a page (``Ir``) for each phase, and the store's against
the floor's. The wall ratios of ``bench_history`` at 0 ms are the ones the targets name;
these say which way, and by how much, a change moved the store's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.bench_history import ACCOUNT, _floor_write, client
from benchmarks.run import server
from connectsafely_async.history import SQLiteStore
from connectsafely_async.history._operations import write_page
from connectsafely_async.history._sync import _encoded_checkpoint

PHASES = ("fresh", "again")
KINDS = ("store", "floor")


async def _walks(visitors: int, count: int) -> tuple[list[Any], list[Any]]:
    """Every page of two walks of the fake's ``visitors``, ``count`` a page."""
    with server({"accounts": {ACCOUNT: visitors}, "latency": 0}) as url:
        walks = []
        for _ in range(2):
            async with client(url) as sdk:
                walks.append([page async for page in sdk.iter_visitor_pages(
                    account_id=ACCOUNT, count=count, time_range="ALL_TIME")])
    return walks[0], walks[1]


def _callgrind(command: str) -> None:
    """Tell the callgrind running this process to ``command`` its counters (``-z``: zero,
    ``-d``: dump); nothing when not under callgrind."""
    if shutil.which("callgrind_control"):
        subprocess.run(["callgrind_control", command, str(os.getpid())],
                       capture_output=True, check=False)


def run_phases(kind: str, walks: tuple[Sequence[Any], Sequence[Any]], path: Path,
               counted: str, mark: Callable[[str], None] = _callgrind) -> None:
    """Write ``walks`` (fresh, then again) into a new store at ``path``, the ``kind``'s way;
    ``mark("-z")`` before the ``counted`` phase and ``mark("-d")`` after it."""
    asyncio.run(_store_phases(walks, path, counted, mark) if kind == "store"
                else _floor_phases(walks, path, counted, mark))


async def _store_phases(walks: tuple[Sequence[Any], Sequence[Any]], path: Path, counted: str,
                        mark: Callable[[str], None]) -> None:
    async with SQLiteStore(path) as store:
        conn = store._conn  # (a benchmark of the store's own page work)
        for phase, pages in zip(PHASES, walks, strict=True):
            start = await store.begin_sync(ACCOUNT, "benchmark", collect=True)
            run = store._runs.get(start.sync_id)  # (as a sync keeps it)
            if phase == counted:
                mark("-z")
            for page in pages:
                write_page(conn, start.sync_id, ACCOUNT, page.visitors,
                           page.fetched_at.timestamp(),
                           functools.partial(_encoded_checkpoint, page), None, run)
            if phase == counted:
                mark("-d")
            await store.finish_sync(start.sync_id, collect=True)


async def _floor_phases(walks: tuple[Sequence[Any], Sequence[Any]], path: Path, counted: str,
                        mark: Callable[[str], None]) -> None:
    async with SQLiteStore(path):
        pass  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        sync_id = conn.execute(
            "INSERT INTO syncs (account_id, filters, started, first_view, first_event, "
            "first_anonymous) VALUES (?, '', 0, 0, 0, 0)", (ACCOUNT,)).lastrowid
        for phase, pages in zip(PHASES, walks, strict=True):
            if phase == counted:
                mark("-z")
            for page in pages:
                _floor_write(conn, page, sync_id, phase == "again", numbered=True)
            if phase == counted:
                mark("-d")
    finally:
        conn.close()


def _counted(kind: str, phase: str, walks_file: Path, pages: int, tmp: Path) -> float:
    """Millions of instructions a page of ``kind`` in ``phase``, from a child under callgrind."""
    out = tmp / f"callgrind-{kind}-{phase}.out"
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
         "benchmarks.history_instructions", "--child", kind, phase, str(walks_file),
         str(pages)],
        check=True, capture_output=True,
    )
    dumps = sorted(tmp.glob(f"{out.name}.*"))  # the dump after the counted phase
    if not dumps:
        msg = f"callgrind wrote no dump for {kind} {phase}"
        raise RuntimeError(msg)
    for line in dumps[-1].read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1]) / pages / 1e6
    msg = f"no summary in {dumps[-1]}"
    raise RuntimeError(msg)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20, help="pages counted per phase")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, phase, walks_file, pages = args.child
        fresh, again = pickle.loads(Path(walks_file).read_bytes())
        with tempfile.TemporaryDirectory() as tmp:
            run_phases(kind, (fresh[:int(pages)], again[:int(pages)]), Path(tmp) / "h.db",
                       phase)
        return 0
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        walks_file = tmp / "walks.pickle"
        walks_file.write_bytes(pickle.dumps(asyncio.run(_walks(20_000, 100))))
        counts = {(kind, phase): _counted(kind, phase, walks_file, args.pages, tmp)
                  for kind in KINDS for phase in PHASES}
    print(f"M instructions a page (callgrind Ir), {args.pages} pages of 100, one thread")
    for phase in PHASES:
        store, floor = counts["store", phase], counts["floor", phase]
        print(f"  {phase:6} store {store:6.2f}  floor {floor:6.2f}  {store / floor:.2f}x floor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
