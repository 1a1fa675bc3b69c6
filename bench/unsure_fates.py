"""What becomes of messages in a residents' group now that unsure ones are kept for staff (待确认).

Run from the repository root:

    .venv/bin/python bench/unsure_fates.py [--cv 5]

Each message the corpus trains on is read as the bot reads it, with the model of the cross-validation
fold that left it out (nlp/corpus_eval.py), and sorted by what happens to it unaddressed in a group:
filed as a request (answered in the group), kept for staff (`may_be_request`: no reply, listed as
待确认), silent (chit-chat), or taken by another handler (bookings, questions, cancelling). Kept
messages are split by the label they were read as: a request label (filed before 待确认 existed) or
chit-chat (silent before).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp import Classifier  # noqa: E402
from nlp.cli import EVAL_NOW  # noqa: E402
from nlp.corpus_eval import corpus_rows, predict_cross_validated  # noqa: E402
from nlp.understanding import Understanding, is_request_label  # noqa: E402


def fate(u: Understanding, gold: str, also: list[str]) -> str:
    if u.may_be_request:
        before = "a request label" if u.is_request else "chit-chat"
        right = " (the right one)" if u.is_request and (u.label == gold or u.label in also) else ""
        return f"kept, read as {before}{right}"
    if u.is_request:
        if not is_request_label(gold) or u.label == gold or u.label in also:
            return "filed"
        return "filed as another request"
    return "silent" if u.is_chitchat else "another handler"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=int, default=5)
    args = parser.parse_args()
    classifier = Classifier.from_config()
    rows = corpus_rows(only_training=True)
    read = predict_cross_validated(rows, classifier, args.cv, EVAL_NOW, lambda u: u)
    fates: dict[str, Counter[str]] = {"request": Counter(), "chit-chat": Counter(), "other": Counter()}
    for row in rows:
        gold = row["label"]
        kind = "request" if is_request_label(gold) else "chit-chat" if gold == "chitchat" else "other"
        fates[kind][fate(read[str(row["id"])], gold, list(row.get("also") or ()))] += 1  # type: ignore[arg-type]
    print(f"{len(rows)} corpus messages, {args.cv}-fold cross-validation, unaddressed in a residents' group:")
    for kind, counts in fates.items():
        total = sum(counts.values())
        print(f"  gold {kind} ({total}):")
        for name, count in counts.most_common():
            print(f"    {name:<48} {count:5d}  {100 * count / total:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
