"""`linli classify` / `linli eval` as nlp.cli runs them, on in-memory streams."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from nlp import Classifier
from nlp.cli import EVAL_NOW, cmd_classify, cmd_eval
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
