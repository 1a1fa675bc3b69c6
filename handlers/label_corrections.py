"""Staff correct a label; the correction is kept as a labelled example the next training learns from.

`record_correction` is the one writer of corrections: a request's category change (the staff
page's form and the staff group's `#N 改为 报修`, both through handlers/request_changes.recategorize
and `learn_from_recategorize`) and the 待确认 list (handlers/unsure.py) call it. The text is masked
first (phone, ID and room numbers: handlers/privacy.mask_text), as a correction may be exported
into the corpus in git (`linli corpus export`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.privacy import mask_text
from nlp.understanding import LABELS, is_request_label
from storage import learning_repo
from storage import requests_repo as repo
from storage.models_learning import LabelCorrection
from storage.models_requests import Request

log = logging.getLogger("linli.learning")

SOURCES = ("request", "unsure", "command")


def label_of_category(category: str) -> str:
    """A request's category as a label: "repair" -> "report:repair", "policy" -> "inquiry:policy"."""
    return "inquiry:policy" if category == "policy" else f"report:{category}"


def category_of_label(label: str) -> str | None:
    """The request category of a request label ("report:repair" -> "repair"); None for other labels."""
    if not is_request_label(label):
        return None
    return "policy" if label == "inquiry:policy" else label.partition(":")[2]


async def record_correction(session: AsyncSession, *, community: str, text: str, label: str,
                            previous: str | None, actor: repo.Actor, source: str, now: dt.datetime,
                            request_id: int | None = None) -> LabelCorrection:
    """Stores `text` (masked here) with the label staff gave it, and the label the bot had given it."""
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    row = await learning_repo.add_correction(session, LabelCorrection(
        community=community, text=mask_text(text), label=label, previous=previous, actor_id=actor.id,
        actor_name=actor.name, source=source, request_id=request_id, created_at=now))
    log.info("correction %s: %s -> %s by %s (%s)", row.id, previous, label, actor.id, source)
    return row


async def learn_from_recategorize(session: AsyncSession, community: str, request: Request, before: str, *,
                                  actor: repo.Actor, now: dt.datetime, source: str = "command") -> LabelCorrection:
    """What a category change teaches: the request's text with its new category's label (for the
    function that changes a request's category, whichever path called it)."""
    return await record_correction(session, community=community, text=request.text,
                                   label=label_of_category(request.category), previous=label_of_category(before),
                                   actor=actor, source=source, now=now, request_id=request.id)



# --- what training and the corpus get -------------------------------------------------------------

def corpus_row(correction: LabelCorrection) -> dict[str, object]:
    """A correction in the corpus format (nlp/corpus/README.md), with the label the bot had given it
    under "was" (for review; training reads text and label)."""
    return {"id": f"sc-{correction.id}", "text": correction.text, "label": correction.label, "also": [],
            "date": None, "part": None, "was": correction.previous}


def correction_rows(corrections: Iterable[LabelCorrection]) -> list[dict[str, object]]:
    """The labelled rows corrections give (oldest first): one per text, its latest label (staff who
    changed their mind are believed the second time)."""
    latest: dict[str, LabelCorrection] = {}
    for correction in corrections:
        latest.pop(correction.text, None)
        latest[correction.text] = correction
    return [corpus_row(c) for c in latest.values()]


async def load_correction_rows(session: AsyncSession, since: dt.datetime | None = None) -> list[dict[str, object]]:
    """Every correction as a labelled row, for training (`ModelSources.extra`) or export."""
    return correction_rows(await learning_repo.corrections(session, since=since))
