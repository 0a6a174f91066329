"""``connectsafely follow-up``: a preview by default, each visitor acted on once with
``--send``, on a history ``watch --demo`` filled; ``watch`` and the follow-up each see every
event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectsafely_async._cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]],
                                                                str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_preview_then_send_then_nothing_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "demo.db")
    code, watched, _ = run(capsys, "watch", "--demo", "--db", db, "--json")
    assert code == 0
    assert watched  # watch printed (and acknowledged) them: the follow-up still sees them
    code, preview, err = run(capsys, "follow-up", "--demo", "--db", db, "--json")
    assert code == 0
    assert preview
    assert {r["outcome"] for r in preview} <= {"would_send", "deferred"}
    assert "would send" in err
    code, sent, err = run(capsys, "follow-up", "--demo", "--db", db, "--json", "--send",
                          "--messages-per-day", "5", "--invitations-per-week", "4")
    assert code == 0
    assert {r["outcome"] for r in sent} == {"sent", "deferred"}  # the caps were reached
    messages = [r for r in sent if r["outcome"] == "sent" and r["action"] == "message"]
    invitations = [r for r in sent if r["outcome"] == "sent" and r["action"] == "invitation"]
    assert len(messages) == 5
    assert len(invitations) == 4
    assert all(r["connection_degree"] == "1st" for r in messages)
    code, again, err = run(capsys, "follow-up", "--demo", "--db", db, "--json", "--send",
                           "--messages-per-day", "5", "--invitations-per-week", "4")
    assert code == 0
    assert not [r for r in again if r["outcome"] == "sent"]  # the same day: the caps hold
    sent_to = {r["public_identifier"] for r in sent if r["outcome"] == "sent"}
    assert not sent_to & {r["public_identifier"] for r in again
                          if r["outcome"] in ("sent", "would_send")}


def test_bad_templates_are_usage_errors_before_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "demo.db")
    assert run(capsys, "watch", "--demo", "--db", db, "--json")[0] == 0
    code, out, err = run(capsys, "follow-up", "--demo", "--db", db, "--message", "Hi {email}")
    assert code == 2
    assert "email" in err
    assert out == []
    code, _, err = run(capsys, "follow-up", "--demo", "--db", db, "--note", "x" * 301)
    assert code == 2
    assert "300" in err


async def test_a_slow_or_retrying_service_is_announced_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio
    import io

    from connectsafely_async import AsyncConnectSafely, RetryPolicy, _cli_notices
    from connectsafely_async.testing import FakeConnectSafely, Fault

    monkeypatch.setattr(_cli_notices, "QUIET_SECONDS", 0.3)
    err = io.StringIO()
    async with FakeConnectSafely() as fake, AsyncConnectSafely(
        api_key=fake.api_key, base_url=fake.url, rate_limits=None, timeout=0.5,
        retry=RetryPolicy(initial_delay=0),
    ) as client, _cli_notices.notices(enabled=True, err=err):
        fake.inject(Fault(delay=1.0))  # accepts, never answers in time
        await client.get_visitors(max_visitors=5)
        await asyncio.sleep(0.6)
    said = err.getvalue()
    assert "connectsafely: retrying after APITimeoutError (retry 1 of 2" in said
    assert "still waiting for the service" in said
    quiet = io.StringIO()
    async with _cli_notices.notices(enabled=False, err=quiet):
        await asyncio.sleep(0.5)
    assert quiet.getvalue() == ""
