"""Where staff teach the bot: the 待确认 list, and on a request's page why it was read so and its category.

/staff/unsure lists the messages kept unanswered because the bot was unsure (handlers/unsure.py);
one click files one as a request of a category or marks it chit-chat. A request's page shows the
explanation `linli explain` prints (nlp/explain.py) and a form to correct its category
(handlers/label_corrections.py). Every click is kept as a labelled example for the next training.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.staff_web.auth import Staff, StaffAuth, read_form
from bot.staff_web.render import PREFIX, render
from bot.staff_web.views import RequestPages
from bot.web_input import path_number
from core.clock import Clock
from handlers import texts_learning as texts
from handlers import texts_requests as request_texts
from handlers.label_corrections import category_of_label, label_of_category
from handlers.unsure import file_unsure, mark_chitchat
from nlp.classifier import Classifier
from nlp.explain import Explanation, explain
from storage import learning_repo
from storage import requests_repo as repo
from storage.db import Database
from storage.models_requests import Request
from storage.outbox_repo import enqueue

log = logging.getLogger("linli.staff_web")

PAGE_SIZE = 100


def _default_classifier() -> Classifier:
    from nlp import default_classifier

    return default_classifier()


def explanation_view(e: Explanation, filed_as: str) -> dict[str, Any]:
    """The explanation as the request page shows it: the same parts `linli explain` prints."""
    u, d = e.understanding, e.decision
    return {
        "normalized": e.normalized, "quote": e.quote,
        "hits": [{"term": h.term, "meanings": "；".join(h.meanings)} for h in e.hits],
        "cues": "，".join(f"{name} {value:g}" for name, value in e.cues),
        "rule_scores": [(label, texts.label_name(label), score) for label, score in e.rule_scores],
        "rules_label": e.rules_label, "rules_label_name": texts.label_name(e.rules_label),
        "model": [(label, texts.label_name(label), p) for label, p in e.model] if e.model is not None else None,
        "label": u.label, "label_name": texts.label_name(u.label), "by": d.by, "confidence": u.confidence,
        "confident": u.confident, "may_be_request": u.may_be_request, "reason": u.reason,
        "reason_zh": texts.reading_reason(d.by, u.label, u.confidence, e.rules_label,
                                          e.rule_scores[0][1] if e.rule_scores else None,
                                          e.model[0] if e.model else None),
        "differs": u.label != filed_as, "filed_as_name": texts.label_name(filed_as),
    }


class LearningPages:
    """/staff/unsure, its two actions, and a request's explanation and category form."""

    def __init__(self, db: Database, clock: Clock, auth: StaffAuth, wake_outbox: Callable[[], None],
                 requests: RequestPages, classifier: Callable[[], Classifier] = _default_classifier) -> None:
        self.db = db
        self.clock = clock
        self.auth = auth
        self.wake_outbox = wake_outbox
        self.requests = requests
        self.classifier = classifier

    # -- a request's page ----------------------------------------------------------------------

    async def request_extras(self, req: Request, staff: Staff) -> dict[str, Any]:
        """What the request page adds: why the bot read the message so (as at the time it was
        filed, with the model it serves now), and the category form."""
        tz = ZoneInfo(staff.community.timezone)
        filed_as = label_of_category(req.category)
        try:
            classifier = await asyncio.to_thread(self.classifier)
            explained = await asyncio.to_thread(explain, req.text, req.created_at.astimezone(tz), classifier)
            view: dict[str, Any] | None = explanation_view(explained, filed_as)
        except Exception:  # the page is still useful without it
            log.exception("staff web: cannot explain request #%s", req.id)
            view = None
        categories = list(request_texts.CATEGORY_NAMES.items())
        return {"learning": {"explanation": view, "categories": categories}}


    # -- 待确认 ---------------------------------------------------------------------------------------

    async def unsure_page(self, request: web.Request, message: tuple[str, str] | None = None,
                          status: int = 200) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        if message is None and request.query.get("done"):
            message = ("ok", request.query["done"])
        async with self.db.transaction() as session:
            rows, total = await learning_repo.pending_unsure(session, c.id, limit=PAGE_SIZE)
        items = []
        for r in rows:
            group = c.group(r.group_id) if r.group_id else None
            items.append({
                "id": r.id, "at": r.last_seen_at, "text": r.text, "sender": r.sender_name, "seen": r.seen,
                "where": group.name if group is not None else "私聊",
                "reading": texts.label_name(r.label), "confidence": r.confidence,
                "suggested": category_of_label(r.suggested or "") or "",
            })
        return render(request, "unsure.html", {
            "title": texts.WEB_UNSURE_TITLE, "staff": staff, "tz": c.timezone, "items": items, "message": message,
            "hint": texts.WEB_UNSURE_HINT, "categories": list(request_texts.CATEGORY_NAMES.items()),
            "count": texts.web_unsure_count(total, len(rows)) if rows else texts.WEB_UNSURE_NONE,
        }, status=status)

    async def unsure_action(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        number = path_number(request)
        form = await read_form(request)
        if not staff.csrf_ok(form.get("csrf")):
            log.warning("staff web: 待确认 %s by %s without a valid CSRF token", number, staff.person.id)
            return await self.unsure_page(request, ("err", request_texts.WEB_BAD_FORM), 403)
        action, category = str(form.get("action", "")), str(form.get("category", ""))
        if action not in ("file", "chitchat") or (action == "file" and category not in request_texts.CATEGORY_NAMES):
            return await self.unsure_page(request, ("err", request_texts.WEB_BAD_FORM), 400)
        actor = repo.Actor(staff.person.id, staff.person.name)
        now = self.clock.now().astimezone(ZoneInfo(c.timezone))
        async with self.db.transaction() as session:
            if action == "file":
                outcome = await file_unsure(session, c, number, category, actor=actor, now=now)
            else:
                outcome = await mark_chitchat(session, c, number, actor=actor, now=now)
            if outcome.outgoing:
                await enqueue(session, outcome.outgoing, now=self.clock.now())
        if not outcome.ok:
            return await self.unsure_page(request, ("err", outcome.staff_text), 409)
        log.info("staff web: 待确认 %s %s by %s", number, action, staff.person.id)
        if outcome.outgoing:
            self.wake_outbox()
        raise web.HTTPSeeOther(f"{PREFIX}/unsure?{urllib.parse.urlencode({'done': outcome.staff_text})}")

