"""The command line's exit codes for what the user can cause: a history store it cannot use
(13), an output it cannot write (14), arguments and settings in the shell's own terms.

Store cases run through ``main([...])`` in-process; what needs a fresh interpreter (an
encoding, a missing driver, a file size limit, a stdout on a full device) runs as a
subprocess against ``--demo``.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from connectsafely_async import _cli
from connectsafely_async._cli import main

from .servers import PostgresServer

EXIT_STORE = 13
EXIT_OUTPUT = 14
COMMAND = [sys.executable, "-m", "connectsafely_async"]
README = Path(__file__).parent.parent / "README.md"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_process(
    *args: str, code: str | None = None, **options: object
) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh interpreter (``code``: Python run instead of the module)."""
    command = [sys.executable, "-c", code, *args] if code else [*COMMAND, *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTSAFELY_")}
    env.update(options.pop("env", {}))  # type: ignore[call-overload]
    options.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        command, stderr=subprocess.PIPE, text=True, timeout=60, env=env, check=False,
        **options,  # type: ignore[call-overload]
    )


def assert_one_clear_line(err: str) -> None:
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert "please report" not in err


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the history store: exit 13 ----------------------------------------------------------------


def corrupt_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A history written by ``watch``, then damaged past its first page."""
    path = tmp_path / "corrupt.db"
    assert run(capsys, "watch", "--demo", "--db", str(path), "--quiet", "--json")[0] == 0
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "case", ["a directory", "a missing folder", "a garbage file", "a corrupt history"]
)
def test_an_unusable_sqlite_history_exits_13(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if case == "a directory":
        db = tmp_path
    elif case == "a missing folder":
        db = tmp_path / "missing" / "history.db"
    elif case == "a garbage file":
        db = tmp_path / "garbage.db"
        db.write_text("hello, not a database\n" * 100)
    else:
        db = corrupt_store(tmp_path, capsys)
    for command in ("watch", "history"):
        argv = [command, "--db", str(db), "--json", *(["--demo"] if command == "watch" else [])]
        code, out, err = run(capsys, *argv)
        assert (code, out) == (EXIT_STORE, ""), (command, err)
        assert_one_clear_line(err)
        assert "--db" in err  # the advice names the option to change


def test_an_unreachable_postgresql_exits_13(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://app:hunter2-secret@127.0.0.1:{closed_port()}/app"
    code, out, err = run(capsys, "watch", "--demo", "--db", url)
    assert (code, out) == (EXIT_STORE, "")
    assert_one_clear_line(err)
    assert "hunter2-secret" not in err


def test_a_postgresql_that_refuses_the_user_exits_13(
    postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_server.dsn.replace("postgres@", "nobody:hunter2-secret@", 1)
    code, out, err = run(capsys, "history", "--db", url)
    assert (code, out) == (EXIT_STORE, "")
    assert_one_clear_line(err)
    assert "hunter2-secret" not in err


def test_a_missing_postgres_extra_exits_13_and_says_what_to_install() -> None:
    # asyncpg "not installed": an import of it fails, as on a machine without the extra.
    code = ("import sys; sys.modules['asyncpg'] = None\n"
            "from connectsafely_async._cli import main\n"
            "sys.exit(main(sys.argv[1:]))")
    result = run_process("watch", "--demo", "--db", "postgresql://app@127.0.0.1/app", code=code)
    assert (result.returncode, result.stdout) == (EXIT_STORE, ""), result.stderr
    assert_one_clear_line(result.stderr)
    assert "pip install 'connectsafely-async[postgres]'" in result.stderr


def test_no_history_named_says_which_option_and_offers_no_demo(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONNECTSAFELY_HISTORY_URL", raising=False)
    for command in ("history", "watch"):
        code, out, err = run(capsys, command)
        assert (code, out) == (3, "")
        assert_one_clear_line(err)
        assert "--db" in err
        assert "CONNECTSAFELY_HISTORY_URL" in err
        assert "--demo" not in err  # a demo needs a history too


def test_a_history_url_no_store_reads_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for url in ("postgresql://app@127.0.0.1:99999/app", "mysql://app@db/app"):
        code, out, err = run(capsys, "history", "--db", url)
        assert (code, out) == (3, "")
        assert_one_clear_line(err)
        assert "--db" in err


# -- the output: exit 14, and what can be written is written -----------------------------------


def test_a_non_ascii_name_on_an_ascii_stdout_is_escaped_not_fatal() -> None:
    env = {"PYTHONIOENCODING": "ascii"}
    formats = ("ndjson", "json", "csv", "table")
    commands = [("-f", fmt) for fmt in formats] + [()]  # the last: the default format
    with ThreadPoolExecutor(len(commands)) as pool:  # independent --demo runs, all at once
        *each, ndjson = pool.map(
            lambda extra: run_process("visitors", "--demo", "--max", "5", *extra, env=env),
            commands)
    results = dict(zip(formats, each, strict=True))
    for fmt, result in results.items():
        assert result.returncode == 0, (fmt, result.stderr)
        assert result.stderr == ""
        assert "Chlo" in result.stdout
    records = [json.loads(line) for line in ndjson.stdout.splitlines()]
    assert len(records) == 5
    assert records[0]["name"] == "Chloé Smith"  # JSON's \u00e9: the same name, read back
    table = results["table"]  # the loop's run: the same command
    assert "Chlo\\xe9 Smith" in table.stdout
    assert table.stdout.rstrip().endswith("5 visitor(s)")  # the whole table, not a part


def test_watch_and_check_on_an_ascii_stdout(tmp_path: Path) -> None:
    env = {"PYTHONIOENCODING": "ascii"}
    watched = run_process("watch", "--demo", "--db", str(tmp_path / "h.db"), "-f", "table",
                          env=env)
    assert watched.returncode == 0, watched.stderr
    history = run_process("history", "--db", str(tmp_path / "h.db"), "-f", "csv", env=env)
    assert history.returncode == 0, history.stderr
    assert history.stdout.count("\n") > 10
    assert run_process("check", "--demo", env=env).returncode == 0


@pytest.mark.parametrize("command", ["visitors", "watch", "history"])
def test_an_output_in_a_missing_folder_exits_14(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "h.db")
    if command == "history":
        assert run(capsys, "watch", "--demo", "--db", db, "--quiet")[0] == 0
    extra = {"visitors": ["--demo"], "watch": ["--demo", "--db", db, "--quiet"],
             "history": ["--db", db]}[command]
    target = tmp_path / "missing" / "out.csv"
    code, out, err = run(capsys, command, *extra, "--output", str(target))
    assert (code, out) == (EXIT_OUTPUT, "")
    assert_one_clear_line(err)
    assert f"the folder {target.parent} does not exist" in err


def test_an_output_deleted_while_being_written_exits_14(tmp_path: Path) -> None:
    path = tmp_path / "visitors.ndjson"
    process = subprocess.Popen(  # noqa: S603
        # Ten pages of one, 50 ms each: the file is deleted half a second before the end.
        [*COMMAND, "visitors", "--demo", "--max", "10", "--count", "1", "--demo-latency",
         "0.05", "--output", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    while not path.exists():
        assert process.poll() is None, process.communicate()
    path.unlink()  # e.g. a cleanup job, or the user, while the walk goes on
    out, err = process.communicate(timeout=60)
    assert (process.returncode, out) == (EXIT_OUTPUT, ""), err
    assert_one_clear_line(err)
    assert "deleted while being written" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_device_exits_14_for_a_file_and_for_stdout() -> None:
    to_file = run_process("visitors", "--demo", "--output", "/dev/full")
    assert (to_file.returncode, to_file.stdout) == (EXIT_OUTPUT, "")
    assert_one_clear_line(to_file.stderr)
    assert "no space left" in to_file.stderr
    with open("/dev/full", "w") as full:
        to_stdout = run_process("visitors", "--demo", stdout=full)
    assert to_stdout.returncode == EXIT_OUTPUT
    assert_one_clear_line(to_stdout.stderr)  # and no "Exception ignored" on the way out
    assert "cannot write stdout" in to_stdout.stderr


def limit_file_size() -> None:
    # A disk that fills up after 3000 bytes: writes past it fail with EFBIG (no signal).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "json"])
def test_an_output_that_fills_up_keeps_only_whole_records(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"out.{fmt}"
    result = run_process("visitors", "--demo", "-f", fmt, "--output", str(path),
                         preexec_fn=limit_file_size)
    assert result.returncode == EXIT_OUTPUT, result.stderr
    assert_one_clear_line(result.stderr)
    text = path.read_text(encoding="utf-8")
    assert 0 < len(text.encode()) <= 3000
    if fmt == "json":  # "[", then records each led by ",\n  ": the last one whole too
        records = text.removeprefix("[\n  ").split(",\n  ")
        assert all(json.loads(record)["entity_urn"] for record in records)
        return
    lines = text.splitlines(keepends=True)
    assert all(line.endswith("\n") for line in lines)  # no record cut in the middle
    if fmt == "ndjson":
        assert all(json.loads(line)["entity_urn"] for line in lines)
    else:
        assert {line.count(",") >= 10 for line in lines} == {True}


# -- arguments and settings, in the shell's terms -------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "option"),
    [(["visitors", "--demo", "--max", "0"], "--max"),
     (["visitors", "--demo", "--count", "-3"], "--count"),
     (["visitors", "--demo", "--start", "x"], "--start"),
     (["visitors", "--demo", "--time-range", ""], "--time-range"),
     (["watch", "--demo", "--db", "x.db", "--max", "0"], "--max"),
     (["watch", "--demo", "--db", "x.db", "--demo-clock", "soon"], "--demo-clock")],
)
def test_a_bad_value_names_its_option_before_any_request(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"argument {option}" in err
    assert "max_visitors" not in err
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_without_a_key_the_advice_is_for_the_shell(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECTSAFELY_API_KEY", raising=False)
    for command in ("visitors", "check"):
        code, out, err = run(capsys, command)
        assert (code, out) == (3, "")
        assert_one_clear_line(err)
        assert "set CONNECTSAFELY_API_KEY" in err
        assert "api_key=" not in err
        assert "--demo" in err  # these commands have it


def test_version() -> None:
    from connectsafely_async import __version__

    result = run_process("--version")
    assert (result.returncode, result.stdout) == (0, f"connectsafely {__version__}\n")


# -- one table, three places -----------------------------------------------------------------------


def table_rows(text: str, pattern: str) -> dict[int, str]:
    rows = {int(code): " ".join(words.replace("`", "").split())
            for code, words in re.findall(pattern, text, flags=re.MULTILINE)}
    assert rows, text
    return rows


def test_the_exit_codes_read_the_same_in_the_docstring_help_and_readme(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    help_rows = table_rows(shown[shown.index("exit codes:"):], r"^  (\d+)\s+(.+)$")
    doc_rows = table_rows(_cli.__doc__ or "", r"^(\d+)\s{2,}(.+)$")
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("## Command line"):]
    section = section[:section.index("\n## ", 1)]
    readme_rows = table_rows(section, r"^\| (\d+) \| (.+) \|$")
    assert help_rows == doc_rows == readme_rows
    for command in ("visitors", "check", "watch", "history", "follow-up"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert capsys.readouterr().out.endswith(shown[shown.index("exit codes:"):])
    table_codes = {code for _, code, _ in _cli.EXIT_CODES}
    assert set(doc_rows) == table_codes | {0, 2, _cli.EXIT_OUTPUT, _cli.EXIT_UNKNOWN_OUTCOME,
                                           _cli.EXIT_INTERRUPTED}
