"""Python child processes without an interpreter start-up each: forked from a server that
has already imported the SDK.

The kill tests start dozens of short Python processes and SIGKILL them at random points of
their work. Started with ``subprocess`` each would pay about 0.3 s of interpreter start-up
and imports first, which on a two-core machine is most of what those tests spend. Here a
multiprocessing fork server imports the SDK (and its drivers) once; each child is forked
from it, untouched by the test process (no event loop, no connection, no open store), and
then runs the same script, module or code as ``python SCRIPT ARGS``, ``python -m MODULE
ARGS`` or ``python -c CODE ARGS`` would, as ``__main__``, with its stdout and stderr on
pipes.

Each child is still a process of its own, with its own pid, killed by a real SIGKILL at
whatever point it has reached: only the import is behind it already. :class:`Child`
answers like :class:`subprocess.Popen` (``stdout``, ``stderr``, ``send_signal``, ``wait``,
``returncode``, ``communicate``), so the tests read the same.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import runpy
import subprocess
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["Child", "python", "ready"]

#: Imported once by the fork server: what the children would spend their start-up on.
PRELOAD = [
    "asyncio", "sqlite3", "json", "connectsafely_async", "connectsafely_async.history",
    "connectsafely_async.testing", "aiohttp", "asyncpg", "redis.asyncio", "tests.forked",
]

_context = multiprocessing.get_context("forkserver")
# multiprocessing reads a forked child's exit status from a pipe the first time anyone polls
# it, and every ``Process.start()`` polls all the other children
# (``multiprocessing.process._cleanup``). Two threads reading one status at once leave one of
# them an end of file, which multiprocessing reports as exit code 255. Every start and every
# status read holds this lock (the waiting for a child to end does not).
_STATUS = threading.Lock()
_context.set_forkserver_preload(PRELOAD)

PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL


def _main(argv: list[str], cwd: str | None, env: dict[str, str] | None,
          error_warnings: bool, out: Any, err: Any) -> None:
    """In the child: the streams onto the pipes, then ``argv`` as ``python`` would run it."""
    for fd, end in ((1, out), (2, err)):
        os.dup2(end.fileno(), fd)
        end.close()
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace",  # noqa: SIM115
                      buffering=1, closefd=False)
    if cwd is not None:
        os.chdir(cwd)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    if error_warnings:  # as PYTHONWARNINGS=error
        warnings.simplefilter("error")
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        elif argv[0] == "-c":
            sys.argv = ["-c", *argv[2:]]
            exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
        else:
            sys.argv = list(argv)
            runpy.run_path(argv[0], run_name="__main__")
    finally:
        # A real interpreter runs the atexit handlers on the way out; the fork server's
        # child ends with os._exit, so run them here (nothing runs them after a SIGKILL).
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()


def _pipe(mode: int | None) -> tuple[IO[Any] | None, Any]:
    """The parent's end (or None) and the child's end of one output stream."""
    if mode == PIPE:
        read, write = os.pipe()
        return open(read, "rb"), multiprocessing.connection.Connection(write)
    if mode == DEVNULL:
        return None, multiprocessing.connection.Connection(os.open(os.devnull, os.O_WRONLY))
    msg = f"stdout/stderr must be PIPE or DEVNULL, not {mode!r}"
    raise ValueError(msg)


class Child:
    """A forked Python child, answering like :class:`subprocess.Popen` (see the module)."""

    def __init__(self, argv: Sequence[str], *, stdout: int = PIPE, stderr: int = PIPE,
                 text: bool = False, cwd: str | Path | None = None,
                 env: Mapping[str, str] | None = None, error_warnings: bool = False) -> None:
        out_read, out_write = _pipe(stdout)
        err_read, err_write = _pipe(stderr)
        self._process = _context.Process(
            target=_main, daemon=False,
            args=(list(argv), None if cwd is None else str(cwd),
                  None if env is None else dict(env), error_warnings, out_write, err_write),
        )
        try:
            with _STATUS:
                self._process.start()
        finally:
            out_write.close()
            err_write.close()
        self.stdout: IO[Any] | None = self._wrap(out_read, text)
        self.stderr: IO[Any] | None = self._wrap(err_read, text)
        self.returncode: int | None = None

    @staticmethod
    def _wrap(stream: IO[Any] | None, text: bool) -> IO[Any] | None:
        if stream is None or not text:
            return stream
        import io

        return io.TextIOWrapper(stream, encoding="utf-8", errors="replace")

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None
        return pid

    def poll(self) -> int | None:
        if self.returncode is None:
            with _STATUS:
                self.returncode = self._process.exitcode
                if self.returncode is not None:
                    self._process.join(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            # The sentinel is readable once the child has ended (its status may already
            # have been read by another thread's start(): then it is kept, not read again).
            multiprocessing.connection.wait([self._process.sentinel], timeout)
            if self.poll() is None:
                raise subprocess.TimeoutExpired(["forked", *self._describe()], timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, how: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, how)

    def communicate(self, timeout: float | None = None) -> tuple[Any, Any]:
        """Both streams to their end, then the exit status (as Popen, without a deadline on
        the reading: a child that does not end within ``timeout`` is reported then)."""
        results: dict[str, Any] = {}

        def drain(name: str, stream: IO[Any] | None) -> None:
            if stream is not None:
                results[name] = stream.read()
                stream.close()

        readers = [threading.Thread(target=drain, args=(name, stream), daemon=True)
                   for name, stream in (("out", self.stdout), ("err", self.stderr))]
        for reader in readers:
            reader.start()
        self.wait(timeout)
        for reader in readers:
            reader.join(timeout)
        return results.get("out"), results.get("err")

    def _describe(self) -> list[str]:
        return [str(self.pid)]

    def close(self) -> None:
        """Close the pipes and release the process object (after it has ended)."""
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        if self.returncode is not None:
            self._process.close()


def ready() -> None:
    """Start the fork server now, if it is not running yet (its imports take a second):
    for a test that gives its children a common start time."""
    child = python("-c", "pass")
    child.communicate(timeout=60)
    assert child.returncode == 0, "the fork server could not run a child"
    child.close()


def python(*argv: str, **options: Any) -> Child:
    """``python ARGV...`` as a forked child (see :class:`Child` for the options)."""
    return Child(argv, **options)
