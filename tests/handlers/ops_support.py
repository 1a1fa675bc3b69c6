"""Shared by the operations tests (notices, volunteers, attendance, questions; imported, not a conftest):
a chat that speaks as anyone in the demo community, and what to read in its answers. The bot is
conftest's `live_bot` (SQLite) or `live_bot_any_db` (SQLite and PostgreSQL), with the real classifier."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from storage.models import OutboxMessage
from tests.conftest import SHANGHAI, LiveBot

CODE = re.compile(r"预约码：([2-9A-HJ-NP-Z]{6})")
RESIDENT_GROUPS = ("g-res-1", "g-res-2", "g-res-3")


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


class Chat:
    """The simulator as people of the demo community use it."""

    def __init__(self, bot: LiveBot) -> None:
        self.bot = bot
        self.client = bot.client

    async def say(self, text: str, group: str = "g-res-1", user: str = "r-zhang") -> list[dict[str, Any]]:
        return (await self.client.say(group, user, text))["replies"]

    async def private(self, user: str) -> list[str]:
        return [m["text"] for m in await self.client.user_timeline(user)]

    async def group(self, group: str) -> list[str]:
        return [m["text"] for m in await self.client.group_timeline(group) if m["from"] == "bot"]


def to(replies: list[dict[str, Any]], target: str) -> list[str]:
    return [r["text"] for r in replies if r["target"] == target]


def one(replies: list[dict[str, Any]], target: str) -> str:
    found = to(replies, target)
    assert len(found) == 1, replies
    return found[0]


def code_in(text: str) -> str:
    m = CODE.search(text)
    assert m, text
    return m.group(1)


async def outbox(bot: LiveBot, key_prefix: str = "") -> list[OutboxMessage]:
    async with bot.linli.db.transaction() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [r for r in rows if (r.idempotency_key or "").startswith(key_prefix)] if key_prefix else list(rows)
