"""What every handler gets (`Context`) and must provide (`Handler`)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from core.message import Message, Outgoing
from nlp.understanding import Understanding
from storage.models import ConversationState

log = logging.getLogger("linli.handlers")


@dataclass
class Context:
    """One message being handled: the handler's view of the world, and where its answers go.

    Everything a handler changes goes through `session`, and every `Outgoing` it produces is
    written to the outbox in the same transaction by the pipeline.
    """

    message: Message
    understanding: Understanding
    community: Community
    session: AsyncSession
    now: dt.datetime  # aware, in the community's time zone
    conversation: ConversationState | None = None
    conversation_ttl: dt.timedelta = dt.timedelta(minutes=10)
    outgoing: list[Outgoing] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.community.timezone)

    @property
    def is_staff(self) -> bool:
        return self.message.sender_role == "staff" and self.message.sender_id in self.community.staff_ids()

    def staff_gate(self, *, refusal: str, wrong_place: str, command: str) -> bool:
        """True when a staff command may run here: from configured staff, in the staff group or a
        private chat (its answers show residents' details). Otherwise answers why not."""
        m = self.message
        if not self.is_staff:
            log.warning("%s command from non-staff %s refused", command, m.sender_id)
            self.reply(refusal)
            return False
        staff_group = self.community.staff_group()
        if m.group_id is not None and (staff_group is None or m.group_id != staff_group.id):
            self.reply(wrong_place)
            return False
        return True

    def reply(self, text: str) -> None:
        """Answers where the message was said: in the group, or privately in a 1:1 chat."""
        m = self.message
        if m.group_id is not None:
            self.outgoing.append(Outgoing(m.channel, m.community, "group", m.group_id, text))
        else:
            self.outgoing.append(Outgoing(m.channel, m.community, "user", m.sender_id, text))

    def tell(self, person_id: str, text: str) -> None:
        """A private message to one person."""
        self.outgoing.append(Outgoing(self.message.channel, self.community.id, "user", person_id, text))

    def tell_team(self, team_id: str, text: str) -> None:
        """A private message to each member of a volunteer team."""
        team = self.community.team(team_id)
        for member in team.members if team else ():
            self.tell(member, text)

    def tell_staff(self, text: str) -> None:
        """A post in the community's staff group, through the channel that group lives on (an urgent
        hazard reported by a resident in the simulator or on WeCom reaches staff where they are)."""
        group = self.community.staff_group()
        if group is not None:
            self.outgoing.append(Outgoing(group.channel, self.community.id, "group", group.id, text))

    def _conversation_key(self) -> tuple[str, str, str]:
        return (self.message.channel, self.message.group_id or "", self.message.sender_id)

    async def ask(self, intent: str, slot: str, data: dict[str, Any]) -> None:
        """Remembers that we asked this person something; their next message may answer it."""
        channel, chat_id, sender_id = self._conversation_key()
        state = await self.session.get(ConversationState, (channel, chat_id, sender_id))
        expires = self.now + self.conversation_ttl
        if state is None:
            state = ConversationState(
                channel=channel, chat_id=chat_id, sender_id=sender_id, intent=intent, slot=slot,
                data=data, expires_at=expires, updated_at=self.now,
            )
            self.session.add(state)
        else:
            state.intent, state.slot, state.data = intent, slot, data
            state.expires_at, state.updated_at = expires, self.now
        self.conversation = state

    async def forget(self) -> None:
        """Drops this person's pending question (answered, cancelled or expired)."""
        channel, chat_id, sender_id = self._conversation_key()
        await self.session.execute(
            delete(ConversationState).where(
                ConversationState.channel == channel,
                ConversationState.chat_id == chat_id,
                ConversationState.sender_id == sender_id,
            )
        )
        self.conversation = None


async def load_conversation(session: AsyncSession, message: Message) -> ConversationState | None:
    return await session.scalar(
        select(ConversationState).where(
            ConversationState.channel == message.channel,
            ConversationState.chat_id == (message.group_id or ""),
            ConversationState.sender_id == message.sender_id,
        )
    )


class Handler(Protocol):
    """A capability. `match` is pure and cheap; `handle` does the work inside the unit of work."""

    name: str

    def match(self, message: Message, understanding: Understanding, conversation: ConversationState | None) -> bool:
        ...

    async def handle(self, ctx: Context) -> None:
        ...
