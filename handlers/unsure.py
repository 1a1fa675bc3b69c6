"""Unsure and unaddressed: silent, but kept (待确认).

A message in a residents' group that does not address the bot and may be a request, though the
reading is not sure of it (`Understanding.may_be_request`), gets no reply in the group: a bot that
answers chit-chat gets muted. It is kept for staff instead, who see it on the staff page and, with
one click, file it as a request of a category (through the normal request path: the resident is
told privately, hazards alert as ever) or mark it chit-chat. Both are corrections the next training
learns from (handlers/label_corrections.py). The same text from the same sender is kept once, and
the daily `prune_unsure` job keeps the list bounded (`unsure:` in the community file).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from core.message import Message, Outgoing
from handlers import texts_learning as texts
from handlers.base import Context, Incoming
from handlers.hazard_alerts import is_urgent
from handlers.label_corrections import label_of_category, record_correction
from handlers.privacy import masked_excerpt
from handlers.requests import RequestHandler, is_bare_also_reply
from nlp.normalize import normalize
from nlp.understanding import Understanding, is_request_label
from storage import learning_repo
from storage import requests_repo as repo
from storage.models_learning import UnsureMessage

log = logging.getLogger("linli.learning")

PRIVATE_EXCERPT_CHARS = 30


def text_key(normalized: str) -> str:
    """What makes two messages "the same text": their normalized text's hash."""
    return hashlib.sha256(normalized.encode()).hexdigest()[:32]


def suggested_label(understanding: Understanding) -> str | None:
    """The request label the reading found most likely (what the staff page offers first)."""
    if understanding.is_request:
        return understanding.label
    return next((label for label, _ in understanding.ranked if is_request_label(label)), None)


def may_keep(incoming: Incoming) -> bool:
    """A resident's message, in a residents' group or a private chat: what 待确认 is for."""
    m, community = incoming.message, incoming.community
    if m.sender_role != "resident" or m.sender_id in community.staff_ids():
        return False
    if m.group_id is None:
        return True
    group = community.group(m.group_id)
    return group is not None and group.kind == "residents"


async def keep_unsure(ctx: Context) -> None:
    """Keeps the message for staff (once per sender and text), if it is a resident's."""
    if not may_keep(ctx.incoming):
        return
    m, u = ctx.message, ctx.understanding
    await learning_repo.keep_unsure(ctx.session, {
        "community": ctx.community.id, "channel": m.channel, "group_id": m.group_id, "sender_id": m.sender_id,
        "sender_name": m.sender_name, "text": m.text, "text_key": text_key(ctx.text), "label": u.label,
        "suggested": suggested_label(u), "confidence": u.confidence}, ctx.now)
    log.info("message %s kept for staff (待确认): %s %.2f", m.msg_id, u.label, u.confidence)


class UnsureHandler:
    """Registered before the label handlers: an unaddressed, unsure possible request is kept, not
    answered (nor filed on a guess)."""

    name = "unsure"

    def match(self, incoming: Incoming) -> bool | None:
        if not incoming.understanding.may_be_request:  # the cheap check, false for almost every message
            return None
        m = incoming.message
        if m.group_id is None or m.mentions_bot or not may_keep(incoming):
            return None  # addressed: the menu answers (menu.py); staff and their groups: as before
        rules = incoming.community.requests
        if incoming.understanding.is_request and is_urgent(rules, incoming.text):
            return None  # a hazard is never left waiting: filed, and staff alerted, as ever
        if is_bare_also_reply(rules, incoming.text):
            return None  # a "+1" joins the group's request (AlsoReplyHandler)
        return True

    async def handle(self, ctx: Context, _: bool) -> None:
        await keep_unsure(ctx)


# --- staff's two clicks (the staff page) ------------------------------------------------------------

@dataclass
class UnsureOutcome:
    """What a click on a kept message did: the text for the staff member, the messages it causes."""

    ok: bool
    staff_text: str
    outgoing: list[Outgoing] = field(default_factory=list)
    request_id: int | None = None


class _FiledByStaff(Context):
    """The context of a kept message filed later by staff: what the bot would have said in the group
    goes to the resident privately (the group has moved on), after a line naming their message."""

    def reply(self, text: str) -> None:
        excerpt = masked_excerpt(self.message.text, PRIVATE_EXCERPT_CHARS)
        self.tell(self.message.sender_id, texts.filed_for_you(excerpt, text))


def _message_of(row: UnsureMessage) -> Message:
    return Message(row.channel, row.community, row.group_id, row.sender_id, row.sender_name, row.text,
                   f"unsure:{row.id}", row.created_at)


async def file_unsure(session: AsyncSession, community: Community, unsure_id: int, category: str, *,
                      actor: repo.Actor, now: dt.datetime) -> UnsureOutcome:
    """Files a kept message as a request of `category`, as the bot would have, had it been sure."""
    row = await learning_repo.get_unsure(session, community.id, unsure_id)
    if row is None or not await learning_repo.resolve_unsure(session, row, "filed", by=actor.name, now=now):
        return UnsureOutcome(False, texts.web_unsure_gone(row.resolved_by if row else None))
    label = label_of_category(category)
    understanding = Understanding(label, 1.0, category=category, text=normalize(row.text),
                                  reason=f"filed by staff ({actor.id})")
    ctx = _FiledByStaff(Incoming(_message_of(row), understanding, community, now), session)
    await RequestHandler().handle(ctx, category)
    request_id = await learning_repo.latest_reported(session, row.sender_id, now)
    if request_id is not None:
        await learning_repo.link_request(session, row.id, request_id)
    await record_correction(session, community=community.id, text=row.text, label=label, previous=row.label,
                            actor=actor, source="unsure", now=now, request_id=request_id)
    return UnsureOutcome(True, texts.web_unsure_filed(request_id, category), ctx.outgoing, request_id)


async def mark_chitchat(session: AsyncSession, community: Community, unsure_id: int, *, actor: repo.Actor,
                        now: dt.datetime) -> UnsureOutcome:
    """Marks a kept message chit-chat: nobody is told; the bot learns to leave such messages alone."""
    row = await learning_repo.get_unsure(session, community.id, unsure_id)
    if row is None or not await learning_repo.resolve_unsure(session, row, "chitchat", by=actor.name, now=now):
        return UnsureOutcome(False, texts.web_unsure_gone(row.resolved_by if row else None))
    await record_correction(session, community=community.id, text=row.text, label="chitchat", previous=row.label,
                            actor=actor, source="unsure", now=now)
    return UnsureOutcome(True, texts.WEB_UNSURE_CHITCHAT)


async def prune_unsure_job(session: AsyncSession, community: Community, day: dt.date) -> list[Outgoing]:
    """The daily job: drops kept messages older than `unsure.keep_days`, and the oldest pending ones
    beyond `unsure.max_pending`. Posts nothing."""
    rules = community.unsure
    start_of_day = dt.datetime.combine(day, dt.time(), ZoneInfo(community.timezone))
    deleted = await learning_repo.prune_unsure(session, community.id,
                                               older_than=start_of_day - dt.timedelta(days=rules.keep_days),
                                               keep=rules.max_pending)
    if deleted:
        log.info("pruned %d kept message(s) of %s (待确认)", deleted, community.id)
    return []

