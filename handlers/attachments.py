"""Photos and locations residents send: they join the sender's open request of the last minutes, or wait
for the report that follows (issue 16 item 9).

A message's attachments are recorded with its inbox row (storage/attachments_repo.add_received),
waiting for a request; images are fetched and checked in the background (bot/media_fetcher.py),
never while WeChat waits for its callback's answer. Here they find their request:
- a photo or location on its own (or with chit-chat) joins the request the sender filed or joined
  within `requests.attachment_window_minutes`; with none, it waits, and the sender is asked what
  the problem is when they spoke to the bot (a private chat or an @-mention);
- a report filed or joined (handlers/requests.py calls `attach_waiting`) takes what the sender
  sent within that window, including the photos of its own message (the AI bot's text and image).
A refused image (too large, not an image) never joins a request: its sender is told why
(`refusal_text`), the message stays in the inbox, the request is as it was.
"""

from __future__ import annotations

import datetime as dt
import logging

from core.message import Message, Outgoing
from handlers import texts_attachments as texts
from handlers.base import Context, Incoming
from handlers.image_check import Reason
from handlers.privacy import mask_name
from storage import attachments_repo as repo
from storage.models_attachments import RequestAttachment
from storage.models_requests import Request

log = logging.getLogger("linli.attachments")


def _window(ctx: Context) -> dt.timedelta:
    return dt.timedelta(minutes=ctx.community.requests.attachment_window_minutes)


def _addressed(message: Message) -> bool:
    return message.group_id is None or message.mentions_bot


class AttachmentHandler:
    """A photo or location sent on its own: first in the list, so it is never taken for an answer."""

    name = "attachments"

    def match(self, incoming: Incoming) -> list[str] | None:
        m = incoming.message
        return [a.kind for a in m.attachments] if m.attachments and not m.text.strip() else None

    async def handle(self, ctx: Context, kinds: list[str]) -> None:
        m = ctx.message
        rows = await repo.of_message(ctx.session, m.channel, m.msg_id)
        waiting = [r.id for r in rows if r.request_id is None and r.status in repo.ATTACHABLE]
        if not waiting:
            return  # refused or failed already: the sender was told why
        request = await repo.recent_open_request(ctx.session, ctx.community.id, m.sender_id, ctx.now - _window(ctx))
        masked = mask_name(m.sender_name)
        if request is not None and await repo.attach(ctx.session, waiting, request.id, now=ctx.now):
            log.info("%s of message %s attached to request #%s", kinds, m.msg_id, request.id)
            ctx.reply(texts.attached(masked, kinds, request.id, request.category))
        elif _addressed(m):
            ctx.reply(texts.waiting_for_report(masked, kinds, ctx.community.requests.attachment_window_minutes))
        # else: a photo in a group with no report of theirs: it waits, and the bot says nothing


class AttachmentWithTextHandler(AttachmentHandler):
    """A photo or location with words no other handler took ("你们看看"): last in the list, same rules."""

    name = "attachments_with_text"

    def match(self, incoming: Incoming) -> list[str] | None:
        m = incoming.message
        return [a.kind for a in m.attachments] if m.attachments else None


async def attach_waiting(ctx: Context, request: Request) -> int:
    """The hook of handlers/requests.py: a report filed or joined takes the photos and locations its
    sender sent within the window (its own message's too). Returns how many joined."""
    m = ctx.message
    joined = await repo.attach_waiting(ctx.session, ctx.community.id, m.sender_id, ctx.now - _window(ctx),
                                       request.id, now=ctx.now)
    if joined:
        log.info("%d attachment(s) of %s joined request #%s", joined, m.sender_id, request.id)
    return joined


# --- after a fetch (bot/media_fetcher.py) ---------------------------------------------------------

def refusal_text(row: RequestAttachment, reason: Reason | None, limit_bytes: int) -> str:
    """What the sender of a refused image (reason) or of one that could not be fetched (None) is told."""
    masked = mask_name(row.sender_name)
    if reason == "too_large":
        return texts.too_large(masked, limit_bytes)
    if reason == "not_image":
        return texts.not_an_image(masked)
    return texts.fetch_failed(masked)


def tell_sender(row: RequestAttachment, text: str, reason: Reason | None) -> Outgoing:
    """An answer where the attachment was sent: its group, or the private chat; once per message
    and reason, however many of its images share it (the AI bot's messages carry several)."""
    key = f"media:{row.channel}:{row.msg_id}:{reason or 'failed'}"[:200]
    if row.group_id is not None:
        return Outgoing(row.channel, row.community, "group", row.group_id, text, idempotency_key=key)
    return Outgoing(row.channel, row.community, "user", row.sender_id, text, idempotency_key=key)
