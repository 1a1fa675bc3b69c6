"""The weekly post to the residents' groups (off unless `weekly_report.enabled` in the community
file): requests resolved this week, the most common kinds, the volunteers' service hours and a
thank-you. Counts and team names only: no resident, no volunteer by name, no free text.

A daily job (`weekly_report`, at `weekly_report.time`) that posts on `weekly_report.weekday`; on
a public holiday it waits for the next day that is not one (a holiday week-end of 国庆 moves it to
the first working day), and the post is keyed by the week's nominal day
(`weekly:{group}:{date}`), so it goes out exactly once a week whatever runs again.

The residents' 回访 marks of the week (handlers/digest.satisfaction, the staff digest's figure) are
one line when anyone rated: how many said they were satisfied, as a share, never who.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from config.themes import WEEKDAYS
from core.message import Outgoing
from handlers import texts_requests
from handlers import texts_volunteers as vtexts
from handlers.digest import Satisfaction, satisfaction
from handlers.privacy import mask_text
from handlers.service_hours import hours_report
from handlers.themes import holiday_name_on
from storage.models_requests import Request

log = logging.getLogger("linli.weekly_report")


def report_week(community: Community, day: dt.date) -> dt.date | None:
    """The nominal report day (the configured weekday) whose post is due on `day`, or None.

    Due on the nominal day itself, or on the first day after it that is no public holiday when the
    nominal day and the days after it are holidays (never later than the next nominal day).
    """
    if holiday_name_on(community, day) is not None:
        return None
    nominal = day - dt.timedelta(days=(day.weekday() - WEEKDAYS.index(community.weekly_report.weekday)) % 7)
    between = (nominal + dt.timedelta(days=i) for i in range((day - nominal).days))
    return nominal if all(holiday_name_on(community, d) is not None for d in between) else None


def week_bounds(community: Community, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The start of `first` and the end of `last`, local days of the community."""
    tz = ZoneInfo(community.timezone)
    return (dt.datetime.combine(first, dt.time(0), tzinfo=tz),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=tz))


async def week_numbers(session: AsyncSession, community: Community, first: dt.date, last: dt.date
                       ) -> tuple[int, list[tuple[str, int]]]:
    """Requests resolved from `first` to `last` (local days), and the kinds filed most, most first."""
    start, end = week_bounds(community, first, last)
    mine = Request.community == community.id
    resolved = await session.scalar(select(func.count()).select_from(Request).where(
        mine, Request.resolved_at >= start, Request.resolved_at < end)) or 0
    kinds = (await session.execute(select(Request.category, func.count()).where(
        mine, Request.created_at >= start, Request.created_at < end).group_by(Request.category))).all()
    ranked = sorted(kinds, key=lambda kv: (-kv[1], kv[0]))[: community.weekly_report.top_kinds]
    return resolved, [(texts_requests.category_name(k), n) for k, n in ranked]


def satisfaction_line(rated: Satisfaction) -> str | None:
    """The week's 回访 in one line (None when nobody rated: no "0 人满意" to a group)."""
    if not rated.count:
        return None
    return f"· 回访 {rated.count} 人次，满意 {rated.satisfied} 人次（{round(100 * rated.satisfied / rated.count)}%）"


def render(community: Community, first: dt.date, last: dt.date, resolved: int, kinds: list[tuple[str, int]],
           minutes: int, teams: list[tuple[str, int]], rated: Satisfaction | None = None) -> str:
    lines = [f"【本周社区小结】{first.month}月{first.day}日-{last.month}月{last.day}日"]
    line = f"· 办结居民反映的事 {resolved} 件"
    if kinds:
        line += "，反映最多的是：" + "、".join(f"{name} {n}" for name, n in kinds)
    lines.append(line)
    satisfaction = satisfaction_line(rated) if rated is not None else None
    if satisfaction:
        lines.append(satisfaction)
    if minutes:
        team_part = "、".join(f"{mask_text(name)} {vtexts.hours(m)}小时" for name, m in teams)
        lines.append(f"· 志愿者服务 {vtexts.hours(minutes)} 小时（{team_part}）")
    lines.append(f"{mask_text(community.weekly_report.thanks)}有事随时@{community.bot_name}。")
    return "\n".join(lines)


async def weekly_report(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
    """The `weekly_report` job: the post to every residents' group, on the week's report day only."""
    if not community.weekly_report.enabled:
        return []
    nominal = report_week(community, day)
    if nominal is None:
        return []
    first = nominal - dt.timedelta(days=6)
    resolved, kinds = await week_numbers(session, community, first, nominal)
    hours = await hours_report(session, community, first, nominal)
    rated = await satisfaction(session, community, *week_bounds(community, first, nominal))
    text = render(community, first, nominal, resolved, kinds, hours.minutes, [(t.team, t.minutes) for t in hours.teams],
                  rated)
    if nominal != day:
        log.info("weekly report of %s for the week ending %s posted on %s (holidays)", community.id, nominal, day)
    return [Outgoing(g.channel, community.id, "group", g.id, text, idempotency_key=f"weekly:{g.id}:{nominal}")
            for g in community.groups if g.kind == "residents"]
