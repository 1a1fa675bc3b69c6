"""Overdue requests: an open request past its deadline (counted in working time, handlers/deadlines.py)
climbs one tier — grid → community → street — once, and the staff group, its owner and its residents
are told (the street office too when it reaches the street tier, with the history).

A periodic job of the scheduler leader (bot/daily_jobs.py). Exactly once even when two runs or two
processes overlap: a request is acted on only by the run whose `UPDATE … WHERE overdue_at IS NULL`
claimed it (storage/request_life_repo.claim_overdue), and every message carries a key
(`overdue:{request}`, `overdue:{request}:owner`, `overdue:{request}:{person}`) that the outbox
inserts once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from core.message import Outgoing
from handlers import texts_request_life as life
from handlers.deadlines import due_text
from handlers.request_changes import apply_change
from handlers.request_contacts import private, staff_post
from handlers.requests import TIER_ORDER, place_of
from storage import request_life_repo as life_repo
from storage import requests_repo as repo

log = logging.getLogger("linli.requests")

SYSTEM = repo.Actor("linli", "系统")


def next_tier(tier: str) -> str | None:
    at = TIER_ORDER.index(tier) if tier in TIER_ORDER else 0
    return TIER_ORDER[at + 1] if at + 1 < len(TIER_ORDER) else None


async def overdue_check(session: AsyncSession, community: Community, now: dt.datetime) -> list[Outgoing]:
    """Marks, escalates and announces every request that fell overdue by `now`."""
    out: list[Outgoing] = []
    for req in await life_repo.overdue_candidates(session, community.id, now):
        if not await life_repo.claim_overdue(session, req.id, now):
            continue
        raised = next_tier(req.tier)
        key = f"overdue:{req.id}"
        if raised is not None:
            outcome = await apply_change(session, community, req.id, f"tier:{raised}", actor=SYSTEM, now=now,
                                         note="超过期限，自动上报")
            out += [dataclasses.replace(o, idempotency_key=f"{key}:{o.to}:{o.target}") for o in outcome.outgoing]
            if not outcome.ok:
                raised = None
        due = due_text(community, req.due_at)
        owner = community.person(req.owner_id) if req.owner_id else None
        where, url = place_of(req, community), community.requests.web_url
        out += staff_post(community, life.overdue_staff(req.id, req.category, where, owner.name if owner else None,
                                                        due, raised, url), key=key)
        if owner is not None:
            out.append(private(community, owner.id, life.overdue_owner(req.id, req.category, where, due, url),
                               key=f"{key}:owner"))
        log.info("request #%s overdue since %s: %s", req.id, due, f"raised to {raised}" if raised else "at the top")
    return out
