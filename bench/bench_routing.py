"""What a group of handlers adds to every message: `Router.route` with today's handler list against the
list without them, over the labelled corpus (the same run, rounds interleaved).

    .venv/bin/python bench/bench_routing.py --without menu [--rounds 7]         # issue 14's help/待确认/menu
    .venv/bin/python bench/bench_routing.py --without operations [--rounds 7]   # issue 18's seven handlers

A handler's `match` runs for every message until one takes it; `handle` only for the few it takes, so
routing is what every message pays more. Understanding is computed once beforehand (and timed in the
same rounds, for scale); each message is routed as the pipeline does (no pending question; one in ten
@-mentions the bot). CPU µs per message; the ratio and the difference are taken per round (the machine
is shared: a busy round slows both lists), then their median.
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
from handlers.base import Handler, Incoming  # noqa: E402
from handlers.booking import BookingHandler  # noqa: E402
from nlp import understand  # noqa: E402

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
# The handlers each change added, by name (Handler.name).
GROUPS = {
    "menu": {"help", "unsure", "menu"},
    "operations": {"notices", "notice_reply", "check_in", "volunteer_sessions", "volunteer_absence",
                   "availability_question", "activity_question", "addressed_exit"},
}


class LabelOnlyBooking(BookingHandler):
    """The booking handler's match before issue 18 (which reads questions in it): the label alone."""

    def match(self, incoming: Incoming) -> str | None:
        u = incoming.understanding
        return (u.service or u.label.partition(":")[2]) if u.is_booking else None


def without(group: str) -> list[Handler]:
    removed = GROUPS[group]
    handlers = [h for h in default_handlers() if h.name not in removed]
    if group == "operations":
        handlers = [LabelOnlyBooking() if h.name == "booking" else h for h in handlers]
    return handlers


def corpus() -> list[str]:
    return [json.loads(line)["text"] for path in sorted((ROOT / "nlp" / "corpus").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def incomings(texts: list[str]) -> list[Incoming]:
    community = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    return [Incoming(Message("sim", community.id, "g-res-1", "r-zhang", "张秀兰", text, f"m{i}", NOW,
                             mentions_bot=i % 10 == 0), understand(text, NOW), community, NOW)
            for i, text in enumerate(texts)]


def time_routing(router: Router, items: list[Incoming]) -> float:
    start = time.process_time()
    for incoming in items:
        incoming.__dict__.pop("text", None)  # the cached normalized text: as fresh as in the pipeline
        router.route(incoming)
    return (time.process_time() - start) / len(items) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without", choices=sorted(GROUPS), required=True)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    texts = corpus()
    items = incomings(texts)
    routers = {"before": Router(without(args.without)), "today": Router(default_handlers())}
    for router in routers.values():
        time_routing(router, items)  # warm: regex compiles, calendar caches
    times: dict[str, list[float]] = {"before": [], "today": [], "understand": []}
    for _ in range(args.rounds):
        for name, router in routers.items():
            times[name].append(time_routing(router, items))
        start = time.process_time()
        for text in texts[:500]:
            understand(text + " ", NOW)  # past the memo
        times["understand"].append((time.process_time() - start) / 500 * 1e6)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{len(items)} messages of nlp/corpus, {args.rounds} rounds, CPU µs per message (median):")
    for name, value in medians.items():
        print(f"  {name:10} {value:7.1f}")
    pairs = list(zip(times["before"], times["today"], strict=True))
    added = statistics.median(b - a for a, b in pairs)
    ratios = [b / a for a, b in pairs]
    print(f"  added by '{args.without}': {added:.1f} µs a message = {100 * added / medians['understand']:.1f}% of "
          f"understand(); per-round ratio median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
