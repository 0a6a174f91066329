"""``connectsafely watch`` and ``connectsafely history``, run through main() on the demo."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from pathlib import Path

import pytest

from connectsafely_async._cli import main
from connectsafely_async.history import ENV_HISTORY_URL, HISTORY_FIELDS

from .servers import PostgresServer


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ndjson(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_two_demo_runs_show_everyone_then_only_the_new_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "watch.db")
    code, out, err = run(capsys, "watch", "--demo", "--db", db, "--json")
    assert code == 0
    first = ndjson(out)
    assert first
    assert all(r["is_anonymous"] is False for r in first)
    assert {"viewed_after", "viewed_before", "estimated_viewed_at", "event_id"} <= set(first[0])
    assert f"{len(first)} new, 0 returning, 0 unchanged" in err

    code, out, err = run(capsys, "watch", "--demo", "--db", db, "--json")
    assert code == 0
    second = ndjson(out)
    assert second, "the demo's clock moved one day on: someone new came"
    new = [r for r in second if r["event"] == "new"]
    back = [r for r in second if r["event"] == "returning"]
    assert new
    assert not {r["entity_urn"] for r in new} & {r["entity_urn"] for r in first}
    # Someone seen before who viewed again is announced too, with the visit count.
    assert {r["entity_urn"] for r in back} <= {r["entity_urn"] for r in first}
    assert all(r["visits"] >= 2 for r in back)
    assert f"{len(new)} new, {len(back)} returning" in err
    assert "unchanged" in err


def test_every_format_and_several_accounts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "watch.db")
    accounts = ["aaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbb"]
    code, out, err = run(capsys, "watch", "--demo", "--db", db, "--account", accounts[0],
                         "--account", accounts[1], "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["account_id"] for row in rows} == set(accounts)
    assert err.count("new,") == 2
    for fmt in ("json", "table", "ndjson"):
        code, out, _ = run(capsys, "watch", "--demo", "--db", db, "--account", accounts[0],
                           "--format", fmt)
        assert code == 0
        assert out
    code, out, err = run(capsys, "watch", "--demo", "--db", db, "--demo-clock",
                         "2026-01-01T00:00:00Z", "--format", "json", "--quiet")
    assert (code, err) == (0, "")
    assert isinstance(json.loads(out), list)


def test_what_was_not_written_is_shown_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "watch.db"
    # An --output that cannot be written: the sync happens, the events stay pending.
    code, _, err = run(capsys, "watch", "--demo", "--db", str(db), "--output",
                       str(tmp_path / "missing" / "out.json"))
    assert code != 0
    assert "new" in err
    code, out, _ = run(capsys, "watch", "--demo", "--db", str(db), "--json",
                       "--demo-clock", "2026-01-05T09:00:00Z")  # the same moment again
    assert code == 0
    assert len(ndjson(out)) > 10  # the first run's visitors, delivered now


def test_history_as_csv_filtered_by_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "watch.db")
    run(capsys, "watch", "--demo", "--db", db, "--json")
    code, out, _ = run(capsys, "history", "--db", db, "--format", "csv")
    assert code == 0
    everything = list(csv.DictReader(io.StringIO(out)))
    assert list(everything[0]) == list(HISTORY_FIELDS)
    assert any(row["is_anonymous"] == "true" for row in everything)
    code, out, _ = run(capsys, "history", "--db", db, "--format", "csv", "--since",
                       "2026-01-01", "--no-anonymous")
    recent = list(csv.DictReader(io.StringIO(out)))
    assert 0 < len(recent) < len(everything)
    assert all(row["estimated_viewed_at"] >= "2026-01-01" for row in recent)
    code, out, _ = run(capsys, "history", "--db", db, "--json", "--until", "2025-12-31")
    assert all(r["estimated_viewed_at"] < "2026-01-01" for r in ndjson(out))
    code, out, _ = run(capsys, "history", "--db", db, "--json", "--account", "nobody")
    assert (code, out) == (0, "")


def test_clear_errors_for_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "history", "--db", str(tmp_path / "none.db"))
    assert code == 13  # a store problem, not an SDK bug (1)
    assert "does not exist" in err
    code, _, err = run(capsys, "watch", "--demo", "--db", str(tmp_path))
    assert code == 13
    assert "is a directory" in err
    (tmp_path / "text.db").write_text("hello")
    code, _, err = run(capsys, "watch", "--demo", "--db", str(tmp_path / "text.db"))
    assert code == 13
    assert "not an SQLite database" in err
    with pytest.raises(SystemExit):
        main(["history", "--db", "x.db", "--since", "last tuesday"])
    assert "not a date" in capsys.readouterr().err


def test_the_history_can_live_in_postgres_named_by_the_environment(
    postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"{postgres_server.dsn}?schema=cli_{uuid.uuid4().hex[:8]}"
    code, out, _ = run(capsys, "watch", "--demo", "--db", url, "--json")
    assert code == 0
    first = ndjson(out)
    assert first
    monkeypatch.setenv(ENV_HISTORY_URL, url)  # the same store, from the environment
    code, out, _ = run(capsys, "watch", "--demo", "--json")
    assert code == 0
    new = {r["entity_urn"] for r in ndjson(out) if r["event"] == "new"}
    assert new
    assert not new & {r["entity_urn"] for r in first}
    code, out, _ = run(capsys, "history", "--json")
    assert code == 0
    assert {r["visitor_key"] for r in ndjson(out)} >= {r["entity_urn"] for r in first}


def test_no_store_named_anywhere_says_how(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_HISTORY_URL, raising=False)
    code, _, err = run(capsys, "history")
    assert code != 0
    assert ENV_HISTORY_URL in err
    assert "Traceback" not in err


def test_one_account_named_three_ways_is_one_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "watch.db")
    account = "696ce9e780e0483585e4e553"  # the demo's account, the fake's default
    monkeypatch.setenv("CONNECTSAFELY_ACCOUNT_ID", account)
    code, out, err = run(capsys, "watch", "--demo", "--db", db, "--json")
    assert code == 0
    first = ndjson(out)
    assert first, err  # named by the environment: its events are printed
    assert {r["event"] for r in first} == {"new"}
    monkeypatch.delenv("CONNECTSAFELY_ACCOUNT_ID")
    seen = {r["entity_urn"] for r in first}
    for named in (["--account", account], []):  # by the flag, then the workspace default
        code, out, err = run(capsys, "watch", "--demo", "--db", db, "--json", *named)
        assert code == 0
        records = ndjson(out)
        new = {r["entity_urn"] for r in records if r["event"] == "new"}
        assert not new & seen, "someone announced as new twice"
        seen |= new
        assert {r["account_id"] for r in records} <= {account}


def test_the_history_table_names_the_account_and_dates_each_view(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "watch.db")
    for _ in range(3):  # three demo days: some people came back
        assert run(capsys, "watch", "--demo", "--db", db, "--json")[0] == 0
    code, out, _ = run(capsys, "history", "--db", db, "--format", "table", "--no-anonymous")
    assert code == 0
    header, _, *lines, footer = out.splitlines()
    assert header.split()[:2] == ["account", "name"]
    assert "viewed (UTC, est.)" in header
    assert "visits" in header
    assert footer.endswith("view(s)")
    dates = [re.search(r"20\d\d-\d\d-\d\d \d\d:\d\d", line) for line in lines]
    assert all(dates), lines[:3]
    stamps = [d.group(0) for d in dates if d]
    assert stamps == sorted(stamps, reverse=True)  # newest first, as the dates show
    assert all(line.startswith("696ce9e780e0483585e4e553") for line in lines)
    assert any(line.rstrip().endswith(("2", "3")) for line in lines)  # a repeat visitor
