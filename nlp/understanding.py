"""The result of reading one resident message: the `Understanding` every handler receives."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

# The label set is fixed by shared/eval/LABELS.md; configuration adds keywords, never labels.
LABELS: tuple[str, ...] = (
    "booking:haircut",
    "booking:appliance_repair",
    "booking:free_clinic",
    "booking:knife_sharpening",
    "booking:legal_aid",
    "report:repair",
    "report:sanitation",
    "report:safety",
    "report:parking",
    "report:dispute",
    "report:elderly_care",
    "inquiry:policy",
    "query:today_activity",
    "query:my_bookings",
    "cancel_booking",
    "chitchat",
)

Part = Literal["am", "pm"]


@dataclass(frozen=True)
class Understanding:
    """What a message asks for.

    `service` is set for `booking:*` labels (the part after the colon, e.g. "haircut"),
    `category` for `report:*` (e.g. "repair") and for `inquiry:policy` ("policy").
    `date`/`part` follow LABELS.md and are filled for booking-like messages
    (booking:*, cancel_booking) that name a day or part of day; `date` is also the day
    a `query:today_activity` question asks about when it is not today ("明天有啥活动"),
    None for today's. (`linli classify` / `linli eval` show dates for booking-like labels only.)
    `ranked` holds the labels in the running, best first: the learned model's probabilities
    (with the rules alone: every label that scored, and chit-chat at the threshold). `confidence`
    is the probability of `label`; `confident` says whether it reaches config/nlp/model.yaml's
    level, `may_be_request` whether a report or policy question is possible though not confident
    (kept for staff), and `reason` why `label` won (nlp/decide.py). `extras["ambiguous_with"]`
    names a runner-up too close to tell apart, so a handler can ask.
    """

    label: str
    confidence: float = 0.0
    service: str | None = None
    category: str | None = None
    date: dt.date | None = None
    part: Part | None = None
    keywords: tuple[str, ...] = ()
    ranked: tuple[tuple[str, float], ...] = ()
    text: str = ""  # the normalized text the rules saw
    item: str | None = None  # what is to be repaired / sharpened, e.g. "热水壶"
    weekday_named: bool = False  # the date came from a weekday word (周六), not a calendar date
    extras: dict[str, str] = field(default_factory=dict, compare=False)
    reason: str = ""
    confident: bool = True
    may_be_request: bool = False

    @property
    def is_chitchat(self) -> bool:
        return self.label == "chitchat"

    @property
    def is_booking(self) -> bool:
        return self.label.startswith("booking:")

    @property
    def is_request(self) -> bool:
        return is_request_label(self.label)


def is_request_label(label: str) -> bool:
    """A report to the community or a policy question: what handlers/requests.py files."""
    return label.startswith("report:") or label == "inquiry:policy"
