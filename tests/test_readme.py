"""Every Python example in README.md runs against the fake service, so the docs cannot drift.

How a ```` ```python ```` block runs:

- with ``CONNECTSAFELY_API_KEY`` / ``CONNECTSAFELY_BASE_URL`` pointing at a fake service
  (accounts ``696ce9e780e0483585e4e553`` and ``aaaaaaaaaaaaaaaaaaaaaaaa``) that runs on its
  own thread, so a block may call ``asyncio.run`` itself;
- a block with top-level ``await`` is a notebook cell: it runs in a fresh event loop with
  ``client`` (an ``AsyncConnectSafely`` on the fake) and every public name of the package
  already defined, as in Jupyter;
- ``async def test_*`` functions a block defines are then awaited, as pytest would.

Shell blocks: the ``connectsafely`` lines with ``--demo`` or ``--help`` run as subprocesses.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import connectsafely_async
from connectsafely_async import AsyncConnectSafely, RetryPolicy
from connectsafely_async.testing import FakeConnectSafely

README = Path(__file__).parent.parent / "README.md"
ACCOUNTS = {"696ce9e780e0483585e4e553": 45, "aaaaaaaaaaaaaaaaaaaaaaaa": 12}
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(2))
        for match in _BLOCK.finditer(text)
        if match.group(1) == language
    ]


PYTHON_BLOCKS = blocks("python")
DEMO_COMMANDS = [
    line.split("#")[0].strip()
    for _, block in blocks("sh")
    for line in block.splitlines()
    if re.search(r"^(connectsafely|python -m connectsafely_async) .*(--demo|--help)", line)
]


@pytest.fixture(scope="module")
def fake_url() -> Iterator[str]:
    """A fake service on its own loop and thread, so examples may run their own loops."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeConnectSafely(accounts=ACCOUNTS)
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
    try:
        yield fake.url
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_the_readme_has_examples() -> None:
    # A floor, so a README reorganisation cannot silently stop testing its examples.
    assert len(PYTHON_BLOCKS) >= 8
    assert len(DEMO_COMMANDS) >= 2


@pytest.mark.parametrize(("line", "source"), PYTHON_BLOCKS, ids=[f"line{n}" for n, _ in
                                                                  PYTHON_BLOCKS])
def test_python_example_runs(
    line: int, source: str, fake_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # what an example writes (a history file) stays out of the repo
    monkeypatch.setenv("CONNECTSAFELY_API_KEY", "test-key")
    monkeypatch.setenv("CONNECTSAFELY_BASE_URL", fake_url)
    monkeypatch.delenv("CONNECTSAFELY_ACCOUNT_ID", raising=False)
    code = compile(source, f"README.md:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, Any] = {"__name__": "readme"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        asyncio.run(_run(code, namespace))
    # Every example that prints says something: an empty line would mean a broken example.
    assert all(text.strip() for text in printed.getvalue().splitlines())


async def _run(code: Any, namespace: dict[str, Any]) -> None:
    is_cell = bool(code.co_flags & 0x80)  # CO_COROUTINE: the block awaits at top level
    if not is_cell:
        # A script: it may call asyncio.run itself, so not from inside this loop.
        await asyncio.to_thread(exec, code, namespace)
    else:
        namespace.update({name: getattr(connectsafely_async, name)
                          for name in connectsafely_async.__all__})
        async with AsyncConnectSafely(retry=RetryPolicy(initial_delay=0)) as client:
            namespace["client"] = client
            await eval(code, namespace)  # noqa: S307 - the README's own examples
    for name, value in list(namespace.items()):
        if name.startswith("test_") and asyncio.iscoroutinefunction(value):
            await value()


@pytest.mark.parametrize("command", DEMO_COMMANDS)
def test_shell_demo_command_runs(command: str, tmp_path: Path) -> None:
    args = shlex.split(command)
    # "connectsafely ..." is the console script; "python -m connectsafely_async ..." as is.
    args = ["-m", "connectsafely_async", *args[1:]] if args[0] == "connectsafely" else args[1:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTSAFELY_")}
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, *args], capture_output=True, text=True, timeout=60, env=env,
        check=False, cwd=tmp_path,  # a file a command writes (--db) lands there
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout
