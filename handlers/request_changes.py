"""What staff change on a request, by chat command or on the staff page, and who is told: status and
tier (the reporter and every merged reporter, privately, at each step; the street office with the
history when it reaches the street tier), the owner, the category (`recategorize`, the one place a
category changes, so that a correction can later also teach the classifier), a wrong merge undone
(`split_out`), and a resident's "没修好" (`reopen`).

Each function returns a `ChangeOutcome`: the text for the staff member and the messages it causes;
both paths (handlers/request_commands.py and bot/staff_web) send them the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community, Person, Team
from core.message import Outgoing
from handlers import texts_request_life as life
from handlers import texts_requests as texts
from handlers.deadlines import due_at, due_text
from handlers.label_corrections import learn_from_recategorize
from handlers.privacy import mask_name, mask_text
from handlers.request_contacts import contacts, private, staff_post, team_request, tell_reporters
from handlers.requests import grid_for, object_of, place_of, summary_of, tier_for
from nlp.location import Location, extract_location
from storage import request_life_repo as life_repo
from storage import requests_repo as repo
from storage.models_requests import OPEN_STATUSES, Request, RequestEvent


@dataclass
class ChangeOutcome:
    """What a staff member's change did: the text for them, and the messages it causes."""

    result: repo.ChangeResult
    staff_text: str
    outgoing: list[Outgoing] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return isinstance(self.result, repo.Changed)


# --- who is told, and how ------------------------------------------------------------------------

def history_lines(community: Community, events: Sequence[RequestEvent], *, masked: bool) -> list[str]:
    tz = ZoneInfo(community.timezone)
    lines = []
    for e in events:
        what = texts.ACTION_NAMES.get(e.action, e.action)
        if e.action == "status" and e.to_value:
            what = f"改为{texts.STATUS_NAMES.get(e.to_value, e.to_value)}"
        elif e.action == "tier" and e.to_value:
            what = f"转{texts.TIER_NAMES.get(e.to_value, e.to_value)}"
        note = e.note or ""
        lines.append(life.history_line(e.at.astimezone(tz), mask_name(e.actor_name) if masked else e.actor_name,
                                       what, (mask_text(note) if masked else note)[:60]))
    return lines


async def street_notice(session: AsyncSession, community: Community, req: Request) -> list[Outgoing]:
    """The street office's contacts get the escalated request with its history: their group masked (a
    group post), each person privately as staff see it."""
    street = community.requests.street_contacts
    events = await repo.history(session, req.id)
    place, url = place_of(req, community), community.requests.web_url
    out = []
    group = community.street_group()
    if group is not None:
        out.append(Outgoing(group.channel, community.id, "group", group.id,
                            life.street_escalation(req.id, community.name, req.category, place, mask_text(req.text),
                                                   history_lines(community, events, masked=True), url)))
    full_place = Location(req.building, req.unit, req.room).describe() or place
    for person_id in street.people:
        out.append(private(community, person_id, life.street_escalation(
            req.id, community.name, req.category, full_place, req.text,
            history_lines(community, events, masked=False), url)))
    return out


# --- status and tier ---------------------------------------------------------------------------------

def _refusal(result: repo.ChangeResult, request_id: int, action: str, via_web: bool) -> str:
    if isinstance(result, repo.NotFound):
        return texts.not_found(request_id)
    if isinstance(result, repo.Stale):
        return (texts.web_stale if via_web else texts.stale)(request_id, result.request.status, result.by)
    if isinstance(result, repo.Unchanged):
        return (texts.tier_unchanged(request_id, result.request.tier) if action.startswith("tier:")
                else texts.unchanged(request_id, result.request.status))
    assert isinstance(result, repo.NotAllowed)
    if action in texts.STATUS_NAMES:
        return texts.not_allowed(request_id, result.request.status, action)
    return texts.not_open(request_id, result.request.status)  # a tier, an owner: only while it is open


async def apply_change(session: AsyncSession, community: Community, request_id: int, action: str, *,
                       actor: repo.Actor, now: dt.datetime, note: str | None = None,
                       expected_version: int | None = None, via_web: bool = False) -> ChangeOutcome:
    """`action` is a status ("in_progress", "resolved", …) or "tier:street" / "tier:community" / "tier:grid"."""
    if action.startswith("tier:"):
        tier = action.partition(":")[2]
        result = await repo.change_tier(session, community.id, request_id, tier, actor=actor, now=now, note=note,
                                        expected_version=expected_version)
    else:
        current = await repo.get_request(session, community.id, request_id)
        reopened_due = (due_at(community, current.category, current.urgent, now)
                        if current is not None and action == "in_progress" else None)
        result = await repo.change_status(session, community.id, request_id, action, actor=actor, now=now,
                                          note=note, expected_version=expected_version, reopened_due=reopened_due)
    if not isinstance(result, repo.Changed):
        return ChangeOutcome(result, _refusal(result, request_id, action, via_web))
    req = result.request
    who = f"{actor.name}，网页" if via_web else actor.name
    summary = summary_of(req)
    if action.startswith("tier:"):
        outcome = ChangeOutcome(result, texts.tier_changed(req.id, req.tier, who, community.street_office))
        outcome.outgoing += await tell_reporters(session, community, req, lambda _: life.escalated_private(
            req.id, req.category, summary, req.tier, community.street_office))
        if req.tier == "street":
            outcome.outgoing += await street_notice(session, community, req)
        return outcome
    outcome = ChangeOutcome(result, texts.status_changed(req.id, req.status, who, mask_text(note) if note else None))
    owner = community.person(req.owner_id) if req.owner_id else None
    if req.status in ("acknowledged", "in_progress"):
        reopened = result.before in ("resolved", "closed")
        outcome.outgoing += await tell_reporters(session, community, req, lambda _: (
            life.reopened_private(req.id, req.category, summary) if reopened else
            life.taken_up_private(req.id, req.category, summary, req.status, owner.name if owner else None)))
    elif req.status in ("resolved", "rejected"):
        outcome.outgoing += await tell_reporters(session, community, req, lambda _: (
            texts.resolved_private(req.id, req.category, summary, note) if req.status == "resolved"
            else texts.rejected_private(req.id, req.category, summary, note or "")))
    return outcome


# --- owner -----------------------------------------------------------------------------------------------

def find_staff(community: Community, who: str) -> Person | None:
    """A staff member by id or name ("王网格员", "staff-wang", "王")."""
    who = who.strip().lstrip("@")
    staff = [p for p in community.people if p.role == "staff"]
    exact = next((p for p in staff if who in (p.id, p.name, p.wecom_userid)), None)
    if exact is not None:
        return exact
    partial = [p for p in staff if who and who in p.name]
    return partial[0] if len(partial) == 1 else None


def find_team(community: Community, who: str) -> Team | None:
    who = who.strip()
    return next((t for t in community.teams if who and (who == t.id or who in t.name)), None)


async def assign_owner(session: AsyncSession, community: Community, request_id: int, who: str, *,
                       actor: repo.Actor, now: dt.datetime, expected_version: int | None = None,
                       via_web: bool = False) -> ChangeOutcome:
    """Gives the request to a staff member (told privately, with the residents' contacts), or to a
    volunteer team (each member told, to call the resident back)."""
    person = find_staff(community, who)
    by = f"{actor.name}，网页" if via_web else actor.name
    if person is None:
        team = find_team(community, who)
        if team is None:
            req = await repo.get_request(session, community.id, request_id)
            staff = [p.name for p in community.people if p.role == "staff"] + [t.name for t in community.teams]
            return ChangeOutcome(repo.NotFound(request_id) if req is None else repo.Unchanged(req),
                                 texts.not_found(request_id) if req is None else life.unknown_owner(who, staff))
        return await _give_to_team(session, community, request_id, team, actor=actor, now=now, by=by)
    result = await life_repo.assign(session, community.id, request_id, person.id, actor=actor, now=now,
                                    expected_version=expected_version)
    if isinstance(result, repo.Unchanged):
        return ChangeOutcome(result, life.owner_unchanged(request_id, person.name))
    if not isinstance(result, repo.Changed):
        return ChangeOutcome(result, _refusal(result, request_id, "assign", via_web))
    req = result.request
    reporters = await repo.reporters(session, req.id)
    body = life.assigned_private(req.id, req.category, place_of(req, community), req.text,
                                 contacts(community, req, reporters), actor.name, due_text(community, req.due_at),
                                 community.requests.web_url)
    return ChangeOutcome(result, life.assigned(req.id, person.name, by), [private(community, person.id, body)])


async def _give_to_team(session: AsyncSession, community: Community, request_id: int, team: Team, *,
                        actor: repo.Actor, now: dt.datetime, by: str) -> ChangeOutcome:
    req = await repo.get_request(session, community.id, request_id)
    if req is None:
        return ChangeOutcome(repo.NotFound(request_id), texts.not_found(request_id))
    if req.status not in OPEN_STATUSES:
        return ChangeOutcome(repo.NotAllowed(req), texts.not_open(req.id, req.status))
    req.team = team.id
    await life_repo.record(session, req.id, "assigned", actor=actor, now=now, to_value=team.id, note=team.name)
    return ChangeOutcome(repo.Changed(req, req.status), life.assigned_team(req.id, team.name, by),
                         await team_request(session, community, req, team))


# --- category ---------------------------------------------------------------------------------------------

async def recategorize(session: AsyncSession, community: Community, request_id: int, category: str, *,
                       actor: repo.Actor, now: dt.datetime, expected_version: int | None = None,
                       via_web: bool = False) -> ChangeOutcome:
    """The one place a request's category changes (chat command and staff page): its object, tier, team
    and deadline follow the new category, and whoever the new category concerns is told."""
    rules = community.requests
    current = await repo.get_request(session, community.id, request_id)
    if current is None:
        return ChangeOutcome(repo.NotFound(request_id), texts.not_found(request_id))
    team = rules.policy_team if category == "policy" and community.team(rules.policy_team or "") else None
    tier = tier_for(rules, category, current.text)
    # `current` is the session's one copy of the row: the change below rewrites it, so what it was is kept.
    before_category, before_tier = current.category, current.tier
    result = await life_repo.recategorize(
        session, community.id, request_id, category, object_=object_of(rules, category, current.text), tier=tier,
        team=team, due_at=due_at(community, category, current.urgent, current.created_at), actor=actor, now=now,
        expected_version=expected_version)
    if isinstance(result, repo.Unchanged):
        return ChangeOutcome(result, life.category_unchanged(request_id, category))
    if not isinstance(result, repo.Changed):
        return ChangeOutcome(result, _refusal(result, request_id, "category", via_web))
    req = result.request
    # What staff taught: the text with its right label, for the next training (handlers/label_corrections.py).
    await learn_from_recategorize(session, community.id, req, before_category, actor=actor, now=now,
                                  source="request" if via_web else "command")
    by = f"{actor.name}，网页" if via_web else actor.name
    outcome = ChangeOutcome(result, life.category_changed(req.id, before_category, category, req.tier, by))
    team_obj = community.team(team) if team else None
    if team_obj is not None and req.status in OPEN_STATUSES:
        outcome.outgoing += await team_request(session, community, req, team_obj)
    if req.tier == "street" and before_tier != "street" and req.status in OPEN_STATUSES:
        outcome.outgoing += await street_notice(session, community, req)
    return outcome


# --- a wrong merge undone --------------------------------------------------------------------------------

async def split_out(session: AsyncSession, community: Community, request_id: int, who: str, *,
                    actor: repo.Actor, now: dt.datetime, via_web: bool = False) -> ChangeOutcome:
    """Takes a merged reporter (by name, masked name or id) out of a request into one of their own, made
    from what they wrote; they are told about their own problem only."""
    req = await repo.get_request(session, community.id, request_id)
    if req is None:
        return ChangeOutcome(repo.NotFound(request_id), texts.not_found(request_id))
    reporters = await repo.reporters(session, req.id)
    wanted = who.strip().lstrip("@")
    found = [r for r in reporters if wanted in (r.person_id, r.name, mask_name(r.name))]
    if not found:
        found = [r for r in reporters if wanted and wanted in r.name]
    others = [r.name for r in reporters if r.person_id != req.sender_id]
    if len(found) != 1:
        return ChangeOutcome(repo.Unchanged(req), life.split_unknown(req.id, who, others))
    moved = found[0]
    if moved.person_id == req.sender_id:
        return ChangeOutcome(repo.Unchanged(req), life.split_first(req.id))
    text = moved.text or req.text
    rules = community.requests
    location = extract_location(text)
    new = Request(community=community.id, channel=moved.channel, group_id=moved.group_id, sender_id=moved.person_id,
                  sender_name=moved.name, category=req.category, text=text, building=location.building,
                  unit=location.unit, room=location.room, grid=grid_for(community, location.building, moved.group_id),
                  tier=tier_for(rules, req.category, text), urgent=False, team=req.team,
                  object=object_of(rules, req.category, text),
                  due_at=due_at(community, req.category, False, moved.at))
    created = await life_repo.split_reporter(session, req, moved.person_id, new, actor=actor, now=now)
    body = life.split_private(created.id, created.category, summary_of(created))
    by = f"{actor.name}，网页" if via_web else actor.name
    return ChangeOutcome(repo.Changed(req, req.status), life.split_done(req.id, mask_name(moved.name), created.id, by),
                         [Outgoing(moved.channel, community.id, "user", moved.person_id, body)])


# --- a resident says it is not fixed -----------------------------------------------------------------------

async def reopen(session: AsyncSession, community: Community, req: Request, *, person: repo.Actor,
                 now: dt.datetime, said: str) -> ChangeOutcome:
    """A reporter says a resolved request is not fixed: it is reopened (处理中, a new deadline) and its
    owner (else the staff group) is told."""
    result = await repo.change_status(session, community.id, req.id, "in_progress", actor=person, now=now,
                                      note=said, reopened_due=due_at(community, req.category, req.urgent, now),
                                      action="reopened")
    if not isinstance(result, repo.Changed):
        return ChangeOutcome(result, _refusal(result, req.id, "in_progress", False))
    text = life.reporter_reopened(req.id, mask_name(person.name), mask_text(said))
    out = [private(community, req.owner_id, text)] if req.owner_id else staff_post(community, text)
    return ChangeOutcome(result, "", out)
