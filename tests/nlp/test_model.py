"""The learned model: served weights agree with scikit-learn's, training is deterministic, and the cache
(keyed by what the model is trained from) is rebuilt rather than ever failing the bot."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nlp import Classifier
from nlp import model as model_module
from nlp import train as train_module
from nlp.corpus_files import training_rows
from nlp.features import (
    FeatureSettings,
    features,
    last_clause,
    load_model_settings,
    model_text,
    rule_tags,
    served_text,
)
from nlp.linear import LinearWeights, PackedLinear, _pack, pack_rows
from nlp.model import CACHE_ENV, ModelSources, cache_dir, load_or_train
from nlp.normalize import normalize
from nlp.rules import load_rules
from nlp.train import (
    Fitted,
    export,
    featurizer,
    fit_estimator,
    fit_forked,
    packed_model,
    read_all,
    reader,
    train_to_file,
)

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    """Every seventh corpus message: enough for all 16 labels, quick to train on."""
    return training_rows()[::7]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own, and no model kept in memory from other tests."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(model_module, "_loaded", {})
    return tmp_path / "cache"


def _small_corpus(directory: Path, rows: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "index.yaml").write_text("version: 1\nfiles:\n  sample.jsonl: {style: sample}\n", "utf-8")
    (directory / "sample.jsonl").write_text(
        "".join(json.dumps({k: r[k] for k in ("id", "text", "label", "also", "date", "part") if k in r},
                           ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return directory


def test_served_probabilities_are_scikit_learns(sample: list[dict]) -> None:
    settings = load_model_settings()
    assert settings.features.rule_words and settings.features.last_clause_ngrams  # all three kinds served
    read = reader(settings)
    reads = [read(r["text"]) for r in sample]
    vectorizer, estimator = fit_estimator(reads, [r["label"] for r in sample], settings, featurizer(settings))
    packed = PackedLinear.from_weights(export(Fitted.of(vectorizer, estimator), {}))
    expected = estimator.predict_proba(vectorizer.transform(reads))
    for (text, tags), row in zip(reads, expected, strict=True):
        got = packed.probabilities(*served_text(text, settings.features), tags)
        assert max(abs(got[c] - p) for c, p in zip(estimator.classes_, row, strict=True)) < 1e-3, text
    assert len(packed) == len(vectorizer.vocabulary_)
    names = vectorizer.get_feature_names_out()
    assert any(n.startswith("END:") for n in names) and any(n.startswith("KW:report:") for n in names)
    assert any(n.startswith("CUE:") for n in names)


def test_features_with_the_same_weights_each_count_once() -> None:
    # N-grams always seen together in training get the same coefficients: a message with both has two
    # features, and one feature found twice is still one (the features are present or not).
    weights = LinearWeights(classes=("a", "b"), features=("甲", "乙", "丙"), idf=(1.0, 1.0, 1.0),
                            coef=((1.0, -1.0), (1.0, -1.0), (0.5, 0.5)), intercept=(0.0, 0.0),
                            calibration=((-1.0, 0.0), (-1.0, 0.0)), meta={})
    packed = PackedLinear.from_weights(weights)
    assert packed.decision("甲乙") == pytest.approx([2 / math.sqrt(2), -2 / math.sqrt(2)], abs=1e-3)
    assert packed.decision("甲甲") == pytest.approx([1.0, -1.0], abs=1e-3)
    assert packed.decision("甲乙丙") == pytest.approx([2.5 / math.sqrt(3), -1.5 / math.sqrt(3)], abs=1e-3)
    assert packed.decision("") == [0.0, 0.0]


def test_training_packs_the_model_with_numpy_as_serving_would_one_float_at_a_time(sample: list[dict]) -> None:
    import numpy as np

    rows = np.array([[0.0, 1.5, -2.25, 1e-5], [127.9, -200.0, 3 / 4096 / 2, 5 / 4096 / 2]])  # ties, clipping
    assert pack_rows(rows) == [_pack(list(row)) for row in rows]
    settings = load_model_settings()
    read = reader(settings)
    reads = [read(r["text"]) for r in sample]
    vectorizer, estimator = fit_estimator(reads, [r["label"] for r in sample], settings, featurizer(settings))
    fitted = Fitted.of(vectorizer, estimator)
    one_at_a_time = PackedLinear.from_weights(export(fitted, {"messages": len(reads)}))
    with_numpy = packed_model(fitted, {"messages": len(reads)})
    assert with_numpy.meta == one_at_a_time.meta and with_numpy.classes == one_at_a_time.classes
    assert with_numpy.by_index() == one_at_a_time.by_index()


_FIT_SVC = train_module._fit_svc


def _fit_svc_saying_where() -> object:
    """The child's fit, marked with the process it ran in (a module function: the pool pickles it by name)."""
    svc = _FIT_SVC()
    svc.fitted_in = os.getpid()  # pickled back with it
    return svc


def test_fitted_in_two_processes_the_model_is_scikit_learns_byte_for_byte(sample: list[dict], tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """fit_forked (the LinearSVC on every message in a forked child, the calibration folds here, the
    sigmoids fitted by scikit-learn's private sigmoid fit) writes the same model file as
    CalibratedClassifierCV: a scikit-learn that changed its sigmoid fit would fail here."""
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # pytest's own threads never touch the fit
    settings = load_model_settings()
    read = reader(settings)
    reads = [read(r["text"]) for r in sample]
    labels = [r["label"] for r in sample]
    forked = fit_forked(reads, labels, settings, featurizer(settings))
    reference = Fitted.of(*fit_estimator(reads, labels, settings, featurizer(settings)))
    assert forked.sigmoids == reference.sigmoids
    forked_file, reference_file = tmp_path / "forked.bin", tmp_path / "reference.bin"
    packed_model(forked, {}).dump(forked_file)
    packed_model(reference, {}).dump(reference_file)
    assert forked_file.read_bytes() == reference_file.read_bytes()
    monkeypatch.setattr(train_module, "_fit_svc", _fit_svc_saying_where)
    assert fit_forked(reads, labels, settings, featurizer(settings)).svc.fitted_in != os.getpid()


def test_the_corpus_is_read_in_two_children_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"第{i}条 楼道灯坏了" for i in range(3001)]
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # pytest's own threads never touch the read

    def read(text: str) -> tuple[str, frozenset[str]]:
        return text.upper(), frozenset({str(os.getpid())})

    reads = read_all(texts, read)
    assert [text for text, _ in reads] == [t.upper() for t in texts]
    readers = {pid for _, tags in reads for pid in tags}
    assert len(readers) == 2 and str(os.getpid()) not in readers  # the halves, each in a child
    monkeypatch.setattr(train_module, "READ_IN_CHILDREN_FROM", 10_000)
    assert read_all(texts, read) == [(t.upper(), frozenset({str(os.getpid())})) for t in texts]


@pytest.mark.parametrize("text", [
    "3号楼楼道灯坏了好几天了 我电话13912345678",
    "「王阿姨：周六上午有理发吗」\n- - - - - - - - - - - - - - -\n同问",  # agreeing: the quote read as its own
    "「孙大妈：楼道灯又坏了」\n- - - - - - - - - - - - - - -\n我们楼也是 前天刚换的",
    "谢谢社区昨天帮我们修好了楼道灯",
    "我家热水壶坏了周六能修不",
    "家里微波炉的转盘不转了 5栋302",
    "说起理发，" + "我想起小时候村口的剃头匠，" * 40 + "对了 楼道里一股燃气味",  # past the read length
    "",
    "   ",
])
def test_training_reads_a_message_as_the_bot_does(text: str) -> None:
    """Training reads only the rules' words (Classifier.words), not the whole scoring; the model must
    see the same text and rule words serving passes it (nlp/classifier.py decide)."""
    settings = load_model_settings()
    classifier = Classifier(load_rules(), model=None)
    analysis = classifier.analyze(text, NOW)
    assert reader(settings)(text) == (analysis.text, rule_tags(analysis.hits))


def test_the_last_clause_and_the_rule_words_are_features() -> None:
    settings = FeatureSettings(char_ngrams=(1, 1), last_clause_ngrams=(2, 2), rule_words=True)
    got = features("灯坏了 快修", settings, frozenset({"KW:report:repair", "CUE:ask"}))
    assert got == {"灯", "坏", "了", "快", "修", "END:快修", "KW:report:repair", "CUE:ask"}
    assert features("灯坏了", settings, ()) == {"灯", "坏", "了"}  # one clause: no last-clause features
    assert features("灯坏了", FeatureSettings(char_ngrams=(1, 1)), frozenset({"CUE:ask"})) == {"灯", "坏", "了"}


@pytest.mark.parametrize(("text", "last"), [
    ("电梯坏了", ""), ("电梯坏了 赶紧修!", "赶紧修"), ("好的,,", ""),
    ("说了好几次,没人管。能不能派人来看看?", "能不能派人来看看"),
])
def test_last_clause(text: str, last: str) -> None:
    assert last_clause(normalize(text)) == last


def test_features_are_character_ngrams_without_personal_numbers() -> None:
    got = features("3号楼灯坏了 我电话13912345678", FeatureSettings(char_ngrams=(1, 2)))
    assert {"0", "0号", "灯坏", "了 ", " 我"} <= got
    assert not any(ch in "123456789" for f in got for ch in f)
    assert " " not in got
    assert model_text("身份证11010119900307123x 电话010-12345678 3号楼") == "身份证  电话  0号楼"


@pytest.mark.parametrize("typed", ["13900002271", "139-0000-2271", "139 0000 2271", "139.0000.2271", "1390000-2271"])
def test_a_mobile_number_is_left_out_however_it_is_typed(typed: str) -> None:
    # Typed with gaps it was read as three numbers, and a resident's form ("电话：139-0000-2271")
    # looked like an advert's.
    assert model_text(f"电饭煲坏了 电话:{typed}") == "电饭煲坏了 电话: "


def test_training_is_deterministic(sample: list[dict], tmp_path: Path) -> None:
    corpus = _small_corpus(tmp_path / "corpus", sample)
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    assert train_to_file(first, ModelSources(corpus=corpus)) == len(sample)
    train_to_file(second, ModelSources(corpus=corpus))
    assert first.read_bytes() == second.read_bytes()


def test_a_model_file_round_trips_and_a_cut_one_is_refused(sample: list[dict], tmp_path: Path) -> None:
    corpus = _small_corpus(tmp_path / "corpus", sample)
    path = tmp_path / "m.bin"
    train_to_file(path, ModelSources(corpus=corpus))
    loaded = PackedLinear.load(path)
    again = tmp_path / "again.bin"
    loaded.dump(again)
    assert again.read_bytes() == path.read_bytes()
    assert loaded.probabilities(model_text("电梯又坏了")) == PackedLinear.load(again).probabilities(
        model_text("电梯又坏了"))
    cut = tmp_path / "cut.bin"
    cut.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError):
        PackedLinear.load(cut)


def test_the_key_follows_what_the_model_is_trained_from(sample: list[dict], tmp_path: Path) -> None:
    corpus = _small_corpus(tmp_path / "corpus", sample)
    settings = tmp_path / "model.yaml"
    settings.write_text((Path(model_module.__file__).parents[1] / "config/nlp/model.yaml").read_text("utf-8"))
    sources = ModelSources(corpus=corpus, settings=settings)
    key = sources.key()
    assert ModelSources(corpus=corpus, settings=settings).key() == key
    with (corpus / "sample.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "new", "text": "收到", "label": "chitchat"}, ensure_ascii=False) + "\n")
    assert sources.key() != key
    key = sources.key()
    settings.write_text(settings.read_text("utf-8").replace("C: 1.0", "C: 0.5"), "utf-8")
    assert sources.key() != key
    assert ModelSources(corpus=corpus, settings=settings, extra=({"text": "x", "label": "chitchat"},)).key() \
        != sources.key()


def test_trained_once_then_loaded(sample: list[dict], cache: Path, tmp_path: Path) -> None:
    sources = ModelSources(corpus=_small_corpus(tmp_path / "corpus", sample))
    model = load_or_train(sources)  # in a child process, as the bot does
    assert model is not None
    path = cache / f"model-{sources.key()}.bin"
    assert path.is_file()
    assert load_or_train(sources) is model  # kept in memory
    model_module._loaded.clear()
    mtime = path.stat().st_mtime_ns
    again = load_or_train(sources)  # from the file, not trained again
    assert again is not None and path.stat().st_mtime_ns == mtime
    assert again.probabilities("电梯坏了") == model.probabilities("电梯坏了")


def test_a_broken_cache_file_is_trained_again(sample: list[dict], cache: Path, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    sources = ModelSources(corpus=_small_corpus(tmp_path / "corpus", sample))
    cache.mkdir(parents=True)
    path = cache / f"model-{sources.key()}.bin"
    path.write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING, logger="linli.nlp"):
        model = load_or_train(sources)
    assert model is not None
    assert "training it again" in caplog.text
    assert PackedLinear.load(path)  # replaced by a good one


def test_without_a_model_the_rules_read_alone(cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "corpus"
    broken.mkdir()
    (broken / "index.yaml").write_text("version: 1\nfiles:\n  gone.jsonl: {style: x}\n", "utf-8")
    with caplog.at_level(logging.ERROR, logger="linli.nlp"):
        classifier = Classifier(load_rules(), model=ModelSources(corpus=broken))
        got = classifier.understand("周六上午理发还有号没", NOW)
    assert classifier.model is None
    assert "reading with the rules alone" in caplog.text
    assert (got.label, got.date, got.part) == ("booking:haircut", dt.date(2026, 11, 28), "am")
    assert got.reason.startswith("the rules")


def test_cache_dir_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "linli"


def test_an_unwritable_cache_falls_back_to_the_temp_directory(sample: list[dict], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocked / "cache"))  # cannot be created: a file is in the way
    monkeypatch.setattr(model_module, "_loaded", {})
    monkeypatch.setattr(model_module.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    sources = ModelSources(corpus=_small_corpus(tmp_path / "corpus", sample))
    assert load_or_train(sources) is not None
    assert list((tmp_path / "tmp").glob("linli-cache-*/model-*.bin"))
