"""Unsure and unaddressed: silent, but kept (待确认) — once per sender and text, never for a hazard, pruned daily."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import func, select

from bot.routing import Router, default_handlers, dispatch
from config.community import Community, Directory, UnsureRules
from core.message import Message, Outgoing
from handlers.unsure import prune_unsure_job
from nlp.normalize import normalize
from nlp.understanding import Understanding
from storage import learning_repo
from storage.db import Database
from storage.models_learning import UnsureMessage
from storage.models_requests import Request
from tests.conftest import REFERENCE_NOW

_ids = itertools.count(1)


def said(text: str, *, group: str | None = "g-res-1", sender: str = "r-zhang", name: str = "张秀兰",
         role: str = "resident", mentions_bot: bool = False) -> Message:
    return Message("sim", "xingfuli", group, sender, name, text, f"unsure-{next(_ids)}", REFERENCE_NOW,
                   mentions_bot=mentions_bot, sender_role=role)  # type: ignore[arg-type]


def unsure(text: str, label: str = "chitchat", p: float = 0.55) -> Understanding:
    """A reading that is sure of nothing and may be a request (what nlp/decide.py gives such messages)."""
    ranked = ((label, p), ("report:repair", 0.3)) if label == "chitchat" else ((label, p), ("chitchat", 0.4))
    category = label.partition(":")[2] if label.startswith("report:") else None
    return Understanding(label, p, category=category, ranked=ranked, text=normalize(text), confident=False,
                         may_be_request=True)


async def handle(db: Database, community: Community, message: Message,
                 u: Understanding) -> tuple[str | None, list[Outgoing]]:
    async with db.transaction() as session:
        done = await dispatch(Router(default_handlers()), session, message, u, community, REFERENCE_NOW)
    return done.handler, done.outgoing


async def kept(db: Database) -> list[UnsureMessage]:
    async with db.transaction() as session:
        return list((await session.scalars(select(UnsureMessage).order_by(UnsureMessage.id))).all())


async def test_an_unsure_unaddressed_message_gets_no_reply_and_is_kept_once(db: Database,
                                                                           demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    text = "3号楼那边好像有点味道"
    assert await handle(db, community, said(text), unsure(text)) == ("unsure", [])
    # The same words again from the same resident: counted, not listed twice; from a neighbour: listed.
    assert await handle(db, community, said(text + "。"), unsure(text + "。")) == ("unsure", [])
    assert await handle(db, community, said(text, sender="r-liu", name="刘德顺"), unsure(text)) == ("unsure", [])
    rows = await kept(db)
    assert [(r.sender_id, r.seen, r.status, r.text) for r in rows] == [
        ("r-zhang", 2, "pending", text), ("r-liu", 1, "pending", text)]
    assert rows[0].suggested == "report:repair" and rows[0].label == "chitchat" and rows[0].group_id == "g-res-1"
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Request)) == 0  # nothing filed on a guess


async def test_an_unsure_request_label_is_kept_not_filed(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    text = "楼下那个灯是不是有点问题"
    assert await handle(db, community, said(text), unsure(text, "report:repair", 0.5)) == ("unsure", [])
    [row] = await kept(db)
    assert (row.label, row.suggested) == ("report:repair", "report:repair")


async def test_a_hazard_is_never_left_waiting(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    text = "好像闻到燃气味了"
    handler, out = await handle(db, community, said(text), unsure(text, "report:safety", 0.45))
    assert handler == "hazards"  # the urgent cue is read before any doubt about the label (handlers/hazards.py)
    assert any(o.target == "g-staff" and "🚨" in o.text for o in out)  # the staff group is alerted
    assert await kept(db) == []


async def test_staff_and_other_groups_are_not_kept(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    text = "那个灯好像不太对"
    assert await handle(db, community, said(text, sender="staff-li", name="李书记", role="staff"),
                        unsure(text)) == (None, [])
    assert await handle(db, community, said(text, group="g-vol", sender="v-he", name="何师傅", role="volunteer"),
                        unsure(text)) == (None, [])
    assert await kept(db) == []


async def test_addressed_it_gets_the_menu_and_is_kept_too(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    text = "@社区小助手 那个灯好像不太对"
    handler, out = await handle(db, community, said(text, mentions_bot=True), unsure(text))
    assert handler == "menu" and "报事报修" in out[0].text
    handler, out = await handle(db, community, said("楼道那个灯还是不太对", group=None), unsure("楼道那个灯还是不太对"))
    assert handler == "menu" and out[0].to == "user"
    assert [(r.group_id, r.sender_id) for r in await kept(db)] == [("g-res-1", "r-zhang"), (None, "r-zhang")]


async def test_the_daily_prune_keeps_the_list_bounded(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0].model_copy(update={"unsure": UnsureRules(keep_days=30, max_pending=3)})
    async with db.transaction() as session:
        for i in range(6):
            at = REFERENCE_NOW - dt.timedelta(days=40 if i == 0 else 0, minutes=10 - i)
            await learning_repo.keep_unsure(session, {
                "community": community.id, "channel": "sim", "group_id": "g-res-1", "sender_id": "r-zhang",
                "sender_name": "张秀兰", "text": f"消息{i}", "text_key": f"k{i}", "label": "chitchat",
                "suggested": None, "confidence": 0.5}, at)
        other = await learning_repo.get_unsure(session, community.id, 2)
        assert other is not None
        await learning_repo.resolve_unsure(session, other, "chitchat", by="李书记", now=REFERENCE_NOW)
    async with db.transaction() as session:
        assert await prune_unsure_job(session, community, REFERENCE_NOW.date()) == []
    # 消息0 was last seen 40 days ago; of the four pending left, the oldest beyond 3 goes; the
    # resolved one stays until it is 30 days old.
    assert [r.text for r in await kept(db)] == ["消息1", "消息3", "消息4", "消息5"]
