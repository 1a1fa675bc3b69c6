"""What every handler sees (`Incoming`, to match; `Context`, to handle) and must provide (`Handler`)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from core.message import Message, Outgoing
from nlp.normalize import normalize
from nlp.understanding import Understanding
from storage import conversations
from storage.models import ConversationState

log = logging.getLogger("linli.handlers")

Found = TypeVar("Found")

# How long a question asked (e.g. "which session?") waits for its answer, unless the settings say
# otherwise (LINLI_CONVERSATION_TTL_SECONDS).
QUESTION_TTL = dt.timedelta(minutes=10)

# Mentions in front of a message, as group chats and the WeCom AI bot deliver them ("@社区小助手 #1
# 处理中"; WeChat puts U+2005 after the name, phones may type a full-width ＠).
_LEADING_MENTIONS = re.compile(r"^(?:\s*[@＠][^\s@＠]{1,32}(?:\s+|$))+")


def command_text(text: str, bot_names: tuple[str, ...] = ()) -> str:
    """The text a command is read from, however it arrived: without the bot's own @-mentions
    anywhere nor the mentions in front of it; the rest (a note) as written.

    The bot's names go first, so "@社区小助手#1 处理中" (no space after the name) is a command too.
    """
    for name in bot_names:
        for at in ("@", "＠"):
            text = text.replace(at + name, " ")
    return _LEADING_MENTIONS.sub("", text).strip()


@dataclass(frozen=True)
class Incoming:
    """A message as every handler's `match` sees it: what was said and meant, in which community,
    when (the community's local time), and what the sender was last asked in this chat."""

    message: Message
    understanding: Understanding
    community: Community
    now: dt.datetime  # aware, in the community's time zone
    conversation: ConversationState | None = None

    @functools.cached_property
    def text(self) -> str:
        """The normalized text (what the rules read)."""
        return self.understanding.text or normalize(self.message.text)

    @functools.cached_property
    def in_work_group(self) -> bool:
        """Said in a staff, volunteer or street group, where only commands are acted upon: nothing
        said there is filed as a request or starts a booking."""
        group = self.community.group(self.message.group_id) if self.message.group_id else None
        return group is not None and group.kind != "residents"

    @functools.cached_property
    def command_text(self) -> str:
        """The raw text without the @-mentions it arrived with (`command_text`): what staff
        commands are parsed from, with or without "@社区小助手" in front, through every channel."""
        return command_text(self.message.text, (self.community.bot_name,))


@dataclass
class Context:
    """One message being handled: the handler's view of the world, and where its answers go.

    Everything a handler changes goes through `session`, and every `Outgoing` it produces is
    written to the outbox in the same transaction by the pipeline.
    """

    incoming: Incoming
    session: AsyncSession
    conversation_ttl: dt.timedelta = QUESTION_TTL
    outgoing: list[Outgoing] = field(default_factory=list)
    # The sender's pending question, as `ask` and `forget` leave it.
    conversation: ConversationState | None = field(init=False)

    def __post_init__(self) -> None:
        self.conversation = self.incoming.conversation

    @property
    def message(self) -> Message:
        return self.incoming.message

    @property
    def understanding(self) -> Understanding:
        return self.incoming.understanding

    @property
    def community(self) -> Community:
        return self.incoming.community

    @property
    def now(self) -> dt.datetime:
        """Aware, in the community's time zone."""
        return self.incoming.now

    @property
    def text(self) -> str:
        """The message's normalized text."""
        return self.incoming.text

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.community.timezone)

    @property
    def is_staff(self) -> bool:
        return self.message.sender_role == "staff" and self.message.sender_id in self.community.staff_ids()

    def staff_gate(self, *, refusal: str, wrong_place: str, command: str) -> bool:
        """True when a staff command may run here: from configured staff, in the staff group, the
        street office's group or a private chat (its answers show residents' details). Otherwise
        answers why not."""
        m = self.message
        if not self.is_staff:
            log.warning("%s command from non-staff %s refused", command, m.sender_id)
            self.reply(refusal)
            return False
        group = self.community.group(m.group_id) if m.group_id is not None else None
        if m.group_id is not None and (group is None or group.kind not in ("staff", "street")):
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

    async def ask(self, intent: str, slot: str, data: dict[str, Any]) -> None:
        """Remembers that we asked this person something; their next message may answer it."""
        self.conversation = await conversations.save(
            self.session, conversations.key_of(self.message), intent=intent, slot=slot, data=data,
            expires_at=self.now + self.conversation_ttl, now=self.now)

    async def forget(self) -> None:
        """Drops this person's pending question (answered, cancelled or expired)."""
        await conversations.drop(self.session, conversations.key_of(self.message))
        self.conversation = None


class Handler(Protocol[Found]):
    """A capability. `match` is pure and cheap: it returns what it found in the message (the parsed
    command, the answer, the day asked about …), or None (or False) when the message is not for
    this handler; `handle` gets that result and does the work inside the unit of work."""

    name: str

    def match(self, incoming: Incoming) -> Found | None:
        ...

    async def handle(self, ctx: Context, found: Found) -> None:
        ...
