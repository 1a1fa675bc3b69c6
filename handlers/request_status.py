"""Status on demand: a resident's own requests ("我的报修", "我报的楼道灯修好了没", "#12 进度"), a staff
member's or volunteer's own open ones ("我的工单"). Never a new request.

What a resident is shown can be read in their group: the category, the place (building and unit),
the status and a masked excerpt; a request they did not report is not shown to them at all.
"""

from __future__ import annotations

import datetime as dt

from handlers import texts_request_life as life
from handlers import texts_requests as texts
from handlers.base import Context, Incoming
from handlers.deadlines import due_text
from handlers.privacy import mask_name
from handlers.requests import object_of, place_of, summary_of
from storage import requests_repo as repo
from storage.models_requests import OPEN_STATUSES, Request

# Finished requests a resident still sees in "我的报修".
FINISHED_SHOWN = dt.timedelta(days=30)


def _asks_status(incoming: Incoming) -> bool:
    text = incoming.text
    return any(cue in text for cue in incoming.community.requests.status_cues)


class RequestStatusHandler:
    """"我的报修" / "我报的楼道灯修好了没": the sender's own requests and their status."""

    name = "request_status"

    def match(self, incoming: Incoming) -> bool:
        return not incoming.in_work_group and _asks_status(incoming)

    async def handle(self, ctx: Context, _: bool) -> None:
        m = ctx.message
        mine = await repo.requests_of_reporter(ctx.session, ctx.community.id, m.sender_id,
                                               closed_since=ctx.now - FINISHED_SHOWN)
        named = _about(ctx, mine)
        lines = [await _resident_line(ctx, r) for r in (named or mine)]
        ctx.reply(life.my_requests(mask_name(m.sender_name), lines))


def _about(ctx: Context, requests: list[Request]) -> list[Request]:
    """The ones about the object the question names ("我报的楼道灯…"), if it names one."""
    rules = ctx.community.requests
    return [r for r in requests if r.object is not None and object_of(rules, r.category, ctx.text) == r.object]


async def _resident_line(ctx: Context, r: Request) -> str:
    owner = ctx.community.person(r.owner_id) if r.owner_id else None
    reporter = next((p for p in await repo.reporters(ctx.session, r.id) if p.person_id == ctx.message.sender_id),
                    None)
    return life.my_request_line(r.id, r.category, place_of(r, ctx.community), r.status,
                                owner.name if owner else None, summary_of(r),
                                reporter.satisfaction if reporter is not None else None)


async def progress(ctx: Context, number: int, req: Request | None, *, team_member: bool) -> None:
    """"#12 进度": staff and the request's volunteers see where it stands; a resident only their own."""
    if ctx.is_staff or team_member:
        ctx.reply(_staff_line(ctx, req) if req is not None else texts.not_found(number))
        return
    if req is None or not await repo.is_reporter(ctx.session, req.id, ctx.message.sender_id):
        ctx.reply(life.NOT_YOURS)
        return
    ctx.reply(life.my_requests(mask_name(ctx.message.sender_name), [await _resident_line(ctx, req)]))


def _due(ctx: Context, r: Request) -> tuple[str | None, bool]:
    if r.due_at is None:
        return None, False
    return due_text(ctx.community, r.due_at), r.status in OPEN_STATUSES and r.due_at < ctx.now


def _staff_line(ctx: Context, r: Request) -> str:
    due, overdue = _due(ctx, r)
    owner = ctx.community.person(r.owner_id) if r.owner_id else None
    line = life.task_line(r.id, r.category, place_of(r, ctx.community), r.status, due, overdue, summary_of(r))
    who = f"负责人：{owner.name}" if owner else "未指派"
    return f"{line.strip()}\n{who} · {texts.TIER_NAMES.get(r.tier, r.tier)}层级 · {r.affected} 户反映"


async def my_tasks(ctx: Context) -> None:
    """"我的工单": a staff member's open requests (deadline first); a volunteer's, those of their teams."""
    m = ctx.message
    if ctx.is_staff:
        rows = await repo.owned_by(ctx.session, ctx.community.id, m.sender_id)
    else:
        teams = {t.id for t in ctx.community.teams if m.sender_id in t.members}
        rows = await repo.team_requests(ctx.session, ctx.community.id, teams)
    lines = []
    for r in rows:
        due, overdue = _due(ctx, r)
        lines.append(life.task_line(r.id, r.category, place_of(r, ctx.community), r.status, due, overdue,
                                    summary_of(r)))
    ctx.reply(life.my_tasks(m.sender_name, lines))
