"""Every corpus message's whole reading, one JSON line each: to show that a change meant to make reading
faster (or the code tidier) reads every message the same.

Run from the repository root, before and after the change, and compare:

    .venv/bin/python bench/readings_dump.py /tmp/before.jsonl
    ... change ...
    .venv/bin/python bench/readings_dump.py /tmp/after.jsonl && cmp /tmp/before.jsonl /tmp/after.jsonl

A line holds the text, the `Understanding` (label, confidence, ranked labels, reason, slots) and the
analysis behind it (rule hits, cue and topic sums, scores, notes, day, part, items, alarms, why a
request), at a fixed reference time. `linli eval --corpus` gives the scores; this gives the readings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the JSON Lines file to write")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from nlp import default_classifier
    from nlp.corpus_files import corpus_files, read_rows

    classifier = default_classifier()
    count = 0
    with args.out.open("w", encoding="utf-8") as out:
        for file in corpus_files():
            for row in read_rows(file):
                text = row["text"]
                a = classifier.analyze(text, NOW)
                reading = [
                    text, repr(classifier.read(text, NOW)),
                    [(h.term, h.start, h.end, sorted(h.names)) for h in a.hits],
                    sorted(a.cues.items()), sorted(a.topic.items()), sorted(a.scores.items()),
                    sorted(a.notes.items()), repr(a.day), repr(a.part), a.item, a.bare, sorted(a.items.items()),
                    a.alarms, a.request,
                ]
                out.write(json.dumps(reading, ensure_ascii=False, default=str) + "\n")
                count += 1
    print(f"{count} readings written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
