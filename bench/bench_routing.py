"""Routing cost of issue 18's handlers: `Router.route` over the labelled corpus, with today's handler
list against the list as it was before issue 18 (the same run, rounds interleaved).

    .venv/bin/python bench/bench_routing.py [--rounds 7]

Issue 18 put seven handlers in front of (or beside) the label handlers, each reading the text
(notices, check-in, volunteers, questions, activities, a bare "圣诞节理发"). Their `match` runs for
every message; `handle` only for the few they take, so routing is what every message pays more.
Understanding is computed once beforehand (not timed); each message is routed as the pipeline
does (no pending question). Prints µs per message for both lists and their ratio (median of rounds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.routing import Router, default_handlers  # noqa: E402
from config.loader import load_directory  # noqa: E402
from config.settings import DEFAULT_COMMUNITY_FILE  # noqa: E402
from core.message import Message  # noqa: E402
from handlers.base import Incoming  # noqa: E402
from handlers.booking import BookingHandler  # noqa: E402
from nlp import understand  # noqa: E402

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ISSUE_18 = {"notices", "notice_reply", "check_in", "volunteer_sessions", "volunteer_absence", "availability_question",
            "activity_question", "addressed_exit"}


class LabelOnlyBooking(BookingHandler):
    """The booking handler's match before issue 18: the label alone."""

    def match(self, incoming: Incoming) -> str | None:
        u = incoming.understanding
        return (u.service or u.label.partition(":")[2]) if u.is_booking else None


def corpus() -> list[str]:
    texts = []
    for path in sorted((ROOT / "nlp" / "corpus").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


def incomings(texts: list[str]) -> list[Incoming]:
    community = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    found = []
    for i, text in enumerate(texts):
        message = Message("sim", community.id, "g-res-1", "r-zhang", "张秀兰", text, f"m{i}", NOW)
        found.append(Incoming(message, understand(text, NOW), community, NOW))
    return found


def time_routing(router: Router, items: list[Incoming]) -> float:
    start = time.process_time()
    for incoming in items:
        incoming.__dict__.pop("text", None)  # the cached normalized text: as fresh as in the pipeline
        router.route(incoming)
    return (time.process_time() - start) / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    items = incomings(corpus())
    now_list = default_handlers()
    before = [LabelOnlyBooking() if h.name == "booking" else h for h in now_list if h.name not in ISSUE_18]
    routers = {"before": Router(before), "issue 18": Router(now_list)}
    for router in routers.values():
        time_routing(router, items)  # warm: regex compiles, calendar caches
    times: dict[str, list[float]] = {name: [] for name in routers}
    for _ in range(args.rounds):
        for name, router in routers.items():
            times[name].append(time_routing(router, items))
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{len(items)} messages of nlp/corpus, {args.rounds} rounds, CPU µs per message (median):")
    for name, value in medians.items():
        print(f"  {name:9} {value:7.1f}")
    print(f"  ratio    {medians['issue 18'] / medians['before']:7.2f}")
    ratios = [b / a for a, b in zip(times["before"], times["issue 18"], strict=True)]
    print(f"  per-round ratio median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
