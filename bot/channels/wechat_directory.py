"""Who is who on WeChat: WeCom userids, Official Account openids and chat ids ↔ people and groups."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community, Directory, Group, Person
from storage.db import Database
from storage.models import Member
from storage.upsert import dialect_insert


@dataclass(frozen=True)
class Sender:
    """The person behind a WeChat id, as the pipeline should see them."""

    community: Community
    sender_id: str  # the person's id in the community file, or the raw WeChat id of an unknown person
    name: str
    role: str
    is_new: bool  # unknown so far: joins as a resident (a `members` row) with the message


def robot_key_env(group: Group) -> str:
    """The environment variable holding the group's robot key (LINLI_WECOM_ROBOT_KEY_G_RES_1)."""
    return group.robot_key_env or "LINLI_WECOM_ROBOT_KEY_" + re.sub(r"[^A-Za-z0-9]", "_", group.id).upper()


class WeChatDirectory:
    def __init__(self, directory: Directory, environ: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.environ = os.environ if environ is None else environ
        self._by_userid: dict[str, tuple[Community, Person]] = {}
        self._by_openid: dict[str, tuple[Community, Person]] = {}
        self._by_chat: dict[str, tuple[Community, Group]] = {}
        self._members: dict[tuple[str, str], Sender] = {}
        for c in directory.communities:
            for p in c.people:
                self._by_userid.setdefault(p.wecom_userid or p.id, (c, p))
                if p.mp_openid:
                    self._by_openid.setdefault(p.mp_openid, (c, p))
            for g in c.groups:
                if g.wecom_chat_id:
                    self._by_chat.setdefault(g.wecom_chat_id, (c, g))

    @property
    def default_community(self) -> Community:
        """Where people who are in no community file land (one community per deployment is usual)."""
        return self.directory.communities[0]

    def group_for_chat(self, chat_id: str) -> tuple[Community, Group] | None:
        return self._by_chat.get(chat_id)

    def robot_key(self, group: Group) -> str | None:
        key = self.environ.get(robot_key_env(group), "").strip()
        return key or None

    def wecom_userid(self, community: Community, person_id: str) -> str:
        person = community.person(person_id)
        return (person.wecom_userid or person.id) if person else person_id

    def mp_openid(self, community: Community, person_id: str) -> str | None:
        """The openid to write to, or None when this person is known but only on WeCom."""
        person = community.person(person_id)
        if person is None:
            return person_id  # unknown people reached us through the OA: their id is the openid
        return person.mp_openid

    async def sender(self, db: Database, raw_id: str, *, channel: str, community: Community | None = None) -> Sender:
        """Maps a WeCom userid (channel "wecom"/"wecom_aibot") or an openid ("mp") to a person."""
        found = (self._by_openid if channel == "mp" else self._by_userid).get(raw_id)
        if found is not None and (community is None or found[0].id == community.id):
            c, p = found
            return Sender(c, p.id, p.name, p.role, False)
        community = community or self.default_community
        known = self._members.get((community.id, raw_id))
        if known is not None:
            return known
        async with db.transaction() as session:
            member = await session.get(Member, (community.id, raw_id))
        if member is not None:
            # Members never leave the table: remember them (one query per callback cost more
            # than the rest of the acknowledgment). Unknown ids are asked again, since another
            # process may store them meanwhile.
            found_member = self._members[(community.id, raw_id)] = Sender(community, raw_id, member.name,
                                                                            member.role, False)
            return found_member
        return Sender(community, raw_id, f"邻居{raw_id[-4:]}", "resident", True)

    def remember(self, sender: Sender) -> None:
        """A new sender whose member row is now committed: known from now on, without a query."""
        if sender.is_new:
            self._members[(sender.community.id, sender.sender_id)] = Sender(
                sender.community, sender.sender_id, sender.name, sender.role, False)


async def add_member(session: AsyncSession, sender: Sender, group_id: str | None) -> None:
    """Records an unknown sender as a resident (once, even if two processes race)."""
    if not sender.is_new:
        return
    stmt = dialect_insert(session)(Member).values(community=sender.community.id, person_id=sender.sender_id,
                                               name=sender.name, role="resident", first_group=group_id)
    await session.execute(stmt.on_conflict_do_nothing())
