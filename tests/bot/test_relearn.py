"""Staff corrections teach the model: stored masked, exported as corpus JSON Lines, read by `linli train`, part
of the model's cache key, and learned by a running bot in the background (debounced, one trainer at a time)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.leader_lock import AdvisoryLock
from bot.relearn import RETRAIN_LOCK_KEY, Relearner
from handlers.label_corrections import load_correction_rows, record_correction
from nlp import model as model_module
from nlp.classifier import Classifier
from nlp.corpus_files import corpus_files, read_rows, training_rows
from nlp.model import CACHE_ENV, ModelSources
from nlp.rules import DEFAULT_RULES_PATH, load_rules
from storage import requests_repo as repo
from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import REFERENCE_NOW

LI = repo.Actor("staff-li", "李书记")
# The small model below reads this as chit-chat; staff say it is a sanitation problem.
PIGEONS = "顶楼平台白花花一片"  # neither the rules nor the small model call it a request


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A model cache of this test's own, and no model kept in memory from other tests."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(model_module, "_loaded", {})
    yield tmp_path / "cache"


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared dev set (240 messages, all 16 labels, trained in a second): fixed, so what this
    small model reads does not shift whenever the corpus grows (every seventh corpus message did)."""
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "index.yaml").write_text("version: 1\nfiles:\n  sample.jsonl: {style: sample}\n", "utf-8")
    rows = [row for row in training_rows() if row["style"] == "dev"]
    (folder / "sample.jsonl").write_text("".join(
        json.dumps({k: r[k] for k in ("id", "text", "label", "also", "date", "part") if k in r}, ensure_ascii=False)
        + "\n" for r in rows), "utf-8")
    return folder


async def correct(db: Database, text: str, label: str, previous: str = "chitchat",
                  at: dt.datetime = REFERENCE_NOW) -> None:
    async with db.transaction() as session:
        await record_correction(session, community="xingfuli", text=text, label=label, previous=previous, actor=LI,
                                source="unsure", now=at)


async def rows_of(db: Database) -> list[dict[str, object]]:
    async with db.transaction() as session:
        return await load_correction_rows(session)


async def test_corrections_are_stored_masked(db: Database) -> None:
    await correct(db, "3号楼2单元501 楼道灯坏了 我电话13912345678 身份证110101199003077774", "report:repair")
    [row] = await rows_of(db)
    text = str(row["text"])
    assert "139****5678" in text and "13912345678" not in text
    assert "501" not in text and "3号楼2单元" in text
    assert "110101199003077774" not in text and "7774" in text
    with pytest.raises(ValueError):
        await correct(db, "x", "report:nonsense")


async def test_corpus_export_writes_corpus_jsonl_that_the_corpus_reader_takes(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await correct(db, "喷泉池子绿得发臭了 电话13912345678", "report:repair", at=REFERENCE_NOW - dt.timedelta(days=3))
    await correct(db, "喷泉池子绿得发臭了 电话13912345678", "report:sanitation")  # changed their mind: the latest wins
    await correct(db, "今天好像要下雨", "chitchat", previous="report:repair")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    out = corpus / "staff_corrections.jsonl"
    assert await asyncio.to_thread(main, ["corpus", "export", "--database-url", db.url, "--out", str(out)]) == 0
    assert "staff_corrections.jsonl: {style: staff-corrections}" in capsys.readouterr().err
    (corpus / "index.yaml").write_text("version: 1\nfiles:\n  staff_corrections.jsonl: {style: staff-corrections}\n",
                                       "utf-8")
    [file] = corpus_files(corpus)
    rows = read_rows(file)
    assert [(r["text"], r["label"], r["was"]) for r in rows] == [
        ("喷泉池子绿得发臭了 电话139****5678", "report:sanitation", "chitchat"),
        ("今天好像要下雨", "chitchat", "report:repair")]
    assert all(str(r["id"]).startswith("sc-") and r["style"] == "staff-corrections" for r in rows)
    assert len(training_rows(corpus)) == 2
    # Once committed to the corpus, the same corrections from the database are not learned twice.
    assert len(training_rows(corpus, await rows_of(db))) == 2

    since = (REFERENCE_NOW - dt.timedelta(days=1)).date().isoformat()
    assert await asyncio.to_thread(main, ["corpus", "export", "--database-url", db.url, "--since", since]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in exported] == ["report:sanitation", "chitchat"]


async def test_the_cache_key_changes_with_corrections(db: Database, small_corpus: Path) -> None:
    base = ModelSources(corpus=small_corpus)
    assert ModelSources(corpus=small_corpus, extra=tuple(await rows_of(db))).key() == base.key()
    await correct(db, PIGEONS, "report:sanitation")
    with_one = ModelSources(corpus=small_corpus, extra=tuple(await rows_of(db))).key()
    assert with_one != base.key()
    await correct(db, PIGEONS, "report:repair")  # the same text relabelled: another model
    assert ModelSources(corpus=small_corpus, extra=tuple(await rows_of(db))).key() not in (base.key(), with_one)


async def test_a_running_bot_learns_a_correction_in_the_background(db: Database, small_corpus: Path,
                                                                   cache: Path) -> None:
    sources = ModelSources(corpus=small_corpus)
    classifier = Classifier(load_rules(DEFAULT_RULES_PATH), model=sources)
    assert classifier.understand(PIGEONS, REFERENCE_NOW).label == "chitchat"
    relearner = Relearner(db, classifier=lambda: classifier, sources=sources, min_interval_seconds=3600)
    assert await relearner.check_once() == "same"  # no corrections yet

    await correct(db, PIGEONS, "report:sanitation")
    served = classifier.model
    assert await relearner.check_once() == "trained"
    assert classifier.model is not served and classifier.model is not None
    assert classifier.model.key == ModelSources(corpus=small_corpus, extra=tuple(await rows_of(db))).key()
    got = classifier.understand(PIGEONS, REFERENCE_NOW)  # read again, not the reading remembered before
    assert (got.label, got.category) == ("report:sanitation", "sanitation")
    assert await relearner.check_once() == "same"

    # Another process on this machine loads what this one trained instead of training again.
    other = Classifier(load_rules(DEFAULT_RULES_PATH), model=sources)
    assert await Relearner(db, classifier=lambda: other, sources=sources).check_once() == "loaded"
    assert other.understand(PIGEONS, REFERENCE_NOW).label == "report:sanitation"

    # More corrections within the hour wait for the next training.
    await correct(db, "电动车棚那边的地砖翘起来了", "report:repair", previous="report:parking")
    assert await relearner.check_once() == "waiting"
    relearner.min_interval_seconds = 0
    assert await relearner.check_once() == "trained"
    assert classifier.understand("电动车棚那边的地砖翘起来了", REFERENCE_NOW).label == "report:repair"


async def test_only_one_process_trains_at_a_time(postgres_url: str, small_corpus: Path, cache: Path) -> None:
    db = Database(postgres_url)
    await upgrade(db)
    holder = AdvisoryLock(postgres_url, key=RETRAIN_LOCK_KEY)
    try:
        sources = ModelSources(corpus=small_corpus)
        classifier = Classifier(load_rules(DEFAULT_RULES_PATH), model=sources)
        relearner = Relearner(db, classifier=lambda: classifier, sources=sources, min_interval_seconds=0)
        await correct(db, PIGEONS, "report:sanitation")
        assert await holder.hold()  # another process is training
        assert await relearner.check_once() == "busy"
        assert classifier.understand(PIGEONS, REFERENCE_NOW).label == "chitchat"  # the old model reads on
        await holder.release()
        assert await relearner.check_once() == "trained"
        assert classifier.understand(PIGEONS, REFERENCE_NOW).label == "report:sanitation"
    finally:
        await holder.release()
        await db.dispose()


async def test_linli_train_reads_the_corrections_from_the_database(sqlite_url: str, cache: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = Database(sqlite_url)
    await upgrade(db)
    try:
        await correct(db, PIGEONS, "report:sanitation")
        rows = await rows_of(db)
    finally:
        await db.dispose()
    assert await asyncio.to_thread(main, ["train", "--database-url", sqlite_url]) == 0
    captured = capsys.readouterr()
    assert "1 staff correction(s) from the database" in captured.err
    assert (cache / f"model-{ModelSources(extra=tuple(rows)).key()}.bin").is_file()


async def test_suggest_keywords_reads_the_corrections_of_the_database(db: Database,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for text in ("小区喷泉池子绿得发臭了 电话13912345678", "喷泉里的水好几个月没换了 都是青苔"):
        await correct(db, text, "report:sanitation")
    assert await asyncio.to_thread(main, ["suggest-keywords", "--database-url", db.url]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("report:sanitation (2 labelled messages)")
    assert "  喷泉  (2 messages; 2 the bot had missed)" in printed
    assert "139****5678" in printed and "13912345678" not in printed  # examples as stored: masked
