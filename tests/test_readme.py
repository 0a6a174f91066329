"""Every code block of README.md runs as pasted, so the docs cannot drift.

The reader's setup is the README's own: ``CONNECTSAFELY_API_KEY`` / ``CONNECTSAFELY_BASE_URL``
point at a fake service (what ``python -m connectsafely_async.testing`` gives a reader with
no key), and nothing else of this suite leaks in. Each block is one of:

- a **pytest file** (it defines ``test_*``): written alone into an empty folder and run
  there with ``python -m pytest``: no conftest, no pytest configuration, only the installed
  package and its plugin;
- the **setup cell** (it makes ``client`` and ``sync_client``);
- a **cell** (top-level ``await``, or it uses ``client`` / ``sync_client``);
- a **script**: run with ``python`` in an empty folder.

The cells run twice. Each alone, after the setup cell and nothing more: names it does not
import or define are an error, as they would be for a reader who jumps to its section. And
all of them **in order, as one notebook**: the setup cell first, then every cell in document
order, in one namespace on one running loop against one fake service, so a cell that closes
or replaces the shared clients, or leaves a name that a later cell trips on, fails. As in
Jupyter, a cell's last expression is displayed (its ``_repr_html_()``, else its ``repr``),
and a bare expression anywhere else in a cell, which a notebook would not show, is an error.

Shell blocks run line by line with ``bash`` in an empty folder, each line expected to exit
0, or the code its comment names (``# exit 11``). A line marked ``# in another terminal``
is a server: started, waited for, stopped at the end of its block. What installs the package
(a virtual environment, ``pip install``) is what CI itself does, so here only what follows
it on its line runs, and ``python -m pytest`` (this very suite) is not run again.
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

import attrs
import pytest

from connectsafely_async import RateLimits, _limiter_backend
from connectsafely_async._limiter import RateLimiter
from connectsafely_async.testing import FakeConnectSafely, serve_in_thread

README = Path(__file__).parent.parent / "README.md"
ACCOUNTS = {"696ce9e780e0483585e4e553": 45, "aaaaaaaaaaaaaaaaaaaaaaaa": 12}
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SETUP_MARK = "sync_client = ConnectSafely()"
_EXIT = re.compile(r"#\s*exit (\d+)")
_SERVER_MARK = "# in another terminal"
_INSTALL_STEPS = ("python3 -m venv ", ". .venv/bin/activate", "pip install ")


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


class VirtualTime:
    """A clock that a sleep moves forward at once: the limiter paces as it would, unwaited.

    The cells make their clients with the default limits (30 reads a minute per account),
    which the notebook's 80-odd requests would really wait out for a minute. What pacing
    does is tested in ``test_limiter.py``; here only the cells' results count.
    """

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
def unwaited_pacing(monkeypatch: pytest.MonkeyPatch) -> VirtualTime:
    """Every in-process client of the test paces on a ``VirtualTime`` (``RateLimits``'
    own ``clock`` and ``sleep``, which the README's cells cannot pass)."""
    time = VirtualTime()

    def limiter(limits: RateLimits) -> RateLimiter:
        return RateLimiter(attrs.evolve(limits, clock=time.clock, sleep=time.sleep))

    monkeypatch.setattr(_limiter_backend, "RateLimiter", limiter)
    return time


NOTEBOOK = [(line, source) for line, source in PYTHON_BLOCKS
            if kind(source) in ("setup", "cell")]


def test_the_readme_has_examples() -> None:
    # A floor, so a README reorganisation cannot silently stop testing its examples.
    kinds = [kind(source) for _, source in PYTHON_BLOCKS]
    assert kinds.count("cell") >= 12
    assert kinds.count("script") >= 5
    assert kinds.count("pytest") >= 4
    assert len(SHELL_BLOCKS) >= 6
    # The setup cell comes before every cell that needs it.
    assert kind(NOTEBOOK[0][1]) == "setup"


@pytest.mark.parametrize(("line", "source"), NOTEBOOK[1:],
                         ids=[f"line{n}" for n, _ in NOTEBOOK[1:]])
def test_a_cell_shows_only_its_last_expression(line: int, source: str) -> None:
    # In a notebook a bare expression shows only as the last statement of its cell.
    statements = ast.parse(source).body
    for statement in statements[:-1]:
        if isinstance(statement, ast.Expr) and not isinstance(
            statement.value, ast.Call | ast.Await | ast.Yield | ast.YieldFrom
        ):
            where = line + statement.lineno
            pytest.fail(f"README.md:{where}: a notebook shows nothing for this expression; "
                        "make it the last of its cell, or print it")


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


def test_the_cells_run_in_order_as_one_notebook(
    fake_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    unwaited_pacing: VirtualTime,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("CONNECTSAFELY_API_KEY", "CONNECTSAFELY_BASE_URL"):
        monkeypatch.setenv(name, fake_env[name])
    monkeypatch.delenv("CONNECTSAFELY_ACCOUNT_ID", raising=False)
    asyncio.run(run_notebook(NOTEBOOK))
    assert unwaited_pacing.now > 60, "the clients paced on the virtual clock"


async def run_notebook(cells: list[tuple[int, str]]) -> None:
    """The setup cell, then every cell, in one namespace, on one running loop, in order."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    (setup_line, setup), *rest = cells
    await run_in(namespace, setup, setup_line)
    clients = namespace["client"], namespace["sync_client"]
    try:
        for line, source in rest:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                await run_in(namespace, source, line)
            assert_says_something(printed.getvalue())
            still = (namespace.get("client"), namespace.get("sync_client"))
            assert still == clients, f"README.md:{line}: the cell replaced the shared clients"
            assert not any(c.closed for c in clients), f"README.md:{line}: it closed them"
    finally:
        await clients[0].aclose()
        clients[1].close()


async def run_cell(source: str, line: int) -> None:
    """The setup cell, then *source*, in one namespace, on a running loop, as Jupyter does."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    await run_in(namespace, SETUP, 0)
    try:
        await run_in(namespace, source, line)
    finally:
        await namespace["client"].aclose()
        namespace["sync_client"].close()


async def run_in(namespace: dict[str, Any], source: str, line: int) -> None:
    """Run one cell as Jupyter does: its statements, then its last expression displayed.

    Tracebacks name the README's own lines (the block's first line follows its fence).
    """
    tree = ast.parse(source, "README.md")
    ast.increment_lineno(tree, line)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    await _execute(compile(tree, "README.md", "exec", flags=flags), namespace)
    if last is not None:
        shown = ast.Expression(last.value)
        value = await _execute(compile(shown, "README.md", "eval", flags=flags), namespace)
        if value is not None:
            html = getattr(value, "_repr_html_", None)
            print(html() if callable(html) else repr(value))  # noqa: T201 - the display


async def _execute(code: Any, namespace: dict[str, Any]) -> Any:
    result = eval(code, namespace)  # noqa: S307 - the README's own examples
    if asyncio.iscoroutine(result):
        return await result
    return result


def assert_says_something(printed: str) -> None:
    # Every example prints what it shows: no output, or an empty line, is a broken example.
    assert printed.strip()
    assert all(text.strip() for text in printed.splitlines()), printed


def shell_lines(source: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", "", source)  # continuation lines
    lines = []
    for raw in joined.splitlines():
        steps = raw.strip().split(" && ")
        while steps and steps[0].startswith(_INSTALL_STEPS):  # what CI does itself
            steps.pop(0)
        command = " && ".join(steps)
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
    if not first.startswith("export "):
        # It did not start (e.g. the port is taken): reap it here, so that its pipes and
        # process are not left to a later test's garbage collection.
        server.kill()
        _, err = server.communicate(timeout=10)
        raise AssertionError(first + err)
    return server
