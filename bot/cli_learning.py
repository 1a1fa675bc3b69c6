"""What staff taught the bot, for operators: `linli train` with the corrections, `linli corpus export`,
`linli suggest-keywords`.

The corrections live in the database (the settings' `LINLI_DATABASE_URL`); these commands read them
and hand them to nlp/ (training's `ModelSources.extra`, the corpus format, keyword suggestions).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

EXPORT_NAME = "staff_corrections.jsonl"
EXPORT_STYLE = "staff-corrections"


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.cli import _add_db_options

    p = sub.add_parser("train", help="train the model from nlp/corpus/ and the staff corrections in the database "
                                     "into the cache (also done at first use)")
    _add_db_options(p)
    p = sub.add_parser("corpus", help="the labelled corpus: export staff corrections as JSON Lines")
    corpus = p.add_subparsers(dest="corpus_command", required=True)
    export = corpus.add_parser("export", help=f"staff corrections in the corpus format (to review and commit "
                                              f"as nlp/corpus/{EXPORT_NAME})")
    export.add_argument("--since", type=_date, help="only corrections made on or after this day (YYYY-MM-DD)")
    export.add_argument("--out", type=Path, help="write to this file instead of stdout")
    _add_db_options(export)
    p = sub.add_parser("suggest-keywords", help="keywords per label from corrected and uncaught messages")
    p.add_argument("--top", type=int, default=10, help="words per label (default 10)")
    p.add_argument("--min", type=int, default=2, dest="min_messages",
                   help="in at least this many of the label's messages (default 2)")
    _add_db_options(p)


def run(args: argparse.Namespace) -> int | None:
    if args.command == "train":
        return train(args)
    if args.command == "corpus":
        return asyncio.run(_export(args))
    if args.command == "suggest-keywords":
        return asyncio.run(_suggest(args))
    return None


async def _rows(args: argparse.Namespace, since: dt.date | None = None) -> list[dict[str, Any]]:
    """The corrections of the settings' database as labelled rows (see handlers/label_corrections.py)."""
    from bot.cli import _settings
    from handlers.label_corrections import load_correction_rows
    from storage.db import Database

    settings = _settings(args)
    start = None
    if since is not None:
        from zoneinfo import ZoneInfo

        start = dt.datetime.combine(since, dt.time(), ZoneInfo(settings.timezone))
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            return await load_correction_rows(session, since=start)
    finally:
        await db.dispose()


def _no_database(args: argparse.Namespace) -> str | None:
    """Why there is no database to read (a SQLite file that is not there), or None."""
    from sqlalchemy.engine import make_url

    from bot.cli import _settings

    url = make_url(_settings(args).database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return f"no database at {url.database} (is --database-url / LINLI_DATABASE_URL right?)"
    return None


def train(args: argparse.Namespace) -> int:
    """`linli train`: the corpus and every staff correction of the database, into the model cache."""
    from nlp.cli import cmd_train

    rows: list[dict[str, Any]] = []
    problem = _no_database(args)
    if problem is None:
        try:
            rows = asyncio.run(_rows(args))
        except Exception as exc:  # not migrated, unreachable: the corpus alone still trains
            problem = f"cannot read staff corrections ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    if problem is not None:
        print(f"linli train: {problem}; training on the corpus alone", file=sys.stderr)
    else:
        print(f"linli train: {len(rows)} staff correction(s) from the database", file=sys.stderr)
    return cmd_train(sys.stdout, rows)


async def _export(args: argparse.Namespace) -> int:
    problem = _no_database(args)
    if problem is not None:
        print(f"linli: {problem}", file=sys.stderr)
        return 1
    rows = await _rows(args, args.since)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"{len(rows)} correction(s) exported. To learn from them in git: review the labels, save them as "
          f"nlp/corpus/{EXPORT_NAME} (ids sc-N are unique; append to the file already there) and list it in "
          f"nlp/corpus/index.yaml:\n  {EXPORT_NAME}: {{style: {EXPORT_STYLE}}}", file=sys.stderr)
    return 0


async def _suggest(args: argparse.Namespace) -> int:
    from nlp.rules import DEFAULT_RULES_PATH, load_rules
    from nlp.suggest import format_suggestions, suggest_keywords

    problem = _no_database(args)
    if problem is not None:
        print(f"linli: {problem}", file=sys.stderr)
        return 1
    rows = await _rows(args)
    rules = load_rules(DEFAULT_RULES_PATH)
    found = await asyncio.to_thread(suggest_keywords, rows, rules, min_messages=args.min_messages, top=args.top)
    print(format_suggestions(found, Counter(str(r["label"]) for r in rows)))
    return 0
