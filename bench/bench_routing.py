"""What the menu and 待确认 add to every message: routing with and without their three handlers.

Run from the repository root:

    .venv/bin/python bench/bench_routing.py [--rounds 7]

The dev messages (nlp/corpus/dev.jsonl), read once by `understand()`, are routed as a residents' group
sees them (one in ten @-mentions the bot) by the production registry (`default_handlers()`) and by
the same registry without HelpHandler, UnsureHandler and MenuHandler (the registry before them),
alternating rounds in one process; `understand()` over the same messages is timed in the same rounds
for scale. Only `Router.route` (every handler's `match` until one takes the message) is timed: the
handlers' work is the same either way. Medians of µs a message; the difference and the ratio
are taken per round (the machine is shared), then their median.
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
from nlp import Classifier  # noqa: E402

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
NEW = {"help", "unsure", "menu"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    community = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    classifier = Classifier.from_config()
    texts = [json.loads(line)["text"] for line in (ROOT / "nlp/corpus/dev.jsonl").read_text("utf-8").splitlines()
             if line.strip()]
    incoming = []
    for i, text in enumerate(texts):
        message = Message("sim", community.id, "g-res-1", "r-zhang", "张秀兰", text, f"b{i}", NOW,
                          mentions_bot=i % 10 == 0)
        incoming.append(Incoming(message, classifier.read(text, NOW), community, NOW))
    after = Router(default_handlers())
    before = Router([h for h in default_handlers() if h.name not in NEW])
    timings: dict[str, list[float]] = {"before": [], "after": [], "understand": []}
    repeat = 20
    for _ in range(args.rounds):
        for name, router in (("before", before), ("after", after)):
            start = time.perf_counter()
            for _ in range(repeat):
                for item in incoming:
                    router.route(item)
            timings[name].append((time.perf_counter() - start) / (repeat * len(incoming)) * 1e6)
        start = time.perf_counter()
        for text in texts:
            classifier.read(text, NOW)
        timings["understand"].append((time.perf_counter() - start) / len(texts) * 1e6)
    med = {name: statistics.median(values) for name, values in timings.items()}
    print(f"{len(texts)} dev messages, {args.rounds} rounds, medians (µs a message):")
    for name in ("before", "after"):
        print(f"  route, {name:<6} {med[name]:7.2f}  ({' / '.join(f'{v:.2f}' for v in timings[name])})")
    print(f"  understand()  {med['understand']:7.1f}")
    # Paired by round (the machine is shared: a busy round slows both), then the median.
    added = statistics.median(a - b for a, b in zip(timings["after"], timings["before"], strict=True))
    ratio = statistics.median(a / b for a, b in zip(timings["after"], timings["before"], strict=True))
    print(f"added by the three handlers (per-round pairs): {added:.2f} µs a message "
          f"= {100 * added / med['understand']:.2f}% of understand(); route after/before {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
