"""Operators' commands: `linli sessions list [--json]` and `linli bookings export`."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json

import pytest

from bot.cli import main
from config.loader import load_directory
from config.settings import DEFAULT_COMMUNITY_FILE
from storage import booking_repo as repo
from storage import sessions_repo
from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import REFERENCE_NOW, SHANGHAI

NOW = "2026-11-25T10:00:00+08:00"


async def _seed(url: str) -> dict[str, str]:
    """Zhang books Saturday's repair, Liu books and cancels Saturday's haircut; returns their codes."""
    community = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    db = Database(url)
    codes = {}
    try:
        await upgrade(db)
        async with db.transaction() as session:
            await sessions_repo.materialize_sessions(session, community, REFERENCE_NOW)
            views = await sessions_repo.sessions_on(session, community, dt.date(2026, 11, 28))
            by_service = {(v.row.service, v.row.starts_at.astimezone(SHANGHAI).hour): v.id for v in views}
            for resident, service, item in (("r-zhang", "appliance_repair", "热水壶"), ("r-liu", "haircut", None)):
                result = await repo.book(
                    session, community_id=community.id, session_id=by_service[(service, 9)], resident_id=resident,
                    resident_name=resident, channel="sim", group_id="g-res-1", item=item, now=REFERENCE_NOW)
                assert isinstance(result, repo.Booked)
                codes[resident] = result.booking.code
                if resident == "r-liu":
                    await repo.cancel(session, result.booking, now=REFERENCE_NOW)
    finally:
        await db.dispose()
    return codes


def test_sessions_list_shows_counts_as_json_and_as_a_table(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_seed(db_url))
    assert main(["sessions", "list", "--json", "--database-url", db_url, "--now", NOW]) == 0
    sessions = json.loads(capsys.readouterr().out)
    repair = next(s for s in sessions if s["service"] == "appliance_repair" and s["start"].startswith("2026-11-28T09"))
    assert {k: repair[k] for k in ("capacity", "booked", "waitlisted", "status")} == {
        "capacity": 10, "booked": 1, "waitlisted": 0, "status": "open"}
    assert repair["start"] == "2026-11-28T09:00:00+08:00" and repair["end"] == "2026-11-28T11:30:00+08:00"
    assert {"id", "service", "start", "end", "capacity", "booked", "waitlisted"} <= set(repair)
    assert len(sessions) == 36 and sessions[0]["start"] == "2026-11-25T14:30:00+08:00"

    assert main(["sessions", "list", "--service", "理发", "--database-url", db_url, "--now", NOW]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["id", "service", "start", "end", "cap", "booked", "wait", "status"]
    assert len(table) == 1 + 8 and all("haircut" in line for line in table[1:])


def test_bookings_export_as_csv_and_json_with_filters(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    codes = asyncio.run(_seed(db_url))
    assert main(["bookings", "export", "--database-url", db_url]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["code"], r["service"], r["resident_id"], r["status"], r["item"]) for r in rows] == [
        (codes["r-zhang"], "appliance_repair", "r-zhang", "booked", "热水壶"),
        (codes["r-liu"], "haircut", "r-liu", "cancelled", ""),
    ]
    assert set(rows[0]) == {"code", "service", "session_id", "session_start", "resident_id", "status",
                            "created_at", "item"}
    assert rows[0]["created_at"] == "2026-11-25T10:00:00+08:00"

    assert main(["bookings", "export", "--service", "haircut", "--date", "2026-11-28", "--format", "json",
                 "--database-url", db_url]) == 0
    [only] = json.loads(capsys.readouterr().out)
    assert (only["code"], only["status"]) == (codes["r-liu"], "cancelled")
    assert main(["bookings", "export", "--date", "2026-11-29", "--format", "json", "--database-url", db_url]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_bad_filters_are_refused_clearly(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bookings", "export", "--service", "按摩", "--database-url", sqlite_url]) == 2
    assert "unknown service '按摩'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bookings", "export", "--date", "12月3日", "--database-url", sqlite_url])
    assert "not a date (YYYY-MM-DD)" in capsys.readouterr().err
