"""The labelled corpus (nlp/corpus/): its files, their styles, and the rows training and evaluation read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nlp.config_files import NlpConfigError, load_model
from nlp.evaluation import load_rows

CORPUS_DIR = Path(__file__).resolve().with_name("corpus")
INDEX_NAME = "index.yaml"

Row = dict[str, Any]  # one labelled message: id, text, label, also, date, part (LABELS.md's format)


class _FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    style: str = Field(min_length=1)
    train: bool = True


class _Index(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = 1
    files: dict[str, _FileEntry]


@dataclass(frozen=True)
class CorpusFile:
    """One labelled file: where it is, the style it is grouped under, whether training reads it."""

    name: str
    path: Path
    style: str
    train: bool


def corpus_files(directory: Path = CORPUS_DIR) -> list[CorpusFile]:
    """The files of the corpus in the index's order.

    Raises `NlpConfigError` when a listed file is missing or a *.jsonl file is not listed: a set
    nobody filed would silently be left out of training and evaluation.
    """
    index = load_model(directory / INDEX_NAME, _Index)
    files = [CorpusFile(name, directory / name, entry.style, entry.train) for name, entry in index.files.items()]
    missing = [f.name for f in files if not f.path.is_file()]
    unlisted = sorted(p.name for p in directory.glob("*.jsonl") if p.name not in index.files)
    problems = [f"{directory / INDEX_NAME}: lists {name}, which is not there" for name in missing]
    problems += [f"{directory / INDEX_NAME}: {name} is not listed (add it with its style)" for name in unlisted]
    if problems:
        raise NlpConfigError("\n".join(problems))
    return files


def read_rows(file: CorpusFile) -> list[Row]:
    """The rows of one file, each with its `source` (file name) and `style`; a bad line is an error."""
    rows, problems = load_rows(file.path)
    if problems:
        raise NlpConfigError("\n".join(problems))
    return [{**row, "source": file.name, "style": file.style} for row in rows]


def training_rows(directory: Path = CORPUS_DIR, extra: Iterable[Row] = ()) -> list[Row]:
    """Every row training learns from: the files marked `train`, then `extra` rows (e.g. staff
    corrections kept elsewhere), in a fixed order."""
    rows = [row for f in corpus_files(directory) if f.train for row in read_rows(f)]
    return rows + [{"source": "extra", "style": "extra", **row} for row in extra]


def digest(paths: Iterable[Path], extra: bytes = b"") -> str:
    """A short hash of the files' names and contents (and `extra`): what a trained model is keyed by."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(extra)
    return h.hexdigest()[:20]
