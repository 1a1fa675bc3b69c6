"""A request's later life on the staff page: the owner and deadline columns and filters (超期, 我的, 未指派),
and on a request's page its owner, deadline, residents' ratings, and the forms that assign it, change
its category and split a wrongly merged resident out.

The forms post to /staff/requests/N/assign, /category and /split with the session's CSRF token and
the version the page showed; the changes are the chat commands' own functions
(handlers/request_changes.py), so both tell the same people the same things.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff_web.auth import Staff, StaffAuth, form_fields
from bot.staff_web.render import PREFIX
from bot.web_input import BadInput, bounded_int, path_number
from config.community import Community
from core.clock import Clock
from core.message import Outgoing
from handlers import texts_requests as texts
from handlers.request_changes import ChangeOutcome, assign_owner, recategorize, split_out
from storage import requests_repo as repo
from storage.db import Database
from storage.models_requests import OPEN_STATUSES, Request, RequestReporter
from storage.outbox_repo import enqueue

log = logging.getLogger("linli.staff_web")

WEB_OVERDUE = "超期"


def _when(c: Community, at: dt.datetime | None) -> str:
    return at.astimezone(ZoneInfo(c.timezone)).strftime("%m-%d %H:%M") if at is not None else ""


def life_filters(c: Community, query: Mapping[str, str]) -> list[dict[str, object]]:
    """The owner and overdue filter boxes of the list page."""
    owners = [("me", "我负责的"), (repo.UNASSIGNED, "未指派")] + [(p.id, p.name) for p in c.people if p.role == "staff"]
    return [
        {"name": "owner", "current": query.get("owner", ""), "options": [("", "全部负责人"), *owners]},
        {"name": "overdue", "current": query.get("overdue", ""), "options": [("", "全部期限"), ("1", "已超期")]},
    ]


def is_overdue(r: Request, now: dt.datetime) -> bool:
    return r.status in OPEN_STATUSES and r.due_at is not None and r.due_at < now


def life_columns(c: Community, r: Request, now: dt.datetime, ratings: Mapping[int, tuple[int, float]]
                 ) -> dict[str, object]:
    """The list page's owner, deadline (marked when overdue) and satisfaction of one request."""
    owner = c.person(r.owner_id) if r.owner_id else None
    rated = ratings.get(r.id)
    return {"owner": owner.name if owner else "", "due": _when(c, r.due_at), "overdue": is_overdue(r, now),
            "rating": f"{rated[1]:.1f}（{rated[0]}）" if rated else ""}


async def life_details(session: AsyncSession, c: Community, req: Request, reporters: Sequence[RequestReporter],
                       now: dt.datetime) -> dict[str, Any]:
    """What a request's page shows of its owner, deadline, ratings, and what its forms may choose."""
    owner = c.person(req.owner_id) if req.owner_id else None
    team = c.team(req.team) if req.team else None
    return {
        "owner": owner.name if owner else "", "owner_id": req.owner_id or "", "team": team.name if team else "",
        "due": _when(c, req.due_at), "overdue": is_overdue(req, now), "open": req.status in OPEN_STATUSES,
        "object": req.object or "",
        "staff": [(p.id, p.name) for p in c.people if p.role == "staff"] + [(t.id, t.name) for t in c.teams],
        "categories": [(k, texts.category_name(k)) for k in c.requests.category_tiers if k != req.category],
        "ratings": [{"name": r.name, "mark": r.satisfaction} for r in reporters if r.satisfaction],
        "splittable": [{"id": r.person_id, "name": r.name} for r in reporters if r.person_id != req.sender_id],
    }


class RequestLifeForms:
    """POST /staff/requests/N/assign, /category, /split."""

    def __init__(self, db: Database, clock: Clock, auth: StaffAuth, wake_outbox: Callable[[], None],
                 detail_page: Callable[..., Any]) -> None:
        self.db = db
        self.clock = clock
        self.auth = auth
        self.wake_outbox = wake_outbox
        self.detail_page = detail_page

    def add_routes(self, app: web.Application) -> None:
        for name in ("assign", "category", "split"):
            app.router.add_post(f"{PREFIX}/requests/{{id:\\d+}}/{name}", self._handler(name))

    def _handler(self, name: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            return await self.change(request, name)

        return handle

    async def change(self, request: web.Request, name: str) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        number = path_number(request)  # 404 past the database's integers (bot/web_input.py)
        form = await change_form(request, staff, number, name)
        if form is None:
            return await self.detail_page(request, ("err", texts.WEB_BAD_FORM), 403)
        value, version = form.fields.get("value", "").strip(), form.version
        allowed = {"category": set(c.requests.category_tiers),
                   "assign": {p.id for p in c.people if p.role == "staff"} | {t.id for t in c.teams}}
        if not value or version < 1 or (name in allowed and value not in allowed[name]):
            return await self.detail_page(request, ("err", texts.WEB_BAD_FORM), 400)
        actor = repo.Actor(staff.person.id, staff.person.name)
        now = self.clock.now().astimezone(ZoneInfo(c.timezone))
        async with self.db.transaction() as session:
            current = await repo.get_request(session, c.id, number)
            if current is not None and current.version != version and name != "split":
                outcome = ChangeOutcome(repo.Stale(current, await repo.last_actor(session, number)),
                                        texts.web_stale(number, current.status, await repo.last_actor(session,
                                                                                                     number)))
            elif name == "assign":
                outcome = await assign_owner(session, c, number, value, actor=actor, now=now,
                                             expected_version=version, via_web=True)
            elif name == "category":
                outcome = await recategorize(session, c, number, value, actor=actor, now=now,
                                             expected_version=version, via_web=True)
            else:
                outcome = await split_out(session, c, number, value, actor=actor, now=now, via_web=True)
            await send_outcome(session, c, outcome, self.clock.now())
        return await finish(request, number, outcome, f"staff web: {name} of #{number} by {staff.person.id}",
                            self.detail_page, self.wake_outbox)


@dataclass(frozen=True)
class ChangeForm:
    """A change posted on a request's page, its CSRF token checked: the form's fields, and the version
    of the request the page showed (-1 when missing or not a number: refused as a bad form)."""

    fields: Mapping[str, str]
    version: int


async def change_form(request: web.Request, staff: Staff, number: int, what: str) -> ChangeForm | None:
    """The posted form of a change (`what`) to request #`number`; None, logged, when its CSRF token
    is not the session's (the caller answers 403)."""
    fields = await form_fields(request)
    if not staff.csrf_ok(fields.get("csrf")):
        log.warning("staff web: %s of #%s by %s without a valid CSRF token", what, number, staff.person.id)
        return None
    try:
        version = bounded_int(fields.get("version"), name="version", low=1)
    except BadInput:
        version = -1
    return ChangeForm(fields, version)


async def send_outcome(session: AsyncSession, c: Community, outcome: ChangeOutcome, now: dt.datetime) -> None:
    """A change made on the page: its messages, and the staff group told who did what (as a command would)."""
    if not outcome.ok:
        return
    outgoing = list(outcome.outgoing)
    group = c.staff_group()
    if group is not None:
        outgoing.append(Outgoing(group.channel, c.id, "group", group.id, outcome.staff_text))
    await enqueue(session, outgoing, now=now)


async def finish(request: web.Request, number: int, outcome: ChangeOutcome, what: str,
                 detail_page: Callable[..., Any], wake_outbox: Callable[[], None]) -> web.Response:
    """Back to the request's page: with the refusal (409 stale, 404 unknown, 400 otherwise), or
    redirected with what was done (the outbox woken for its messages)."""
    if not outcome.ok:
        log.info("%s refused: %s", what, type(outcome.result).__name__)
        status = 409 if isinstance(outcome.result, repo.Stale) else 404 if isinstance(
            outcome.result, repo.NotFound) else 400
        return await detail_page(request, ("err", outcome.staff_text), status)
    wake_outbox()
    raise web.HTTPSeeOther(f"{PREFIX}/requests/{number}?{urllib.parse.urlencode({'done': outcome.staff_text})}")
