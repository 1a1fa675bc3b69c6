"""The staff pages of requests: the filtered list, one request's detail and status change, failed deliveries.

Forms carry the session's CSRF token and the request's version: a change based on a stale page is
refused with a message, never silently overwrites a colleague's change. /staff/deliveries lists
the community's messages the outbox gave up on (what `linli outbox failed` shows operators).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import func, select

from bot.staff_web.attachment_pages import request_attachments
from bot.staff_web.auth import Staff, StaffAuth
from bot.staff_web.render import not_found, render
from bot.staff_web.request_life import (
    change_form,
    finish,
    life_columns,
    life_details,
    life_filters,
    send_outcome,
)
from bot.web_input import BadInput, bounded_int
from config.community import Community
from core.clock import Clock
from handlers import texts as common_texts
from handlers import texts_requests as texts
from handlers.digest import CATEGORY_ORDER
from handlers.request_changes import apply_change
from handlers.requests import grid_name
from nlp.location import Location
from storage import request_life_repo as life_repo
from storage import requests_repo as repo
from storage.db import Database
from storage.models import OutboxMessage
from storage.models_requests import OPEN_STATUSES, STATUSES, TIERS, Request

log = logging.getLogger("linli.staff_web")

PAGE_SIZE = 100
MAX_OFFSET = 1_000_000  # further than any community's list (20 digits overflowed the database: 500)
AGE_CHOICES = (1, 3, 7, 30)
DELIVERY_EXCERPT_CHARS = 60


def _select(name: str, label: str, options: Sequence[tuple[str, str]], current: object) -> dict[str, object]:
    """One filter box: "全部…" first, then the options, the current one selected."""
    return {"name": name, "current": str(current or ""), "options": [("", f"全部{label}"), *options]}


def _change_text(action: str, before: str | None, after: str | None) -> str:
    names = texts.TIER_NAMES if action == "tier" else texts.STATUS_NAMES
    if action not in ("status", "tier"):
        return names.get(after or "", after or "") if action == "created" else ""
    return f"{names.get(before or '', before)} → {names.get(after or '', after)}"


def _request_number(request: web.Request) -> int | None:
    """The request number in the path, or None when it is no number a request can have."""
    try:
        return bounded_int(request.match_info["id"], name="request number", low=1)
    except BadInput:
        return None


class RequestPages:
    """/staff (the list), /staff/requests/N (detail and changes) and /staff/deliveries."""

    def __init__(self, db: Database, clock: Clock, auth: StaffAuth, wake_outbox: Callable[[], None]) -> None:
        self.db = db
        self.clock = clock
        self.auth = auth
        self.wake_outbox = wake_outbox
        # More for a request's page from other modules (learning_pages.py: its explanation and category).
        self.extras: Callable[[Request, Staff], Awaitable[dict[str, Any]]] | None = None

    async def list_page(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        c, q = staff.community, request.query

        def pick(name: str, allowed: Sequence[str]) -> str | None:
            value = q.get(name) or None
            return value if value in allowed else None

        grids = [g.id for g in c.grids] + [g.id for g in c.groups]
        age = pick("age", [str(d) for d in AGE_CHOICES])
        staff_ids = [p.id for p in c.people if p.role == "staff"]
        filters = repo.Filters(
            status=pick("status", ("open", *STATUSES)), category=pick("category", CATEGORY_ORDER),
            grid=pick("grid", grids), tier=pick("tier", TIERS), min_age_days=int(age) if age else None,
            owner=staff.person.id if q.get("owner") == "me" else pick("owner", (repo.UNASSIGNED, *staff_ids)),
            overdue=q.get("overdue") == "1")
        try:  # typed into the address bar: anything; within what the database's numbers hold
            offset = bounded_int(q.get("offset", "0"), name="offset", high=MAX_OFFSET)
        except BadInput:
            offset = 0
        now = self.clock.now()
        async with self.db.transaction() as session:
            rows, total = await repo.list_requests(session, c.id, filters, now=now, limit=PAGE_SIZE, offset=offset)
            ratings = await life_repo.satisfaction_of(session, [r.id for r in rows])
        grid_options = [(g.id, g.name) for g in c.grids] + [(g.id, g.name) for g in c.groups if g.kind == "residents"]
        selects = [
            _select("status", "状态", [("open", "未办结"), *texts.STATUS_NAMES.items()], filters.status),
            _select("category", "类别", list(texts.CATEGORY_NAMES.items()), filters.category),
            _select("grid", "网格", grid_options, filters.grid),
            _select("tier", "层级", list(texts.TIER_NAMES.items()), filters.tier),
            _select("age", "时长", [(str(d), f"超过{d}天") for d in AGE_CHOICES],
                    str(filters.min_age_days) if filters.min_age_days else None),
            *life_filters(c, q),
        ]
        items = [{
            "id": r.id, "status": r.status, "urgent": r.urgent, "category": texts.category_name(r.category),
            "excerpt": texts.excerpt(r.text), "where": Location(r.building, r.unit, r.room).describe(),
            "grid": grid_name(c, r.grid), "tier": texts.TIER_NAMES.get(r.tier, r.tier),
            "status_name": texts.STATUS_NAMES.get(r.status, r.status), "affected": r.affected,
            "age": texts.age_text((now - r.created_at).total_seconds()),
            **life_columns(c, r, now, ratings),
        } for r in rows]
        next_query = None
        if offset + PAGE_SIZE < total:
            next_query = urllib.parse.urlencode({**q, "offset": str(offset + PAGE_SIZE)})
        return render(request, "requests.html", {"title": "工单", "staff": staff, "selects": selects,
                                                 "items": items, "total": total, "next_query": next_query})

    async def detail_page(self, request: web.Request, message: tuple[str, str] | None = None,
                          status: int = 200) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        number = _request_number(request)
        async with self.db.transaction() as session:
            req = await repo.get_request(session, c.id, number) if number else None
            if req is None:
                return not_found(request, staff, texts.not_found(number or 0))
            events = await repo.history(session, number)
            reporters = await repo.reporters(session, number)
            photos = await request_attachments(session, number)  # photos and locations (attachment_pages.py)
            life = await life_details(session, c, req, reporters, self.clock.now())
        if message is None and request.query.get("done"):
            message = ("ok", request.query["done"])
        people = []
        for p in reporters:
            person = c.person(p.person_id)
            people.append({"name": p.name, "phone": person.phone if person is not None else None})
        actions = [(s, texts.STATUS_NAMES[s]) for s in repo.ALLOWED_FROM if req.status in repo.ALLOWED_FROM[s]]
        if req.status in OPEN_STATUSES:
            actions += [(f"tier:{t}", f"转{texts.TIER_NAMES[t]}") for t in TIERS if t != req.tier]
        history = [{"at": e.at, "actor": e.actor_name, "action": texts.ACTION_NAMES.get(e.action, e.action),
                    "change": _change_text(e.action, e.from_value, e.to_value), "note": e.note or ""}
                   for e in events]
        extras = await self.extras(req, staff) if self.extras is not None else {}
        return render(request, "request.html", {
            **extras, "title": f"#{req.id}", "staff": staff, "tz": c.timezone, "message": message, "req": req,
            "category": texts.category_name(req.category),
            "where": Location(req.building, req.unit, req.room).describe() or "（未写明）",
            "grid": grid_name(c, req.grid), "tier": texts.TIER_NAMES.get(req.tier, req.tier),
            "status_name": texts.STATUS_NAMES.get(req.status, req.status), "people": people,
            "actions": actions, "history": history, "life": life, **photos,
        }, status=status)

    async def change(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        number = _request_number(request)
        if not number:
            return await self.detail_page(request, status=404)
        form = await change_form(request, staff, number, "change")
        if form is None:
            return await self.detail_page(request, ("err", texts.WEB_BAD_FORM), 403)
        action, note = form.fields.get("action", ""), form.fields.get("note", "").strip() or None
        valid = set(repo.ALLOWED_FROM) | {f"tier:{t}" for t in TIERS}
        version = form.version
        if action not in valid or version < 1:
            return await self.detail_page(request, ("err", texts.WEB_BAD_FORM), 400)
        if action == "rejected" and not note:
            return await self.detail_page(request, ("err", texts.REJECT_NEEDS_REASON), 400)
        now = self.clock.now().astimezone(ZoneInfo(c.timezone))
        async with self.db.transaction() as session:
            outcome = await apply_change(session, c, number, action,
                                         actor=repo.Actor(staff.person.id, staff.person.name),
                                         now=now, note=note, expected_version=version, via_web=True)
            await send_outcome(session, c, outcome, self.clock.now())
        return await finish(request, number, outcome, f"staff web: change of #{number} by {staff.person.id}",
                            self.detail_page, self.wake_outbox)

    @staticmethod
    def _recipient(c: Community, audience: str, target: str) -> str:
        if audience == "group":
            group = c.group(target)
            return f"群：{group.name}" if group is not None else f"群：{target}"
        person = c.person(target)
        return person.name if person is not None else target

    async def deliveries_page(self, request: web.Request) -> web.Response:
        """Messages the outbox gave up on (status "failed": a permanent error, or out of attempts).

        Each outbox row carries the community it was written for, so staff see their own
        community's only, newest first.
        """
        staff: Staff = await self.auth.require(request)
        c = staff.community
        o = OutboxMessage
        failed = (o.status == "failed", o.community == c.id)
        async with self.db.transaction() as session:
            rows = (await session.execute(
                select(o.id, o.created_at, o.channel, o.audience, o.target, o.text, o.last_error, o.attempts)
                .where(*failed).order_by(o.id.desc()).limit(PAGE_SIZE))).all()
            total = await session.scalar(select(func.count()).select_from(o).where(*failed)) or 0
        items = [{"id": r.id, "at": r.created_at, "channel": common_texts.CHANNEL_NAMES.get(r.channel, r.channel),
                  "target": self._recipient(c, r.audience, r.target),
                  "text": texts.excerpt(r.text, DELIVERY_EXCERPT_CHARS), "error": r.last_error or "",
                  "attempts": r.attempts} for r in rows]
        return render(request, "deliveries.html", {
            "title": common_texts.WEB_DELIVERIES_TITLE, "staff": staff, "tz": c.timezone, "items": items,
            "count": common_texts.web_deliveries_count(total, len(rows)) if rows else common_texts.WEB_DELIVERIES_NONE,
            "hint": common_texts.WEB_DELIVERIES_HINT})
