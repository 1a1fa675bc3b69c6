"""The `linli classify` and `linli eval` commands (bot/cli.py parses the options and calls these)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from nlp.dates import SHANGHAI
from nlp.evaluation import evaluate, format_report, load_rows
from nlp.understanding import Understanding

# LABELS.md's reference time: the labelled files' dates are relative to it.
EVAL_NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)

Understand = Callable[[str, dt.datetime], Understanding]


def _default_understand() -> Understand:
    from nlp import understand

    return understand


@dataclass(frozen=True)
class _Labelled:
    """What the labelled files hold for a message: the label, and a day only for bookings."""

    label: str
    date: dt.date | None
    part: str | None


def _as_labelled(u: Understanding) -> _Labelled:
    """LABELS.md gives `date`/`part` for booking messages only; `understand()` also dates an
    activity question ("明天有啥活动") for its handler, which the labelled files do not."""
    dated = u.label.startswith("booking:") or u.label == "cancel_booking"
    return _Labelled(u.label, u.date if dated else None, u.part if dated else None)


def _record(u: Understanding, ident: Any, has_id: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": ident} if has_id else {}
    seen = _as_labelled(u)
    out.update(
        label=seen.label,
        date=seen.date.isoformat() if seen.date else None,
        part=seen.part,
        confidence=u.confidence,
    )
    return out


def cmd_classify(now: dt.datetime | None, stdin: IO[str], stdout: IO[str],
                 understand: Understand | None = None) -> int:
    """Reads JSON Lines (objects with "text"; a non-JSON line is the text itself) and writes one
    JSON object per non-blank line, in order. A bad line gets {"error": ...} and the rest runs."""
    understand = understand or _default_understand()
    for number, line in enumerate(stdin, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        ident: Any = None
        has_id = False
        try:
            value = json.loads(line)
        except ValueError:
            value = {"text": line}  # plain text, one message a line
        if not isinstance(value, dict):
            got = type(value).__name__
            out: dict[str, Any] = {"error": f"line {number}: expected a JSON object with a \"text\", got {got}"}
        else:
            has_id, ident = "id" in value, value.get("id")
            text = value.get("text")
            if not isinstance(text, str):
                out = {"error": f"line {number}: \"text\" must be a string"}
                if has_id:
                    out = {"id": ident, **out}
            else:
                out = _record(understand(text, now or dt.datetime.now(SHANGHAI)), ident, has_id)
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def cmd_eval(path: str, now: dt.datetime | None, stdout: IO[str], understand: Understand | None = None) -> int:
    """Scores the classifier on a labelled file; the summary is printed last."""
    understand = understand or _default_understand()
    now = now or EVAL_NOW
    try:
        rows, problems = load_rows(path)
    except OSError as exc:
        stdout.write(f"linli eval: cannot read {path}: {exc.strerror or exc}\n")
        return 2
    for problem in problems:
        stdout.write(f"skipped {problem}\n")
    report = evaluate(rows, lambda text: _as_labelled(understand(text, now)))
    stdout.write(format_report(report, [f"now: {now.isoformat()}"]) + "\n")
    return 0
