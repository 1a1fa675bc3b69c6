""""+1" / "我家也是" / "同问": a neighbour joins the request their message answers — the one they quoted,
else the one just reported in that group — and is asked which one when several could be meant.

`AlsoReplyHandler` takes a short "me too" whatever its label ("我家也停水了" may be labelled a
report; it still joins the group's water cut, not the light reported a minute later, because its
words name the object). `AlsoChoiceHandler` reads the answer to "which one?".
"""

from __future__ import annotations

import logging
import re

from handlers import texts_requests as texts
from handlers.base import Context, Incoming
from handlers.requests import (
    ALSO_INTENT,
    also_target,
    ask_which,
    category_of,
    file_report,
    is_bare_also_reply,
    may_file,
    merge_into,
    object_of,
)
from storage import requests_repo as repo

log = logging.getLogger("linli.requests")

_CHOICE = re.compile(r"^(?:第|选|是)?#?\s*(\d{1,9}|[一二两三四五])(?:个|件|条)?(?:吧|的|那个|那件)?$")
_CN = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_EXIT = re.compile(r"^(?:都不是|不是|算了|取消|没有|不用了)(?:吧|啦|了|哈)*$")


class AlsoReplyHandler:
    """A short "me too" in a residents' group (a quoted report, or the group's recent ones)."""

    name = "request_also"

    def match(self, incoming: Incoming) -> bool:
        m = incoming.message
        if m.group_id is None or not may_file(incoming):
            return False
        if not is_bare_also_reply(incoming.community.requests, incoming.text):
            return False
        # A labelled report that only says "me too" joins too; one that says more is a report.
        return incoming.understanding.is_chitchat or incoming.understanding.is_request

    async def handle(self, ctx: Context, _: bool) -> None:
        category = category_of(ctx.understanding) if ctx.understanding.is_request else None
        obj = object_of(ctx.community.requests, category, ctx.text) if category else None
        found = await also_target(ctx, category, obj)
        if isinstance(found, list):
            await ask_which(ctx, found)
        elif found is not None:
            await merge_into(ctx, found, urgent=False)
        elif category is not None:  # "我家也停水了" with nothing to join: a report of its own
            await file_report(ctx, category)
        else:
            log.info("'me too' with nothing recent to join: no reply")


class AlsoChoiceHandler:
    """The answer to "which one?" ("1", "#12", "第二个", "都不是"); anything else falls through."""

    name = "request_also_choice"

    def match(self, incoming: Incoming) -> int | None:
        state = incoming.conversation
        if state is None or state.intent != ALSO_INTENT:
            return None
        own = "".join(incoming.text.split()).rstrip("。.!！")
        if _EXIT.match(own):
            return 0
        found = _CHOICE.match(own)
        if found is None:
            return None
        raw = found.group(1)
        return int(raw) if raw.isdigit() else _CN[raw]

    async def handle(self, ctx: Context, choice: int) -> None:
        state = ctx.conversation
        assert state is not None
        options = [int(i) for i in (state.data or {}).get("options") or []]
        if state.expires_at <= ctx.now:
            await ctx.forget()
            ctx.reply(texts.ALSO_WHICH_EXPIRED)
            return
        if choice == 0:
            await ctx.forget()
            ctx.reply(texts.ALSO_WHICH_DROPPED)
            return
        # "1".."5" picks from the list; a request number picks that request if it was offered.
        picked = options[choice - 1] if 1 <= choice <= len(options) else choice if choice in options else None
        request = await repo.get_request(ctx.session, ctx.community.id, picked) if picked is not None else None
        if request is None:
            ctx.reply(texts.also_pick(len(options)))
            return
        await ctx.forget()
        await merge_into(ctx, request, urgent=False)
