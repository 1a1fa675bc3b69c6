"""The channel boundary: every channel turns its wire format into a `Message` and sends `Outgoing`s.

Handlers only ever see these two types, never XML, HTTP or wechatpy objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["resident", "staff", "volunteer"]
Audience = Literal["group", "user"]


@dataclass(frozen=True)
class Message:
    """One message a person sent, as the bot sees it whichever channel it came from."""

    channel: str  # "sim", "wecom", "wecom_aibot", "mp"
    community: str
    group_id: str | None  # None for a one-to-one chat with the bot
    sender_id: str
    sender_name: str
    text: str
    msg_id: str
    sent_at: dt.datetime  # tz-aware
    mentions_bot: bool = False
    sender_role: Role = "resident"

    def __post_init__(self) -> None:
        if self.sent_at.tzinfo is None:
            raise ValueError("Message.sent_at must be timezone-aware")

    @property
    def is_group(self) -> bool:
        return self.group_id is not None


@dataclass(frozen=True)
class Outgoing:
    """Something the bot says: to a group or privately to one person, through a channel's sender."""

    channel: str
    community: str
    to: Audience
    target: str  # group id or person id
    text: str
    # Rows with the same key are written once: scheduled posts use it to be idempotent
    # (e.g. "theme:g-res-1:2026-11-25").
    idempotency_key: str | None = None
    # People to @ in a group post: person ids (or WeCom userids of people not in the community
    # file), "@all" for everyone. Stored with the outbox row; the WeCom group robot notifies them
    # (`mentioned_list`), other routes send the text without.
    mentions: tuple[str, ...] = field(default=())
