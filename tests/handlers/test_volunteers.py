"""Issue 18 items 2 and 3 in the simulator: a volunteer's sessions with the people booked, a volunteer
who cannot come, checking residents in, and the service hours that follow — as volunteers, staff and
residents see them."""

from __future__ import annotations

import asyncio
import csv
import io

import openpyxl
import pytest
from sqlalchemy import select

from bot.cli import main as linli
from core.clock import FixedClock
from handlers.digest import compute_digest
from handlers.service_hours import hours_csv, hours_report, hours_xlsx
from storage.models_attendance import Attendance, ServiceHours, SessionCloseout, VolunteerAbsence
from storage.models_booking import Booking, ServiceSession
from tests.conftest import LiveBot
from tests.handlers.ops_support import Chat, at, code_in, one, to


async def haircut_on_dec_5(bot: LiveBot) -> ServiceSession:
    async with bot.linli.db.transaction() as session:
        row = await session.scalar(select(ServiceSession).where(ServiceSession.service == "haircut",
                                                                ServiceSession.starts_at == at(12, 5, 9)))
    assert row is not None
    return row


async def test_a_volunteer_sees_their_teams_sessions_with_the_people_booked_privately(live_bot_any_db: LiveBot) -> None:
    chat = Chat(live_bot_any_db)
    booked = one(await chat.say("12月5号想理发", "g-res-1", "r-zhang"), "g-res-1")
    code = code_in(booked)
    session_id = (await haircut_on_dec_5(live_bot_any_db)).id

    replies = await chat.say("场次名单", "g-vol", "v-xu")  # 徐阿姨, 匠心便民服务队 (haircuts)
    assert one(replies, "g-vol") == "场次名单含居民信息，已私信发给您。"
    listing = one(replies, "v-xu")
    assert f"#{session_id} 义剪理发 12月5日(周六) 09:00-11:30" in listing
    assert f"张秀兰 3号楼2单元501 [{code}]" in listing  # as staff see it, privately
    assert "健康义诊" not in listing  # not her team's service

    # The session's roster by number, for its team …
    roster = one(await chat.say(f"场次名单 {session_id}", "g-vol", "v-he"), "v-he")
    assert "张秀兰" in roster and "已约1/12" in roster
    # … but not for another team's volunteer, nor for a resident.
    refused = await chat.say(f"场次名单 {session_id}", "g-vol", "v-ma")
    assert "不是您所在服务队" in one(refused, "g-vol") and to(refused, "v-ma") == []
    resident = await chat.say(f"场次名单 {session_id}", "g-res-1", "r-liu")
    assert all("张秀兰" not in r["text"] for r in resident)
    assert not any("张秀兰" in t for t in await chat.private("v-ma") + await chat.private("r-liu"))


async def test_a_volunteer_who_cannot_come_tells_the_lead_and_staff_and_no_booking_is_cancelled(
        live_bot_any_db: LiveBot) -> None:
    chat = Chat(live_bot_any_db)
    code = code_in(one(await chat.say("12月5号想理发", "g-res-1", "r-zhang"), "g-res-1"))

    replies = await chat.say("12月5号的理发我有事去不了", "g-vol", "v-xu")
    answer = one(replies, "g-vol")
    assert "义剪理发 12月5日(周六) 09:00-11:30 您去不了" in answer and "居民的预约不受影响" in answer
    lead = one(replies, "v-he")  # 何师傅 leads 匠心便民服务队
    staff = one(replies, "g-staff")
    assert lead == staff and "【志愿者请假】匠心便民服务队 徐阿姨" in lead and "本场在岗：何师傅" in lead
    assert "已约 1/12" in lead
    assert to(replies, "g-res-1") == [] and to(replies, "r-zhang") == []  # residents hear nothing
    async with live_bot_any_db.linli.db.transaction() as session:
        booking = await session.scalar(select(Booking).where(Booking.code == code))
        absences = (await session.scalars(select(VolunteerAbsence))).all()
    assert booking is not None and booking.status == "booked"
    assert [(a.person_id, a.note) for a in absences] == [("v-xu", "12月5号的理发我有事去不了")]

    # The lead himself cannot come either: the others of the team are told, and staff, that nobody is left.
    replies = await chat.say("12月5号上午我也去不了 理发那场", "g-vol", "v-he")
    assert "本场已没有在岗的志愿者" in one(replies, "g-staff")
    assert one(replies, "v-xu").startswith("【志愿者请假】")

    # The same words from a resident still cancel their own booking, as before.
    cancelled = one(await chat.say("12月5号的理发我有事去不了", "g-res-1", "r-zhang"), "g-res-1")
    assert "已取消" in cancelled and code in cancelled


async def test_a_volunteers_day_off_without_a_session_of_their_team(live_bot_any_db: LiveBot) -> None:
    chat = Chat(live_bot_any_db)
    answer = one(await chat.say("12月1号理发我去不了", "g-vol", "v-xu"), "g-vol")  # a Tuesday: no haircut
    assert "没有场次" in answer and "取消 预约码" in answer
    assert await chat.say("昨天的义诊我没去成", "g-vol", "v-ma") == []  # news, not a request: silence


async def test_residents_are_checked_in_by_code_and_the_session_is_closed_out_at_night(
        live_bot_any_db: LiveBot, clock: FixedClock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(live_bot_any_db)
    came = code_in(one(await chat.say("12月5号想理发", "g-res-1", "r-zhang"), "g-res-1"))
    stayed_home = code_in(one(await chat.say("12月5号上午理发", "g-res-1", "r-liu"), "g-res-1"))
    await chat.say("12月5号的理发我有事去不了", "g-vol", "v-xu")

    clock.set(at(12, 4, 18))
    early = one(await chat.say(f"到场 {came}", "g-vol", "v-he"), "g-vol")
    assert "开始前60分钟起才能签到" in early

    clock.set(at(12, 5, 8, 45))
    done = one(await chat.say(f"到场 {came}", "g-vol", "v-he"), "g-vol")
    assert done == "已签到：张** · 义剪理发 12月5日(周六) 09:00-11:30（已到 1/2）"  # masked in a group
    assert "已经签到过了" in one(await chat.say(f"到场 {came.lower()}", "g-vol", "v-he"), "g-vol")
    # Another team's volunteer, and a resident, cannot check anyone in.
    assert "志愿者或社区工作人员" in one(await chat.say(f"到场 {stayed_home}", "g-vol", "v-ma"), "g-vol")
    assert "志愿者或社区工作人员" in one(await chat.say(f"签到 {stayed_home}", "g-res-1", "r-liu"), "g-res-1")

    # At night the attendance job closes the session out: 刘德顺 did not come, 徐阿姨 was on leave.
    clock.set(at(12, 5, 21, 0))
    assert live_bot_any_db.linli.scheduler is not None
    [run] = await live_bot_any_db.linli.scheduler.run("attendance")
    assert run.status == "done"
    async with live_bot_any_db.linli.db.transaction() as session:
        row = await haircut_on_dec_5(live_bot_any_db)
        marks = {(await session.get(Booking, a.booking_id)).code: a.status  # type: ignore[union-attr]
                 for a in (await session.scalars(select(Attendance))).all()}
        closeout = await session.get(SessionCloseout, row.id)
        hours = (await session.scalars(select(ServiceHours).where(ServiceHours.session_id == row.id))).all()
        others = (await session.scalars(select(SessionCloseout).where(SessionCloseout.session_id != row.id))).all()
    assert marks == {came: "present", stayed_home: "no_show"}
    assert closeout is not None and (closeout.present, closeout.no_shows, closeout.volunteers) == (1, 1, 1)
    assert [(h.person_id, h.team_id, h.minutes) for h in hours] == [("v-he", "jiangxin", 150)]
    # Sessions where nobody checked anyone in record no no-shows (nothing is known), but hours.
    assert others and all(o.no_shows == 0 and not o.attendance_taken for o in others)
    # A rerun records nothing twice.
    await live_bot_any_db.linli.scheduler.run("attendance")
    async with live_bot_any_db.linli.db.transaction() as session:
        assert len((await session.scalars(select(ServiceHours).where(ServiceHours.session_id == row.id))).all()) == 1

    # Checked in after all (came late, after the close-out): the no-show is corrected.
    clock.set(at(12, 5, 21, 30))
    fixed = one(await chat.say(f"到场 {stayed_home}", "g-staff", "staff-li"), "g-staff")
    assert "刘德顺" in fixed and "已从爽约改为到场" in fixed  # the staff group sees full names

    # The month's hours, as the reports, the CSV and the Excel workbook street offices file show them:
    # 匠心便民服务队 served Dec 2 (haircut 14:30-16:30) and Dec 5 (haircut 09:00-11:30, repairs
    # 09:00-11:30 and 14:00-16:00); 徐阿姨 was on leave for the Dec 5 haircut only.
    async with live_bot_any_db.linli.db.transaction() as session:
        community = live_bot_any_db.linli.directory.communities[0]
        report = await hours_report(session, community, at(12, 1, 0).date(), at(12, 31, 0).date())
        digest = await compute_digest(session, community, at(12, 6, 0).date())  # a Sunday: the weekly digest
    jiangxin = {(p.name, p.sessions, p.minutes) for p in report.people if p.team == "匠心便民服务队"}
    assert jiangxin == {("何师傅", 4, 540), ("徐阿姨", 3, 390)}
    rows = list(csv.reader(io.StringIO(hours_csv(report))))
    assert rows[0] == ["志愿者", "服务队", "服务场次", "服务时长（小时）"]
    assert ["何师傅", "匠心便民服务队", "4", "9"] in rows and ["徐阿姨", "匠心便民服务队", "3", "6.5"] in rows
    assert rows[-1][0] == "合计"
    book = openpyxl.load_workbook(io.BytesIO(hours_xlsx(report)))
    assert book.sheetnames == ["志愿时长", "按服务队"]
    sheet = book["志愿时长"]
    assert sheet["A1"].value == "幸福里社区 志愿服务时长 2026-12-01 至 2026-12-31"
    assert [c.value for c in sheet[2]] == ["志愿者", "服务队", "服务场次", "服务时长（小时）"]
    assert ["何师傅", "匠心便民服务队", 4, 9] in [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    teams = {r[0].value: r[3].value for r in book["按服务队"].iter_rows(min_row=3)}
    assert teams["匠心便民服务队"] == 15.5  # numbers, so the workbook's sums work
    assert digest.volunteer_hours is not None and "匠心便民服务队 15.5小时" in digest.volunteer_hours

    db_url = live_bot_any_db.linli.settings.database_url
    if db_url.startswith("sqlite"):  # the command line reads the same database (PostgreSQL: the same code)
        out = tmp_path / "hours.xlsx"
        assert await asyncio.to_thread(linli, ["volunteers", "hours", "--month", "2026-12", "--format", "xlsx",
                                               "--output", str(out), "--database-url", db_url]) == 0
        assert openpyxl.load_workbook(out)["按服务队"]["A3"].value is not None


async def test_the_command_line_prints_a_months_hours(live_bot_any_db: LiveBot, clock: FixedClock,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    db_url = live_bot_any_db.linli.settings.database_url
    await Chat(live_bot_any_db).say("场次列表", "g-staff", "staff-li")  # the weeks ahead's sessions exist from here on
    clock.set(at(12, 5, 21, 0))
    assert live_bot_any_db.linli.scheduler is not None
    await live_bot_any_db.linli.scheduler.run("attendance")
    assert await asyncio.to_thread(linli, ["volunteers", "hours", "--month", "2026-12", "--database-url", db_url]) == 0
    printed = capsys.readouterr().out
    assert "幸福里社区 志愿服务时长 2026-12-01 至 2026-12-31" in printed
    # Dec 1-5 sessions that ended by then: 匠心 served the Wednesday and Saturday haircuts, repairs …
    assert "何师傅" in printed and "匠心便民服务队" in printed and "合计" in printed
    assert await asyncio.to_thread(
        linli, ["volunteers", "hours", "--month", "2026-12", "--format", "xlsx", "--database-url", db_url]) == 2


async def test_what_a_volunteer_said_reaches_the_staff_group_masked(live_bot_any_db: LiveBot) -> None:
    chat = Chat(live_bot_any_db)
    replies = await chat.say("12月5号的理发我去不了，有事打我电话13912345678", "g-vol", "v-xu")
    staff = one(replies, "g-staff")
    assert "13912345678" not in staff and "139" in staff
