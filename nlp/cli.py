"""The `linli classify`, `eval`, `train` and `explain` commands (bot/cli.py parses the options and calls these)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nlp.classifier import Classifier
from nlp.corpus_eval import format_table, predict_all, score_groups
from nlp.dates import SHANGHAI
from nlp.evaluation import format_report, load_rows
from nlp.understanding import Understanding

# LABELS.md's reference time: the labelled files' dates are relative to it.
EVAL_NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)

Understand = Callable[[str, dt.datetime], Understanding]


def _default_understand() -> Understand:
    from nlp import understand

    return understand


def rules_only_understand() -> Understand:
    """`understand` with the keyword rules alone (how a set is scored against the rules, untouched)."""
    return Classifier.from_config(learned=False).understand


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
    return cmd_eval_files([path], now, stdout, understand)


def cmd_eval_files(paths: Sequence[str], now: dt.datetime | None, stdout: IO[str],
                   understand: Understand | None = None) -> int:
    """Scores the classifier on labelled files: each file's report, a table per file when there are
    several, and the summary over all of them last."""
    understand = understand or _default_understand()
    now = now or EVAL_NOW
    rows: list[dict[str, Any]] = []
    for path in paths:
        try:
            found, problems = load_rows(path)
        except OSError as exc:
            stdout.write(f"linli eval: cannot read {path}: {exc.strerror or exc}\n")
            return 2
        for problem in problems:
            stdout.write(f"skipped {problem}\n")
        name = Path(path).name
        rows += [{**row, "id": f"{name}:{row['id']}" if len(paths) > 1 else row["id"], "source": name,
                  "style": name} for row in found]
    predictions = predict_all(rows, lambda text: understand(text, now), _as_labelled)
    scored = score_groups(rows, predictions)
    if len(paths) > 1:
        stdout.write(format_table(scored).rsplit("\n\nper style:", 1)[0] + "\n\n")
    stdout.write(format_report(scored.total, [f"now: {now.isoformat()}"]) + "\n")
    return 0


def cmd_eval_corpus(stdout: IO[str], cv: int | None = None, rules_only: bool = False,
                    classifier: Classifier | None = None, loso: bool = False) -> int:
    """Scores nlp/corpus/ per file and per style: as the bot reads it now, with `cv` folds (each
    message read by a model trained on the other folds), or with `loso` leaving one style out (each
    style read by a model trained on the others: how a register nobody wrote examples of is read).
    Both held-out ways read only the files training reads. The summary is printed last."""
    from nlp.corpus_eval import corpus_rows, predict_cross_validated

    if cv and loso:
        stdout.write("linli eval: choose --cv K or --loso, not both\n")
        return 2
    if (cv or loso) and rules_only:
        stdout.write(f"linli eval: {'--cv' if cv else '--loso'} trains the model; it cannot be combined"
                     " with --rules-only\n")
        return 2
    if classifier is None:
        classifier = Classifier.from_config(learned=not rules_only)
    if cv or loso:
        rows = corpus_rows(only_training=True)
        predictions = predict_cross_validated(rows, classifier, None if loso else cv, EVAL_NOW, _as_labelled)
        how = (f"leaving one style out: each style read by a model trained on the others' messages"
               f" ({len(rows)} in all)" if loso else
               f"{cv}-fold cross-validation over the {len(rows)} messages training reads")
    else:
        rows = corpus_rows()
        predictions = predict_all(rows, lambda text: classifier.understand(text, EVAL_NOW), _as_labelled)
        how = "as the bot reads it now (" + ("the rules alone" if classifier.model is None else
                                              "the model was trained on these files: inflated") + ")"
    scored = score_groups(rows, predictions)
    stdout.write(format_table(scored) + "\n\n")
    stdout.write(format_report(scored.total, [f"scored: {how}", f"now: {EVAL_NOW.isoformat()}"]) + "\n")
    return 0


def cmd_train(stdout: IO[str], extra: Sequence[dict[str, Any]] = ()) -> int:
    """Trains the model from nlp/corpus/ (and `extra` labelled rows: staff corrections) into the
    cache, whether or not a cached one exists."""
    import time

    from nlp.model import ModelSources, cache_dir
    from nlp.train import train_to_file

    sources = ModelSources(extra=tuple(extra))
    path = cache_dir() / f"model-{sources.key()}.bin"
    start = time.perf_counter()
    count = train_to_file(path, sources)
    stdout.write(f"trained on {count} messages in {time.perf_counter() - start:.1f} s\n{path}\n")
    return 0


def cmd_explain(text: str, now: dt.datetime | None, stdout: IO[str], classifier: Classifier | None = None) -> int:
    """Prints how `text` is read: normalized text, rule hits, the model's top labels, the decision."""
    from nlp.explain import explain, format_explanation

    stdout.write(format_explanation(explain(text, now or dt.datetime.now(SHANGHAI), classifier)) + "\n")
    return 0
