"""``python -m connectsafely_async.testing``: the standalone fake, run as users run it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from connectsafely_async import ConnectSafely
from connectsafely_async.testing import visitors_at
from connectsafely_async.testing.__main__ import DEMO_EPOCH

COMMAND = [sys.executable, "-m", "connectsafely_async.testing"]
ACCOUNT = "696ce9e780e0483585e4e553"
OTHER = "aaaaaaaaaaaaaaaaaaaaaaaa"


@contextmanager
def serving(*args: str) -> Iterator[tuple[str, str]]:
    """The fake in a subprocess on a free port; yields (api key, base URL) from its line."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*COMMAND, "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.fullmatch(r"export CONNECTSAFELY_API_KEY=(\S+) CONNECTSAFELY_BASE_URL=(\S+)\n",
                             line)
        assert found, line
        yield found[1], found[2]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err


def served_urns(key: str, url: str, account: str) -> list[str]:
    with ConnectSafely(api_key=key, base_url=url, rate_limits=None) as client:
        return [v.entity_urn or "" for v in client.iter_visitors(account_id=account)]


def expected_urns(moment: float, account: str) -> list[str]:
    return [str(v.get("entityUrn") or "") for v in visitors_at(moment, account_id=account)]


def test_day_serves_the_demo_timeline_of_that_day() -> None:
    moment = (DEMO_EPOCH + timedelta(days=3)).timestamp()
    with serving("--day", "3") as (key, url):
        for account in (ACCOUNT, OTHER):
            assert served_urns(key, url, account) == expected_urns(moment, account)


def test_clock_serves_the_timeline_at_that_moment_and_moves_with_it() -> None:
    with serving("--clock", "2026-02-01T12:00Z") as (key, url):
        february = served_urns(key, url, ACCOUNT)
    with serving("--clock", "2026-02-02T12:00:00+00:00") as (key, url):
        next_day = served_urns(key, url, ACCOUNT)
    assert february == expected_urns(DEMO_EPOCH.replace(month=2, day=1, hour=12).timestamp(),
                                     ACCOUNT)
    assert set(next_day) - set(february), "a day later, someone new came"


def test_the_demo_epoch_is_the_one_watch_demo_starts_from() -> None:
    from connectsafely_async._cli_history import _DEMO_EPOCH

    assert DEMO_EPOCH.timestamp() == _DEMO_EPOCH


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603
            [*COMMAND, "--port", str(port)], capture_output=True, text=True, timeout=30,
            check=False,
        )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        f"python -m connectsafely_async.testing: error: cannot listen on 127.0.0.1:{port}: "
        "it is in use (pick another with --port, or --port 0 for any free one)"
    ]


@pytest.mark.parametrize(
    "args", [("--clock", "tomorrow"), ("--day", "x"), ("--port", "70000"),
             ("--clock", "2026-01-01", "--day", "1")],
)
def test_bad_values_are_usage_errors(args: tuple[str, ...]) -> None:
    result = subprocess.run(  # noqa: S603
        [*COMMAND, *args], capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: argument" in result.stderr


def test_help_mentions_the_clock_and_the_day() -> None:
    result = subprocess.run(  # noqa: S603
        [*COMMAND, "--help"], capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0
    assert "--clock WHEN" in result.stdout
    assert "--day N" in result.stdout
