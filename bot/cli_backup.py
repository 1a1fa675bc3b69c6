"""`linli backup PATH` and `linli restore PATH [--force]`: the operators' side of storage/backup.py."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.cli import _add_db_options

    p = sub.add_parser("backup", help="write a consistent copy of the database, also while the bot runs "
                                      "(SQLite: online backup; PostgreSQL: pg_dump --format=custom)")
    p.add_argument("path", type=Path, help="the file to write (replaced if it exists), or a directory to write "
                                           "linli-YYYYMMDD-HHMMSS.sqlite3 / .pgdump into")
    _add_db_options(p)
    p = sub.add_parser("restore", help="replace the database with a backup (stop the bot first), then migrate it")
    p.add_argument("path", type=Path, help="a file written by `linli backup`")
    p.add_argument("--force", action="store_true", help="replace a database that holds data")
    _add_db_options(p)


def run(args: argparse.Namespace) -> int | None:
    if args.command not in ("backup", "restore"):
        return None
    from bot.cli import _settings
    from storage.backup import BackupError, backup, restore

    url = _settings(args).database_url
    try:
        if args.command == "backup":
            done = asyncio.run(backup(url, args.path))
            print(f"linli: {done.kind} backup written to {done.path} ({done.bytes:,} bytes, "
                  f"schema {done.revision or 'none'})")
        else:
            done = asyncio.run(restore(url, args.path, force=args.force))
            print(f"linli: restored {done.path} ({done.kind}); the schema is now at {done.revision or 'none'}")
    except BackupError as exc:
        print(f"linli: {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0
