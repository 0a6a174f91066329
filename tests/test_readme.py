"""Every code block of README.md runs as pasted, so the docs cannot drift.

The reader's setup is the README's own: ``CONNECTSAFELY_API_KEY`` / ``CONNECTSAFELY_BASE_URL``
point at a fake service (what ``python -m connectsafely_async.testing`` gives a reader with
no key), and nothing else of this suite leaks in. Each block is one of:

- a **pytest file** (it defines ``test_*``): written alone into an empty folder and run
  there with ``python -m pytest``: no conftest, no pytest configuration, only the installed
  package and its plugin;
- the **setup cell** (it makes ``client`` and ``sync_client``);
- a **cell** (top-level ``await``, or it uses ``client`` / ``sync_client``): run, as in a
  notebook, after the setup cell and nothing more: names it does not import or define are
  an error, as they would be for the reader;
- a **script**: run with ``python`` in an empty folder.

Shell blocks run line by line with ``bash`` in an empty folder, each line expected to exit
0, or the code its comment names (``# exit 11``). A line marked ``# in another terminal``
is a server: started, waited for, stopped at the end of its block. The two commands that
install the package (``pip install``) are what CI itself runs, so here only what follows
them runs, and ``python -m pytest`` (this very suite) is not run again.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectsafely_async.testing import FakeConnectSafely, serve_in_thread

README = Path(__file__).parent.parent / "README.md"
ACCOUNTS = {"696ce9e780e0483585e4e553": 45, "aaaaaaaaaaaaaaaaaaaaaaaa": 12}
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SETUP_MARK = "sync_client = ConnectSafely()"
_EXIT = re.compile(r"#\s*exit (\d+)")
_SERVER_MARK = "# in another terminal"
_INSTALL = re.compile(r"^python3 -m venv .*pip install [^&]*(?:&& )?")


def blocks(language: str) -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(2))
        for match in _BLOCK.finditer(text)
        if match.group(1) == language
    ]


PYTHON_BLOCKS = blocks("python")
SHELL_BLOCKS = blocks("sh")
(SETUP,) = [source for _, source in PYTHON_BLOCKS if _SETUP_MARK in source]


def kind(source: str) -> str:
    if re.search(r"^(async )?def test_", source, re.MULTILINE):
        return "pytest"
    if _SETUP_MARK in source:
        return "setup"
    code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if code.co_flags & 0x80:  # CO_COROUTINE: the block awaits at top level
        return "cell"
    names = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)]
    stored = {node.id for node in names if isinstance(node.ctx, ast.Store)}
    loaded = {node.id for node in names if isinstance(node.ctx, ast.Load)}
    # A block using the setup cell's clients without making its own is a cell after it.
    return "cell" if {"client", "sync_client"} & (loaded - stored) else "script"


@pytest.fixture
def fake_env() -> Iterator[dict[str, str]]:
    """The reader's environment: the key and URL of a fake service, nothing of ours.

    One fake per block, as a reader starts one: the fake counts requests in its
    ``X-RateLimit-Remaining``, and a client's limiter waits for the reset once that is 0.
    """
    with serve_in_thread(FakeConnectSafely(accounts=ACCOUNTS)) as fake:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CONNECTSAFELY_", "PYTEST_", "COV_"))}
        env.update(CONNECTSAFELY_API_KEY=fake.api_key, CONNECTSAFELY_BASE_URL=fake.url)
        yield env


def test_the_readme_has_examples() -> None:
    # A floor, so a README reorganisation cannot silently stop testing its examples.
    kinds = [kind(source) for _, source in PYTHON_BLOCKS]
    assert kinds.count("cell") >= 12
    assert kinds.count("script") >= 2
    assert kinds.count("pytest") == 3
    assert len(SHELL_BLOCKS) >= 4


@pytest.mark.parametrize(("line", "source"), PYTHON_BLOCKS,
                         ids=[f"line{n}-{kind(s)}" for n, s in PYTHON_BLOCKS])
def test_python_block_runs_as_pasted(
    line: int, source: str, fake_env: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # what an example writes (a history file) stays out of the repo
    what = kind(source)
    if what == "pytest":
        run_pytest_file(source, tmp_path, fake_env)
    elif what == "script":
        (tmp_path / "example.py").write_text(source, encoding="utf-8")
        result = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=fake_env,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        assert_says_something(result.stdout)
    else:
        for name in ("CONNECTSAFELY_API_KEY", "CONNECTSAFELY_BASE_URL"):
            monkeypatch.setenv(name, fake_env[name])
        monkeypatch.delenv("CONNECTSAFELY_ACCOUNT_ID", raising=False)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            asyncio.run(run_cell("" if what == "setup" else source, line))
        if what != "setup":  # the setup cell only makes the clients
            assert_says_something(printed.getvalue())


def run_pytest_file(source: str, folder: Path, env: dict[str, str]) -> None:
    name = re.search(r"^# (test_\w+\.py)", source, re.MULTILINE)
    assert name, "a pytest example names its file in its first line"
    (folder / name.group(1)).write_text(source, encoding="utf-8")
    clean = {k: v for k, v in env.items() if not k.startswith("CONNECTSAFELY_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder, env=clean, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b[1-9]\d* passed\b", result.stdout), result.stdout
    assert "skipped" not in result.stdout


async def run_cell(source: str, line: int) -> None:
    """The setup cell, then *source*, in one namespace, on a running loop, as Jupyter does."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    await _execute(compile(SETUP, "README.md:setup", "exec", flags=flags), namespace)
    try:
        await _execute(compile(source, f"README.md:{line}", "exec", flags=flags), namespace)
    finally:
        await namespace["client"].aclose()
        namespace["sync_client"].close()


async def _execute(code: Any, namespace: dict[str, Any]) -> None:
    result = eval(code, namespace)  # noqa: S307 - the README's own examples
    if asyncio.iscoroutine(result):
        await result


def assert_says_something(printed: str) -> None:
    # Every example prints what it shows: no output, or an empty line, is a broken example.
    assert printed.strip()
    assert all(text.strip() for text in printed.splitlines()), printed


def shell_lines(source: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", "", source)  # continuation lines
    lines = []
    for raw in joined.splitlines():
        command = _INSTALL.sub("", raw.strip())
        if command and command != "python -m pytest":
            lines.append(command)
    return lines


@pytest.mark.parametrize(("line", "source"), SHELL_BLOCKS, ids=[f"line{n}" for n, _ in
                                                                 SHELL_BLOCKS])
def test_shell_block_runs_as_pasted(
    line: int, source: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(fake_env)
    servers: list[subprocess.Popen[str]] = []
    script = []
    try:
        for command in shell_lines(source):
            if _SERVER_MARK in command:
                servers.append(start_server(command, tmp_path, env))
                continue
            expected = _EXIT.search(command)
            code = int(expected.group(1)) if expected else 0
            where = shlex.quote(f"README.md:{line}: {command} exited")
            script.append(f"{command}\nstatus=$?; [ $status -eq {code} ] || "
                          f"{{ echo {where} $status >&2; exit 1; }}")
        result = subprocess.run(  # noqa: S603 - the README's own commands, as typed
            ["bash", "-c", "\n".join(script)],  # noqa: S607
            cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=300, check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip() or result.stderr.strip()
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=10)


def start_server(command: str, folder: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    server = subprocess.Popen(  # noqa: S603 - the README's own command, as typed
        ["bash", "-c", f"exec {command}"],  # noqa: S607
        cwd=folder, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    assert server.stdout is not None
    first = server.stdout.readline()  # ready: it prints once it listens
    assert first.startswith("export "), first + (server.stderr.read() if server.stderr else "")
    return server
