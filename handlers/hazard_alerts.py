"""Hazard alerts: a report that names a hazard (a smell of gas, smoke, someone trapped …), and is not
only a worry ("万一着火"), alerts the community's staff group at once, wherever the resident wrote;
a neighbour who adds a hazard to a request already known raises that one. The cues are data
(`requests.urgent_cues` and `hypothetical_cues` in the community file).
"""

from __future__ import annotations

from config.community import RequestRules
from handlers import texts_requests as texts
from handlers.base import Context
from handlers.privacy import mask_name, mask_text
from storage.models_requests import Request


def is_urgent(rules: RequestRules, text: str) -> bool:
    """A hazard cue that is not hypothetical ("万一着火", "这要是着火了" are worries, not fires)."""
    for cue in rules.urgent_cues:
        start = text.find(cue)
        while start != -1:
            before = text[max(0, start - 4):start]
            if not any(h in before for h in rules.hypothetical_cues):
                return True
            start = text.find(cue, start + 1)
    return False


def alert_staff(ctx: Context, request: Request, *, place: str, grid: str) -> None:
    """A new urgent request: the staff group is told at once (the reporter's name and words masked)."""
    m = ctx.message
    ctx.tell_staff(texts.urgent_alert(request.id, request.category, place, grid, mask_name(m.sender_name),
                                      mask_text(m.text), ctx.community.requests.staff_web_url))


def alert_staff_escalated(ctx: Context, request: Request) -> None:
    """A known request became urgent with this message (a neighbour added a hazard)."""
    m = ctx.message
    ctx.tell_staff(texts.urgent_escalated(request.id, request.category, mask_name(m.sender_name),
                                          mask_text(m.text), ctx.community.requests.staff_web_url))
