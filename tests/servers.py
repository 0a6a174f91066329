"""Throwaway database servers for the tests: a real redis-server and a real PostgreSQL.

Each runs from its own temporary directory on a free loopback port, keeps nothing on disk
that outlives the test, and is killed at teardown. A test that needs one skips, with the
reason, only when the server's binaries are not installed (``.ci/run`` installs them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["PostgresServer", "RedisServer", "find_postgres_bin", "free_port"]

# Generous: a busy two-core CI machine starts redis in ~20 ms and PostgreSQL in ~1 s.
_START_TIMEOUT = 20.0


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class RedisServer:
    """A ``redis-server`` without persistence, in a temporary directory.

    ``stop()`` and ``start()`` again reuse the same port, so a client configured with
    :attr:`url` sees a restart, with every key gone (nothing is saved).
    """

    binary = shutil.which("redis-server")

    def __init__(self) -> None:
        if self.binary is None:
            msg = "redis-server is not installed"
            raise RuntimeError(msg)
        self.directory = Path(tempfile.mkdtemp(prefix="cs-redis-"))
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers ``PING``."""
        assert self.binary is not None
        with (self.directory / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 (a fixed binary, our own arguments)
                [
                    self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", str(self.directory),
                ],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._answers_ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                log_text = (self.directory / "redis.log").read_text(errors="replace")
                self.stop()
                msg = f"redis-server did not start on port {self.port}:\n{log_text[-2000:]}"
                raise RuntimeError(msg)
            time.sleep(0.01)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the server (SIGTERM, then SIGKILL); its data goes with it."""
        _stop(self._process)
        self._process = None

    def close(self) -> None:
        """At teardown: SIGKILL at once (a SIGTERM'd redis-server takes ~0.1 s to shut
        down, and nothing it holds is kept anyway)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None
        shutil.rmtree(self.directory, ignore_errors=True)


def find_postgres_bin() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, if installed."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    # Debian keeps them off PATH, one directory per major version; the newest wins.
    candidates += [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    ]
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


class PostgresServer:
    """A throwaway PostgreSQL cluster: ``initdb`` into a temporary directory, ``pg_ctl start``.

    It listens on 127.0.0.1 at a free port (and on a Unix socket inside its directory, not
    in /var/run), trusts local connections, and is stopped with ``-m immediate`` at the end.
    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user.

    Connect with :attr:`dsn` (user ``postgres``, database ``postgres``).
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="cs-postgres-"))
        self.data = self.directory / "data"
        self._user = self._run_as()
        if self._user is not None:
            os.chown(self.directory, self._user.pw_uid, self._user.pw_gid)

    @staticmethod
    def _run_as() -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam("postgres")
        except KeyError:
            msg = "running as root and there is no 'postgres' user to run PostgreSQL as"
            raise RuntimeError(msg) from None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _command(self, name: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / name), *args]
        if self._user is not None:
            return ["runuser", "-u", self._user.pw_name, "--", *command]
        return command

    def _run(self, name: str, *args: str) -> None:
        result = subprocess.run(  # noqa: S603 (fixed binaries, our own arguments)
            self._command(name, *args), capture_output=True, timeout=_START_TIMEOUT * 3,
            check=False, cwd=self.directory,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            msg = f"{name} failed ({result.returncode}):\n{output[-2000:]}"
            raise RuntimeError(msg)

    def start(self) -> None:
        """``initdb`` (once) and start the server; returns when it accepts connections."""
        if not self.data.exists():
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--no-sync", "--no-instructions",
            )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "postgres.log"),
            "-w", "-t", str(int(_START_TIMEOUT)),
            # fsync off: a throwaway cluster need not survive a power cut, and it is faster.
            "-o", f"-k {self.directory} -h 127.0.0.1 -p {self.port} -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
