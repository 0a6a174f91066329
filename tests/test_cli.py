"""The command line, run as real subprocesses against the fake service.

``--demo`` runs the embedded fake inside the subprocess; the error tests start a fake in the
test's own loop and point the subprocess at it with ``CONNECTSAFELY_BASE_URL``. Terminal
behaviour (the table by default, the progress line) is tested on a pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from connectsafely_async.testing import FakeConnectSafely, Fault, serve_in_thread

ACCOUNT = "696ce9e780e0483585e4e553"
OTHER = "aaaaaaaaaaaaaaaaaaaaaaaa"
COMMAND = [sys.executable, "-m", "connectsafely_async"]


def clean_env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTSAFELY_")}
    return {**base, **extra}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [*COMMAND, *args], capture_output=True, text=True, timeout=60,
        env=clean_env(**(env or {})), check=False,
    )


def run_together(*commands: tuple[str, ...],
                 env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    """``run`` of each command, all at once (independent processes: no shared state)."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: run(*args, env=env), commands))


async def arun(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run the CLI without blocking the loop that serves the test's fake."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(**env)
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def run_on_terminal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run with stdout and stderr on two pseudo-terminals; returns (code, stdout, stderr)."""
    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    process = subprocess.Popen(  # noqa: S603
        [*COMMAND, *args], stdout=out_slave, stderr=err_slave,
        env=clean_env(COLUMNS="120", **(env or {})),
    )
    os.close(out_slave)
    os.close(err_slave)
    received = {out_master: b"", err_master: b""}
    open_fds = set(received)
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], 0.2)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the other side closed
                data = b""
            if not data:
                open_fds.discard(fd)
            received[fd] += data
        if not ready and process.poll() is not None:
            break
    code = process.wait(timeout=60)
    for fd in received:
        os.close(fd)
    return code, received[out_master].decode(), received[err_master].decode()


# -- formats ---------------------------------------------------------------------------------


def test_table_when_asked_even_when_piped() -> None:
    result = run("visitors", "--demo", "--max", "12", "--count", "5", "--format", "table")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "headline"]
    assert len(lines) == 2 + 12 + 1
    assert lines[-1] == "12 visitor(s)"
    assert "(anonymous)" in result.stdout


def test_piped_output_defaults_to_ndjson_and_json_is_its_shorthand() -> None:
    default, shorthand = run_together(
        ("visitors", "--demo", "--max", "7", "--time-range", "past_1_year"),
        ("visitors", "--demo", "--json", "--max", "7", "--time-range", "past_1_year"),
    )
    for result in (default, shorthand):
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""  # no progress: stderr is not a terminal
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(records) == 7
        assert {"account_id", "entity_urn", "name", "headline", "viewed_at", "is_anonymous",
                "viewed_ago_seconds", "estimated_viewed_at"} <= set(records[0])
        assert records[0]["account_id"] == ACCOUNT
    assert [json.loads(x)["entity_urn"] for x in default.stdout.splitlines()] == [
        json.loads(x)["entity_urn"] for x in shorthand.stdout.splitlines()
    ]


def test_json_is_one_array() -> None:
    result = run("visitors", "--demo", "--max", "5", "--count", "2", "--format", "json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [r["viewed_ago_seconds"] is not None for r in records] == [True] * 5


def test_csv_has_a_header_and_one_row_per_visitor(tmp_path: pytest.TempPathFactory) -> None:
    path = f"{tmp_path}/visitors.csv"
    result, whole = run_together(("visitors", "--demo", "--max", "9", "--count", "4",
                                  "--output", path), ("visitors", "--demo", "-f", "csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    with open(path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 9
    assert rows[0]["account_id"] == ACCOUNT
    assert {row["is_anonymous"] for row in rows} <= {"true", "false"}
    # Headlines with quotes, commas and markup survive the round trip untouched.
    assert any('"Tiny Startup"' in row["headline"] for row in
               csv.DictReader(io.StringIO(whole.stdout)))


def test_several_accounts_at_once_are_tagged() -> None:
    result = run("visitors", "--demo", "--account", ACCOUNT, "--account", OTHER,
                 "--max", "10", "--count", "3")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted({r["account_id"] for r in records}) == sorted([ACCOUNT, OTHER])
    assert sum(r["account_id"] == OTHER for r in records) == 10


def test_check_shows_the_accounts() -> None:
    result = run("check", "--demo")
    assert result.returncode == 0, result.stderr
    assert "key:      accepted, 1 account(s) in the workspace" in result.stdout
    assert f"          {ACCOUNT}  " in result.stdout  # listed by GET /linkedin/accounts
    assert "(RUNNING, enabled)" in result.stdout
    assert f"account:  {ACCOUNT}  ok" in result.stdout


async def test_check_with_a_refused_key_exits_4_and_lists_nothing() -> None:
    async with FakeConnectSafely() as fake:
        env = {"CONNECTSAFELY_API_KEY": "cs_wrong_key_0123", "CONNECTSAFELY_BASE_URL": fake.url}
        code, out, err = await arun("check", env=env)
    assert code == 4
    assert "accepted" not in out
    assert "cs_wrong_key_0123" not in out + err


# -- terminals -------------------------------------------------------------------------------


def test_terminal_gets_a_table_and_a_progress_line_that_disappears() -> None:
    code, out, err = run_on_terminal("visitors", "--demo", "--max", "6", "--count", "2",
                                     "--demo-latency", "0.3")
    assert code == 0, err
    assert "Chloé Smith" in out
    assert "6 visitor(s)" in out
    assert "6 visitor(s), 3 page(s)" in err  # the progress line counted the walk


def test_quiet_terminal_has_no_progress() -> None:
    code, out, err = run_on_terminal("visitors", "--demo", "--max", "4", "--quiet")
    assert code == 0, err
    assert "4 visitor(s)" in out
    assert err == ""


def test_ctrl_c_leaves_complete_csv_and_exits_130() -> None:
    process = subprocess.Popen(  # noqa: S603
        [*COMMAND, "visitors", "--demo", "--count", "1", "--demo-latency", "0.2", "-f", "csv"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=clean_env(PYTHONUNBUFFERED="1"),
    )
    assert process.stdout is not None
    header = process.stdout.readline()
    first = process.stdout.readline()  # a record was written: the walk is under way
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    rows = list(csv.reader(io.StringIO(header + first + rest)))
    assert 2 <= len(rows) < 46
    assert {len(row) for row in rows} == {len(rows[0])}


# -- errors ----------------------------------------------------------------------------------


def test_without_a_key_it_says_what_to_do() -> None:
    result = run("visitors")
    assert result.returncode == 3
    assert "CONNECTSAFELY_API_KEY" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [("visitors", "--demo", "--count", "0"), ("nonsense",),
     ("visitors", "--demo", "--json", "--format", "csv")],
)
def test_bad_arguments_exit_2(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "error" in result.stderr


def test_unreachable_service_exits_8_without_printing_the_key() -> None:
    secret = "cs_CANARY_cli_0123456789"
    result = run("visitors", env={"CONNECTSAFELY_API_KEY": secret,
                                  "CONNECTSAFELY_BASE_URL": "http://127.0.0.1:9"})
    assert result.returncode == 8  # nothing listens on port 9: a connection error
    assert secret not in result.stderr + result.stdout


async def test_refused_key_exits_4_without_printing_it() -> None:
    async with FakeConnectSafely() as fake:
        secret = "cs_CANARY_cli_9876543210"
        code, out, err = await arun("visitors", env={"CONNECTSAFELY_API_KEY": secret,
                                                     "CONNECTSAFELY_BASE_URL": fake.url})
    assert code == 4
    assert "check CONNECTSAFELY_API_KEY" in err
    assert secret not in out + err


async def test_premium_required_names_the_account_and_the_others_still_arrive() -> None:
    async with FakeConnectSafely(accounts={ACCOUNT: 5, OTHER: 5}) as fake:
        fake.inject(Fault(status=403, json={"success": False, "error": "Premium required"}))
        env = {"CONNECTSAFELY_API_KEY": fake.api_key, "CONNECTSAFELY_BASE_URL": fake.url}
        code, out, err = await arun("visitors", "--account", OTHER, env=env)
        assert code == 5
        assert err.startswith(
            "connectsafely: LinkedIn Premium (or an active subscription) is required for "
            f"account {OTHER}: HTTP 403: Premium required"
        )
        assert len(err.splitlines()) == 1
        assert out == ""
        fake.inject(Fault(status=403, json={"success": False, "error": "Premium required"}))
        code, out, err = await arun("visitors", "--account", OTHER, "--account", ACCOUNT,
                                    env=env)
    assert code == 5
    assert len(out.splitlines()) == 5  # the account that works is still listed
    assert "is required for account" in err


async def test_check_reports_an_unknown_account() -> None:
    async with FakeConnectSafely() as fake:
        env = {"CONNECTSAFELY_API_KEY": fake.api_key, "CONNECTSAFELY_BASE_URL": fake.url}
        code, out, err = await arun("check", "--account", ACCOUNT, "--account", OTHER, env=env)
    assert code == 6
    assert f"account:  {ACCOUNT}  ok" in out
    assert f"account:  {OTHER}  FAILED" in out
    assert f"account {OTHER}: " in err


def test_csv_keeps_formula_like_cells_as_text() -> None:
    import csv
    import io

    from connectsafely_async._cli_output import make_writer
    from connectsafely_async._cli_sink import StreamOutput

    out = io.StringIO()
    writer = make_writer("csv", StreamOutput(out), multi_account=False, pretty=False)
    writer.write({"account_id": "a", "name": "=HYPERLINK(\"http://x\")", "headline": "-5 years",
                  "is_anonymous": False})
    writer.close()
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["name"] == "'=HYPERLINK(\"http://x\")"
    assert row["headline"] == "'-5 years"
    assert row["is_anonymous"] == "false"


# -- one exit code per failure class, each over loopback -------------------------------------

_HOLD = {"success": False, "error": "Too many requests", "holdUntil": "2999-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("fault", "args", "code", "words"),
    [
        (None, ("--time-range", "yesterday"), 11, "HTTP 400: Invalid timeRange: yesterday"),
        (Fault(status=400, json={"success": False, "error": "bad"}), (), 11, "HTTP 400: bad"),
        (Fault(status=401, json={"error": "Unauthorized"}), (), 4, "HTTP 401"),
        (Fault(status=403, json={"error": "Premium required"}), (), 5, "Premium"),
        (Fault(status=404, json={"error": "Account not found"}), (), 6, "HTTP 404"),
        (Fault(status=429, json=_HOLD), (), 7, "HTTP 429"),
        (Fault(status=500, json={"error": "boom"}), (), 9, "HTTP 500"),
        (Fault(status=200, json={"visitors": "not a list"}), (), 10, "unexpected"),
        (Fault(status=302, json={}, headers={"Location": "https://elsewhere.invalid/"}), (),
         12, "HTTP 302"),
        (Fault(status=409, json={"error": "conflict"}), (), 12, "HTTP 409"),
    ],
    ids=["400-time-range", "400", "401", "403", "404", "429", "500", "bad-body", "302", "409"],
)
async def test_every_failure_class_has_its_exit_code_and_prints_nothing_on_stdout(
    fake: FakeConnectSafely, fault: Fault | None, args: tuple[str, ...], code: int, words: str,
) -> None:
    env = {"CONNECTSAFELY_API_KEY": fake.api_key, "CONNECTSAFELY_BASE_URL": fake.url}
    formats = ("table", "json", "csv")
    if fault is not None:  # the fault (and its retries) for each format's run
        fake.inject(fault, times=fault_times(fault) * len(formats))
    # The three runs at once: the same fault answers every request, whichever asks first.
    results = await asyncio.gather(*(arun("visitors", "-f", fmt, *args, env=env)
                                     for fmt in formats))
    assert fake.pending_faults == ()  # each run met its fault, retries included
    for returned, out, err in results:
        assert (returned, out) == (code, ""), err  # no header, no [], no "0 visitor(s)"
        assert words in err
        assert len(err.splitlines()) == 1
        assert "Traceback" not in err


def fault_times(fault: Fault) -> int:
    return 3 if fault.status == 500 else 1  # a 500 is retried twice, then reported


def test_documented_exit_codes_match_the_table() -> None:
    from connectsafely_async import _cli

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for _, code, _ in _cli.EXIT_CODES:
        assert f"| {code} |" in readme, code
        assert f"\n{code} " in _cli.__doc__ or f"\n{code}  " in _cli.__doc__, code
    assert {code for _, code, _ in _cli.EXIT_CODES} == set(range(1, 14)) - {2}


def test_an_unreachable_host_is_described_without_library_names() -> None:
    urls = ("http://127.0.0.1:9", "https://no-such-host.invalid")
    with ThreadPoolExecutor(len(urls)) as pool:  # both at once
        results = list(pool.map(lambda url: run(
            "visitors", "-f", "table",
            env={"CONNECTSAFELY_API_KEY": "k", "CONNECTSAFELY_BASE_URL": url}), urls))
    for result in results:
        assert result.returncode == 8, result.stderr
        assert result.stdout == ""
        assert "cannot connect to" in result.stderr
        assert "Client" not in result.stderr, result.stderr  # aiohttp's ClientConnector...
        assert "Error" not in result.stderr, result.stderr


def test_a_terminal_sees_nothing_on_stdout_before_a_connection_error() -> None:
    code, out, err = run_on_terminal("visitors", env={"CONNECTSAFELY_API_KEY": "k",
                                                      "CONNECTSAFELY_BASE_URL":
                                                      "http://127.0.0.1:9"})
    assert code == 8
    assert out == ""
    # The spinner was erased before the error: after the last erase, only the error line.
    tail = re.split(r"\x1b\[2?K", err)[-1]
    assert tail.strip().startswith("connectsafely: cannot connect to 127.0.0.1:9"), tail


def test_piped_output_gets_no_progress_line_even_on_a_terminal() -> None:
    # `connectsafely visitors | head`: head prints to the terminal our stderr is on.
    err_master, err_slave = pty.openpty()
    process = subprocess.Popen(  # noqa: S603
        [*COMMAND, "visitors", "--demo", "--count", "1", "--demo-latency", "0.05", "-f",
         "json"], stdout=subprocess.PIPE, stderr=err_slave, env=clean_env(),
    )
    os.close(err_slave)
    assert process.stdout is not None
    first = process.stdout.readline() + process.stdout.readline()
    process.stdout.close()  # the reader leaves, like head
    assert process.wait(timeout=30) == 0
    assert first.startswith(b"[")
    assert read_all(err_master) == b""


def test_the_progress_line_is_erased_when_a_walk_fails_midway(tmp_path: Path) -> None:
    with serve_in_thread(FakeConnectSafely(latency=0.2)) as fake:
        fake.inject(Fault(), times=2)  # two pages as usual, then the account is gone
        fake.inject(Fault(status=404, json={"error": "gone"}))
        code, _, err = run_on_terminal(
            "visitors", "--count", "5", "-o", str(tmp_path / "v.ndjson"),
            env={"CONNECTSAFELY_API_KEY": fake.api_key, "CONNECTSAFELY_BASE_URL": fake.url},
        )
    assert code == 6, err
    assert "fetching: 10 visitor(s)" in err  # the progress line was shown
    # What remains on the terminal: the text after the last erase is the error line only.
    tail = re.split(r"\x1b\[2?K", err)[-1]
    assert "fetching" not in tail
    assert "HTTP 404" in tail
    assert len((tmp_path / "v.ndjson").read_text().splitlines()) == 10


def read_all(fd: int) -> bytes:
    data = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(fd)
    return data


def test_rows_never_land_on_the_progress_line_of_a_shared_terminal() -> None:
    # One terminal for both streams, as in a real shell: each row starts on a clean line.
    master, slave = pty.openpty()
    process = subprocess.Popen(  # noqa: S603
        [*COMMAND, "visitors", "--demo", "--max", "6", "--count", "2", "--demo-latency", "0.2"],
        stdout=slave, stderr=slave, env=clean_env(COLUMNS="120"),
    )
    os.close(slave)
    assert process.wait(timeout=60) == 0
    screen = read_all(master).decode()
    assert "fetching:" in screen or "connecting" in screen  # the progress line was drawn
    assert "Chloé Smith" in screen
    for segment in re.split(r"\r|\n", screen):
        assert not ("fetching:" in segment and "Viewed" in segment), segment
