"""The labelled corpus (nlp/corpus/): every file indexed and valid, ids unique, training reads what the index says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.config_files import NlpConfigError
from nlp.corpus_files import CORPUS_DIR, corpus_files, read_rows, training_rows
from nlp.understanding import LABELS

SHARED_DEV = Path(__file__).resolve().parents[3] / "shared" / "eval" / "dev.jsonl"


def test_every_file_is_indexed_with_a_style() -> None:
    files = corpus_files()
    assert {f.name for f in files} == {p.name for p in CORPUS_DIR.glob("*.jsonl")}
    assert all(f.style for f in files)
    assert len(files) >= 30


def test_rows_are_labelled_by_labels_md() -> None:
    for file in corpus_files():
        for row in read_rows(file):
            assert row["label"] in LABELS, (file.name, row["id"])
            assert all(label in LABELS for label in row.get("also") or ()), (file.name, row["id"])
            assert row.get("part") in (None, "am", "pm"), row["id"]
            if row["label"].startswith("booking:"):
                assert "date" in row and "part" in row, row["id"]  # scored on bookings, so always given


def test_ids_are_unique_across_the_corpus() -> None:
    ids = [row["id"] for f in corpus_files() for row in read_rows(f)]
    assert len(ids) == len(set(ids))


def test_the_dev_set_is_a_copy_of_the_shared_one() -> None:
    if not SHARED_DEV.is_file():
        pytest.skip(f"{SHARED_DEV} is not next to this checkout")
    assert (CORPUS_DIR / "dev.jsonl").read_bytes() == SHARED_DEV.read_bytes()


def _corpus(tmp_path: Path, index: str, files: dict[str, list[dict]]) -> Path:
    (tmp_path / "index.yaml").write_text(index, encoding="utf-8")
    for name, rows in files.items():
        (tmp_path / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return tmp_path


ROW = {"id": "a1", "text": "电梯坏了", "label": "report:repair", "also": [], "date": None, "part": None}


def test_training_reads_the_files_marked_train_and_extra_rows(tmp_path: Path) -> None:
    index = "version: 1\nfiles:\n  a.jsonl: {style: one}\n  b.jsonl: {style: two, train: false}\n"
    directory = _corpus(tmp_path, index, {"a.jsonl": [ROW], "b.jsonl": [{**ROW, "id": "b1"}]})
    extra = [{"id": "x1", "text": "收到", "label": "chitchat"}]
    rows = training_rows(directory, extra)
    assert [(r["id"], r["source"], r["style"]) for r in rows] == [("a1", "a.jsonl", "one"), ("x1", "extra", "extra")]


def test_an_unlisted_or_missing_file_is_an_error(tmp_path: Path) -> None:
    directory = _corpus(tmp_path, "version: 1\nfiles:\n  a.jsonl: {style: one}\n  gone.jsonl: {style: x}\n",
                        {"a.jsonl": [ROW], "new.jsonl": [ROW]})
    with pytest.raises(NlpConfigError) as raised:
        corpus_files(directory)
    assert "gone.jsonl, which is not there" in str(raised.value)
    assert "new.jsonl is not listed" in str(raised.value)


def test_a_bad_row_names_its_file_and_line(tmp_path: Path) -> None:
    directory = _corpus(tmp_path, "version: 1\nfiles:\n  a.jsonl: {style: one}\n",
                        {"a.jsonl": [ROW, {"id": "a2", "text": "x", "label": "booking:nails"}]})
    with pytest.raises(NlpConfigError, match=r"a.jsonl:2"):
        training_rows(directory)


def test_a_bad_index_entry_names_its_line(tmp_path: Path) -> None:
    directory = _corpus(tmp_path, "version: 1\nfiles:\n  a.jsonl: {style: one}\n  b.jsonl: {stile: two}\n",
                        {"a.jsonl": [ROW], "b.jsonl": [ROW]})
    with pytest.raises(NlpConfigError, match=r"index.yaml:4: files.b.jsonl"):
        corpus_files(directory)
