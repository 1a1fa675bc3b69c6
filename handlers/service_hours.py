"""After a session: no-shows and volunteers' service hours (志愿时长), and the reports street offices file.

`close_out_sessions` is the scheduler's daily `attendance` job (at `attendance.close_time`). For
every open session that ended by then and was not closed out yet (looking back CLOSE_OUT_LOOKBACK,
so a day the bot was down is caught up the next day):

- no-shows: where attendance was taken (anyone checked in, `到场 <code>` or the staff page), each
  booked resident not checked in is recorded as a no-show. Where nobody checked anyone in, nothing
  is known about who came and nobody is recorded. A resident with `no_show_flag_after` no-shows
  within `no_show_window_days` is flagged to the staff group (key noshow:{community}:{resident}:{n})
  and never blocked from booking.
- service hours: who served is the session's team (the service's `team` in the community file)
  at close-out, minus the members who said they cannot come (handlers/volunteers.py). Each is
  credited the session's length. A session staff closed (关闭场次) did not take place: no hours.

Hours are kept per volunteer, session and team (`service_hours`), so the report of a month does not
change when someone later joins or leaves a team. `hours_report` sums them; `hours_csv` and
`hours_xlsx` (openpyxl) are the files; `linli volunteers hours --month 2026-12` prints them and the
staff page offers them for download (bot/staff_web/session_pages.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from core.message import Outgoing
from handlers import texts_booking
from handlers import texts_volunteers as texts
from storage import attendance_repo as repo
from storage.attendance_repo import Served

log = logging.getLogger("linli.attendance")

CLOSE_OUT_LOOKBACK = dt.timedelta(days=14)


def who_served(community: Community, service_id: str, absent: set[str]) -> list[Served]:
    """The service's team members at close-out, minus those who said they cannot come."""
    service = community.service(service_id)
    team = community.team(service.team) if service is not None else None
    if team is None:
        return []
    served = []
    for member in team.members:
        person = community.person(member)
        if member not in absent and person is not None:
            served.append(Served(member, person.name, team.id))
    return served


async def close_out_sessions(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
    """The `attendance` job for `day`: closes out the sessions ended by `attendance.close_time`;
    returns the staff group's no-show flags."""
    tz = ZoneInfo(community.timezone)
    rules = community.attendance
    at = dt.datetime.combine(day, rules.close_time, tzinfo=tz)
    rows = await repo.to_close_out(session, community.id, ended_by=at,
                                   started_from=dt.datetime.combine(day, dt.time(0), tzinfo=tz) - CLOSE_OUT_LOOKBACK)
    absences = await repo.absent(session, [r.id for r in rows])
    flags: list[Outgoing] = []
    for row in rows:
        served = who_served(community, row.service, absences.get(row.id, set()))
        closed = await repo.close_out(session, row, day=row.starts_at.astimezone(tz).date(), served=served, now=at)
        if closed is None:
            continue
        log.info("session %s closed out: %d present, %d no-show(s), %d volunteer(s) credited", row.id,
                 closed.present, len(closed.no_shows), len(closed.served))
        service_name = texts_booking.service_name(community, row.service)
        when_text = texts_booking.when(row.starts_at, row.ends_at, tz)
        for booking in closed.no_shows:
            count = await repo.no_show_count(session, community.id, booking.resident_id,
                                             since=at - dt.timedelta(days=rules.no_show_window_days))
            if count < rules.no_show_flag_after:
                continue
            group = community.staff_group()
            if group is None:
                continue
            address = texts_booking.address(community.person(booking.resident_id))
            text = texts.no_show_flag(booking.resident_name, address, count, rules.no_show_window_days,
                                      f"{service_name} {when_text}（{booking.code}）")
            flags.append(Outgoing(group.channel, community.id, "group", group.id, text,
                                  idempotency_key=f"noshow:{community.id}:{booking.resident_id}:{count}"))
    return flags


# ---------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class PersonHours:
    name: str
    team: str
    sessions: int
    minutes: int


@dataclass(frozen=True)
class TeamHours:
    team: str
    people: int
    sessions: int  # person-sessions (服务人次)
    minutes: int


@dataclass(frozen=True)
class HoursReport:
    community: str
    first: dt.date
    last: dt.date
    people: list[PersonHours]
    teams: list[TeamHours]

    @property
    def minutes(self) -> int:
        return sum(t.minutes for t in self.teams)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """"2026-12" -> (2026-12-01, 2026-12-31); ValueError for anything else."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValueError(f"not a month (YYYY-MM): {month!r}") from None
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


async def hours_report(session: AsyncSession, community: Community, first: dt.date, last: dt.date) -> HoursReport:
    rows = await repo.hours_between(session, community.id, first, last)

    def team_name(team_id: str) -> str:
        team = community.team(team_id)
        return team.name if team is not None else team_id

    people = [PersonHours(r.person_name, team_name(r.team_id), r.sessions, r.minutes) for r in rows]
    teams: dict[str, TeamHours] = {}
    for r in rows:
        before = teams.get(r.team_id, TeamHours(team_name(r.team_id), 0, 0, 0))
        teams[r.team_id] = TeamHours(before.team, before.people + 1, before.sessions + r.sessions,
                                     before.minutes + r.minutes)
    ordered = sorted(teams.values(), key=lambda t: (-t.minutes, t.team))
    return HoursReport(community.name, first, last, people, ordered)


def hours_table(report: HoursReport) -> list[list[str]]:
    """The per-volunteer rows under HOURS_HEADER, and a total row."""
    rows = [[p.name, p.team, str(p.sessions), texts.hours(p.minutes)] for p in report.people]
    rows.append(["合计", "", str(sum(p.sessions for p in report.people)), texts.hours(report.minutes)])
    return rows


def hours_csv(report: HoursReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(texts.HOURS_HEADER)
    writer.writerows(hours_table(report))
    return out.getvalue()


def hours_xlsx(report: HoursReport) -> bytes:
    """An Excel workbook: 志愿时长 (per volunteer) and 按服务队 (per team), titled with the period."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheets = (
        ("志愿时长", texts.HOURS_HEADER, hours_table(report)),
        ("按服务队", texts.TEAM_HOURS_HEADER,
         [[t.team, t.people, t.sessions, float(texts.hours(t.minutes))] for t in report.teams]),
    )
    for index, (title, header, rows) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        sheet.append([texts.hours_title(report.community, report.first, report.last)])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(header))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_number(v) for v in row])
        for column, width in zip("ABCD", (16, 20, 12, 16), strict=True):
            sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value: object) -> object:
    """Counts and hours as numbers in the workbook (so its sums work), names as text."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


async def week_hours_line(session: AsyncSession, community: Community, last: dt.date) -> str:
    """The digest's line: the service hours of the seven days ending with `last`, per team."""
    first = last - dt.timedelta(days=6)
    report = await hours_report(session, community, first, last)
    return texts.digest_hours(first, last, report.minutes, [(t.team, t.minutes) for t in report.teams])
