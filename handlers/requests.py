"""Residents' requests (报事): intake of `report:*` and `inquiry:policy`, merging, the policy FAQ
(hazards alert the staff through hazard_alerts.py).

小事不出网格，大事不出社区，特事上报街道: each request gets a grid (from its building, else the
sender's group) and a tier (from its category, raised by cue words in config). The status
changes staff make (chat commands and the staff web) go through `apply_change` here, so both
paths write the same history and tell residents the same things.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community, FaqEntry, RequestRules
from core.message import Outgoing
from handlers import texts_requests as texts
from handlers.attachments import attach_waiting
from handlers.base import Context, Incoming
from handlers.hazard_alerts import alert_staff, alert_staff_escalated, is_urgent
from handlers.privacy import mask_name, mask_text, masked_excerpt
from nlp.location import Location, extract_location
from nlp.understanding import Understanding
from storage import requests_repo as repo
from storage.models_requests import Request

log = logging.getLogger("linli.requests")

TIER_ORDER = ("grid", "community", "street")
# A bare "+1" or "我家也是" is only a reply to a recent request when it is this short;
# longer chit-chat that happens to contain "我也是" is conversation, not a report.
ALSO_REPLY_MAX_CHARS = 14


# --- pure rules -----------------------------------------------------------------------------------

def category_of(understanding: Understanding) -> str:
    if understanding.label == "inquiry:policy":
        return "policy"
    return understanding.category or understanding.label.partition(":")[2]


def tier_for(rules: RequestRules, category: str, text: str) -> str:
    """The category's tier, raised to the highest tier whose cue word occurs in the text."""
    tier = rules.category_tiers.get(category, "grid")
    for candidate, cues in rules.tier_cues.items():
        if TIER_ORDER.index(candidate) > TIER_ORDER.index(tier) and any(cue in text for cue in cues):
            tier = candidate
    return tier


def _keyword_matches(keyword: str, text: str) -> bool:
    return any(alt and alt in text for alt in keyword.split("|"))


def match_faq(rules: RequestRules, text: str) -> FaqEntry | None:
    """The FAQ entry all of whose keywords occur; the one with most keywords if several do."""
    hits = [e for e in rules.faq if all(_keyword_matches(k, text) for k in e.keywords)]
    return max(hits, key=lambda e: len(e.keywords), default=None)


_ALSO_PUNCT = re.compile(r"[\s!！。,，~～.…?？]+")


def also_cue(rules: RequestRules, text: str) -> bool:
    """Says "me too" ("+1", "我家也停水了", "同上")."""
    compact = _ALSO_PUNCT.sub("", text.replace("＋", "+"))
    return any(cue in compact for cue in rules.also_cues)


def is_bare_also_reply(rules: RequestRules, text: str) -> bool:
    """A short "me too" with nothing else a classifier could act on ("+1", "我家也是")."""
    compact = _ALSO_PUNCT.sub("", text.replace("＋", "+"))
    return 0 < len(compact) <= ALSO_REPLY_MAX_CHARS and also_cue(rules, compact)


def grid_for(community: Community, building: int | None, group_id: str | None) -> str:
    """The grid of the building named; else the grid all of the group's buildings are in; else the group."""
    grid = community.grid_for_building(building)
    if grid is not None:
        return grid.id
    group = community.group(group_id) if group_id else None
    if group is not None and group.buildings:
        grids = {g.id for b in group.buildings if (g := community.grid_for_building(b)) is not None}
        if len(grids) == 1:
            return grids.pop()
    return group_id or "private"


def grid_name(community: Community, grid: str) -> str:
    found = next((g for g in community.grids if g.id == grid), None)
    if found is not None:
        return found.name
    group = community.group(grid)
    return group.name if group is not None else grid


def place_of(request: Request, community: Community) -> str:
    """"3号楼2单元" or the grid's name: never the room, this is read in groups."""
    loc = Location(request.building, request.unit, None).describe()
    return loc or grid_name(community, request.grid)


def summary_of(request: Request) -> str:
    return masked_excerpt(request.text, 30)


# --- intake ---------------------------------------------------------------------------------------

class RequestHandler:
    """report:* and inquiry:policy — a new request, a merge into a known one, or an FAQ answer."""

    name = "requests"

    def match(self, incoming: Incoming) -> str | None:
        """The request's category ("repair" …, "policy" for a policy question)."""
        return category_of(incoming.understanding) if incoming.understanding.is_request else None

    async def handle(self, ctx: Context, category: str) -> None:
        m, rules = ctx.message, ctx.community.requests
        text = ctx.text
        if category == "policy":
            faq = match_faq(rules, text)
            if faq is not None:
                log.info("policy question answered from FAQ %s", faq.id)
                ctx.reply(texts.faq_answer(mask_name(m.sender_name), faq.answer))
                return
        location = extract_location(m.text)
        existing: Request | None = None
        if m.group_id is not None and also_cue(rules, text):
            existing = await repo.latest_in_group(
                ctx.session, m.group_id, ctx.now - dt.timedelta(minutes=rules.also_window_minutes), category)
        if existing is None and location.building is not None and category != "policy":
            existing = await repo.find_same_problem(
                ctx.session, ctx.community.id, category, location.building,
                ctx.now - dt.timedelta(minutes=rules.merge_window_minutes))
        if existing is not None:
            await merge_into(ctx, existing, urgent=is_urgent(rules, text))
            return
        await self._create(ctx, category, text, location)

    async def _create(self, ctx: Context, category: str, text: str, location: Location) -> None:
        m, community, rules = ctx.message, ctx.community, ctx.community.requests
        urgent = is_urgent(rules, text)
        team = rules.policy_team if category == "policy" and community.team(rules.policy_team or "") else None
        request = await repo.create_request(
            ctx.session,
            Request(community=community.id, channel=m.channel, group_id=m.group_id, sender_id=m.sender_id,
                    sender_name=m.sender_name, category=category, text=m.text, building=location.building,
                    unit=location.unit, room=location.room,
                    grid=grid_for(community, location.building, m.group_id),
                    tier=tier_for(rules, category, text), urgent=urgent, team=team),
            actor=repo.Actor(m.sender_id, m.sender_name), now=ctx.now,
        )
        await attach_waiting(ctx, request)  # photos/locations the sender just sent (handlers/attachments.py)
        masked = mask_name(m.sender_name)
        log.info("request #%s filed: %s tier=%s urgent=%s", request.id, category, request.tier, urgent)
        if urgent:
            ctx.reply(texts.acknowledged_urgent(masked, request.id, category))
            alert_staff(ctx, request, place=place_of(request, community), grid=grid_name(community, request.grid))
        elif team is not None:
            team_obj = community.team(team)
            assert team_obj is not None
            ctx.reply(texts.policy_forwarded(masked, request.id, team_obj.name))
            group = community.group(m.group_id) if m.group_id else None
            ctx.tell_team(team, texts.policy_for_team(request.id, masked, mask_text(m.text),
                                                      group.name if group else "私聊"))
        else:
            ctx.reply(texts.acknowledged(masked, request.id, category, place_of(request, community), request.tier))


async def merge_into(ctx: Context, request: Request, *, urgent: bool) -> None:
    """Counts the sender as affected by `request` and tells them so (staff at once if it became urgent)."""
    m = ctx.message
    masked = mask_name(m.sender_name)
    added = await repo.add_reporter(ctx.session, request, person_id=m.sender_id, name=m.sender_name,
                                    channel=m.channel, group_id=m.group_id, text=m.text, now=ctx.now)
    await attach_waiting(ctx, request)  # photos/locations the sender just sent (handlers/attachments.py)
    if urgent and not request.urgent:
        await repo.mark_urgent(ctx.session, request, actor=repo.Actor(m.sender_id, m.sender_name), now=ctx.now,
                               note=m.text)
        alert_staff_escalated(ctx, request)
    log.info("message merged into request #%s (new reporter: %s)", request.id, added)
    if added:
        ctx.reply(texts.merged(masked, request.id, request.affected))
    else:
        ctx.reply(texts.already_reported(masked, request.id))


class AlsoReplyHandler:
    """"+1" / "我家也是" (chit-chat to the classifier) joins the group's request of the last hours.

    With no recent request in the group it says nothing, like any chit-chat.
    """

    name = "request_also"

    def match(self, incoming: Incoming) -> bool:
        if incoming.message.group_id is None or not incoming.understanding.is_chitchat:
            return False
        return is_bare_also_reply(incoming.community.requests, incoming.text)

    async def handle(self, ctx: Context, _: bool) -> None:
        rules = ctx.community.requests
        assert ctx.message.group_id is not None
        request = await repo.latest_in_group(
            ctx.session, ctx.message.group_id, ctx.now - dt.timedelta(minutes=rules.also_window_minutes))
        if request is None:
            return
        await merge_into(ctx, request, urgent=False)


# --- staff changes (chat commands and the staff web) ----------------------------------------------

@dataclass
class ChangeOutcome:
    """What a staff member's change did: the text for them, and the messages it causes."""

    result: repo.ChangeResult
    staff_text: str
    outgoing: list[Outgoing] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return isinstance(self.result, repo.Changed)


async def apply_change(session: AsyncSession, community: Community, request_id: int, action: str, *,
                       actor: repo.Actor, now: dt.datetime, note: str | None = None,
                       expected_version: int | None = None, via_web: bool = False) -> ChangeOutcome:
    """`action` is a status ("in_progress", "resolved", …) or "tier:street" / "tier:community" / "tier:grid"."""
    if action.startswith("tier:"):
        tier = action.partition(":")[2]
        result = await repo.change_tier(session, community.id, request_id, tier, actor=actor, now=now, note=note,
                                        expected_version=expected_version)
    else:
        result = await repo.change_status(session, community.id, request_id, action, actor=actor, now=now,
                                          note=note, expected_version=expected_version)
    if isinstance(result, repo.NotFound):
        return ChangeOutcome(result, texts.not_found(request_id))
    if isinstance(result, repo.Stale):
        text = (texts.web_stale if via_web else texts.stale)(request_id, result.request.status, result.by)
        return ChangeOutcome(result, text)
    if isinstance(result, repo.Unchanged):
        text = (texts.tier_unchanged(request_id, result.request.tier) if action.startswith("tier:")
                else texts.unchanged(request_id, result.request.status))
        return ChangeOutcome(result, text)
    if isinstance(result, repo.NotAllowed):
        wanted = action if not action.startswith("tier:") else "in_progress"
        return ChangeOutcome(result, texts.not_allowed(request_id, result.request.status, wanted))
    assert isinstance(result, repo.Changed)
    req = result.request
    who = f"{actor.name}，网页" if via_web else actor.name
    if action.startswith("tier:"):
        staff_text = texts.tier_changed(req.id, req.tier, who, community.street_office)
    else:
        staff_text = texts.status_changed(req.id, req.status, who, mask_text(note) if note else None)
    outcome = ChangeOutcome(result, staff_text)
    if req.status in ("resolved", "rejected") and not action.startswith("tier:"):
        for reporter in await repo.reporters(session, req.id):
            body = (texts.resolved_private(req.id, req.category, summary_of(req), note)
                    if req.status == "resolved"
                    else texts.rejected_private(req.id, req.category, summary_of(req), note or ""))
            outcome.outgoing.append(Outgoing(reporter.channel, community.id, "user", reporter.person_id, body))
    return outcome
