"""The command line, run as a real subprocess against the embedded fake service."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTSAFELY_")}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connectsafely_async", *args],
        capture_output=True, text=True, timeout=60, env={**base, **(env or {})}, check=False,
    )


def test_demo_prints_a_table() -> None:
    result = run("visitors", "--demo", "--max", "12", "--count", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["name", "headline"]
    assert len(lines) == 2 + 12 + 1
    assert lines[-1] == "12 visitor(s)"
    assert "(anonymous)" in result.stdout


def test_demo_json_is_one_object_per_line() -> None:
    result = run("visitors", "--demo", "--json", "--max", "7", "--time-range", "past_1_year")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 7
    assert {"entityUrn", "name", "headline", "viewedAt", "isAnonymous"} <= set(records[0])


def test_without_a_key_it_says_what_to_do() -> None:
    result = run("visitors")
    assert result.returncode == 3
    assert "CONNECTSAFELY_API_KEY" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args", [("visitors", "--demo", "--count", "0"), ("nonsense",)])
def test_bad_arguments_exit_2(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "error" in result.stderr


def test_refused_key_exits_4_without_printing_it() -> None:
    secret = "cs_CANARY_cli_0123456789"
    result = run("visitors", env={"CONNECTSAFELY_API_KEY": secret,
                                  "CONNECTSAFELY_BASE_URL": "http://127.0.0.1:9"})
    assert result.returncode == 8  # nothing listens on port 9: a connection error
    assert secret not in result.stderr + result.stdout
