"""回访: a configurable time after a request is resolved (`requests.followup_after_hours`), each of its
reporters is asked privately whether it is really solved and how satisfied they are (满意 / 一般 /
不满意, or a mark 1-5). The answer is recorded per reporter; "还是不行" / "没修好" reopens the request
and tells its owner (else the staff group).

The question is a periodic job of the scheduler leader, once per resolution (the request's
`followup_at` is claimed with `UPDATE … WHERE followup_at IS NULL`; keys
`followup:{request}:{person}:{resolved_at}`). The answer is awaited as a pending question
(storage/conversations.py) in the resident's private chat and in the group they reported in, for
`followup_answer_days`; a short "没修好" soon after a resolution is understood even unasked.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community, RequestRules
from core.message import Outgoing
from handlers import texts_request_life as life
from handlers.base import Context, Incoming
from handlers.privacy import mask_name, mask_text
from handlers.request_changes import reopen
from handlers.request_contacts import private, staff_post
from handlers.requests import category_of, file_report, may_file, summary_of
from storage import conversations
from storage import request_life_repo as life_repo
from storage import requests_repo as repo
from storage.models import ConversationState

log = logging.getLogger("linli.requests")

FOLLOWUP_INTENT = "request_followup"
# An unasked "没修好" is only about a resolution this recent, and only when it is this short.
UNASKED_MAX_CHARS = 20
_MARK = re.compile(r"^(?:打|给|评)?\s*([1-5一二三四五])\s*(?:分|星)?(?:吧|的|了)?$")
_CN_MARKS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_PUNCT = re.compile(r"[\s,.!?;:~，。！？；：、…]+")
# A private message to someone who wrote through the WeCom AI bot reaches them in the WeCom app
# (bot/channels/wecom_senders.py), so their private answer comes back on the app's channel.
PRIVATE_ANSWER_CHANNEL = {"wecom_aibot": "wecom"}


@dataclass(frozen=True)
class FollowupAnswer:
    kind: str  # "rating" | "not_fixed"
    mark: int | None = None
    unasked: bool = False


def read_answer(rules: RequestRules, text: str) -> FollowupAnswer | None:
    """满意 / 一般 / 不满意 / "4分" / "没修好" in a (normalized, own) text; None if it is no answer."""
    compact = _PUNCT.sub("", text)
    if any(cue in compact for cue in rules.not_fixed_cues):
        return FollowupAnswer("not_fixed")
    mark = _MARK.match(compact)
    if mark is not None:
        raw = mark.group(1)
        return FollowupAnswer("rating", int(raw) if raw.isdigit() else _CN_MARKS[raw])
    for word in sorted(rules.satisfaction_words, key=len, reverse=True):
        if word in compact and len(compact) <= len(word) + UNASKED_MAX_CHARS:
            return FollowupAnswer("rating", rules.satisfaction_words[word])
    return None


async def followups_due(session: AsyncSession, community: Community, now: dt.datetime) -> list[Outgoing]:
    """The periodic job: reporters of requests resolved `followup_after_hours` ago are asked, once."""
    rules = community.requests
    if rules.followup_after_hours <= 0:
        return []
    out: list[Outgoing] = []
    expires = now + dt.timedelta(days=rules.followup_answer_days)
    for req in await life_repo.followup_candidates(session, community.id,
                                                   now - dt.timedelta(hours=rules.followup_after_hours)):
        if not await life_repo.claim_followup(session, req.id, now):
            continue
        resolved = req.resolved_at.isoformat() if req.resolved_at else ""
        body = life.followup_question(req.id, req.category, summary_of(req))
        for r in await repo.reporters(session, req.id):
            out.append(Outgoing(r.channel, community.id, "user", r.person_id, body,
                                idempotency_key=f"followup:{req.id}:{r.person_id}:{resolved}"))
            private_channel = PRIVATE_ANSWER_CHANNEL.get(r.channel, r.channel)
            chats = {(private_channel, "")} | ({(r.channel, r.group_id)} if r.group_id else set())
            for channel, chat in sorted(chats):
                key = (channel, chat, r.person_id)
                pending = await session.get(ConversationState, key)
                if pending is None or pending.intent == FOLLOWUP_INTENT or pending.expires_at <= now:
                    await conversations.save(session, key, intent=FOLLOWUP_INTENT, slot="rating",
                                             data={"request": req.id}, expires_at=expires, now=now)
        log.info("回访 of request #%s sent", req.id)
    return out


class FollowupReplyHandler:
    """The answer to a 回访 question (pending in this chat), or an unasked short "没修好"."""

    name = "request_followup"

    def match(self, incoming: Incoming) -> FollowupAnswer | None:
        rules = incoming.community.requests
        own = incoming.text  # normalized once for every handler (the quote of a reply left out)
        state = incoming.conversation
        if state is not None and state.intent == FOLLOWUP_INTENT:
            return read_answer(rules, own)
        if len(own) > UNASKED_MAX_CHARS * 2 or not any(cue in own for cue in rules.not_fixed_cues):
            return None
        if len(_PUNCT.sub("", own)) <= UNASKED_MAX_CHARS and may_file(incoming):
            return FollowupAnswer("not_fixed", unasked=True)
        return None

    async def handle(self, ctx: Context, answer: FollowupAnswer) -> None:
        m, rules = ctx.message, ctx.community.requests
        state = ctx.conversation
        if answer.unasked:
            req = await life_repo.latest_finished_of(ctx.session, ctx.community.id, m.sender_id,
                                                     ctx.now - dt.timedelta(days=rules.followup_answer_days))
        else:
            assert state is not None
            req = None
            if state.expires_at > ctx.now:
                req = await repo.get_request(ctx.session, ctx.community.id, int((state.data or {})["request"]))
            await ctx.forget()
        if req is None:
            if answer.unasked and ctx.understanding.is_request:  # "没修好" about something never reported
                await file_report(ctx, category_of(ctx.understanding))
            else:
                log.info("follow-up answer from %s with no request to apply it to", m.sender_id)
            return
        person = repo.Actor(m.sender_id, m.sender_name)
        masked = mask_name(m.sender_name)
        if answer.kind == "not_fixed":
            outcome = await reopen(ctx.session, ctx.community, req, person=person, now=ctx.now, said=m.text)
            ctx.outgoing.extend(outcome.outgoing)
            ctx.reply(life.reopened_for_resident(masked, req.id))
            return
        assert answer.mark is not None
        if not await life_repo.rate(ctx.session, req.id, m.sender_id, answer.mark, note=m.text, now=ctx.now):
            return
        ctx.reply(life.thanks_for_rating(masked, req.id, answer.mark))
        if answer.mark <= 2:
            text = life.low_rating(req.id, masked, answer.mark, mask_text(m.text))
            ctx.outgoing.extend([private(ctx.community, req.owner_id, text)] if req.owner_id
                                else staff_post(ctx.community, text))
