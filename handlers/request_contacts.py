"""Who hears about a request, and how they reach its residents: private messages to staff and
volunteers, the staff group, every reporter of a request, and the residents' contacts as staff see
them (name, phone, address), which only ever go out privately."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community, Team
from core.message import Outgoing
from handlers import texts_request_life as life
from nlp.location import Location
from nlp.normalize import MOBILE
from storage import requests_repo as repo
from storage.models_requests import Request, RequestReporter


def private(community: Community, person_id: str, text: str, *, channel: str | None = None,
            key: str | None = None) -> Outgoing:
    """A private message to a staff member or volunteer, through their group's channel."""
    if channel is None:
        person = community.person(person_id)
        group = next((community.group(g) for g in person.groups if community.group(g)), None) if person else None
        staff_group = community.staff_group()
        channel = group.channel if group is not None else staff_group.channel if staff_group else "sim"
    return Outgoing(channel, community.id, "user", person_id, text, idempotency_key=key)


def staff_post(community: Community, text: str, *, key: str | None = None) -> list[Outgoing]:
    group = community.staff_group()
    return [Outgoing(group.channel, community.id, "group", group.id, text, idempotency_key=key)] if group else []


async def tell_reporters(session: AsyncSession, community: Community, req: Request,
                         body: Callable[[RequestReporter], str], *, key: str | None = None) -> list[Outgoing]:
    """The same news to everyone who reported the request (the first reporter and every merged one).

    Each reporter's own words are never shown to another: callers word the request by its summary."""
    return [Outgoing(r.channel, community.id, "user", r.person_id, body(r),
                     idempotency_key=f"{key}:{r.person_id}" if key else None)
            for r in await repo.reporters(session, req.id)]


def phone_of(community: Community, person_id: str, text: str | None) -> str | None:
    """The reporter's phone: from the community file, else the first mobile number in their words."""
    person = community.person(person_id)
    if person is not None and person.phone:
        return person.phone
    found = MOBILE.search(text or "")
    return re.sub(r"\D", "", found.group(0)) if found else None


def contacts(community: Community, req: Request, reporters: Sequence[RequestReporter]) -> list[str]:
    """Name, phone and address of each reporter, as staff see them (for private messages only)."""
    lines = []
    for r in reporters:
        person = community.person(r.person_id)
        place = Location(person.building, person.unit, person.room).describe() if person else ""
        if not place and r.person_id == req.sender_id:
            place = Location(req.building, req.unit, req.room).describe()
        lines.append(life.contact_line(r.name, phone_of(community, r.person_id, r.text), place))
    return lines


async def team_request(session: AsyncSession, community: Community, req: Request, team: Team) -> list[Outgoing]:
    """Each member of the team is asked, privately, to call the residents back (with their numbers)."""
    reporters = await repo.reporters(session, req.id)
    body = life.team_asked_private(req.id, team.name, req.category, req.text, contacts(community, req, reporters))
    return [private(community, member, body) for member in team.members]
