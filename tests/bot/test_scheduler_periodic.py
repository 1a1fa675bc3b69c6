"""Periodic jobs (staff notices scheduled for a time): on the leader every 30 s, caught up when a
process becomes leader, runnable by operators with `linli jobs run notices`."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.cli import main as linli
from bot.leader_lock import SoleProcess
from bot.scheduler import Scheduler
from config.community import Directory
from core.clock import FixedClock
from storage import notices_repo
from storage.db import Database
from tests.conftest import SHANGHAI


async def scheduled_notice(db: Database, send_at: dt.datetime) -> None:
    async with db.transaction() as session:
        notice = await notices_repo.create(session, community_id="xingfuli", author_id="staff-li", author_name="李书记",
                                           text="明天停水", targets=["g-res-1", "g-res-2"], audience="全部", via="chat",
                                           now=send_at - dt.timedelta(hours=1))
        await notices_repo.schedule(session, "xingfuli", notice.id, send_at=send_at, by="staff-li",
                                    now=send_at - dt.timedelta(hours=1))


async def test_the_leader_runs_the_notices_job_every_30_seconds_and_catches_up_on_taking_the_lead(
        db: Database, demo_directory: Directory, clock: FixedClock) -> None:
    due = dt.datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)  # half an hour before the clock's 10:00
    await scheduled_notice(db, due)
    sched = Scheduler(db, demo_directory, clock, leadership=SoleProcess())
    await sched.start()  # the catch-up sends what came due while no process led
    try:
        jobs = dict(sched.scheduled_jobs())
        assert "notices" in jobs and "theme:xingfuli" in jobs and "attendance:xingfuli" in jobs
        async with db.transaction() as session:
            notice = await notices_repo.get(session, "xingfuli", 1)
        assert notice is not None and notice.status == "sent"
    finally:
        await sched.stop()


def test_operators_run_and_list_it(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}"
    assert linli(["jobs", "run", "notices", "--database-url", url]) == 0
    assert "notices xingfuli" not in capsys.readouterr().out  # nothing due: no community touched
    assert linli(["jobs", "list", "--database-url", url]) == 0
    listed = capsys.readouterr().out
    assert "notices  xingfuli  every 30 s" in listed and "attendance" in listed and "weekly_report" in listed
