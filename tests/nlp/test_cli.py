"""`linli classify` / `linli eval` as nlp.cli runs them, on in-memory streams."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from nlp import Classifier
from nlp.cli import (
    EVAL_NOW,
    cmd_classify,
    cmd_eval,
    cmd_eval_corpus,
    cmd_eval_files,
    cmd_explain,
    rules_only_understand,
)
from nlp.evaluation import Rate, evaluate

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def classify(lines: list[str], now: dt.datetime | None = NOW) -> list[dict]:
    out = io.StringIO()
    assert cmd_classify(now, io.StringIO("\n".join(lines) + "\n"), out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_classify_keeps_order_and_ids() -> None:
    got = classify([
        json.dumps({"id": "a1", "text": "周六上午理发还有号没"}, ensure_ascii=False),
        json.dumps({"id": 7, "text": "收到"}, ensure_ascii=False),
        json.dumps({"text": "电梯又坏了"}, ensure_ascii=False),
    ])
    assert [g.get("id") for g in got] == ["a1", 7, None]
    assert "id" not in got[2]
    assert got[0] == {"id": "a1", "label": "booking:haircut", "date": "2026-11-28", "part": "am",
                      "confidence": got[0]["confidence"]}
    assert 0 < got[0]["confidence"] <= 1
    assert [g["label"] for g in got] == ["booking:haircut", "chitchat", "report:repair"]


def test_classify_takes_plain_text_lines_and_skips_blank_ones() -> None:
    got = classify(["明天下午理髮", "", "   ", "谢谢"])
    assert [(g["label"], g["date"], g["part"]) for g in got] == [
        ("booking:haircut", "2026-11-26", "pm"), ("chitchat", None, None)]


def test_a_bad_line_gets_an_error_and_the_rest_runs() -> None:
    got = classify([
        "[1, 2]",
        json.dumps({"id": "x", "text": 5}),
        json.dumps({"id": "y"}),
        "42",
        json.dumps({"id": "z", "text": "磨刀"}, ensure_ascii=False),
    ])
    assert len(got) == 5
    assert "error" in got[0] and "id" not in got[0]
    assert got[1]["id"] == "x" and "error" in got[1]
    assert got[2]["id"] == "y" and "error" in got[2]
    assert "error" in got[3]
    assert got[4] == {"id": "z", "label": "booking:knife_sharpening", "date": None, "part": None,
                      "confidence": got[4]["confidence"]}


def test_classify_output_is_readable_chinese() -> None:
    out = io.StringIO()
    cmd_classify(NOW, io.StringIO('{"id": "中", "text": "理发"}\n'), out)
    assert '"中"' in out.getvalue()


def test_classify_defaults_to_the_current_time() -> None:
    got = classify(["明天上午理发"], now=None)
    assert got[0]["date"] == (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=1)).isoformat()


def test_eval_prints_the_summary_last(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    rows = [
        {"id": "m1", "text": "周六上午理发", "label": "booking:haircut", "also": [],
         "date": "2026-11-28", "part": "am"},
        {"id": "m2", "text": "收到", "label": "chitchat", "also": [], "date": None, "part": None},
        {"id": "m3", "text": "收到", "label": "report:repair", "also": [], "date": None, "part": None},
        {"id": "m4", "text": "消防通道又被车堵死了", "label": "report:parking", "also": ["report:safety"],
         "date": None, "part": None},
        {"id": "m5", "text": "明天理发", "label": "booking:haircut", "also": [], "date": "2026-11-27", "part": None},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")
    out = io.StringIO()
    assert cmd_eval(str(path), None, out) == 0
    text = out.getvalue()
    tail = text.splitlines()[-8:]
    assert tail[0] == "== summary =="
    assert "accuracy: 80.0% (4/5)" in tail
    assert "chit-chat taken as request: 0.0% (0/1)" in tail
    assert "request taken as chit-chat: 25.0% (1/4)" in tail
    assert "date+part exact on bookings: 50.0% (1/2)" in tail
    assert tail[-1] == f"now: {EVAL_NOW.isoformat()}"
    assert "report:repair -> chitchat: 1 m3" in text
    assert "m5: 2026-11-27 None | 2026-11-26 None" in text
    assert "skipped" in text and ":6: not JSON" in text
    assert "prec" in text and "booking:haircut" in text


def test_eval_of_a_missing_file(tmp_path: Path) -> None:
    out = io.StringIO()
    assert cmd_eval(str(tmp_path / "nope.jsonl"), None, out) == 2
    assert "cannot read" in out.getvalue()


def test_evaluate_counts_also_as_right() -> None:
    classifier = Classifier.from_config()
    rows = [{"id": "1", "text": "消防通道又被几辆私家车堵死了", "label": "report:parking", "also": ["report:safety"]}]
    report = evaluate(rows, lambda t: classifier.understand(t, NOW))
    predicted = classifier.understand(rows[0]["text"], NOW).label
    assert predicted in ("report:parking", "report:safety")
    assert report.accuracy == Rate(1, 1)
    # An accepted alternative counts as that label for precision and recall alike.
    assert report.per_label[predicted].recall == report.per_label[predicted].precision == 1.0


def test_classify_dates_only_bookings_as_labels_md_says() -> None:
    """understand() dates an activity question for its handler; the labelled files do not."""
    from nlp import understand

    assert understand("明天社区有啥活动", NOW).date == dt.date(2026, 11, 26)
    got = classify(["明天社区有啥活动", "下周六的磨刀帮我退了吧"])
    assert [(g["label"], g["date"]) for g in got] == [
        ("query:today_activity", None), ("cancel_booking", "2026-12-05")]


def test_eval_of_several_files_has_a_line_per_file_and_the_summary_last(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps({"id": "1", "text": "周六上午理发", "label": "booking:haircut",
                             "date": "2026-11-28", "part": "am"}, ensure_ascii=False) + "\n", encoding="utf-8")
    b.write_text(json.dumps({"id": "1", "text": "收到", "label": "chitchat"}, ensure_ascii=False) + "\n"
                 + json.dumps({"id": "2", "text": "电梯又坏了", "label": "chitchat"}, ensure_ascii=False) + "\n",
                 encoding="utf-8")
    out = io.StringIO()
    assert cmd_eval_files([str(a), str(b)], None, out) == 0
    text = out.getvalue()
    assert [line.split()[:3] for line in text.splitlines() if line.startswith(("a.jsonl", "b.jsonl"))] == [
        ["a.jsonl", "1", "100.0%"], ["b.jsonl", "2", "50.0%"]]
    assert "accuracy: 66.7% (2/3)" in text.splitlines()[-8:]


def test_eval_with_the_rules_alone() -> None:
    got = rules_only_understand()("我要理发", NOW)
    assert got.label == "chitchat" and got.reason.startswith("the rules")  # what the issue found
    assert Classifier.from_config().understand("我要理发", NOW).label == "booking:haircut"


def test_eval_of_the_corpus_per_file_and_style() -> None:
    out = io.StringIO()
    assert cmd_eval_corpus(out) == 0
    text = out.getvalue()
    assert "per file:" in text and "per style:" in text
    styles = text.split("per style:")[1]
    for style in ("dev", "everyday", "voice", "elderly-spaced", "gov-board-titles"):
        assert f"\n{style} " in styles
    assert text.splitlines()[-2].startswith("scored: as the bot reads it now")


def test_cross_validation_holds_each_fold_out() -> None:
    """Each message is read by a model that never saw it (nor its twin with the same text)."""
    from nlp.corpus_eval import corpus_rows
    from nlp.crossval import out_of_fold
    from nlp.features import load_model_settings
    from nlp.train import reader

    rows = [r for r in corpus_rows(only_training=True) if r["source"] == "dev.jsonl"]
    rows += [{**rows[0], "id": "twin"}]  # the same text twice: always in one fold
    read = reader(load_model_settings())
    held = out_of_fold(rows, [read(r["text"]) for r in rows], load_model_settings(), 3)
    assert len(held) == len(rows) and held[0] == held[-1]
    assert all(abs(sum(p.values()) - 1) < 1e-9 for p in held)
    right = sum(max(p, key=p.get) == r["label"] for p, r in zip(held, rows, strict=True))
    assert 0.6 < right / len(rows) < 0.99  # learned from 160 messages: far from perfect, far from chance


def test_explain_shows_every_step() -> None:
    out = io.StringIO()
    assert cmd_explain("我 想 约 义 诊 ！！！明天 行 吗", NOW, out) == 0
    text = out.getvalue()
    assert "normalized: 我想约义诊 !明天 行吗" in text
    assert "义诊 @3: keyword booking:free_clinic" in text
    assert "learned model (top labels): booking:free_clinic" in text
    assert "decision: booking:free_clinic (by model" in text and "why: the model" in text
    assert "slots: service free_clinic, date 2026-11-26" in text


def test_explain_returns_the_structure_the_staff_page_reuses() -> None:
    from nlp.explain import explain

    got = explain("3号楼楼道灯坏了好几天了 我电话13912345678", NOW)
    assert got.understanding.label == "report:repair" and got.decision.by in ("model", "rules")
    assert got.model is not None and got.model[0][0] == "report:repair"
    assert any(hit.term == "楼道灯" for hit in got.hits)
    assert got.rules_label == "report:repair"


def test_linli_explain_and_train_commands(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main
    from nlp import model as model_module

    assert main(["explain", "收到", "--now", "2026-11-25T10:00:00+08:00"]) == 0
    assert "decision: chitchat" in capsys.readouterr().out
    monkeypatch.setenv(model_module.CACHE_ENV, str(tmp_path))
    assert main(["train"]) == 0
    out = capsys.readouterr().out
    assert "trained on" in out and list(tmp_path.glob("model-*.bin"))
    assert main(["eval"]) == 2  # no file and no --corpus
