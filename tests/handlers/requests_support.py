"""Shared by the requests tests (imported, not a conftest): a live bot with a keyword classifier.

The real classifier is written elsewhere; these tests must only depend on the labels they
choose, so `understand` here maps a few keywords to labels (and everything else to chit-chat).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from core.clock import FixedClock
from nlp.normalize import normalize
from nlp.understanding import Understanding
from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import LiveBot, make_settings, start_live_bot

KEYWORD_LABELS: tuple[tuple[str, str], ...] = (
    ("燃气", "report:safety"),
    ("着火", "report:safety"),
    ("电线", "report:safety"),
    ("停水", "report:repair"),
    ("楼道灯", "report:repair"),
    ("门禁", "report:repair"),
    ("门锁", "report:repair"),
    ("电梯", "report:repair"),
    ("下水道", "report:repair"),
    ("漏水", "report:repair"),
    ("水阀", "report:repair"),  # "#12 已解决 换了水阀" must still be a staff command
    ("垃圾", "report:sanitation"),
    ("医保", "inquiry:policy"),
    ("低保", "inquiry:policy"),
    ("活动", "query:today_activity"),
)


def keyword_understand(text: str, now: dt.datetime) -> Understanding:
    norm = normalize(text)
    label = next((lab for key, lab in KEYWORD_LABELS if key in norm), "chitchat")
    category = "policy" if label == "inquiry:policy" else (label.partition(":")[2] if label.startswith("report:")
                                                         else None)
    return Understanding(label, 0.9, category=category, text=norm)


def group_texts(body: dict, group: str) -> list[str]:
    """What the bot said in that group in answer to one message."""
    return [r["text"] for r in body["replies"] if r["to"] == "group" and r["target"] == group]


def private_texts(body: dict) -> dict[str, list[str]]:
    """What the bot said privately in answer to one message, by person."""
    found: dict[str, list[str]] = {}
    for r in body["replies"]:
        if r["to"] == "user":
            found.setdefault(r["target"], []).append(r["text"])
    return found


async def migrated(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        db = Database(db_url)
        await upgrade(db)
        await db.dispose()


@pytest.fixture
async def req_bot(db_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    """The real app on 127.0.0.1 (SQLite file and PostgreSQL), with the keyword classifier."""
    await migrated(db_url)
    bot, close = await start_live_bot(make_settings(db_url), clock, understand=keyword_understand)
    try:
        yield bot
    finally:
        await close()
