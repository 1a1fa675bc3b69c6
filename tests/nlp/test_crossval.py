"""Cross-validation over the whole corpus: each message read by a model trained without it.

The honest floor of the learned model (the rules were tuned on the older files, so where they step
in the figure leans a little optimistic; nlp/crossval.py). 3 folds to keep the test quick: 5 folds
(`linli eval --cv 5`, BENCHMARKS.md) train on more and score a little higher.
"""

from __future__ import annotations

import io

from nlp.cli import cmd_eval_corpus


def test_cross_validated_floors() -> None:
    out = io.StringIO()
    assert cmd_eval_corpus(out, cv=3) == 0
    summary = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in out.getvalue().splitlines()
               if ": " in line and not line.startswith(" ")}
    print(out.getvalue())

    def share(key: str) -> float:
        return float(summary[key].split("%")[0]) / 100

    assert int(summary["messages"]) >= 4500
    assert share("accuracy") >= 0.965
    assert share("chit-chat taken as request") <= 0.03
    assert share("request taken as chit-chat") <= 0.03
    assert share("date+part exact on bookings") >= 0.97


def test_leaving_one_style_out_never_trains_on_the_style_it_scores(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from nlp import crossval
    from nlp.features import load_model_settings

    rows = [{"text": t, "label": label, "style": style} for t, label, style in (
        ("电梯坏了", "report:repair", "a"), ("谢谢", "chitchat", "a"), ("我要理发", "booking:haircut", "b"),
        ("谢谢", "chitchat", "b"), ("楼道灯不亮", "report:repair", "c"), ("早上好", "chitchat", "c"))]
    reads = [(row["text"], frozenset()) for row in rows]
    trained_on: list[set[str]] = []
    real_fit = crossval.fit

    # Too few rows to fit on: each fold's model is fitted on a canned set instead, and what it
    # would have been trained on is recorded.
    canned = [(t, frozenset()) for t in ("电梯坏了", "水管漏水", "路灯不亮", "谢谢", "早上好", "收到", "理发", "剪头",
                                           "推个头")]

    def recording_fit(messages, labels, settings, featurize):  # type: ignore[no-untyped-def]
        trained_on.append({text for text, _ in messages})
        return real_fit(canned, ["report:repair"] * 3 + ["chitchat"] * 3 + ["booking:haircut"] * 3, settings,
                        featurize)

    monkeypatch.setattr(crossval, "fit", recording_fit)
    settings = load_model_settings().model_copy(update={"features": load_model_settings().features.model_copy(
        update={"min_count": 1})})
    got = crossval.leave_one_style_out(rows, reads, settings)
    assert len(got) == len(rows) and all(abs(sum(p.values()) - 1) < 1e-6 for p in got)
    # One model per style, none trained on a text of the style it reads ("谢谢" of style b is left
    # out when style a is scored: a twin is never seen).
    assert trained_on == [{"我要理发", "楼道灯不亮", "早上好"}, {"电梯坏了", "楼道灯不亮", "早上好"},
                          {"电梯坏了", "谢谢", "我要理发"}]


def test_loso_and_cv_are_one_or_the_other() -> None:
    out = io.StringIO()
    assert cmd_eval_corpus(out, cv=3, loso=True) == 2
    assert "not both" in out.getvalue()


# Styles nobody here wrote examples of before session 5, each read by a model trained on every other
# style (`linli eval --loso` reads all of them; BENCHMARKS.md has the figures): a floor for how the
# bot reads a register it has not learned from. Set a little below what session 6 measured.
UNSEEN_STYLE_FLOORS = {  # style: (accuracy, chit-chat answered at most, requests missed at most)
    "gov-board-letters": (0.85, 0.05, 0.14),  # measured 87.1%, 0.0%, 11.2%
    # 92.2%, 6.9%, 6.6% since the eighth and ninth rounds were learned (before: 91.0%, 19.4%, 2.7%):
    # a thousand more messages, a third of them long warm chit-chat, made a long story read as
    # chit-chat unless its ask stands out; an ask in the middle of one is now missed more often
    # (kept for staff as 待确认 when a request label scores near the top).
    "long-stories": (0.88, 0.12, 0.09),
    "cantonese-traditional": (0.92, 0.04, 0.08),  # 94.8%, 1.3%, 6.2%
    # 89.1%, 0.0%, 15.1% since the eighth and ninth rounds (at 0c0ccc2: 89.1%, 1.9%, 12.8%): two of
    # 86 requests moved from a wrong label or a hit to silence, one chit-chat answered no more.
    "quoted-replies": (0.88, 0.05, 0.17),
}


def test_styles_left_out_floors() -> None:
    from nlp import Classifier
    from nlp.cli import EVAL_NOW, _as_labelled
    from nlp.corpus_eval import corpus_rows
    from nlp.crossval import leave_styles_out
    from nlp.decide import decide, understanding
    from nlp.evaluation import evaluate
    from nlp.features import load_model_settings
    from nlp.train import read_all, reader

    rows = corpus_rows(only_training=True)
    classifier = Classifier.from_config(learned=False)
    settings = load_model_settings()
    # Every message as training reads it (the words alone); the whole reading only for the styles scored.
    held = leave_styles_out(rows, read_all([row["text"] for row in rows], reader(settings)), settings,
                            UNSEEN_STYLE_FLOORS)
    for style, (accuracy, answered, missed) in UNSEEN_STYLE_FLOORS.items():
        index = [i for i, row in enumerate(rows) if row["style"] == style]
        analyses = {i: classifier.analyze(rows[i]["text"], EVAL_NOW) for i in index}
        read = {rows[i]["text"]: _as_labelled(understanding(analyses[i], decide(
            analyses[i], held[i], classifier.rules.settings, settings.decision))) for i in index}
        report = evaluate([rows[i] for i in index], read.__getitem__)
        print(style, report.accuracy, report.chit_as_request, report.request_as_chit)
        assert report.accuracy.share >= accuracy, (style, report.accuracy, report.confusions)
        assert report.chit_as_request.share <= answered, (style, report.chit_as_request)
        assert report.request_as_chit.share <= missed, (style, report.request_as_chit)
