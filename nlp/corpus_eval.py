"""The corpus scored per file and per style: as the bot reads it now, by k-fold cross-validation, or
leaving one style out.

Scored as the bot reads it now, a file the model was trained on (and the rules tuned on) scores
high and says little; cross-validation scores each message with a model that never saw it (the
rules, though, were tuned on every file: see nlp/crossval.py). The honest figures for new styles
are the untouched scores in nlp/corpus/README.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nlp.classifier import Classifier
from nlp.corpus_files import CORPUS_DIR, CorpusFile, Row, corpus_files, read_rows
from nlp.decide import decide, understanding
from nlp.evaluation import Prediction, Report, evaluate
from nlp.understanding import Understanding

Predict = Callable[[str], Prediction]


@dataclass(frozen=True)
class Scored:
    """A report for the whole, and one per file and per style."""

    total: Report
    by_file: dict[str, Report]
    by_style: dict[str, Report]


def score_groups(rows: Sequence[Row], predictions: dict[str, Prediction]) -> Scored:
    """Reports over `rows` (with `source` and `style`), each row's prediction looked up by its id."""
    def report(subset: Sequence[Row]) -> Report:
        by_text = {row["text"]: predictions[str(row["id"])] for row in subset}
        return evaluate(subset, lambda text: by_text[text])

    files: dict[str, list[Row]] = {}
    styles: dict[str, list[Row]] = {}
    for row in rows:
        files.setdefault(row["source"], []).append(row)
        styles.setdefault(row["style"], []).append(row)
    # Rows of one text in one file share a prediction (report() keys by text within a subset).
    return Scored(report(rows), {k: report(v) for k, v in files.items()}, {k: report(v) for k, v in styles.items()})


def corpus_rows(files: Sequence[CorpusFile] | None = None, only_training: bool = False) -> list[Row]:
    """Rows of the corpus (every file, or those training reads)."""
    files = corpus_files(CORPUS_DIR) if files is None else files
    return [row for f in files if f.train or not only_training for row in read_rows(f)]


def predict_all(rows: Sequence[Row], understand: Callable[[str], Understanding],
                as_labelled: Callable[[Understanding], Prediction]) -> dict[str, Prediction]:
    """Each row's prediction as the bot reads it now, by row id."""
    return {str(row["id"]): as_labelled(understand(row["text"])) for row in rows}


def predict_cross_validated(rows: Sequence[Row], classifier: Classifier, k: int | None, now: dt.datetime,
                            as_labelled: Callable[[Understanding], Prediction]) -> dict[str, Prediction]:
    """Each row's prediction with a model that never saw it, decided as the bot decides: the model
    of the fold that left it out (`k` folds), or with `k` None the model trained on every other
    style (leave one style out, nlp/crossval.py)."""
    from nlp.crossval import leave_one_style_out, out_of_fold
    from nlp.features import load_model_settings, rule_tags

    model = classifier.model
    settings = model.settings if model is not None else load_model_settings()
    analyses = [classifier.analyze(row["text"], now) for row in rows]
    reads = [(a.text, rule_tags(a.hits)) for a in analyses]
    probabilities = (leave_one_style_out(rows, reads, settings) if k is None
                     else out_of_fold(rows, reads, settings, k))
    out: dict[str, Prediction] = {}
    for row, analysis, probs in zip(rows, analyses, probabilities, strict=True):
        decision = decide(analysis, probs if analysis.text else None, classifier.rules.settings, settings.decision)
        out[str(row["id"])] = as_labelled(understanding(analysis, decision))
    return out


def format_table(scored: Scored) -> str:
    """Per file and per style: messages, accuracy, chit-chat answered, requests missed, date+part exact."""
    head = f"{'':34} {'msgs':>5} {'accuracy':>9} {'chit-chat':>10} {'requests':>9} {'date+part':>10}"
    sub = f"{'':34} {'':>5} {'':>9} {'answered':>10} {'missed':>9} {'exact':>10}"

    def line(name: str, r: Report) -> str:
        def pct(rate) -> str:  # type: ignore[no-untyped-def]
            return f"{100 * rate.share:.1f}%" if rate.total else "-"

        return (f"{name:34} {r.accuracy.total:5d} {pct(r.accuracy):>9} {pct(r.chit_as_request):>10}"
                f" {pct(r.request_as_chit):>9} {pct(r.date_accuracy):>10}")

    lines = ["per file:", head, sub, *(line(n, r) for n, r in scored.by_file.items()), "",
             "per style:", head, sub, *(line(n, r) for n, r in sorted(scored.by_style.items())), "",
             line("all", scored.total)]
    return "\n".join(lines)
