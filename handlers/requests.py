"""Residents' requests (报事): intake of `report:*`, `inquiry:policy` and emergencies whatever their
label, merging the same problem, the policy FAQ, and answers to questions about hazards.

Only residents file requests: a message in a staff, volunteer or street group, or from configured
staff, is never a report here (staff file for a resident with `代报`, handlers/request_commands.py).
小事不出网格，大事不出社区，特事上报街道: each request gets a grid (from its building, else the
sender's group), a tier (from its category, raised by cue words in config), the object it is about
(`requests.objects`: 楼道灯, 门禁, 电梯 …) and a deadline (handlers/deadlines.py). Two reports are
one request only when they are about the same object of the same category at the same place
(building, and unit where both give one) within the merge window; a "+1" joins what it answers
(handlers/request_also.py). Staff changes are in handlers/request_changes.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from config.community import Community, FaqEntry, RequestRules, cached_on
from handlers import texts_requests as texts
from handlers.attachments import attach_waiting
from handlers.base import Context, Incoming
from handlers.deadlines import due_at
from handlers.hazard_alerts import (
    Hazard,
    alert_staff,
    alert_staff_again,
    alert_staff_escalated,
    hazard_answer,
    read_hazard,
)
from handlers.privacy import mask_name, masked_excerpt
from handlers.request_contacts import team_request
from nlp.location import Location, extract_location
from nlp.normalize import canonical, normalize_parts
from nlp.understanding import Understanding
from storage import requests_repo as repo
from storage.models_requests import Request

log = logging.getLogger("linli.requests")

TIER_ORDER = ("grid", "community", "street")
# A bare "+1" or "我家也是" is only a reply to a recent request when it is this short;
# longer chit-chat that happens to contain "我也是" is conversation, not a report.
ALSO_REPLY_MAX_CHARS = 14
ALSO_INTENT = "request_also"
ALSO_LISTED = 5


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


def _object_patterns(rules: RequestRules) -> dict[str, tuple[re.Pattern[str], dict[str, str]]]:
    """Per category: one alternation of its object words (longest first), and word -> object."""
    def build() -> dict[str, tuple[re.Pattern[str], dict[str, str]]]:
        found = {}
        for category, objects in rules.objects.items():
            names = {canonical(w): name for name, words in objects.items() for w in words if canonical(w)}
            if names:
                alternation = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
                found[category] = (re.compile(alternation), names)
        return found

    return cached_on(rules, "object_patterns", (rules.objects,), build)


def object_of(rules: RequestRules, category: str, text: str) -> str | None:
    """What the problem is about (`requests.objects` of the category): the object named first (the
    longest word where two start together)."""
    pattern = _object_patterns(rules).get(category)
    hit = pattern[0].search(text) if pattern is not None else None
    return pattern[1][hit.group(0)] if pattern is not None and hit is not None else None


def _keyword_matches(keyword: str, text: str) -> bool:
    return any(alt and alt in text for alt in keyword.split("|"))


def match_faq(rules: RequestRules, text: str) -> FaqEntry | None:
    """The FAQ entry all of whose keywords occur; the one with most keywords if several do."""
    hits = [e for e in rules.faq if all(_keyword_matches(k, text) for k in e.keywords)]
    return max(hits, key=lambda e: len(e.keywords), default=None)


_ALSO_PUNCT = re.compile(r"[\s!！。,，~～.…?？]+")


def also_cue(rules: RequestRules, text: str) -> bool:
    """Says "me too" ("+1", "我家也停水了", "同上", "同问")."""
    compact = _ALSO_PUNCT.sub("", text.replace("＋", "+"))
    return any(cue in compact for cue in rules.also_cues)


def is_bare_also_reply(rules: RequestRules, text: str) -> bool:
    """A short "me too" with nothing else a classifier could act on ("+1", "我家也是")."""
    compact = _ALSO_PUNCT.sub("", text.replace("＋", "+"))
    return 0 < len(compact) <= ALSO_REPLY_MAX_CHARS and also_cue(rules, compact)


def may_file(incoming: Incoming) -> bool:
    """Only residents file requests: not staff, and not in a staff, volunteer or street group."""
    m, community = incoming.message, incoming.community
    if m.sender_role == "staff" or m.sender_id in community.staff_ids():
        return False
    return not incoming.in_work_group


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

class HazardHandler:
    """An emergency happening now (alert, file or join its request) or a question about a hazard
    (answered from the community file), whatever label the classifier gave it: registered before the
    label handlers, so an urgent message labelled chit-chat or a booking still alerts."""

    name = "hazards"

    def match(self, incoming: Incoming) -> Hazard | None:
        if not may_file(incoming):
            return None
        rules, text = incoming.community.requests, incoming.text
        # "我报的燃气泄漏修好了没" asks after a report (handlers/request_status.py) unless it says the
        # danger is here now ("快来", "现在" …: the present cues longer than a particle or a mark).
        if any(c in text for c in rules.status_cues) and not any(len(p) > 1 and p in text for p in rules.present_cues):
            return None
        return read_hazard(rules, text)

    async def handle(self, ctx: Context, hazard: Hazard) -> None:
        if hazard.question:
            log.info("hazard question (%s) answered from the community file", hazard.cue.id)
            ctx.reply(texts.faq_answer_plain(mask_name(ctx.message.sender_name), hazard_answer(ctx.community,
                                                                                              hazard.cue)))
            return
        # The classifier's report category where it gives one ("5号楼楼道灯冒火花了" is about the light,
        # and joins that request), else the emergency's own (a lift entrapment labelled chit-chat).
        label = ctx.understanding
        category = category_of(label) if label.label.startswith("report:") else hazard.cue.category
        await file_report(ctx, category, hazard=hazard)


class RequestHandler:
    """report:* and inquiry:policy — a new request, a merge into a known one, or an FAQ answer."""

    name = "requests"

    def match(self, incoming: Incoming) -> str | None:
        """The request's category ("repair" …, "policy" for a policy question)."""
        if not incoming.understanding.is_request or not may_file(incoming):
            return None
        return category_of(incoming.understanding)

    async def handle(self, ctx: Context, category: str) -> None:
        await file_report(ctx, category)


async def file_report(ctx: Context, category: str, *, hazard: Hazard | None = None) -> None:
    """A resident's report: answered from the FAQ (policy), joined to the same problem, or filed."""
    m, rules, text = ctx.message, ctx.community.requests, ctx.text
    urgent = hazard is not None and hazard.urgent
    if category == "policy" and not urgent:
        faq = match_faq(rules, text)
        if faq is not None:
            log.info("policy question answered from FAQ %s", faq.id)
            ctx.reply(texts.faq_answer(mask_name(m.sender_name), faq.answer))
            return
    location = extract_location(m.text)
    obj = object_of(rules, category, text)
    existing: Request | None = None
    if m.group_id is not None and also_cue(rules, text):
        found = await also_target(ctx, category, obj)
        if isinstance(found, list):
            await ask_which(ctx, found)
            return
        existing = found
    if existing is None and location.building is not None and obj is not None and category != "policy":
        existing = await repo.find_same_problem(
            ctx.session, ctx.community.id, category, obj, location.building, location.unit,
            ctx.now - dt.timedelta(minutes=rules.merge_window_minutes))
    if existing is not None:
        await merge_into(ctx, existing, urgent=urgent)
        return
    await _create(ctx, category, location, obj, hazard)


async def also_target(ctx: Context, category: str | None, obj: str | None) -> Request | list[Request] | None:
    """What a "+1" / "我家也是" / "同问" in a group answers: the request of the quoted message; else the
    one reported in the group within `also_window_minutes` (of the same category and object when the
    message names them), or the only one reported in the last `also_recent_minutes`. Several: a list
    to ask about; none: None."""
    m, rules = ctx.message, ctx.community.requests
    assert m.group_id is not None
    since = ctx.now - dt.timedelta(minutes=rules.also_window_minutes)
    reported = await repo.reported_in_group(ctx.session, ctx.community.id, m.group_id, since)
    quote, _ = normalize_parts(m.text)
    if quote:
        quoted = [r.request for r in reported if any(_same_words(quote, t) for t in r.texts)]
        if quoted:
            return quoted[0]
    if category is not None:
        reported = [r for r in reported if r.request.category == category and (obj is None or r.request.object in
                                                                                (obj, None))]
    if len(reported) <= 1:
        return reported[0].request if reported else None
    recent = [r for r in reported if r.last_at >= ctx.now - dt.timedelta(minutes=rules.also_recent_minutes)]
    if len(recent) == 1:
        return recent[0].request
    return [r.request for r in reported[:ALSO_LISTED]]


def _same_words(quote: str, said: str) -> bool:
    """The quoted text is (a cut of) what was said: WeChat quotes a long message shortened."""
    a = quote.replace(" ", "").rstrip("….")
    b = "".join(normalize_parts(said)[1].split())
    return bool(a) and bool(b) and (a in b or b in a)


async def ask_which(ctx: Context, options: list[Request]) -> None:
    """Several requests could be meant: the resident is asked which (handlers/request_also.py reads the answer)."""
    lines = [texts.also_option(i, r.id, r.category, place_of(r, ctx.community), summary_of(r))
             for i, r in enumerate(options, 1)]
    await ctx.ask(ALSO_INTENT, "which", {"options": [r.id for r in options], "text": ctx.message.text})
    ctx.reply(texts.also_which(mask_name(ctx.message.sender_name), lines))


async def _create(ctx: Context, category: str, location: Location, obj: str | None, hazard: Hazard | None) -> None:
    m, community, rules = ctx.message, ctx.community, ctx.community.requests
    urgent = hazard is not None and hazard.urgent
    team = rules.policy_team if category == "policy" and community.team(rules.policy_team or "") else None
    request = await new_request(ctx, Request(
        community=community.id, channel=m.channel, group_id=m.group_id, sender_id=m.sender_id,
        sender_name=m.sender_name, category=category, text=m.text, building=location.building, unit=location.unit,
        room=location.room, grid=grid_for(community, location.building, m.group_id),
        tier=tier_for(rules, category, ctx.text), urgent=urgent, team=team, object=obj))
    await attach_waiting(ctx, request)  # photos/locations the sender just sent (handlers/attachments.py)
    masked = mask_name(m.sender_name)
    if hazard is not None and hazard.urgent:
        ctx.reply(texts.acknowledged_urgent(masked, request.id, category) + "\n"
                  + hazard_answer(community, hazard.cue))
        alert_staff(ctx, request, place=place_of(request, community), grid=grid_name(community, request.grid))
    elif team is not None:
        team_obj = community.team(team)
        assert team_obj is not None
        ctx.reply(texts.policy_forwarded(masked, request.id, team_obj.name))
        ctx.outgoing.extend(await team_request(ctx.session, community, request, team_obj))
    else:
        ctx.reply(texts.acknowledged(masked, request.id, category, place_of(request, community), request.tier))


async def new_request(ctx: Context, request: Request, *, actor: repo.Actor | None = None) -> Request:
    """Stores a request with its deadline (the one function both residents' reports and 代报 file with)."""
    request.due_at = due_at(ctx.community, request.category, request.urgent, ctx.now)
    created = await repo.create_request(
        ctx.session, request, actor=actor or repo.Actor(request.sender_id, request.sender_name), now=ctx.now)
    log.info("request #%s filed: %s/%s tier=%s urgent=%s", created.id, created.category, created.object,
             created.tier, created.urgent)
    return created


async def merge_into(ctx: Context, request: Request, *, urgent: bool) -> None:
    """Counts the sender as affected by `request` and tells them so. An urgent message alerts the staff
    group at once even here: it makes the request urgent, or is news about one that already is."""
    m = ctx.message
    masked = mask_name(m.sender_name)
    added = await repo.add_reporter(ctx.session, request, person_id=m.sender_id, name=m.sender_name,
                                    channel=m.channel, group_id=m.group_id, text=m.text, now=ctx.now)
    await attach_waiting(ctx, request)  # photos/locations the sender just sent (handlers/attachments.py)
    if urgent and not request.urgent:
        await repo.mark_urgent(ctx.session, request, actor=repo.Actor(m.sender_id, m.sender_name), now=ctx.now,
                               note=m.text, due_at=due_at(ctx.community, request.category, True, ctx.now))
        alert_staff_escalated(ctx, request)
    elif urgent:
        alert_staff_again(ctx, request)
    log.info("message merged into request #%s (new reporter: %s)", request.id, added)
    if added:
        ctx.reply(texts.merged(masked, request.id, request.affected))
    else:
        ctx.reply(texts.already_reported(masked, request.id))
