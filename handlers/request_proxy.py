"""代报: staff file a request for a resident ("代报 3号楼2单元 漏水 张阿姨 13900000000"), the only way a
report comes from the staff side. The resident is matched in the community file by phone or name
and told of every step privately; a resident the bot cannot reach has the staff member who filed
it told instead, to pass it on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from config.community import Community, Person
from handlers import texts_request_life as life
from handlers.base import Context
from handlers.hazard_alerts import alert_staff, read_hazard
from handlers.privacy import mask_name
from handlers.requests import category_of, grid_for, grid_name, new_request, object_of, place_of, tier_for
from nlp.location import Location, extract_location
from nlp.normalize import MOBILE_NUMBER, normalize
from storage import requests_repo as repo
from storage.models_requests import Request

log = logging.getLogger("linli.requests")

_PHONE = re.compile(rf"(?<!\d)(?:\+?86[\s-]?)?{MOBILE_NUMBER}(?!\d)|(?<!\d)0\d{{2,3}}-?\d{{7,8}}(?!\d)")
_PLACE = re.compile(r"\d{1,3}\s*(?:号楼|号栋|栋|幢|#楼?)\s*(?:\d{1,2}\s*单元)?\s*(?:\d{3,4}\s*室?)?"
                    r"|\d{1,2}\s*单元\s*(?:\d{3,4}\s*室?)?|\d{1,3}-\d{1,2}-\d{3,4}")
_SEPARATORS = re.compile(r"[\s,，、;；]+")
MAX_NAME_CHARS = 6


@dataclass(frozen=True)
class ProxyReport:
    problem: str
    name: str
    phone: str | None
    location: Location
    category: str | None  # named by staff ("代报 卫生 …")


def parse_proxy(community: Community, text: str) -> ProxyReport | None:
    """The problem, the resident's name and phone, the place and an explicit category; None when the
    problem or the name is missing."""
    location = extract_location(text)
    phone_match = _PHONE.search(text)
    phone = re.sub(r"\D", "", phone_match.group(0))[-11:] if phone_match else None
    rest = _PLACE.sub(" ", _PHONE.sub(" ", text))
    tokens = [t for t in _SEPARATORS.split(rest) if t]
    category = None
    for token in list(tokens):
        named = community.requests.category_named(token)
        if named is not None and category is None:
            category = named
            tokens.remove(token)
    if len(tokens) < 2 or len(tokens[-1]) > MAX_NAME_CHARS or any(ch.isdigit() for ch in tokens[-1]):
        return None
    return ProxyReport(" ".join(tokens[:-1]), tokens[-1], phone, location, category)


def resident_named(community: Community, report: ProxyReport) -> Person | None:
    residents = [p for p in community.people if p.role != "staff"]
    if report.phone:
        by_phone = next((p for p in residents if p.phone == report.phone), None)
        if by_phone is not None:
            return by_phone
    return next((p for p in residents if p.name == report.name), None)


def _category(ctx: Context, report: ProxyReport, problem: str) -> str | None:
    if report.category is not None:
        return report.category
    for category in ctx.community.requests.objects:
        if object_of(ctx.community.requests, category, problem) is not None:
            return category
    return category_of(ctx.understanding) if ctx.understanding.is_request else None


async def file_for_resident(ctx: Context, text: str) -> None:
    community, m = ctx.community, ctx.message
    report = parse_proxy(community, text)
    if report is None:
        ctx.reply(life.PROXY_USAGE)
        return
    problem = normalize(report.problem)
    category = _category(ctx, report, problem)
    if category is None:
        ctx.reply(life.PROXY_NEEDS_CATEGORY)
        return
    person = resident_named(community, report)
    hazard = read_hazard(community.requests, problem)
    urgent = hazard is not None and hazard.urgent
    location = report.location if not report.location.is_empty else (
        Location(person.building, person.unit, person.room) if person is not None else report.location)
    group_id = next((g for g in person.groups if (gr := community.group(g)) and gr.kind == "residents"),
                    None) if person is not None else None
    group = community.group(group_id) if group_id else None
    # Told privately of every step: the resident when the bot can reach them, else the staff member.
    reporter_id, channel = (person.id, group.channel if group else m.channel) if person else (m.sender_id, m.channel)
    team = community.requests.policy_team if category == "policy" else None
    request = await new_request(ctx, Request(
        community=community.id, channel=channel, group_id=group_id, sender_id=reporter_id,
        sender_name=person.name if person else report.name, category=category, text=text,
        building=location.building, unit=location.unit, room=location.room,
        grid=grid_for(community, location.building, group_id), tier=tier_for(community.requests, category, problem),
        urgent=urgent, team=team if team and community.team(team) else None,
        object=object_of(community.requests, category, problem)), actor=repo.Actor(m.sender_id, m.sender_name))
    log.info("request #%s filed by %s for a resident (%s)", request.id, m.sender_id,
             "matched" if person else "not in the file")
    ctx.reply(life.proxy_filed(request.id, mask_name(request.sender_name), category, place_of(request, community),
                               request.tier, reachable=person is not None))
    staff_group = community.staff_group()
    if urgent and (staff_group is None or m.group_id != staff_group.id):
        alert_staff(ctx, request, place=place_of(request, community), grid=grid_name(community, request.grid))
