"""The `linli` command: serve, db upgrade, classify, eval (and the operators' subcommands)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from config.community import ConfigError

# Capabilities add their operators' subcommands in modules of their own, each with
# `register(subparsers)` and `run(args) -> int | None` (None: not my command).
CLI_EXTENSIONS: tuple[str, ...] = ("bot.cli_jobs", "bot.cli_bookings", "bot.cli_requests", "bot.cli_channels",
                                   "bot.cli_backup", "bot.cli_learning", "bot.cli_volunteers")


def _parse_now(value: str) -> dt.datetime:
    try:
        now = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from None
    if now.tzinfo is None:
        from zoneinfo import ZoneInfo

        now = now.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return now


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from config.settings import Settings

    overrides = {}
    for name in ("host", "port", "database_url", "config"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _add_db_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="SQLAlchemy URL (env LINLI_DATABASE_URL; default sqlite file linli.db)")
    p.add_argument("--config", type=Path, help="community YAML (env LINLI_CONFIG; default: the demo community)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linli", description="邻里 linli: a community assistant bot")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="start the bot (web simulator on http://127.0.0.1:8080/ by default)")
    p.add_argument("--host", help="address to listen on (env LINLI_HOST; default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (env LINLI_PORT; default 8080)")
    p.add_argument("--workers", type=int, default=1,
                   help="bot processes sharing the port (SO_REUSEPORT); more than 1 needs PostgreSQL")
    _add_db_options(p)

    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply the migrations (automatic at start for SQLite)")
    _add_db_options(up)
    cur = dbsub.add_parser("current", help="print the schema revision")
    _add_db_options(cur)

    p = sub.add_parser("check-config", help="validate a community YAML and exit")
    p.add_argument("path", type=Path, nargs="?")

    p = sub.add_parser("classify", help="label JSON Lines from stdin (one JSON object out per line)")
    p.add_argument("--now", type=_parse_now, help="reference time, ISO 8601 (default: now)")

    p = sub.add_parser("eval", help="score the classifier on labelled JSON Lines files, or on nlp/corpus/")
    p.add_argument("files", nargs="*", metavar="file")
    p.add_argument("--now", type=_parse_now, help="reference time (default 2026-11-25T10:00+08:00)")
    p.add_argument("--corpus", action="store_true", help="score every file of nlp/corpus/, per file and per style")
    p.add_argument("--cv", type=int, metavar="K", help="k-fold cross-validation of the model over nlp/corpus/")
    p.add_argument("--loso", action="store_true",
                   help="leave one style out: each style of nlp/corpus/ read by a model trained on the others")
    p.add_argument("--rules-only", action="store_true", help="read with the keyword rules alone, no model")

    p = sub.add_parser("explain", help="show how a message is read: rule hits, the model, why the label won")
    p.add_argument("text")
    p.add_argument("--now", type=_parse_now, help="reference time, ISO 8601 (default: now)")
    for module in _extensions():
        module.register(sub)
    return parser


def _extensions() -> list:  # type: ignore[type-arg]
    import importlib

    return [importlib.import_module(name) for name in CLI_EXTENSIONS]


async def _db_command(args: argparse.Namespace) -> int:
    from storage.db import Database
    from storage.migrate import current_revision, upgrade

    settings = _settings(args)
    db = Database(settings.database_url)
    try:
        if args.db_command == "upgrade":
            await upgrade(db)
        print(await current_revision(db))
    finally:
        await db.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s",
                        stream=sys.stderr)
    try:
        if args.command == "serve":
            from bot.app import quiet_sensitive_loggers, serve, serve_workers

            settings = _settings(args)
            logging.getLogger().setLevel(settings.log_level.upper())
            quiet_sensitive_loggers()
            if args.workers < 1:
                print("linli: --workers must be at least 1", file=sys.stderr)
                return 2
            if args.workers > 1:
                return serve_workers(settings, args.workers)
            try:
                asyncio.run(serve(settings))
            except KeyboardInterrupt:
                pass
            return 0
        if args.command == "db":
            return asyncio.run(_db_command(args))
        if args.command == "check-config":
            from config.loader import load_directory

            path = args.path or _settings(args).config
            directory = load_directory(path)
            print(f"{path}: ok ({len(directory.communities)} community/communities)")
            return 0
        if args.command == "classify":
            from nlp.cli import cmd_classify

            return cmd_classify(args.now, sys.stdin, sys.stdout)
        if args.command == "eval":
            from nlp.cli import cmd_eval_corpus, cmd_eval_files, rules_only_understand

            if args.corpus or args.cv or args.loso:
                return cmd_eval_corpus(sys.stdout, cv=args.cv, rules_only=args.rules_only, loso=args.loso)
            if not args.files:
                print("linli eval: name a labelled file, or --corpus / --cv K / --loso", file=sys.stderr)
                return 2
            return cmd_eval_files(args.files, args.now, sys.stdout,
                                  rules_only_understand() if args.rules_only else None)
        if args.command == "explain":
            from nlp.cli import cmd_explain

            return cmd_explain(args.text, args.now, sys.stdout)
        for module in _extensions():
            result = module.run(args)
            if result is not None:
                return int(result)
    except ConfigError as exc:
        print(f"linli: configuration error:\n{exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()]
        print("linli: invalid settings (LINLI_* environment / options):\n" + "\n".join(lines), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"linli: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
