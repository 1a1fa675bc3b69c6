"""Staff commands on requests in the staff group: "#12 处理中", "#12 已解决 换了水阀", "#12 上报街道", "#12 驳回 …".

Matched on the raw text before any classifier label counts ("#12 已解决 换了水阀" mentions a
water valve but is not a repair report), and refused for anyone who is not configured staff.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from handlers import texts_requests as texts
from handlers.base import Context, Incoming
from handlers.requests import apply_change
from storage import requests_repo as repo

log = logging.getLogger("linli.requests")

# Longest first, so "已解决" is not read as "解决".
VERBS: tuple[tuple[str, str], ...] = tuple(sorted(
    {
        "收到": "acknowledged", "受理": "acknowledged", "已受理": "acknowledged",
        "处理中": "in_progress", "在处理": "in_progress", "正在处理": "in_progress", "重新处理": "in_progress",
        "已解决": "resolved", "解决了": "resolved", "已处理": "resolved", "处理好了": "resolved",
        "办结": "resolved", "已办结": "resolved",
        "关闭": "closed", "已关闭": "closed", "结案": "closed",
        "驳回": "rejected", "不予受理": "rejected",
        "上报街道": "tier:street", "报街道": "tier:street", "转街道": "tier:street",
        "上报社区": "tier:community", "转社区": "tier:community",
        "转网格": "tier:grid", "退回网格": "tier:grid",
    }.items(),
    key=lambda kv: -len(kv[0]),
))
# Full-width ＃ and digits as typed on phones; the rest of the text (the note) is kept as written.
_FULLWIDTH = str.maketrans("＃０１２３４５６７８９\u3000", "#0123456789 ")
_COMMAND = re.compile(r"^\s*#\s*(\d{1,9})\s*(.*)$", re.S)
_NOTE_LEAD = re.compile(r"^[\s:：,，、-]+")


@dataclass(frozen=True)
class StaffCommand:
    request_id: int
    action: str
    note: str | None


def parse_command(text: str) -> StaffCommand | None:
    """"#12 已解决 换了水阀" -> StaffCommand(12, "resolved", "换了水阀"); None if it is not a command."""
    m = _COMMAND.match(text.translate(_FULLWIDTH))
    if not m:
        return None
    rest = m.group(2).strip()
    for verb, action in VERBS:
        if rest.startswith(verb):
            note = _NOTE_LEAD.sub("", rest[len(verb):]).strip()
            return StaffCommand(int(m.group(1)), action, note or None)
    return None


class StaffCommandHandler:
    name = "request_commands"

    def match(self, incoming: Incoming) -> StaffCommand | None:
        return parse_command(incoming.command_text)

    async def handle(self, ctx: Context, command: StaffCommand) -> None:
        m = ctx.message
        if not ctx.staff_gate(refusal=texts.STAFF_ONLY, wrong_place=texts.STAFF_GROUP_ONLY, command="request"):
            return
        if command.action == "rejected" and not command.note:
            ctx.reply(texts.REJECT_NEEDS_REASON)
            return
        outcome = await apply_change(ctx.session, ctx.community, command.request_id, command.action,
                                     actor=repo.Actor(m.sender_id, m.sender_name), now=ctx.now, note=command.note)
        log.info("staff %s: #%s %s -> %s", m.sender_id, command.request_id, command.action,
                 type(outcome.result).__name__)
        ctx.reply(outcome.staff_text)
        ctx.outgoing.extend(outcome.outgoing)
